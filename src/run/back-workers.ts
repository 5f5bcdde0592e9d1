/**
 * The back half of a pipelined replay (pipeline.ts) on several threads: the
 * strategies are split into contiguous shares, one per worker thread, and
 * every worker runs its share over the same batches in shared memory. To the
 * pipeline the group looks like the one worker it replaces (the same
 * messages in and out): a batch slot is handed back once every worker has
 * consumed it, each window and the results are joined, strategy order kept.
 *
 * Each worker keeps its own machine: the machine events must be applied in
 * every one anyway. Each judges the accesses of its tiles for its share,
 * rather than slow down the thread that reads (docs/model.md §6). SetupUse
 * depends on the machine only, not on the strategies, so every worker finds
 * the same; the first's is taken.
 */
import { Worker } from "node:worker_threads";
import type { StrategyResult } from "../engine/results.js";
import type { WindowRecord } from "../engine/windows.js";
import type { FromWorker, ReplaySpec, ToWorker } from "./protocol.js";

type Results = Extract<FromWorker, { type: "results" }>;

/** The strategies split into `count` contiguous shares, in order, of sizes differing by at most one. */
export function shareStrategies(strategies: readonly string[], count: number): string[][] {
  const n = Math.max(1, Math.min(count, strategies.length));
  const shares: string[][] = [];
  let from = 0;
  for (let k = 0; k < n; k++) {
    const size = Math.floor(strategies.length / n) + (k < strategies.length % n ? 1 : 0);
    shares.push(strategies.slice(from, from + size));
    from += size;
  }
  return shares;
}

/** The workers' results joined, as one worker running every strategy would send them. */
export function joinResults(parts: readonly Results[]): Results {
  const first = parts[0];
  if (first === undefined) throw new Error("internal: no results to join");
  const breakdowns = parts.flatMap((part) => part.breakdowns ?? []);
  const violations = parts.flatMap((part) => part.violations ?? []);
  return {
    type: "results",
    results: parts.flatMap((part) => part.results),
    // `replay`'s per-MSR table is the first strategy's, so the first worker's.
    ...(first.msrs ? { msrs: first.msrs } : {}),
    ...(first.breakdowns ? { breakdowns } : {}),
    setupUse: first.setupUse,
    ...(first.violations ? { violations } : {}),
  };
}

/**
 * --window: each worker reports its strategies' counters per window, in
 * window order; a window is complete once every worker has reported it. As
 * each worker's reports come in order, windows complete in order too.
 */
export class WindowJoin {
  private readonly pending = new Map<number, { record: WindowRecord; parts: StrategyResult[][]; got: number }>();

  constructor(private readonly workers: number) {}

  /** Worker k's records; returns the windows this completed, in order. */
  add(k: number, records: readonly WindowRecord[]): WindowRecord[] {
    const done: WindowRecord[] = [];
    for (const record of records) {
      let entry = this.pending.get(record.window);
      if (entry === undefined) {
        entry = { record, parts: new Array<StrategyResult[]>(this.workers).fill([]), got: 0 };
        this.pending.set(record.window, entry);
      }
      entry.parts[k] = record.results;
      entry.got++;
      if (entry.got === this.workers) {
        this.pending.delete(record.window);
        done.push({ ...entry.record, results: entry.parts.flat() });
      }
    }
    return done;
  }
}

type Listener<T> = (value: T) => void;

/**
 * A group of replay workers that the pipeline drives as one (its `on`,
 * `begin`, `postMessage`, `terminate`). The workers start with the group,
 * so that they load while the trace is opened; begin() gives them their
 * strategies.
 */
export class BackWorkers {
  private readonly workers: Worker[];
  private readonly windows: WindowJoin;
  /** Per batch slot, the workers still holding it. */
  private readonly holders = new Map<number, number>();
  private onMessage: Listener<FromWorker> = () => {};
  private onError: Listener<Error> = () => {};
  /** After "end": each worker's answer (results or an error), by worker. */
  private answers: (Results | Extract<FromWorker, { type: "error" }> | undefined)[] | null = null;

  constructor(url: URL, count: number) {
    this.workers = Array.from({ length: Math.max(1, count) }, () => new Worker(url));
    this.workers.forEach((worker, k) => {
      worker.on("message", (message: FromWorker) => this.fromWorker(k, message));
      worker.on("error", (error) => this.onError(error));
    });
    this.windows = new WindowJoin(this.workers.length);
  }

  /** The replay's set-up: the strategies split between the workers. */
  begin(spec: ReplaySpec): void {
    const shares = shareStrategies(spec.strategies, this.workers.length);
    if (shares.length < this.workers.length || shares.some((share) => share.length === 0)) {
      throw new Error("internal: more back workers than strategies");
    }
    this.workers.forEach((worker, k) => {
      worker.postMessage({ type: "back", spec: { ...spec, strategies: shares[k] as string[] } });
    });
  }

  on(event: "message", listener: Listener<FromWorker>): void;
  on(event: "error", listener: Listener<Error>): void;
  on(event: "message" | "error", listener: Listener<FromWorker> | Listener<Error>): void {
    if (event === "message") this.onMessage = listener as Listener<FromWorker>;
    else this.onError = listener as Listener<Error>;
  }

  /** A batch or the end, to every worker ("back" goes through begin()). */
  postMessage(message: Exclude<ToWorker, { type: "back" | "trace" }>): void {
    if (message.type === "batch") this.holders.set(message.slot, this.workers.length);
    if (message.type === "end") this.answers = new Array(this.workers.length).fill(undefined);
    for (const worker of this.workers) worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private fromWorker(k: number, message: FromWorker): void {
    switch (message.type) {
      case "batch": {
        const left = (this.holders.get(message.slot) ?? 1) - 1;
        if (left > 0) this.holders.set(message.slot, left);
        else {
          this.holders.delete(message.slot);
          this.onMessage(message);
        }
        return;
      }
      case "windows": {
        const records = this.windows.add(k, message.records);
        if (records.length > 0) this.onMessage({ type: "windows", records });
        return;
      }
      case "results":
      case "error": {
        const answers = this.answers;
        // An error before the end (a strategy module that does not load) stops the run at once.
        if (answers === null) {
          this.onMessage(message);
          return;
        }
        answers[k] = message;
        if (answers.includes(undefined)) return;
        // The first worker's error, whichever came first, so the error shown does not depend on timing.
        const error = answers.find((answer) => answer?.type === "error");
        this.onMessage(error ?? joinResults(answers as Results[]));
        return;
      }
      case "outcome":
        this.onMessage(message);
        return;
    }
  }
}
