/** A plain aligned text table; styling is applied after padding. */

export interface Cell {
  readonly text: string;
  readonly paint?: (s: string) => string;
}

export type Row = readonly (Cell | string)[];

/** Left-aligns the first `leftColumns` columns and right-aligns the rest (numbers). */
export function textTable(header: Row, rows: readonly Row[], leftColumns = 1): string {
  const all = [header, ...rows].map((r) => r.map(toCell));
  const widths: number[] = [];
  for (const row of all) {
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.text.length);
    });
  }
  return all
    .map((row) =>
      row
        .map((c, i) => {
          const w = widths[i] as number;
          const padded = i < leftColumns ? c.text.padEnd(w) : c.text.padStart(w);
          return c.paint ? c.paint(padded) : padded;
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
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
