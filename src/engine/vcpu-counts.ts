/**
 * Per-vCPU delivery counts of one strategy (`compare --by vcpu`), in
 * columns: one row per vCPU a trace can name (MAX_VCPUS), so counting is an
 * index, never a lookup, and the whole table is a few hundred KiB.
 */
import { MAX_VCPUS } from "./machine.js";
import { Delivery } from "./strategy.js";

/** The vCPUs that made at least one access, by number: row i is vCPU vcpu[i]. */
export interface VcpuBreakdown {
  readonly length: number;
  readonly vcpu: Float64Array;
  readonly accesses: Float64Array;
  readonly l0_exits: Float64Array;
  readonly l1_exits: Float64Array;
  readonly no_exit: Float64Array;
  readonly l0_handled: Float64Array;
  readonly violations: Float64Array;
}

/** The counts of one vCPU: accesses, one per Delivery at 1 + its code, violations. */
const COLUMNS = 5;
const ACCESSES = 0;
const NONE_COUNT = 1 + Delivery.none;
const L0_COUNT = 1 + Delivery.l0;
const L1_COUNT = 1 + Delivery.l1;
const VIOLATIONS = 4;

export class VcpuCounts {
  private readonly counts = new Float64Array(MAX_VCPUS * COLUMNS);

  add(vcpu: number, delivery: Delivery): void {
    const at = vcpu * COLUMNS;
    const counts = this.counts;
    counts[at + ACCESSES] = (counts[at + ACCESSES] as number) + 1;
    const column = at + 1 + delivery;
    counts[column] = (counts[column] as number) + 1;
  }

  /** An access on vcpu was a violation (its add() comes separately). */
  violation(vcpu: number): void {
    const at = vcpu * COLUMNS + VIOLATIONS;
    this.counts[at] = (this.counts[at] as number) + 1;
  }

  /**
   * The vCPUs with at least one access, lowest first: a vCPU that only ran
   * L1 events or vmexits has nothing to break down.
   */
  breakdown(): VcpuBreakdown {
    const counts = this.counts;
    const seen: number[] = [];
    for (let v = 0; v < MAX_VCPUS; v++) if ((counts[v * COLUMNS + ACCESSES] as number) > 0) seen.push(v);
    const n = seen.length;
    const out = {
      length: n,
      vcpu: new Float64Array(seen),
      accesses: new Float64Array(n),
      l0_exits: new Float64Array(n),
      l1_exits: new Float64Array(n),
      no_exit: new Float64Array(n),
      l0_handled: new Float64Array(n),
      violations: new Float64Array(n),
    };
    seen.forEach((v, i) => {
      const at = v * COLUMNS;
      out.accesses[i] = counts[at + ACCESSES] as number;
      out.no_exit[i] = counts[at + NONE_COUNT] as number;
      out.l0_handled[i] = counts[at + L0_COUNT] as number;
      out.l1_exits[i] = counts[at + L1_COUNT] as number;
      out.l0_exits[i] = (counts[at + L0_COUNT] as number) + (counts[at + L1_COUNT] as number);
      out.violations[i] = counts[at + VIOLATIONS] as number;
    });
    return out;
  }
}
