/** Report options as a run with no set-up option makes them (src/cli/setup.ts reportOptions), for hand-made reports. */
import { DEFAULT_COST_MODEL } from "../../src/engine/results.js";
import type { ReportOptions } from "../../src/report.js";

export function plainOptions(strategies: readonly string[]): ReportOptions {
  return {
    strategies,
    l0_profile: "kvm-2013",
    l0_bitmap: null,
    l0_bitmap_legacy: null,
    l1_bitmap: null,
    l1_profile: null,
    l1_override: null,
    cost_model: DEFAULT_COST_MODEL,
  };
}
