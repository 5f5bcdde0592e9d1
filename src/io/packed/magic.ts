/**
 * How a packed trace (format.ts) is told from a CSV one, on its own: every
 * reader of a trace looks, and only a packed one loads the rest.
 */

/**
 * The first bytes of every packed file. A byte above 0x7f first, so that no
 * text file (a CSV trace, which is UTF-8 and never starts with a lone 0x89)
 * can be taken for one; then a line feed, so that a transfer that rewrites
 * line ends shows up as a bad magic (as PNG's signature does).
 */
export const MAGIC = Uint8Array.from([0x89, 0x4e, 0x56, 0x4d, 0x58, 0x50, 0x4b, 0x0a]); // \x89 N V M X P K \n
/** The first byte of MAGIC: never the first byte of UTF-8 text, so a file starting with it is a packed trace, damaged or not. */
const MAGIC_LEAD = 0x89;

/** Whether these first bytes of a file mean "a packed trace" (intact or not): see MAGIC. */
export function looksPacked(head: Uint8Array): boolean {
  return head.length > 0 && head[0] === MAGIC_LEAD;
}
