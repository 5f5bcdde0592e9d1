/**
 * Walking an MSR bitmap page as runs of MSRs: the two MSR ranges that have
 * bits (docs/model.md §2), each direction on its own, cut into maximal runs of
 * MSRs that a classifier puts in the same class. A run never crosses from
 * the low range (0x0-0x1fff) into the high one (0xc0000000-0xc0001fff).
 *
 * Pure: no I/O.
 */
import { bitPosition, testBit } from "../engine/bitmap.js";
import { hex } from "../io/numbers.js";
import { KNOWN_MSRS, msrName } from "../msr/names.js";

/** The two MSR ranges that have bits, low first. */
export const MSR_RANGES: readonly (readonly [first: number, last: number])[] = [
  [0x0000_0000, 0x0000_1fff],
  [0xc000_0000, 0xc000_1fff],
];

/** MSRs with a bit in each direction (8192 per range). */
export const MSRS_PER_DIRECTION = 2 * 0x2000;

export type Direction = "read" | "write";
export const DIRECTIONS: readonly Direction[] = ["read", "write"];

/** A maximal run of MSRs of one class, in one direction. */
export interface Run {
  readonly first: number;
  readonly last: number;
  /** What the classifier said for every MSR of the run. */
  readonly value: number;
}

/** Whether the access of `msr` in `direction` exits under `page`. */
export function intercepted(page: Uint8Array, msr: number, direction: Direction): boolean {
  return testBit(page, bitPosition(msr, direction === "write"));
}

/**
 * Maximal runs of equal `classify(msr)` over every MSR that has a bit, low
 * range first. Runs whose value is in `skip` are left out (they still cut
 * the runs around them).
 */
export function runs(classify: (msr: number) => number, skip: readonly number[] = []): Run[] {
  const out: Run[] = [];
  for (const [first, last] of MSR_RANGES) {
    let start = first;
    let value = classify(first);
    for (let msr = first + 1; msr <= last + 1; msr++) {
      const next = msr <= last ? classify(msr) : Number.NaN;
      if (next === value) continue;
      if (!skip.includes(value)) out.push({ first: start, last: msr - 1, value });
      start = msr;
      value = next;
    }
  }
  return out;
}

/** `0x10` or `0xc0000100-0xc0000102`. */
export function rangeText(first: number, last: number): string {
  return first === last ? hex(first) : `${hex(first)}-${hex(last)}`;
}

/** Index of the first known MSR at or above `msr` in the sorted table. */
function lowerBound(msr: number): number {
  let lo = 0;
  let hi = KNOWN_MSRS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((KNOWN_MSRS[mid] as { msr: number }).msr < msr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The known names of the MSRs in first..last, in order. */
export function namesIn(first: number, last: number): string[] {
  const out: string[] = [];
  for (let i = lowerBound(first); i < KNOWN_MSRS.length; i++) {
    const entry = KNOWN_MSRS[i] as { msr: number; name: string };
    if (entry.msr > last) break;
    out.push(entry.name);
  }
  return out;
}

/**
 * What a run is called, for people: the MSR's name; `A..B` when both ends
 * of a range have names; otherwise the named MSRs inside it (up to three,
 * or the first and last of them and how many); empty when none has a name.
 */
export function rangeNames(first: number, last: number): string {
  if (first === last) return msrName(first) ?? "";
  const a = msrName(first);
  const b = msrName(last);
  if (a !== undefined && b !== undefined) return `${a}..${b}`;
  const named = namesIn(first, last);
  if (named.length <= 3) return named.join(", ");
  return `${named[0]} … ${named[named.length - 1]} (${named.length} named)`;
}

/** Lines of columns, each padded to its widest cell; no trailing spaces. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}
