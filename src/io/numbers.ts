/** Number fields as the trace and bitmap specs write them: `0x…` hex or decimal. */

const HEX = /^0[xX][0-9a-fA-F]+$/;
const DECIMAL = /^[0-9]+$/;

/**
 * An unsigned integer up to `max` (at most 2^53 - 1), or -1 when the text is
 * not one.
 */
export function parseUnsigned(text: string, max: number): number {
  let n: number;
  if (HEX.test(text)) {
    const digits = text.slice(2).replace(/^0+(?=.)/, "");
    if (digits.length > 14) return -1; // beyond 2^56: never in range, and not exact as a double
    n = parseInt(digits, 16);
  } else if (DECIMAL.test(text)) {
    if (text.replace(/^0+(?=.)/, "").length > 16) return -1;
    n = Number(text);
  } else return -1;
  return n <= max ? n : -1;
}

const U64_MAX = (1n << 64n) - 1n;

/** Whether the text is an unsigned integer that fits in 64 bits. */
export function isU64(text: string): boolean {
  if (HEX.test(text)) return text.replace(/^0[xX]0*/, "").length <= 16;
  if (DECIMAL.test(text)) return BigInt(text) <= U64_MAX;
  return false;
}

export const U32_MAX = 0xffff_ffff;

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
