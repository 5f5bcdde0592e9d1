/** Messages between the main thread and replay workers. */

import type { SetupUse } from "../engine/back.js";
import { BATCH_BYTES_PER_EVENT, type Batch, type MachineEvent, newBatch } from "../engine/batch.js";
import type { BreakdownBy, StrategyBreakdown } from "../engine/by.js";
import type { L0Bitmaps } from "../engine/machine.js";
import type { MsrBreakdown } from "../engine/msr-counts.js";
import type { CostModel, StrategyResult } from "../engine/results.js";
import type { StrategyViolations } from "../engine/violations.js";
import type { WindowRecord, WindowSpec } from "../engine/windows.js";
import type { CacheSpec } from "../io/cache-spec.js";
import type { SkippedRows } from "../io/trace-reader.js";

/** What a replay needs besides the trace: plain data, so it can cross threads. */
export interface ReplaySpec {
  readonly strategies: readonly string[];
  readonly l0: L0Bitmaps;
  readonly l1Bitmap: Uint8Array | null;
  /** --l1-override: the content every store to a bitmap page writes instead (ReplayFront). */
  readonly l1Override?: Uint8Array | null;
  readonly cost: CostModel;
  readonly breakdown: boolean;
  /** --snapshots-dir: folders besides each trace's own that its snapshots may be in. */
  readonly snapshotDirs?: readonly string[];
  /** -o: the output file, which no snapshot a trace loads may be. */
  readonly outputs?: readonly string[];
  /** --lenient: skip bad rows (counted in the outcome) instead of stopping. */
  readonly lenient?: boolean;
  /** `compare --by`: every strategy's counts per MSR or per vCPU (TraceOutcome.breakdowns). */
  readonly by?: BreakdownBy | null;
  /** compare --violations: record each strategy's first violations, with their lines. */
  readonly violations?: boolean;
  /** --window: the back reports each window's counters (FromWorker "windows"). */
  readonly window?: WindowSpec;
  /** --strategy-module: files whose strategies `strategies` may name; each thread imports them (io/strategy-modules.ts). */
  readonly strategyModules?: readonly string[];
  /** The cache of packed traces (io/trace-cache.ts); absent or null: --no-cache. */
  readonly cache?: CacheSpec | null;
}

/** What a replay of one trace found. */
export interface TraceOutcome {
  readonly trace: string;
  readonly events: number;
  readonly vcpus: number;
  readonly results: StrategyResult[];
  readonly msrs?: MsrBreakdown;
  /** `compare --by` only: every strategy's breakdown, in the order asked (typed arrays). */
  readonly breakdowns?: readonly StrategyBreakdown[];
  /** --lenient only: the rows skipped, and the first ten errors. */
  readonly skipped?: SkippedRows;
  /** Whether L1's bitmap, and --l1-bitmap's, mattered: for the CLI's warnings, never rendered. */
  readonly setupUse?: SetupUse;
  /** --l1-override: the stores to bitmap pages whose content it replaced (0: it changed nothing). */
  readonly overridden?: number;
  /** compare --violations only: per strategy, its violation count and first violations. */
  readonly violations?: readonly StrategyViolations[];
  /** The cache's line for stderr (read or written), returned rather than printed: a worker's stderr is not the run's. */
  readonly cacheNote?: string;
}

/** A trace that could not be replayed (--keep-going): its one-line error. */
export interface TraceFailure {
  readonly trace: string;
  readonly error: string;
}

export type ToWorker =
  /** Run the strategies (the back half) over batches that follow. */
  | { readonly type: "back"; readonly spec: ReplaySpec }
  | BatchMessage
  | { readonly type: "end" }
  /** Replay a whole trace in the worker. */
  | { readonly type: "trace"; readonly file: string; readonly spec: ReplaySpec };

export type FromWorker =
  /** The batch in this slot is consumed: it can be filled again. */
  | { readonly type: "batch"; readonly slot: number }
  | {
      readonly type: "results";
      readonly results: StrategyResult[];
      readonly msrs?: MsrBreakdown;
      readonly breakdowns?: readonly StrategyBreakdown[];
      readonly setupUse: SetupUse;
      readonly violations?: readonly StrategyViolations[];
    }
  | { readonly type: "outcome"; readonly outcome: TraceOutcome }
  /** --window: the windows that ended in the batch just consumed, in order (sent before its "batch"). */
  | { readonly type: "windows"; readonly records: WindowRecord[] }
  /** `input`: the user's input was wrong (exit 1); otherwise a fault of ours. */
  | { readonly type: "error"; readonly message: string; readonly input: boolean };

/**
 * A full batch. Its arrays live in shared memory, one buffer per slot, so
 * only the counts and the few machine events are copied.
 */
export interface BatchMessage {
  readonly type: "batch";
  readonly slot: number;
  readonly memory: SharedArrayBuffer;
  readonly count: number;
  readonly marks: number[];
  readonly machineEvents: MachineEvent[];
  /** The batch's line column (compare --violations), in shared memory of its own. */
  readonly lines?: SharedArrayBuffer;
  /** The front's judgements (Batch.judged), in shared memory of their own. */
  readonly judged?: SharedArrayBuffer;
}

/** The message for a batch made by newBatch() over a SharedArrayBuffer. */
export function batchMessage(slot: number, batch: Batch): BatchMessage {
  const { count, marks, machineEvents } = batch;
  const memory = batch.msr.buffer as SharedArrayBuffer;
  const lines = batch.line ? { lines: batch.line.buffer as SharedArrayBuffer } : {};
  const judged = batch.judged ? { judged: batch.judged.buffer as SharedArrayBuffer } : {};
  return { type: "batch", slot, memory, count, marks, machineEvents, ...lines, ...judged };
}

/** The batch a message describes, over the same shared memory. */
export function batchOf(message: BatchMessage): Batch {
  const batch = newBatch(
    message.memory.byteLength / BATCH_BYTES_PER_EVENT,
    message.memory,
    message.lines,
    message.judged,
  );
  batch.count = message.count;
  batch.marks.push(...message.marks);
  batch.machineEvents.push(...message.machineEvents);
  return batch;
}
