/**
 * What went wrong in a violation (docs/model.md §6), for `compare --violations`
 * and `explain`: the first accesses of each strategy that a hypervisor wanted
 * to see and did not (or that L1 saw without asking), with their line.
 */
import { Delivery } from "./strategy.js";

/**
 * How many violations a replay records per strategy, in trace order: enough
 * to find the pattern (which MSR, which vCPU, after which edit), and a bound
 * on what a replay keeps whatever the trace (the counter counts them all).
 */
export const VIOLATION_LIMIT = 20;

/**
 * The ways an access can be delivered wrongly, in docs/model.md §6's order of
 * its definition: L1's wish first, then L0's. An access that is wrong in two
 * ways (L1 and L0 both wanted it, and it completed in L2) is named by the
 * first that applies.
 */
export const VIOLATION_KINDS = [
  "L1 wants it, delivered to l0",
  "L1 wants it, delivered to none",
  "L1 does not want it, delivered to l1",
  "L0 wants it, delivered to none",
] as const;

export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** One violation: where in the trace, which access, what went wrong. */
export interface ViolationRecord {
  /** The access's line in the trace. */
  readonly line: number;
  readonly vcpu: number;
  readonly msr: number;
  readonly write: boolean;
  readonly kind: ViolationKind;
}

/** Per strategy (in the order asked), its violation count and its first VIOLATION_LIMIT violations. */
export interface StrategyViolations {
  readonly strategy: string;
  /** All of them: the `violations` counter. */
  readonly total: number;
  /** The first ones, in trace order, at most VIOLATION_LIMIT. */
  readonly first: readonly ViolationRecord[];
}

/**
 * What went wrong with an access delivered to `delivery` (docs/model.md §6),
 * or null when nothing did. The order is VIOLATION_KINDS'.
 */
export function violationKind(l1Wants: boolean, l0Wants: boolean, delivery: Delivery): ViolationKind | null {
  if (l1Wants && delivery === Delivery.l0) return "L1 wants it, delivered to l0";
  if (l1Wants && delivery === Delivery.none) return "L1 wants it, delivered to none";
  if (!l1Wants && delivery === Delivery.l1) return "L1 does not want it, delivered to l1";
  if (l0Wants && delivery === Delivery.none) return "L0 wants it, delivered to none";
  return null;
}
