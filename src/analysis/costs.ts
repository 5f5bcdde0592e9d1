/**
 * What the cost model does to the results, from the counters alone: est_cycles
 * split into its terms, swept over one cost key, and the value of a key at
 * which two strategies cost the same. The counters do not depend on the cost
 * model (docs/model.md §7 only multiplies them), so one replay answers every
 * cost model. Pure: no I/O.
 */
import {
  type CostKey,
  type CostModel,
  CYCLE_TERMS,
  type CycleSplit,
  estimateCycles,
  type MergeCost,
  type StrategyResult,
  splitCycles,
  termCostKey,
} from "../engine/results.js";
import { knownStrategy } from "../engine/strategies/index.js";

/** The cost key a strategy's merges are charged at (Strategy.mergeCost, built-in or plug-in; `merge` when it names none). */
export function mergeCostOf(strategy: string): MergeCost {
  return knownStrategy(strategy)?.mergeCost ?? "merge";
}

/** est_cycles of one result split into its terms; they add up to its est_cycles. */
export function cyclesOf(result: StrategyResult, cost: CostModel): CycleSplit {
  return splitCycles(result, cost, mergeCostOf(result.strategy), result.strategy);
}

/** `--sweep KEY=FROM:TO:STEP`, validated: whole cycles, FROM <= TO, STEP >= 1. */
export interface SweepSpec {
  readonly key: CostKey;
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

/** The values a sweep takes: FROM, FROM + STEP, … up to TO (TO itself only when a step lands on it). */
export function sweepValues(spec: SweepSpec): number[] {
  const values: number[] = [];
  for (let v = spec.from; v <= spec.to; v += spec.step) values.push(v);
  return values;
}

/** How many values a sweep takes, without listing them. */
export function sweepPoints(spec: Pick<SweepSpec, "from" | "to" | "step">): number {
  return Math.floor((spec.to - spec.from) / spec.step) + 1;
}

/** One strategy's est_cycles at every value of a sweep, the other costs held at the model's. */
export function sweepCycles(result: StrategyResult, cost: CostModel, spec: SweepSpec): number[] {
  const mergeCost = mergeCostOf(result.strategy);
  return sweepValues(spec).map((value) =>
    estimateCycles(result, { ...cost, [spec.key]: value }, mergeCost, result.strategy),
  );
}

/**
 * est_cycles as a function of one cost key, the others fixed: `base + slope × x`
 * (docs/model.md §7 is linear in every key). `slope` is the count the key
 * multiplies for this strategy (0 when the key is not its cost: `merge` for a
 * sparse strategy). Exact integers.
 */
export function lineOf(result: StrategyResult, cost: CostModel, key: CostKey): { base: bigint; slope: bigint } {
  const mergeCost = mergeCostOf(result.strategy);
  let slope = 0n;
  for (const term of CYCLE_TERMS) if (termCostKey(term, mergeCost) === key) slope += BigInt(result[term]);
  const base = BigInt(result.est_cycles) - slope * BigInt(cost[key]);
  return { base, slope };
}

/**
 * Where two strategies' est_cycles meet as `key` varies:
 * - `crosses`: equal at `value` (= numerator / denominator, exactly, reduced);
 *   `below` is the cheaper one below it, `above` the cheaper one above it.
 * - `never`: their lines are parallel, or meet below 0 (no cost is negative):
 *   `cheaper` costs less at every value from 0 up.
 * - `same`: equal at every value.
 */
export type BreakEven =
  | {
      readonly kind: "crosses";
      readonly numerator: bigint;
      readonly denominator: bigint;
      readonly below: string;
      readonly above: string;
    }
  | { readonly kind: "never"; readonly cheaper: string }
  | { readonly kind: "same" };

export interface BreakEvenPair {
  readonly key: CostKey;
  readonly a: string;
  readonly b: string;
  readonly result: BreakEven;
}

/** a + b x = c + d x, solved exactly over x >= 0. */
export function breakEven(a: StrategyResult, b: StrategyResult, cost: CostModel, key: CostKey): BreakEven {
  const la = lineOf(a, cost, key);
  const lb = lineOf(b, cost, key);
  if (la.slope === lb.slope) {
    if (la.base === lb.base) return { kind: "same" };
    return { kind: "never", cheaper: la.base < lb.base ? a.strategy : b.strategy };
  }
  // x = (base_b - base_a) / (slope_a - slope_b), with a positive denominator.
  let numerator = lb.base - la.base;
  let denominator = la.slope - lb.slope;
  if (denominator < 0n) {
    numerator = -numerator;
    denominator = -denominator;
  }
  if (numerator < 0n) return { kind: "never", cheaper: la.base < lb.base ? a.strategy : b.strategy };
  const divisor = gcd(numerator, denominator);
  // Above the crossing the one with the smaller slope is cheaper.
  const aAbove = la.slope < lb.slope;
  return {
    kind: "crosses",
    numerator: numerator / divisor,
    denominator: denominator / divisor,
    below: aAbove ? b.strategy : a.strategy,
    above: aAbove ? a.strategy : b.strategy,
  };
}

/** Every pair of strategies, in the order asked (the first with each later one, and so on). */
export function breakEvens(results: readonly StrategyResult[], cost: CostModel, key: CostKey): BreakEvenPair[] {
  const pairs: BreakEvenPair[] = [];
  for (let i = 0; i < results.length; i++) {
    for (let j = i + 1; j < results.length; j++) {
      const a = results[i] as StrategyResult;
      const b = results[j] as StrategyResult;
      pairs.push({ key, a: a.strategy, b: b.strategy, result: breakEven(a, b, cost, key) });
    }
  }
  return pairs;
}

/** Decimal places a break-even is printed with (rounded half up); JSON also gives the exact fraction. */
export const BREAKEVEN_DECIMALS = 2;

/** numerator / denominator (both >= 0) rounded half up to BREAKEVEN_DECIMALS places: "894.27". */
export function decimal(numerator: bigint, denominator: bigint, places = BREAKEVEN_DECIMALS): string {
  const scale = 10n ** BigInt(places);
  const scaled = (numerator * scale * 2n + denominator) / (denominator * 2n);
  const whole = scaled / scale;
  if (places === 0) return whole.toString();
  const fraction = (scaled % scale).toString().padStart(places, "0");
  return `${whole}.${fraction}`;
}

function gcd(x: bigint, y: bigint): bigint {
  let a = x < 0n ? -x : x;
  let b = y < 0n ? -y : y;
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

/**
 * A break-even as flat fields, for CSV and JSON: `breakeven` rounded to
 * BREAKEVEN_DECIMALS places (a string, so it prints as computed), `fraction`
 * exact ("117150/131"); `cheaper_below`/`cheaper_above` name the cheaper
 * strategy on each side (the same one on both sides when it always wins, null
 * below a crossing at 0 and on both sides when the two are equal everywhere);
 * `always_cheaper` names it when it always wins.
 */
export interface BreakEvenFields {
  readonly key: CostKey;
  readonly a: string;
  readonly b: string;
  readonly breakeven: string | null;
  readonly fraction: string | null;
  readonly cheaper_below: string | null;
  readonly cheaper_above: string | null;
  readonly always_cheaper: string | null;
}

export function breakEvenFields(pair: BreakEvenPair): BreakEvenFields {
  const { key, a, b, result } = pair;
  const none = { breakeven: null, fraction: null, cheaper_below: null, cheaper_above: null, always_cheaper: null };
  switch (result.kind) {
    case "same":
      return { key, a, b, ...none };
    case "never":
      return {
        key,
        a,
        b,
        ...none,
        cheaper_below: result.cheaper,
        cheaper_above: result.cheaper,
        always_cheaper: result.cheaper,
      };
    case "crosses":
      return {
        key,
        a,
        b,
        breakeven: decimal(result.numerator, result.denominator),
        fraction: `${result.numerator}/${result.denominator}`,
        cheaper_below: result.numerator === 0n ? null : result.below,
        cheaper_above: result.above,
        always_cheaper: null,
      };
  }
}
