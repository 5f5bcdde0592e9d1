/** What `compare` and `replay` computed, ready for any renderer. */
import type { SweepSpec } from "./analysis/costs.js";
import type { CostKey, CostModel } from "./engine/results.js";
import { knownStrategy } from "./engine/strategies/index.js";
import type { TraceFailure, TraceOutcome } from "./run/protocol.js";

/** The settings a result depends on, echoed in JSON as "options". */
export interface ReportOptions {
  readonly strategies: readonly string[];
  readonly l0_profile: string;
  /** The file given, or "<bytes>" for a page the library was given in memory; null when none. */
  readonly l0_bitmap: string | null;
  readonly l0_bitmap_legacy: string | null;
  readonly l1_bitmap: string | null;
  readonly l1_profile: string | null;
  /** --l1-override: the file or L1 profile that replaced every bitmap page the trace stores. */
  readonly l1_override: string | null;
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
  /** `compare`'s views of the cost model, computed from the counters (src/analysis/costs.ts). */
  readonly costs?: CostViews;
  /** compare --violations: each trace's first violations (TraceOutcome.violations) are shown. */
  readonly violations?: boolean;
}

/** What `compare` was asked to show of the cost model besides est_cycles. */
export interface CostViews {
  /** --cycles: est_cycles split into its terms in the table and the CSV (JSON always has it). */
  readonly cycles: boolean;
  /** --sweep KEY=FROM:TO:STEP, each key on its own, in the order given. */
  readonly sweeps: readonly SweepSpec[];
  /** --breakeven KEY, in the order given. */
  readonly breakevens: readonly CostKey[];
}

/**
 * The one strategy whose violations are expected: `merged-stale` tracks no
 * store to L1's page on purpose (README "The strategies"), so its violations
 * are its point, not a failure.
 */
export const UNSAFE_ON_PURPOSE = "merged-stale";

/** A strategy that let accesses past a hypervisor that wanted them, and where. */
export interface Violator {
  readonly trace: string;
  readonly strategy: string;
  readonly violations: number;
}

/** --fail-on-violations: every result with violations, but merged-stale's (and a plug-in's declared unsafe: Strategy.unsafe), in report order. */
export function violators(report: Pick<Report, "traces">): Violator[] {
  return report.traces.flatMap((t) =>
    t.results
      .filter((r) => r.violations > 0 && r.strategy !== UNSAFE_ON_PURPOSE && knownStrategy(r.strategy)?.unsafe !== true)
      .map((r) => ({ trace: t.trace, strategy: r.strategy, violations: r.violations })),
  );
}
