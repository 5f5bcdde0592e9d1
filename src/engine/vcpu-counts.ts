/**
 * Per-vCPU delivery counts of one strategy (`compare --by vcpu`), in
 * columns: one row per vCPU a trace can name (MAX_VCPUS), so counting is an
 * index, never a lookup, and the whole table is a few hundred KiB.
 */
import {
  accessesAt,
  COLUMNS,
  copyRow,
  countAccess,
  countViolation,
  type RowCounts,
  rowCounts,
} from "./delivery-rows.js";
import { MAX_VCPUS } from "./machine.js";
import type { Delivery } from "./strategy.js";

/** The vCPUs that made at least one access, by number: row i is vCPU vcpu[i]. */
export interface VcpuBreakdown extends RowCounts {
  readonly length: number;
  readonly vcpu: Float64Array;
}

export class VcpuCounts {
  private readonly counts = new Float64Array(MAX_VCPUS * COLUMNS);

  add(vcpu: number, delivery: Delivery): void {
    countAccess(this.counts, vcpu * COLUMNS, delivery);
  }

  /** An access on vcpu was a violation (its add() comes separately). */
  violation(vcpu: number): void {
    countViolation(this.counts, vcpu * COLUMNS);
  }

  /**
   * The vCPUs with at least one access, lowest first: a vCPU that only ran
   * L1 events or vmexits has nothing to break down.
   */
  breakdown(): VcpuBreakdown {
    const counts = this.counts;
    const seen: number[] = [];
    for (let v = 0; v < MAX_VCPUS; v++) if (accessesAt(counts, v * COLUMNS) > 0) seen.push(v);
    const n = seen.length;
    const out = { length: n, vcpu: new Float64Array(seen), ...rowCounts(n) };
    for (const [i, v] of seen.entries()) copyRow(out, i, counts, v * COLUMNS);
    return out;
  }
}
