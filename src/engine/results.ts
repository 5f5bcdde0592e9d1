/** Per-strategy results and their cost estimate (SPEC section 7). */

/** Result fields in SPEC order: the CSV header and the JSON keys. */
export const RESULT_FIELDS = [
  "strategy",
  "accesses",
  "l0_exits",
  "l1_exits",
  "l0_handled",
  "no_exit",
  "merges",
  "wp_faults",
  "entries",
  "other_exits",
  "violations",
  "est_cycles",
] as const;

export type CounterName = Exclude<(typeof RESULT_FIELDS)[number], "strategy" | "est_cycles">;
export type Counters = Record<CounterName, number>;

export type StrategyResult = { strategy: string } & Counters & { est_cycles: number };

export const COST_KEYS = ["l0_exit", "l1_exit", "merge", "wp_fault"] as const;
export type CostModel = Record<(typeof COST_KEYS)[number], number>;

/** Defaults in cycles; README "Cost model" says where each comes from. */
export const DEFAULT_COST_MODEL: CostModel = { l0_exit: 1500, l1_exit: 15000, merge: 1000, wp_fault: 3000 };

export function zeroCounters(): Counters {
  return {
    accesses: 0,
    l0_exits: 0,
    l1_exits: 0,
    l0_handled: 0,
    no_exit: 0,
    merges: 0,
    wp_faults: 0,
    entries: 0,
    other_exits: 0,
    violations: 0,
  };
}

export function estimateCycles(c: Counters, cost: CostModel): number {
  return cost.l0_exit * c.l0_handled + cost.l1_exit * c.l1_exits + cost.merge * c.merges + cost.wp_fault * c.wp_faults;
}
