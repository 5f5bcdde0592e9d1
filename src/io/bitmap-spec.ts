/**
 * JSON bitmap snapshots (docs/model.md §4):
 *   {"default": "intercept" | "pass", "pass": [SPEC…], "intercept": [SPEC…]}
 * SPEC is MSR[-MSR][:r|:w|:rw]; MSRs are numbers (0x… or decimal) or names.
 * The default is applied first, then `pass`, then `intercept`.
 */

import { bitPosition, DIR_R, DIR_RW, DIR_W, filledPage, hasBit, PAGE_SIZE } from "../engine/bitmap.js";
import { msrByName } from "../msr/names.js";
import * as z from "../zod.js";
import { clip } from "./errors.js";
import { hex, parseUnsigned, U32_MAX } from "./numbers.js";

export interface MsrRange {
  readonly first: number;
  readonly last: number;
  readonly dir: number;
}

const DIRS: Record<string, number> = { r: DIR_R, w: DIR_W, rw: DIR_RW };

/** One MSR as a spec names it, or -1. */
export function parseMsr(text: string): number {
  const n = parseUnsigned(text, U32_MAX);
  if (n >= 0) return n;
  return msrByName(text) ?? -1;
}

/** Parses `MSR[-MSR][:r|:w|:rw]`; returns an error message instead on failure. */
export function parseMsrRange(spec: string): MsrRange | string {
  const text = spec.trim();
  // Quoted in messages at most MAX_QUOTED characters long: a spec may be a 20 MB string.
  const shown = clip(spec);
  const colon = text.lastIndexOf(":");
  const dirText =
    colon >= 0
      ? text
          .slice(colon + 1)
          .trim()
          .toLowerCase()
      : "rw";
  const dir = DIRS[dirText];
  if (dir === undefined) return `"${shown}": "${clip(dirText)}" is not a direction (r, w or rw)`;
  const msrs = colon >= 0 ? text.slice(0, colon) : text;
  const dash = msrs.indexOf("-");
  const firstText = (dash >= 0 ? msrs.slice(0, dash) : msrs).trim();
  const lastText = (dash >= 0 ? msrs.slice(dash + 1) : msrs).trim();
  const first = parseMsr(firstText);
  const last = parseMsr(lastText);
  for (const [t, n] of [
    [firstText, first],
    [lastText, last],
  ] as const) {
    if (n < 0) return `"${shown}": "${clip(t)}" is not an MSR (a 32-bit number, 0x… or decimal, or a known name)`;
    if (!hasBit(n))
      return `"${shown}": MSR ${hex(n)} has no bit in the MSR bitmap (only 0x0-0x1fff and 0xc0000000-0xc0001fff do)`;
  }
  if (last < first) return `"${shown}": the range ends (${hex(last)}) before it starts (${hex(first)})`;
  if (!sameRange(first, last)) {
    return `"${shown}": the range crosses MSRs with no bit (only 0x0-0x1fff and 0xc0000000-0xc0001fff have bits)`;
  }
  return { first, last, dir };
}

function sameRange(a: number, b: number): boolean {
  return a <= 0x1fff === b <= 0x1fff;
}

const MsrRangeSchema = z.string().transform((spec, ctx) => {
  const parsed = parseMsrRange(spec);
  if (typeof parsed === "string") {
    ctx.addIssue({ code: "custom", message: parsed });
    return z.NEVER;
  }
  return parsed;
});

export const BitmapSpecSchema = z.strictObject({
  default: z.enum(["intercept", "pass"]).default("intercept"),
  pass: z.array(MsrRangeSchema).default([]),
  intercept: z.array(MsrRangeSchema).default([]),
});

export type BitmapSpec = z.output<typeof BitmapSpecSchema>;

const BYTE_BITS = 8;
/** Bit positions in a page: 32768 (SDM: four 1 KiB areas of 8192 bits each). */
const PAGE_BITS = PAGE_SIZE * BYTE_BITS;

/**
 * The 4096-byte page a spec describes. Linear in the number of ranges plus the
 * page's bits: each range adds +1/-1 at its ends in a difference array per
 * list (a range's bits are contiguous within one area of the page), and one
 * sweep then sets or clears covered bits. Setting every MSR of every range one
 * by one took 20 s for 200k wide ranges.
 */
export function buildBitmap(spec: BitmapSpec): Uint8Array {
  const page = filledPage(spec.default === "intercept");
  // The default first, then pass, then intercept: intercept wins where both cover a bit.
  const pass = coverage(spec.pass);
  const intercept = coverage(spec.intercept);
  let inPass = 0;
  let inIntercept = 0;
  for (let bit = 0; bit < PAGE_BITS; bit++) {
    inPass += pass[bit] as number;
    inIntercept += intercept[bit] as number;
    if (inPass === 0 && inIntercept === 0) continue;
    const byte = bit >> 3;
    const mask = 1 << (bit & (BYTE_BITS - 1));
    const old = page[byte] as number;
    page[byte] = inIntercept > 0 ? old | mask : old & ~mask;
  }
  return page;
}

/** A difference array over the page's bit positions: +1 where a range's bits start, -1 after they end. */
function coverage(ranges: readonly MsrRange[]): Int32Array {
  const diff = new Int32Array(PAGE_BITS + 1);
  for (const r of ranges) {
    for (const d of [DIR_R, DIR_W]) {
      if ((r.dir & d) === 0) continue;
      // first and last share an area (parseMsrRange checked), so their bits are contiguous.
      const write = d === DIR_W;
      const from = bitPosition(r.first, write);
      const after = bitPosition(r.last, write) + 1;
      diff[from] = (diff[from] as number) + 1;
      diff[after] = (diff[after] as number) - 1;
    }
  }
  return diff;
}
