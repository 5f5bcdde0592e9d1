/**
 * The accesses two pages treat differently, per direction, as runs: `+`
 * where only B intercepts (A passes), `-` where only B passes (A
 * intercepts). Pure: no I/O.
 */

import { hex } from "../io/numbers.js";
import { alignColumns, DIRECTIONS, type Direction, intercepted, rangeNames, rangeText, runs } from "./runs.js";

const PLUS = 1; // intercepted in B only
const MINUS = 2; // passed in B only

export interface Difference {
  readonly sign: "+" | "-";
  readonly direction: Direction;
  readonly first: number;
  readonly last: number;
}

/** Every run of differing bits, reads first, by MSR. */
export function diffBitmaps(a: Uint8Array, b: Uint8Array): Difference[] {
  const out: Difference[] = [];
  for (const direction of DIRECTIONS) {
    const classify = (msr: number) => {
      const inA = intercepted(a, msr, direction);
      const inB = intercepted(b, msr, direction);
      return inA === inB ? 0 : inB ? PLUS : MINUS;
    };
    for (const run of runs(classify, [0])) {
      out.push({ sign: run.value === PLUS ? "+" : "-", direction, first: run.first, last: run.last });
    }
  }
  return out;
}

/** How many accesses (MSR and direction) the differences cover. */
export function differingAccesses(diffs: readonly Difference[]): Record<Direction, number> {
  const n = { read: 0, write: 0 };
  for (const d of diffs) n[d.direction] += d.last - d.first + 1;
  return n;
}

export function diffText(labelA: string, labelB: string, diffs: readonly Difference[]): string {
  if (diffs.length === 0)
    return `${labelA} and ${labelB} are identical: every access exits under both or under neither\n`;
  const n = differingAccesses(diffs);
  const head =
    `${labelA} -> ${labelB}: ${n.read + n.write} accesses differ (read ${n.read}, write ${n.write})\n` +
    `(+ intercepted only in ${labelB}, - passed only in ${labelB})`;
  const rows = diffs.map((d) => [d.sign, d.direction, rangeText(d.first, d.last), rangeNames(d.first, d.last)]);
  return `${head}\n${alignColumns(rows).join("\n")}\n`;
}

export function diffJson(labelA: string, labelB: string, diffs: readonly Difference[]): string {
  const n = differingAccesses(diffs);
  const doc = {
    a: labelA,
    b: labelB,
    identical: diffs.length === 0,
    differing: { read: n.read, write: n.write },
    differences: diffs.map((d) => ({
      sign: d.sign,
      b: d.sign === "+" ? "intercept" : "pass",
      direction: d.direction,
      first: hex(d.first),
      last: hex(d.last),
      names: rangeNames(d.first, d.last),
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
