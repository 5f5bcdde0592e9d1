/** A plain aligned text table; styling is applied after padding. */

export interface Cell {
  readonly text: string;
  readonly paint?: (s: string) => string;
}

export type Row = readonly (Cell | string)[];

/** Left-aligns the first `leftColumns` columns and right-aligns the rest (numbers). */
export function textTable(header: Row, rows: readonly Row[], leftColumns = 1): string {
  return [...tableLines(header, rows.length, (i) => rows[i] as Row, leftColumns)].join("\n");
}

/**
 * textTable's lines one at a time, for tables too big to hold as text (a
 * per-MSR breakdown of millions of MSRs): `rowAt(i)` is called twice per
 * row, once to size the columns and once to print it, so only one row is in
 * memory at a time.
 */
export function* tableLines(
  header: Row,
  rowCount: number,
  rowAt: (i: number) => Row,
  leftColumns = 1,
): Generator<string> {
  const widths: number[] = [];
  const measure = (row: Row) => {
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, toCell(c).text.length);
    });
  };
  measure(header);
  for (let i = 0; i < rowCount; i++) measure(rowAt(i));
  const line = (row: Row) =>
    row
      .map((cell, i) => {
        const c = toCell(cell);
        const w = widths[i] as number;
        const padded = i < leftColumns ? c.text.padEnd(w) : c.text.padStart(w);
        return c.paint ? c.paint(padded) : padded;
      })
      .join("  ")
      .trimEnd();
  yield line(header);
  for (let i = 0; i < rowCount; i++) yield line(rowAt(i));
}

/** About this many characters per chunk written: few writes, little memory. */
const CHUNK_CHARS = 1 << 16;

/** Lines (each without its newline) gathered into chunks of about CHUNK_CHARS, each line ended by "\n". */
export function* chunks(lines: Iterable<string>): Generator<string> {
  let pending: string[] = [];
  let size = 0;
  for (const line of lines) {
    pending.push(line);
    size += line.length + 1;
    if (size >= CHUNK_CHARS) {
      yield `${pending.join("\n")}\n`;
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) yield `${pending.join("\n")}\n`;
}

function toCell(c: Cell | string): Cell {
  return typeof c === "string" ? { text: c } : c;
}

/**
 * 1234567 -> "1,234,567", rounded to a whole number. By hand: the first
 * toLocaleString() of a process sets up ICU's number formatting, about 15 ms
 * of every command's run.
 */
export function count(n: number): string {
  const digits = Math.round(Math.abs(n)).toFixed(0);
  const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ",");
  return n < 0 && digits !== "0" ? `-${grouped}` : grouped;
}
