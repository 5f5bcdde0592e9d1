/** Per-strategy results and their cost estimate (docs/model.md §7). */

/** Result fields in the order of docs/model.md §7: the CSV header and the JSON keys. */
export const RESULT_FIELDS = [
  "strategy",
  "accesses",
  "l0_exits",
  "l1_exits",
  "l0_handled",
  "no_exit",
  "merges",
  "wp_faults",
  "dirty_checks",
  "entries",
  "other_exits",
  "violations",
  "est_cycles",
] as const;

export type CounterName = Exclude<(typeof RESULT_FIELDS)[number], "strategy" | "est_cycles">;
export type Counters = Record<CounterName, number>;

export type StrategyResult = { strategy: string } & Counters & { est_cycles: number };

/** The cost model's keys, in the order the docs list them. */
export const COST_KEYS = ["l0_exit", "l1_exit", "merge", "merge_sparse", "wp_fault", "dirty_check"] as const;
export type CostKey = (typeof COST_KEYS)[number];
export type CostModel = Record<CostKey, number>;

/** What one merge costs a strategy: a full 4 KiB OR, or KVM's sparse allow-list rewrite. */
export type MergeCost = Extract<CostKey, "merge" | "merge_sparse">;

/** Defaults in cycles; README "Cost model" says where each comes from. */
export const DEFAULT_COST_MODEL: CostModel = {
  l0_exit: 1500,
  l1_exit: 15000,
  merge: 1000,
  merge_sparse: 700,
  wp_fault: 3000,
  dirty_check: 300,
};

/**
 * Where each default comes from, in a line: `compare --help` prints these,
 * and the README's cost table gives the longer story of each.
 */
export const COST_SOURCES: Record<CostKey, string> = {
  l0_exit: "an exit handled by L0 and the entry back (kvm-unit-tests vmexit tests) plus KVM's MSR handler",
  l1_exit:
    "an exit reflected to L1 and L1's VMRESUME: about ten L0 round trips (KVM's eVMCS commit measured 8,304-18,890)",
  merge: "ORing two 4 KiB pages (512 64-bit words) and mapping L1's page, as Xen and VirtualBox do; rounded up",
  merge_sparse:
    'KVM\'s sparse merge: its 2021 enlightened-MSR-bitmap patches say skipping it "shaves off around 700 CPU cycles"',
  wp_fault: "a store to a write-protected page: an EPT violation, KVM's page-track notifier, the emulated store",
  dirty_check:
    "reading and clearing one EPT dirty bit and flushing that translation (an estimate; no published figure)",
};

export function zeroCounters(): Counters {
  return {
    accesses: 0,
    l0_exits: 0,
    l1_exits: 0,
    l0_handled: 0,
    no_exit: 0,
    merges: 0,
    wp_faults: 0,
    dirty_checks: 0,
    entries: 0,
    other_exits: 0,
    violations: 0,
  };
}

/**
 * est_cycles cannot be given exactly: above 2^53 a double no longer holds
 * every whole number. The costs are whole numbers (the cost model refuses
 * others), so below that bound est_cycles is exact.
 */
export class InexactEstimateError extends RangeError {
  constructor(strategy: string, cycles: bigint) {
    super(
      `est_cycles of ${strategy} would be ${cycles} cycles, above 2^53 (${Number.MAX_SAFE_INTEGER}) where a number ` +
        "is no longer exact; give smaller costs",
    );
    this.name = "InexactEstimateError";
  }
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * docs/model.md §7: l0_exit × l0_handled + l1_exit × l1_exits + M × merges +
 * wp_fault × wp_faults + dirty_check × dirty_checks, where M is the
 * strategy's own merge cost (`merge_sparse` for the sparse strategies).
 * Summed in integers (BigInt), so the result is exact or refused, never
 * rounded: the costs are whole numbers, and a product of two numbers each
 * below 2^53 may not be.
 */
export function estimateCycles(
  c: Counters,
  cost: CostModel,
  mergeCost: MergeCost = "merge",
  strategy = "a strategy",
): number {
  const split = splitCycles(c, cost, mergeCost, strategy);
  // splitCycles checked the exact total is below 2^53, so this sum of doubles is exact too.
  return CYCLE_TERMS.reduce((sum, term) => sum + split[term], 0);
}

/**
 * est_cycles' terms, in docs/model.md §7's order: each counter that is costed,
 * named as the counter it multiplies.
 */
export const CYCLE_TERMS = ["l0_handled", "l1_exits", "merges", "wp_faults", "dirty_checks"] as const;
export type CycleTerm = (typeof CYCLE_TERMS)[number];
export type CycleSplit = Record<CycleTerm, number>;

/** The cost key each term is charged at, for a strategy whose merges cost `mergeCost`. */
export function termCostKey(term: CycleTerm, mergeCost: MergeCost = "merge"): CostKey {
  const keys: Record<CycleTerm, CostKey> = {
    l0_handled: "l0_exit",
    l1_exits: "l1_exit",
    merges: mergeCost,
    wp_faults: "wp_fault",
    dirty_checks: "dirty_check",
  };
  return keys[term];
}

/** The terms as exact integers, in CYCLE_TERMS order. */
function cycleTerms(c: Counters, cost: CostModel, mergeCost: MergeCost): bigint[] {
  return CYCLE_TERMS.map((term) => BigInt(cost[termCostKey(term, mergeCost)]) * BigInt(c[term]));
}

/**
 * est_cycles split into its terms (what estimateCycles sums): they add up to
 * it exactly. Refused as estimateCycles refuses: every term is at most the
 * total, so each is exact when the total is.
 */
export function splitCycles(
  c: Counters,
  cost: CostModel,
  mergeCost: MergeCost = "merge",
  strategy = "a strategy",
): CycleSplit {
  const terms = cycleTerms(c, cost, mergeCost);
  const total = terms.reduce((sum, t) => sum + t, 0n);
  if (total > MAX_EXACT) throw new InexactEstimateError(strategy, total);
  return Object.fromEntries(CYCLE_TERMS.map((term, i) => [term, Number(terms[i])])) as CycleSplit;
}
