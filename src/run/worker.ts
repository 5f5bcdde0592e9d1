/**
 * A replay worker thread: either the back half of a replay whose front runs
 * in the main thread, or a whole replay of one trace.
 */
import { parentPort } from "node:worker_threads";
import { type BackOptions, ReplayBack } from "../engine/back.js";
import { type CostModel, InexactEstimateError } from "../engine/results.js";
import { BUILT_IN_REGISTRY, type StrategyRegistry } from "../engine/strategies/index.js";
import { WindowCounter, type WindowRecord } from "../engine/windows.js";
import { InputError } from "../io/errors.js";
import { loadStrategyModules } from "../io/strategy-modules.js";
import { batchOf, type FromWorker, type ReplaySpec, type ToWorker } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("run/worker.js is a worker thread's entry point");

let back: ReplayBack | null = null;
let breakdown = false;
let violations = false;
let cost: CostModel | null = null;
/** --window: the windows ended in the batch being consumed, sent with it. */
const windows: WindowRecord[] = [];

function send(message: FromWorker): void {
  port?.postMessage(message);
}

/** compare --by: every strategy's breakdown, crossing as typed arrays (one copy), when asked for. */
function breakdownsOf(back: ReplayBack) {
  const breakdowns = back.breakdowns();
  return breakdowns.length > 0 ? { breakdowns } : {};
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  // Costs too big for an exact est_cycles are the user's cost model's fault, not ours.
  send({ type: "error", message, input: error instanceof InputError || error instanceof InexactEstimateError });
}

/** --window: the back's onWindowEnd, collecting the batch's windows for one message. */
function windowed(spec: ReplaySpec): Pick<BackOptions, "onWindowEnd"> {
  if (!spec.window) return {};
  return { onWindowEnd: new WindowCounter(spec.window, spec.cost, (record) => windows.push(record)).end };
}

/**
 * While a "back" message's strategy modules load (import() is asynchronous),
 * the messages that follow it wait here, to be handled in order once they
 * have; null the rest of the time, so a run without modules takes no detour.
 * After a failed load the worker has reported the error and drops the rest.
 */
let waiting: ToWorker[] | null = null;
let loadFailed = false;

port.on("message", (message: ToWorker) => {
  if (loadFailed) return;
  if (waiting !== null) {
    waiting.push(message);
    return;
  }
  const modules = message.type === "back" ? (message.spec.strategyModules ?? []) : [];
  if (modules.length === 0) {
    handle(message, BUILT_IN_REGISTRY);
    return;
  }
  const queue: ToWorker[] = [];
  waiting = queue;
  loadStrategyModules(modules).then(
    (registry) => {
      handle(message, registry);
      waiting = null;
      for (const next of queue) handle(next, BUILT_IN_REGISTRY);
    },
    (error: unknown) => {
      loadFailed = true;
      waiting = null;
      fail(error);
    },
  );
});

/** One message; `registry` names the strategies of a "back" message (a "trace" one loads its own). */
function handle(message: ToWorker, registry: StrategyRegistry): void {
  try {
    switch (message.type) {
      case "back":
        back = new ReplayBack({
          strategies: registry.named(message.spec.strategies),
          l0: message.spec.l0,
          l1Bitmap: message.spec.l1Bitmap,
          breakdown: message.spec.breakdown,
          by: message.spec.by ?? null,
          violations: message.spec.violations === true,
          ...windowed(message.spec),
        });
        breakdown = message.spec.breakdown;
        violations = message.spec.violations === true;
        cost = message.spec.cost;
        return;
      case "batch":
        if (!back) throw new Error("internal: a batch before the back was set up");
        back.consume(batchOf(message));
        if (windows.length > 0) send({ type: "windows", records: windows.splice(0) });
        send({ type: "batch", slot: message.slot });
        return;
      case "end":
        if (!back || !cost) throw new Error("internal: end before the back was set up");
        send({
          type: "results",
          results: back.results(cost),
          ...(breakdown ? { msrs: back.breakdown(0) } : {}),
          ...breakdownsOf(back),
          setupUse: back.setupUse(),
          ...(violations ? { violations: back.violations() } : {}),
        });
        return;
      case "trace":
        // The reader is loaded only by workers that read (a back never does).
        import("./replay-trace.js")
          .then(({ replayHere }) => replayHere(message.file, message.spec))
          .then(
            (outcome) => send({ type: "outcome", outcome }),
            (error: unknown) => fail(error),
          );
        return;
    }
  } catch (error) {
    fail(error);
  }
}
