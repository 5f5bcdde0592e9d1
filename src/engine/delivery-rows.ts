/**
 * The row layout the per-MSR and per-vCPU counts share (msr-counts.ts,
 * vcpu-counts.ts): a row of COLUMNS doubles per key in one Float64Array,
 * counting accesses, each Delivery, and violations.
 */
import { Delivery } from "./strategy.js";

/** Doubles per row: accesses, one per Delivery at 1 + its code, violations. */
export const COLUMNS = 5;
const ACCESSES = 0;
const NONE_COUNT = 1 + Delivery.none;
const L0_COUNT = 1 + Delivery.l0;
const L1_COUNT = 1 + Delivery.l1;
const VIOLATIONS = 4;

/** The counts a breakdown reports per row, in docs/model.md §7's terms. */
export interface RowCounts {
  readonly accesses: Float64Array;
  readonly l0_exits: Float64Array;
  readonly l1_exits: Float64Array;
  readonly no_exit: Float64Array;
  /** l0_exits - l1_exits: the exits L0 handled itself. */
  readonly l0_handled: Float64Array;
  /** Accesses counted as violations (where ReplayBack.violation counts them). */
  readonly violations: Float64Array;
}

/** One access counted in the row starting at `at`, delivered to `delivery`. */
export function countAccess(counts: Float64Array, at: number, delivery: Delivery): void {
  counts[at + ACCESSES] = (counts[at + ACCESSES] as number) + 1;
  const column = at + 1 + delivery;
  counts[column] = (counts[column] as number) + 1;
}

/** One violation counted in the row starting at `at` (its access is counted separately). */
export function countViolation(counts: Float64Array, at: number): void {
  counts[at + VIOLATIONS] = (counts[at + VIOLATIONS] as number) + 1;
}

/** The accesses of the row starting at `at` (what orders a breakdown). */
export function accessesAt(counts: Float64Array, at: number): number {
  return counts[at + ACCESSES] as number;
}

/** Empty columns for n rows. */
export function rowCounts(n: number): RowCounts {
  return {
    accesses: new Float64Array(n),
    l0_exits: new Float64Array(n),
    l1_exits: new Float64Array(n),
    no_exit: new Float64Array(n),
    l0_handled: new Float64Array(n),
    violations: new Float64Array(n),
  };
}

/** Row i of `out` from the row starting at `at`: every exit reaches L0 first, so l0_exits = l0 + l1 deliveries. */
export function copyRow(out: RowCounts, i: number, counts: Float64Array, at: number): void {
  out.accesses[i] = counts[at + ACCESSES] as number;
  out.no_exit[i] = counts[at + NONE_COUNT] as number;
  out.l0_handled[i] = counts[at + L0_COUNT] as number;
  out.l1_exits[i] = counts[at + L1_COUNT] as number;
  out.l0_exits[i] = (counts[at + L0_COUNT] as number) + (counts[at + L1_COUNT] as number);
  out.violations[i] = counts[at + VIOLATIONS] as number;
}
