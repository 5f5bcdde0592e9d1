import { stringify } from "csv-stringify/sync";
import { RESULT_FIELDS } from "../engine/results.js";
import type { Report } from "../report.js";

/** SPEC section 7: the header is exactly the result names, one row per strategy. */
export function renderCsv(report: Report): string {
  return stringify(report.results as unknown as Record<string, unknown>[], {
    header: true,
    columns: [...RESULT_FIELDS],
  });
}
