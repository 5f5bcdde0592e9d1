import { RESULT_FIELDS } from "../engine/results.js";
import { spreadsheetSafe } from "../io/printable.js";
import type { Report } from "../report.js";

/**
 * SPEC section 7: the header is exactly the result names, one row per
 * strategy. With several traces a leading `trace` column tells them apart.
 */
export async function renderCsv(report: Report): Promise<string> {
  const { stringify } = await import("csv-stringify/sync");
  // --keep-going is a batch: the trace column stays, however many traces replayed.
  const several = report.traces.length > 1 || report.failed !== undefined;
  const rows = report.traces.flatMap((t) =>
    t.results.map((r) => ({
      ...(several ? { trace: spreadsheetSafe(t.trace) } : {}),
      ...r,
      ...(report.lenient ? { skipped_rows: t.skipped?.rows ?? 0 } : {}),
    })),
  );
  const columns: string[] = [...RESULT_FIELDS];
  if (several) columns.unshift("trace");
  if (report.lenient) columns.push("skipped_rows"); // --lenient only: the normal header never changes
  return stringify(rows as unknown as Record<string, unknown>[], { header: true, columns });
}
