/**
 * `explain` on a packed trace (io/packed): the packed form keeps the lines
 * that hold events, the header's line and the CSV's line count, but not
 * the text of the other lines, so a line without an event is named by what
 * can be known of it. The explanation of an access is the same as on the CSV.
 */
import { at } from "../io/errors.js";
import { looksPacked } from "../io/packed/magic.js";
import type { PackedTotals } from "../io/packed/reader.js";
import { STDIN, traceChunks } from "../io/trace-source.js";

/** The totals of `file` when it is a packed trace, else null. (Stdin is not looked at: it can be read once.) */
export async function packedTotals(file: string): Promise<PackedTotals | null> {
  if (file === STDIN) return null;
  const chunks = traceChunks(file)[Symbol.asyncIterator]();
  try {
    const first = await chunks.next().catch(() => null); // the reader reports a missing file
    if (first === null || first.done || !looksPacked(first.value)) return null;
    let head: Buffer | null = first.value;
    const source: AsyncIterator<Buffer> = {
      next: () => {
        if (head === null) return chunks.next();
        const value = head;
        head = null;
        return Promise.resolve({ done: false, value });
      },
    };
    const { readPacked } = await import("../io/packed/reader.js");
    return await readPacked(source, { file, onEvent: () => {}, totalsOnly: true });
  } finally {
    await chunks.return?.();
  }
}

/** Why line `n` of a packed trace holds no access (it holds no event at all). */
export function whyNoAccessPacked(file: string, n: number, totals: PackedTotals, notAnAccess: string): string {
  if (n > totals.lines) {
    const lines = totals.lines === 1 ? "1 line" : `${totals.lines} lines`;
    return `${at(file)}line ${n} is past the end: the trace has ${lines}`;
  }
  if (n === totals.headerLine) return `${at(file, n)}line ${n} is the header (it names the columns), ${notAnAccess}`;
  return (
    `${at(file, n)}line ${n} holds no event (in the CSV this trace was packed from it is a comment, a blank line ` +
    `or part of a quoted row), ${notAnAccess}`
  );
}
