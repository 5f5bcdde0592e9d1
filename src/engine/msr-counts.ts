/**
 * Per-MSR, per-direction delivery counts of one strategy (`replay`'s
 * breakdown), kept in columns: a trace may touch millions of distinct MSRs,
 * and typed arrays cost a few bytes per MSR where an object each costs some
 * hundred, and they cross to another thread as one copy of their bytes.
 */

import { bitPosition, PAGE_SIZE } from "./bitmap.js";
import {
  accessesAt,
  COLUMNS,
  copyRow,
  countAccess,
  countViolation,
  type RowCounts,
  rowCounts,
} from "./delivery-rows.js";
import type { Delivery } from "./strategy.js";

/** Bit positions in a bitmap page: one per bit of its 4 KiB. */
const BIT_POSITIONS = PAGE_SIZE * 8;

/** The breakdown, busiest first: row i is msr[i] in direction write[i]. */
export interface MsrBreakdown extends RowCounts {
  readonly length: number;
  readonly msr: Float64Array;
  /** 1 for WRMSR, 0 for RDMSR. */
  readonly write: Uint8Array;
}

/** One row of a breakdown. */
export interface MsrStats {
  readonly msr: number;
  readonly write: boolean;
  readonly accesses: number;
  readonly l0_exits: number;
  readonly l1_exits: number;
  readonly no_exit: number;
}

export function msrRow(b: MsrBreakdown, i: number): MsrStats {
  return {
    msr: b.msr[i] as number,
    write: b.write[i] === 1,
    accesses: b.accesses[i] as number,
    l0_exits: b.l0_exits[i] as number,
    l1_exits: b.l1_exits[i] as number,
    no_exit: b.no_exit[i] as number,
  };
}

const FIRST_CAPACITY = 64;

export class MsrCounts {
  /** Rows made so far. */
  private size = 0;
  /** Per bit position (bitPosition()), its row + 1; 0: none yet. */
  private readonly byPosition = new Int32Array(BIT_POSITIONS);
  /** (msr × 2 + write) -> row, for the MSRs with no bit. */
  private readonly rows = new Map<number, number>();
  private keys = new Float64Array(FIRST_CAPACITY);
  /** COLUMNS counts per row. */
  private counts = new Float64Array(FIRST_CAPACITY * COLUMNS);

  add(msr: number, write: boolean, delivery: Delivery): void {
    countAccess(this.counts, this.rowOf(msr, write) * COLUMNS, delivery);
  }

  /** An access of msr in this direction was a violation (its add() comes separately). */
  violation(msr: number, write: boolean): void {
    countViolation(this.counts, this.rowOf(msr, write) * COLUMNS);
  }

  /**
   * The row of (msr, direction), made on first use. An access with a bit in
   * the bitmap (nearly all of them: the bitmap covers the MSRs guests use)
   * finds its row by the bit's position, an index; only the others, keyed
   * above 2^31 or not, pay for a Map lookup. Counted for every access of
   * every strategy under `compare --by msr`, so this is its hot path.
   */
  private rowOf(msr: number, write: boolean): number {
    const position = bitPosition(msr, write);
    if (position >= 0) {
      const known = (this.byPosition[position] as number) - 1;
      if (known >= 0) return known;
      const row = this.newRow(msr, write);
      this.byPosition[position] = row + 1;
      return row;
    }
    return this.rows.get(msr * 2 + (write ? 1 : 0)) ?? this.newRow(msr, write);
  }

  private newRow(msr: number, write: boolean): number {
    const key = msr * 2 + (write ? 1 : 0);
    const row = this.size++;
    if (row === this.keys.length) this.grow();
    this.keys[row] = key;
    if (bitPosition(msr, write) < 0) this.rows.set(key, row);
    return row;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    this.keys = keys;
    const counts = new Float64Array(this.counts.length * 2);
    counts.set(this.counts);
    this.counts = counts;
  }

  /** Busiest first; ties by MSR, then reads before writes. */
  breakdown(): MsrBreakdown {
    const n = this.size;
    const { keys, counts } = this;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort(
      (a, b) =>
        accessesAt(counts, b * COLUMNS) - accessesAt(counts, a * COLUMNS) || (keys[a] as number) - (keys[b] as number),
    );
    const out = { length: n, msr: new Float64Array(n), write: new Uint8Array(n), ...rowCounts(n) };
    for (let i = 0; i < n; i++) {
      const row = order[i] as number;
      const key = keys[row] as number;
      out.msr[i] = Math.floor(key / 2);
      out.write[i] = key % 2;
      copyRow(out, i, counts, row * COLUMNS);
    }
    return out;
  }
}

/** A breakdown with no rows (a strategy replayed without one). */
export function emptyBreakdown(): MsrBreakdown {
  return new MsrCounts().breakdown();
}
