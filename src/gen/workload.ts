/** What a workload is: its description, the snapshots it references, and a row source. */
import type { Rng } from "./rng.js";
import type { Rows } from "./rows.js";

export interface GenParams {
  /** Data rows to write, exactly. */
  readonly events: number;
  /** vCPUs 0 … vcpus-1. */
  readonly vcpus: number;
  readonly seed: bigint;
}

/** `gen --vcpus` when not given: the vCPUs of the bundled traces and of the benchmark's. */
export const DEFAULT_GEN_VCPUS = 4;
/** `gen --seed` when not given. */
export const DEFAULT_GEN_SEED = 1;

/** A JSON bitmap snapshot (docs/model.md §4). */
export interface BitmapJson {
  readonly default: "intercept" | "pass";
  readonly pass: readonly string[];
  readonly intercept: readonly string[];
}

export interface SnapshotDef {
  /** Part of the file name: `mixed.csv` → `mixed.<key>.json`. */
  readonly key: string;
  /** One line for the trace's header comment. */
  readonly about: string;
  readonly bitmap: BitmapJson;
}

export interface WorkloadContext {
  readonly params: GenParams;
  readonly rng: Rng;
  /** The `file` column value (CSV-ready) of each snapshot, by key. */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * Emits rows in bursts. `burst` must add at least one row per call (the
 * driver calls it until the trace has its events; rows past the limit are
 * dropped, so a burst may stop anywhere).
 */
export interface RowSource {
  burst(out: Rows): void;
}

export interface Workload {
  readonly name: string;
  /** One line, for `gen --list`. */
  readonly summary: string;
  /** What it models, a few lines for the trace's header comment. */
  readonly models: readonly string[];
  readonly snapshots: readonly SnapshotDef[];
  create(ctx: WorkloadContext): RowSource;
}
