/**
 * JSON bitmap snapshots (SPEC section 4):
 *   {"default": "intercept" | "pass", "pass": [SPEC…], "intercept": [SPEC…]}
 * SPEC is MSR[-MSR][:r|:w|:rw]; MSRs are numbers (0x… or decimal) or names.
 * The default is applied first, then `pass`, then `intercept`.
 */
import { z } from "zod";
import { DIR_R, DIR_RW, DIR_W, filledPage, hasBit, writeMsrBits } from "../engine/bitmap.js";
import { msrByName } from "../msr/names.js";
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
  const colon = text.lastIndexOf(":");
  const dirText =
    colon >= 0
      ? text
          .slice(colon + 1)
          .trim()
          .toLowerCase()
      : "rw";
  const dir = DIRS[dirText];
  if (dir === undefined) return `"${spec}": "${dirText}" is not a direction (r, w or rw)`;
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
    if (n < 0) return `"${spec}": "${t}" is not an MSR (a 32-bit number, 0x… or decimal, or a known name)`;
    if (!hasBit(n))
      return `"${spec}": MSR ${hex(n)} has no bit in the MSR bitmap (only 0x0-0x1fff and 0xc0000000-0xc0001fff do)`;
  }
  if (last < first) return `"${spec}": the range ends (${hex(last)}) before it starts (${hex(first)})`;
  if (!sameRange(first, last)) {
    return `"${spec}": the range crosses MSRs with no bit (only 0x0-0x1fff and 0xc0000000-0xc0001fff have bits)`;
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

export type BitmapSpecInput = z.input<typeof BitmapSpecSchema>;
export type BitmapSpec = z.output<typeof BitmapSpecSchema>;

/** The 4096-byte page a spec describes. */
export function buildBitmap(spec: BitmapSpec): Uint8Array {
  const page = filledPage(spec.default === "intercept");
  for (const r of spec.pass) for (let msr = r.first; msr <= r.last; msr++) writeMsrBits(page, msr, r.dir, false);
  for (const r of spec.intercept) for (let msr = r.first; msr <= r.last; msr++) writeMsrBits(page, msr, r.dir, true);
  return page;
}
