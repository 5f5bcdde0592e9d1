/**
 * A page as people read it: the JSON description of docs/model.md §4 that
 * builds exactly that page, and the table `bitmap show` prints.
 *
 * The description takes the majority state as `default` (a tie goes to
 * `intercept`, the schema's own default) and lists only the accesses in the
 * other state, in the list named after that state, as the fewest entries
 * that cover exactly those accesses: an entry is a range of MSRs with `:r`,
 * `:w`, or no direction (both) where both directions are in that state.
 * Among equally short lists it takes the one with the fewest `:r`/`:w`
 * entries, then the least overlap, so SPEC_CTRL read/write and PRED_CMD
 * write come out as "0x48", "0x49:w". Entries are sorted by first MSR (both
 * directions, then `:r`, then `:w`). Building the description gives back the
 * page, bit for bit.
 *
 * Pure: no I/O.
 */
import { PAGE_SIZE } from "../engine/bitmap.js";
import {
  alignColumns,
  DIRECTIONS,
  type Direction,
  intercepted,
  MSR_RANGES,
  MSRS_PER_DIRECTION,
  rangeNames,
  rangeText,
  runs,
} from "./runs.js";

export type State = "intercept" | "pass";

/** The JSON description of a page, as `show --format json` prints it. */
export interface BitmapDescription {
  default: State;
  pass: string[];
  intercept: string[];
}

/** How many accesses of each direction exit under `page`. */
export function interceptCounts(page: Uint8Array): Record<Direction, number> {
  const half = PAGE_SIZE / 2;
  const count = (from: number) => {
    let n = 0;
    for (let i = from; i < from + half; i++) {
      let byte = page[i] as number;
      while (byte !== 0) {
        byte &= byte - 1;
        n++;
      }
    }
    return n;
  };
  return { read: count(0), write: count(half) };
}

const DIR_ORDER = { rw: 0, r: 1, w: 2 } as const;
type EntryDir = keyof typeof DIR_ORDER;

/** Open-interval states of the cover below: which entries cover an MSR. */
const OPEN_R = 1;
const OPEN_W = 2;
const OPEN_RW = 4;
const STATES = [0, 1, 2, 3, 4, 5, 6, 7] as const;
const bits = (n: number) => (n & 1) + ((n >> 1) & 1) + ((n >> 2) & 1);

/** Whether the entries open in `state` cover an MSR whose listed directions are `need` exactly. */
function fits(state: number, need: number): boolean {
  if (state & OPEN_R && !(need & 1)) return false;
  if (state & OPEN_W && !(need & 2)) return false;
  if (state & OPEN_RW && need !== 3) return false;
  const reads = (state & (OPEN_R | OPEN_RW)) !== 0;
  const writes = (state & (OPEN_W | OPEN_RW)) !== 0;
  return reads === ((need & 1) !== 0) && writes === ((need & 2) !== 0);
}

/**
 * A cost is (entries, entries with a direction, overlap), compared in that
 * order, packed in one number: each part is at most 2 * 8192 < 2^15.
 */
const ENTRY = 2 ** 30;
const DIRECTED = 2 ** 15;

/**
 * The fewest entries (MSR range, and r, w or both) whose union is, per
 * direction, exactly the MSRs of `need` (bit 0 read, bit 1 write) over
 * first..last; among those, the fewest with a direction, then the least
 * overlap. A shortest path over the 8 sets of entries that can cover an MSR.
 */
function cover(
  first: number,
  last: number,
  need: (msr: number) => number,
): { first: number; last: number; dir: EntryDir }[] {
  const n = last - first + 1;
  const from = new Uint8Array(n * 8); // best previous state, per MSR and state
  let cost = new Float64Array(8).fill(Number.POSITIVE_INFINITY);
  cost[0] = 0;
  let next = new Float64Array(8);
  for (let i = 0; i < n; i++) {
    const want = need(first + i);
    for (const b of STATES) {
      next[b] = Number.POSITIVE_INFINITY;
      if (!fits(b, want)) continue;
      const overlap = b & OPEN_RW ? bits(b & (OPEN_R | OPEN_W)) : 0;
      for (const a of STATES) {
        const opened = b & ~a;
        const cand = (cost[a] as number) + bits(opened) * ENTRY + bits(opened & (OPEN_R | OPEN_W)) * DIRECTED + overlap;
        if (cand < (next[b] as number)) {
          next[b] = cand;
          from[i * 8 + b] = a;
        }
      }
    }
    [cost, next] = [next, cost];
  }
  let state = 0;
  for (const s of STATES) if ((cost[s] as number) < (cost[state] as number)) state = s;
  const path = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    path[i] = state;
    state = from[i * 8 + state] as number;
  }
  const out: { first: number; last: number; dir: EntryDir }[] = [];
  for (const [flag, dir] of [
    [OPEN_RW, "rw"],
    [OPEN_R, "r"],
    [OPEN_W, "w"],
  ] as const) {
    for (let i = 0; i < n; i++) {
      if (!((path[i] as number) & flag) || (i > 0 && (path[i - 1] as number) & flag)) continue;
      let j = i;
      while (j + 1 < n && (path[j + 1] as number) & flag) j++;
      out.push({ first: first + i, last: first + j, dir });
    }
  }
  return out;
}

/** The description of docs/model.md §4 that builds exactly `page`. */
export function describeBitmap(page: Uint8Array): BitmapDescription {
  const counts = interceptCounts(page);
  const total = 2 * MSRS_PER_DIRECTION;
  const def: State = 2 * (counts.read + counts.write) >= total ? "intercept" : "pass";
  const minority = def === "pass"; // the bit value (true = intercept) of the MSRs to list
  const need = (msr: number) =>
    (intercepted(page, msr, "read") === minority ? 1 : 0) | (intercepted(page, msr, "write") === minority ? 2 : 0);
  const entries = MSR_RANGES.flatMap(([first, last]) => cover(first, last, need));
  entries.sort((a, b) => a.first - b.first || DIR_ORDER[a.dir] - DIR_ORDER[b.dir] || a.last - b.last);
  const specs = entries.map((e) => rangeText(e.first, e.last) + (e.dir === "rw" ? "" : `:${e.dir}`));
  return def === "intercept"
    ? { default: def, pass: specs, intercept: [] }
    : { default: def, pass: [], intercept: specs };
}

/** The description as a JSON document: two-space indent, one entry a line. */
export function descriptionJson(page: Uint8Array): string {
  return `${JSON.stringify(describeBitmap(page), null, 2)}\n`;
}

/**
 * The table of `bitmap show`: a summary line, then every run of intercepted
 * and of passed MSRs, reads first, each with the names it covers:
 *
 *     read   pass       0xc0000100-0xc0000102  FS_BASE..KERNEL_GS_BASE
 */
export function showText(label: string, page: Uint8Array): string {
  const counts = interceptCounts(page);
  const summary = DIRECTIONS.map((d) => {
    const exits = counts[d];
    return `${d} ${MSRS_PER_DIRECTION - exits} passed, ${exits} intercepted`;
  }).join("; ");
  const rows: string[][] = [];
  for (const d of DIRECTIONS) {
    for (const run of runs((msr) => (intercepted(page, msr, d) ? 1 : 0))) {
      rows.push([
        d,
        run.value === 1 ? "intercept" : "pass",
        rangeText(run.first, run.last),
        rangeNames(run.first, run.last),
      ]);
    }
  }
  return `${label}: ${summary}\n${alignColumns(rows).join("\n")}\n`;
}
