/**
 * The back half of a pipelined replay (pipeline.ts) on several threads: the
 * strategies are split into contiguous shares, one per member (a worker
 * thread, or, for a packed read whose strategies go event by event, a host
 * in the main thread too), and every member runs its share over the same
 * batches in shared memory. To the pipeline the group looks like the one
 * worker it replaces (the same messages in and out): a batch slot is handed
 * back once every member has consumed it, each window and the results are
 * joined, strategy order kept.
 *
 * Each member keeps its own machine, and judges the accesses of its tiles
 * for its share: the machine events must be applied in every one anyway
 * (docs/model.md §6). SetupUse depends on the machine only, not on the
 * strategies, so every member finds the same; the first's is taken.
 */
import { Worker } from "node:worker_threads";
import type { StrategyResult } from "../engine/results.js";
import type { WindowRecord } from "../engine/windows.js";
import { BackHost } from "./back-host.js";
import type { FromWorker, ReplaySpec, ToWorker } from "./protocol.js";

type Results = Extract<FromWorker, { type: "results" }>;

/**
 * The strategies split into `count` contiguous shares, in order: the first
 * of `first` strategies when given (the share of a host in the main thread,
 * which reads too), the rest of sizes differing by at most one.
 */
export function shareStrategies(strategies: readonly string[], count: number, first?: number): string[][] {
  if (first !== undefined) {
    const head = strategies.slice(0, first);
    return [head, ...shareStrategies(strategies.slice(head.length), count - 1)];
  }
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

/**
 * How many strategies a host in the main thread takes (a packed read whose
 * strategies go event by event, pipeline.ts) when `threads` threads, that
 * one included, share `count` strategies: an even share, the smaller one
 * when they cannot be even, as that thread also reads the trace. 0: none.
 */
export function mainThreadShare(count: number, threads: number): number {
  return Math.floor(count / Math.max(1, threads));
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

/** A member of the group: a worker thread, or a BackHost in this thread. */
interface Member {
  postMessage(message: ToWorker): void;
  terminate(): Promise<unknown>;
}

/**
 * A group of replay workers that the pipeline drives as one (its `on`,
 * `begin`, `postMessage`, `terminate`). The workers start with the group,
 * before the pipeline knows what it reads, so that they load while the
 * trace is opened; begin() gives them their strategies. With `inThread`
 * strategies (mainThreadShare) the first member is a BackHost in this
 * thread, which runs its share of each batch as the batch is posted.
 */
export class BackWorkers {
  private members: Member[];
  /** Where the worker threads start among the members: 1 after a BackHost in this thread. */
  private offset = 0;
  private windows: WindowJoin;
  /** Per batch slot, the members still holding it. */
  private readonly holders = new Map<number, number>();
  private onMessage: Listener<FromWorker> = () => {};
  private onError: Listener<Error> = () => {};
  /** After "end": each member's answer (results or an error), by member. */
  private answers: (Results | Extract<FromWorker, { type: "error" }> | undefined)[] | null = null;

  constructor(url: URL, count: number) {
    const workers = Array.from({ length: Math.max(1, count) }, () => new Worker(url));
    workers.forEach((worker, k) => {
      worker.on("message", (message: FromWorker) => this.fromWorker(k + this.offset, message));
      worker.on("error", (error) => this.onError(error));
    });
    this.members = workers;
    this.windows = new WindowJoin(workers.length);
  }

  /** The replay's set-up: `inThread` of the strategies here, the rest split between the workers. */
  begin(spec: ReplaySpec, inThread = 0): void {
    if (inThread > 0) {
      // Its answers come back at once, inside postMessage: fromWorker() counts them like any other's.
      const host = new BackHost((message) => this.fromWorker(0, message));
      const here: Member = { postMessage: (message) => host.receive(message), terminate: async () => undefined };
      this.members = [here, ...this.members];
      this.offset = 1;
      this.windows = new WindowJoin(this.members.length);
    }
    const shares = shareStrategies(spec.strategies, this.members.length, inThread > 0 ? inThread : undefined);
    if (shares.length < this.members.length || shares.some((share) => share.length === 0)) {
      throw new Error("internal: more back workers than strategies");
    }
    this.members.forEach((member, k) => {
      member.postMessage({ type: "back", spec: { ...spec, strategies: shares[k] as string[] } });
    });
  }

  on(event: "message", listener: Listener<FromWorker>): void;
  on(event: "error", listener: Listener<Error>): void;
  on(event: "message" | "error", listener: Listener<FromWorker> | Listener<Error>): void {
    if (event === "message") this.onMessage = listener as Listener<FromWorker>;
    else this.onError = listener as Listener<Error>;
  }

  /** A batch or the end, to every member ("back" goes through begin()). */
  postMessage(message: Exclude<ToWorker, { type: "back" | "trace" }>): void {
    if (message.type === "batch") this.holders.set(message.slot, this.members.length);
    if (message.type === "end") this.answers = new Array(this.members.length).fill(undefined);
    for (const member of this.members) member.postMessage(message);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.members.map((member) => member.terminate()));
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
