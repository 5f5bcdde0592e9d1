/** What `compare` and `replay` computed, ready for any renderer. */
import type { CostModel } from "./engine/results.js";
import type { TraceFailure, TraceOutcome } from "./run/protocol.js";

/** The settings a result depends on, echoed in JSON as "options". */
export interface ReportOptions {
  readonly strategies: readonly string[];
  readonly l0_profile: string;
  readonly l0_bitmap: string | null;
  readonly l0_bitmap_legacy: string | null;
  readonly l1_bitmap: string | null;
  readonly l1_profile: string | null;
  readonly cost_model: CostModel;
}

export interface Report {
  readonly options: ReportOptions;
  /** One per trace, in the order given; `msrs` (replay only) per-MSR counts, busiest first. */
  readonly traces: readonly TraceOutcome[];
  /** --lenient: results may be partial; renderers say so. */
  readonly lenient?: boolean;
  /** --keep-going only: the traces that could not be replayed, in the order given. */
  readonly failed?: readonly TraceFailure[];
}
