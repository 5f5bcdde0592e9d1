/**
 * What a replay worker does with its messages (protocol.ts), apart from the
 * thread it runs in: worker.ts hosts one per worker thread, and the pipeline
 * one in its own thread when that thread has time for a share of the
 * strategies (back-workers.ts: a packed read whose strategies go event by
 * event). Either way it is the back
 * half of a replay whose front runs in the main thread, or, in a worker, a
 * whole replay of one trace.
 */
import { type BackOptions, ReplayBack } from "../engine/back.js";
import { type CostModel, InexactEstimateError } from "../engine/results.js";
import { BUILT_IN_REGISTRY, type StrategyRegistry } from "../engine/strategies/index.js";
import { WindowCounter, type WindowRecord } from "../engine/windows.js";
import { InputError } from "../io/errors.js";
import { batchOf, type FromWorker, type ReplaySpec, type ToWorker } from "./protocol.js";

/** compare --by: every strategy's breakdown, crossing as typed arrays (one copy), when asked for. */
function breakdownsOf(back: ReplayBack) {
  const breakdowns = back.breakdowns();
  return breakdowns.length > 0 ? { breakdowns } : {};
}

export class BackHost {
  private back: ReplayBack | null = null;
  private breakdown = false;
  private violations = false;
  private cost: CostModel | null = null;
  /** --window: the windows ended in the batch being consumed, sent with it. */
  private readonly windows: WindowRecord[] = [];
  /**
   * While a "back" message's strategy modules load (import() is asynchronous),
   * the messages that follow it wait here, to be handled in order once they
   * have; null the rest of the time, so a run without modules takes no detour.
   * After a failed load the host has reported the error and drops the rest.
   */
  private waiting: ToWorker[] | null = null;
  private loadFailed = false;

  /** `send`: how the answers go back (a worker's port, or the pipeline's handler). */
  constructor(private readonly send: (message: FromWorker) => void) {}

  receive(message: ToWorker): void {
    if (this.loadFailed) return;
    if (this.waiting !== null) {
      this.waiting.push(message);
      return;
    }
    const modules = message.type === "back" ? (message.spec.strategyModules ?? []) : [];
    if (modules.length === 0) {
      this.handle(message, BUILT_IN_REGISTRY);
      return;
    }
    const queue: ToWorker[] = [];
    this.waiting = queue;
    // Loaded only for plug-ins: the module validates them with zod, which a worker otherwise never loads.
    import("../io/strategy-modules.js")
      .then(({ loadStrategyModules }) => loadStrategyModules(modules))
      .then(
        (registry) => {
          this.handle(message, registry);
          this.waiting = null;
          for (const next of queue) this.handle(next, BUILT_IN_REGISTRY);
        },
        (error: unknown) => {
          this.loadFailed = true;
          this.waiting = null;
          this.fail(error);
        },
      );
  }

  private fail(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    // Costs too big for an exact est_cycles are the user's cost model's fault, not ours.
    this.send({ type: "error", message, input: error instanceof InputError || error instanceof InexactEstimateError });
  }

  /** --window: the back's onWindowEnd, collecting the batch's windows for one message. */
  private windowed(spec: ReplaySpec): Pick<BackOptions, "onWindowEnd"> {
    if (!spec.window) return {};
    return { onWindowEnd: new WindowCounter(spec.window, spec.cost, (record) => this.windows.push(record)).end };
  }

  /** One message; `registry` names the strategies of a "back" message (a "trace" one loads its own). */
  private handle(message: ToWorker, registry: StrategyRegistry): void {
    try {
      switch (message.type) {
        case "back":
          this.back = new ReplayBack({
            strategies: registry.named(message.spec.strategies),
            l0: message.spec.l0,
            l1Bitmap: message.spec.l1Bitmap,
            breakdown: message.spec.breakdown,
            by: message.spec.by ?? null,
            violations: message.spec.violations === true,
            ...this.windowed(message.spec),
          });
          this.breakdown = message.spec.breakdown;
          this.violations = message.spec.violations === true;
          this.cost = message.spec.cost;
          return;
        case "batch":
          if (!this.back) throw new Error("internal: a batch before the back was set up");
          this.back.consume(batchOf(message));
          if (this.windows.length > 0) this.send({ type: "windows", records: this.windows.splice(0) });
          this.send({ type: "batch", slot: message.slot });
          return;
        case "end": {
          const back = this.back;
          if (!back || !this.cost) throw new Error("internal: end before the back was set up");
          this.send({
            type: "results",
            results: back.results(this.cost),
            ...(this.breakdown ? { msrs: back.breakdown(0) } : {}),
            ...breakdownsOf(back),
            setupUse: back.setupUse(),
            ...(this.violations ? { violations: back.violations() } : {}),
          });
          return;
        }
        case "trace":
          // The reader is loaded only by hosts that read (a back never does).
          import("./replay-trace.js")
            .then(({ replayHere }) => replayHere(message.file, message.spec))
            .then(
              (outcome) => this.send({ type: "outcome", outcome }),
              (error: unknown) => this.fail(error),
            );
          return;
      }
    } catch (error) {
      this.fail(error);
    }
  }
}
