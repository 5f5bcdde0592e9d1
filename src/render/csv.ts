import { breakEvenFields, breakEvens, cyclesOf, sweepCycles, sweepValues } from "../analysis/costs.js";
import { CYCLE_TERMS, RESULT_FIELDS } from "../engine/results.js";
import { spreadsheetSafe } from "../io/printable.js";
import type { Report } from "../report.js";

/** --cycles: a column per est_cycles term, after est_cycles: `cycles_l0_handled`, … */
export const CYCLE_COLUMNS = CYCLE_TERMS.map((term) => `cycles_${term}`);

/** --sweep, long form: one row per sweep, value and strategy (a leading `trace` when several). */
export const SWEEP_COLUMNS = ["key", "value", "strategy", "est_cycles"] as const;

/**
 * --breakeven: one row per key and pair of strategies. `breakeven` is rounded
 * to 2 places (empty when they never meet); `cheaper_below` and
 * `cheaper_above` name the cheaper strategy on each side (the same one when it
 * always wins; both empty when the two cost the same at every value).
 */
export const BREAKEVEN_COLUMNS = ["key", "a", "b", "breakeven", "cheaper_below", "cheaper_above"] as const;

/**
 * docs/model.md §7: the header is exactly the result names, one row per
 * strategy. With several traces a leading `trace` column tells them apart.
 * `compare --sweep` and `--breakeven` write a CSV of their own instead
 * (the options allow one of them, or --cycles, with CSV).
 */
export async function renderCsv(report: Report): Promise<string> {
  const { stringify } = await import("csv-stringify/sync");
  // --keep-going is a batch: the trace column stays, however many traces replayed.
  const several = report.traces.length > 1 || report.failed !== undefined;
  const lead = (trace: string) => (several ? { trace: spreadsheetSafe(trace) } : {});
  const cost = report.options.cost_model;
  const views = report.costs;
  const write = (rows: object[], columns: string[]) => {
    if (several) columns.unshift("trace");
    return stringify(rows as unknown as Record<string, unknown>[], { header: true, columns });
  };
  if (views && views.sweeps.length > 0) {
    const rows = views.sweeps.flatMap((spec) => {
      const values = sweepValues(spec);
      return report.traces.flatMap((t) => {
        const cycles = t.results.map((r) => sweepCycles(r, cost, spec));
        return values.flatMap((value, v) =>
          t.results.map((r, s) => ({
            ...lead(t.trace),
            key: spec.key,
            value,
            strategy: r.strategy,
            est_cycles: cycles[s]?.[v],
          })),
        );
      });
    });
    return write(rows, [...SWEEP_COLUMNS]);
  }
  if (views && views.breakevens.length > 0) {
    const rows = views.breakevens.flatMap((key) =>
      report.traces.flatMap((t) =>
        breakEvens(t.results, cost, key).map((pair) => ({ ...lead(t.trace), ...breakEvenFields(pair) })),
      ),
    );
    return write(rows, [...BREAKEVEN_COLUMNS]);
  }
  const withCycles = views?.cycles === true;
  const rows = report.traces.flatMap((t) =>
    t.results.map((r) => {
      const split = withCycles ? cyclesOf(r, cost) : undefined;
      return {
        ...lead(t.trace),
        ...r,
        ...(split ? Object.fromEntries(CYCLE_TERMS.map((term) => [`cycles_${term}`, split[term]])) : {}),
        ...(report.lenient ? { skipped_rows: t.skipped?.rows ?? 0 } : {}),
      };
    }),
  );
  const columns: string[] = [...RESULT_FIELDS];
  if (withCycles) columns.push(...CYCLE_COLUMNS); // --cycles only: the normal header never changes
  if (report.lenient) columns.push("skipped_rows"); // --lenient only: the normal header never changes
  return write(rows, columns);
}
