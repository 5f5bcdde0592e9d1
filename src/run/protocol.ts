/** Messages between the main thread and replay workers. */
import type { Batch } from "../engine/batch.js";
import type { MsrStats } from "../engine/back.js";
import type { L0Bitmaps } from "../engine/machine.js";
import type { CostModel, StrategyResult } from "../engine/results.js";
import type { SkippedRows } from "../io/trace-reader.js";

/** What a replay needs besides the trace: plain data, so it can cross threads. */
export interface ReplaySpec {
  readonly strategies: readonly string[];
  readonly l0: L0Bitmaps;
  readonly l1Bitmap: Uint8Array | null;
  readonly cost: CostModel;
  readonly breakdown: boolean;
  /** --snapshots-dir: folders besides each trace's own that its snapshots may be in. */
  readonly snapshotDirs?: readonly string[];
  /** --lenient: skip bad rows (counted in the outcome) instead of stopping. */
  readonly lenient?: boolean;
}

/** What a replay of one trace found. */
export interface TraceOutcome {
  readonly trace: string;
  readonly events: number;
  readonly vcpus: number;
  readonly results: StrategyResult[];
  readonly msrs?: MsrStats[];
  /** --lenient only: the rows skipped, and the first ten errors. */
  readonly skipped?: SkippedRows;
}

export type ToWorker =
  /** Run the strategies (the back half) over batches that follow. */
  | { readonly type: "back"; readonly spec: ReplaySpec }
  | { readonly type: "batch"; readonly batch: Batch }
  | { readonly type: "end" }
  /** Replay a whole trace in the worker. */
  | { readonly type: "trace"; readonly file: string; readonly spec: ReplaySpec };

export type FromWorker =
  /** A consumed batch, sent back to be filled again. */
  | { readonly type: "batch"; readonly batch: Batch }
  | { readonly type: "results"; readonly results: StrategyResult[]; readonly msrs?: MsrStats[] }
  | { readonly type: "outcome"; readonly outcome: TraceOutcome }
  /** `input`: the user's input was wrong (exit 1); otherwise a fault of ours. */
  | { readonly type: "error"; readonly message: string; readonly input: boolean };

/** The buffers a batch can hand over without copying. */
export function batchBuffers(batch: Batch): ArrayBuffer[] {
  return [batch.code.buffer, batch.vcpu.buffer, batch.msr.buffer] as ArrayBuffer[];
}
