/** `--events 10M`: a positive count with an optional k/M/G suffix (10^3, 10^6, 10^9). */

const SUFFIX: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 };

/** The largest count accepted (a trace of 10^12 events would be some 20 TB). */
export const MAX_EVENTS = 1e12;

/**
 * Parses `500`, `500k`, `10M`, `1.5M`, `2G`; returns the count, or an error
 * message when the text is not a positive whole number of events.
 */
export function parseCount(text: string): number | string {
  const m = /^(\d+(?:\.\d+)?)([kKMG]?)$/.exec(text.trim());
  if (!m) return `"${text}" is not a count (a positive integer, optionally with k, M or G: 500k, 10M, 1G)`;
  const [, digits = "", suffix = ""] = m;
  const [whole = "", frac = ""] = digits.split(".");
  const scale = SUFFIX[suffix] as number;
  const scaleDigits = Math.round(Math.log10(scale));
  // exact decimal arithmetic: 1.5M is 1500000, 1.0000001M is not whole
  if (frac.length > scaleDigits && /[1-9]/.test(frac.slice(scaleDigits))) {
    return `"${text}" is not a whole number of events`;
  }
  const n = Number(whole) * scale + (frac === "" ? 0 : Number(frac.slice(0, scaleDigits).padEnd(scaleDigits, "0")));
  if (!Number.isSafeInteger(n) || n < 1) return `"${text}" is not a positive count of events`;
  if (n > MAX_EVENTS) return `"${text}" is more than ${MAX_EVENTS} events`;
  return n;
}
