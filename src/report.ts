/** What `compare` and `replay` computed, ready for any renderer. */
import type { MsrStats } from "./engine/replay.js";
import type { CostModel, StrategyResult } from "./engine/results.js";

/** The settings a result depends on, echoed in JSON as "options". */
export interface ReportOptions {
  readonly strategies: readonly string[];
  readonly l0_profile: string;
  readonly l0_bitmap: string | null;
  readonly l0_bitmap_legacy: string | null;
  readonly l1_bitmap: string | null;
  readonly cost_model: CostModel;
}

export interface Report {
  readonly trace: string;
  readonly events: number;
  readonly vcpus: number;
  readonly options: ReportOptions;
  readonly results: readonly StrategyResult[];
  /** `replay` only: per-MSR counts of its one strategy, busiest first. */
  readonly msrs?: readonly MsrStats[];
}
