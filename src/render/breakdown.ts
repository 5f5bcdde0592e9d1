/**
 * `compare --by msr|vcpu` as a table, CSV or JSON, each streamed in chunks:
 * a breakdown may have millions of rows (src/analysis/breakdown.ts computes
 * them; this only lays them out).
 */
import { type ByNumbers, type ByRow, type ByTable, type ByView, byTable, SORT_KEYS } from "../analysis/breakdown.js";
import { printable, spreadsheetSafe } from "../io/printable.js";
import { msrName } from "../msr/names.js";
import type { Report } from "../report.js";
import type { TraceOutcome } from "../run/protocol.js";
import { JSON_SCHEMA_VERSION } from "./json.js";
import type { Style } from "./style.js";
import { setupText } from "./table.js";
import { chunks, count, type Row, tableLines } from "./text-table.js";

/** Where a row's share is shown: a percentage with 1 decimal (table), a fraction with 4 (CSV, JSON). */
const TABLE_SHARE_DECIMALS = 1;
const SHARE_DECIMALS = 4;

/** The columns naming a row: an MSR, its name and the direction; or a vCPU. */
const MSR_KEY_COLUMNS = ["msr", "name", "dir"] as const;
const VCPU_KEY_COLUMNS = ["vcpu"] as const;

/**
 * The CSV header after `strategy` (and a leading `trace` with several
 * traces, as compare's CSV): fixed, the key's columns then the numbers.
 */
export function byColumns(by: ByView["by"]): string[] {
  return [...(by === "msr" ? MSR_KEY_COLUMNS : VCPU_KEY_COLUMNS), ...SORT_KEYS, "share"];
}

/** Per trace, per strategy, its table of rows (computed once, rendered by any format). */
function tablesOf(report: Report, view: ByView): { trace: TraceOutcome; tables: ByTable[] }[] {
  const cost = report.options.cost_model;
  return report.traces.map((trace) => ({
    trace,
    tables: (trace.breakdowns ?? []).map((b) => byTable(b, view, cost)),
  }));
}

function hex(msr: number): string {
  return `0x${msr.toString(16)}`;
}

/** The key columns of a row, as text. */
function keyCells(row: ByRow): string[] {
  if (row.msr === undefined) return [String(row.vcpu)];
  return [hex(row.msr), msrName(row.msr) ?? "", row.write ? "w" : "r"];
}

function shareFraction(share: number): string {
  return share.toFixed(SHARE_DECIMALS);
}

/** What the rows are and in which order, for the table's title. */
function viewText(view: ByView): string {
  const what = view.by === "msr" ? "per MSR and direction" : "per vCPU";
  const filters = [
    view.vcpuText === null ? null : `vCPUs ${view.vcpuText}`,
    view.msrText === null ? null : `MSRs ${view.msrText}`,
  ].filter((f) => f !== null);
  const only = filters.length > 0 ? `, only ${filters.join(" and ")}` : "";
  return `${what}${only}, by ${view.sort} (descending); share of ${view.sort}`;
}

/**
 * Per trace a title, then per strategy a section: its name, a row per MSR
 * and direction (or vCPU), a totals line over every row the filters keep,
 * and "N more rows" when --top cut some.
 */
export function* renderByTable(report: Report, view: ByView, style: Style): Generator<string> {
  const keyColumns: readonly string[] = view.by === "msr" ? MSR_KEY_COLUMNS : VCPU_KEY_COLUMNS;
  const header: Row = [...keyColumns, ...SORT_KEYS, "share"].map((text) => ({ text, paint: style.bold }));
  const numberCells = (n: ByNumbers, share: string): Row => [
    ...SORT_KEYS.map((key) =>
      key === "violations" && n.violations > 0 ? { text: count(n.violations), paint: style.alarm } : count(n[key]),
    ),
    share,
  ];
  let first = true;
  for (const { trace, tables } of tablesOf(report, view)) {
    const vcpus = trace.vcpus === 1 ? "1 vCPU" : `${count(trace.vcpus)} vCPUs`;
    const skipped = trace.skipped?.rows ?? 0;
    const partial = skipped > 0 ? `PARTIAL: ${count(skipped)} bad rows skipped (--lenient)\n` : "";
    yield `${first ? "" : "\n"}${printable(trace.trace)}: ${count(trace.events)} events, ${vcpus}, ${setupText(report.options)}\n${partial}${viewText(view)}\n`;
    first = false;
    for (const table of tables) {
      yield `\n${style.bold(table.strategy)}\n`;
      if (table.rowsTotal === 0) {
        yield view.by === "msr" ? "no MSR accesses\n" : "no vCPU made an MSR access\n";
        continue;
      }
      const percent = (share: number) => `${(share * 100).toFixed(TABLE_SHARE_DECIMALS)}%`;
      const totalShare = table.total[view.sort] === 0 ? 0 : 1;
      const rowAt = (i: number): Row => {
        if (i === table.length) {
          const label = ["total", ...keyColumns.slice(1).map(() => "")];
          return [...label, ...numberCells(table.total, percent(totalShare))];
        }
        const row = table.row(i);
        return [...keyCells(row), ...numberCells(row, percent(row.share))];
      };
      yield* chunks(tableLines(header, table.length + 1, rowAt, keyColumns.length));
      const cut = table.rowsTotal - table.length;
      if (cut > 0)
        yield `${count(cut)} more ${cut === 1 ? "row" : "rows"} (--top ${count(view.top ?? 0)}); the total counts them\n`;
    }
  }
}

/**
 * Long form: one row per trace, strategy and key, with the fixed header
 * `[trace,]strategy,msr,name,dir,accesses,…,exit_cycles,share` (or `vcpu` for
 * msr,name,dir); `share` a fraction with 4 decimals. Totals are not rows (sum
 * the column). With --lenient a `skipped_rows` column, as compare's CSV.
 */
export function renderByCsv(report: Report, view: ByView): Iterable<string> {
  // The rule of compare's CSV (src/render/csv.ts): --keep-going is a batch, the trace column stays.
  const several = report.traces.length > 1 || report.failed !== undefined;
  const columns = ["strategy", ...byColumns(view.by)];
  if (several) columns.unshift("trace");
  if (report.lenient) columns.push("skipped_rows");
  const tables = tablesOf(report, view);
  return chunks(
    (function* () {
      yield columns.join(",");
      for (const { trace, tables: perStrategy } of tables) {
        const lead = several ? `${csvField(spreadsheetSafe(trace.trace))},` : "";
        const tail = report.lenient ? `,${trace.skipped?.rows ?? 0}` : "";
        for (const table of perStrategy) {
          const strategy = `${lead}${table.strategy},`;
          for (let i = 0; i < table.length; i++) {
            const row = table.row(i);
            const numbers = SORT_KEYS.map((key) => row[key]).join(",");
            yield `${strategy}${keyCells(row).join(",")},${numbers},${shareFraction(row.share)}${tail}`;
          }
        }
      }
    })(),
  );
}

/** RFC 4180: a field with a comma, a quote or a line end is quoted, its quotes doubled. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * {"schema": 2, "by", "sort", "top", "filters": {"vcpu", "msr"}, "options",
 * "traces": [{"trace", "events", "vcpus", ["partial", "skipped_rows"],
 * "strategies": [{"strategy", "rows": [...], "rows_total", "total"}]}],
 * ["failed"]}: always a list of traces, a row per line, streamed.
 */
export function renderByJson(report: Report, view: ByView): Iterable<string> {
  const head = {
    schema: JSON_SCHEMA_VERSION,
    by: view.by,
    sort: view.sort,
    top: view.top,
    filters: { vcpu: view.vcpuText, msr: view.msrText },
    options: report.options,
  };
  const tables = tablesOf(report, view);
  const comma = (i: number, n: number) => (i + 1 < n ? "," : "");
  return chunks(
    (function* () {
      // The head as JSON.stringify lays it out, its closing brace left for the traces.
      yield JSON.stringify(head, null, 2).slice(0, -2).concat(",");
      yield '  "traces": [';
      for (const [t, { trace, tables: perStrategy }] of tables.entries()) {
        const skipped = trace.skipped?.rows ?? 0;
        const about = {
          trace: trace.trace,
          events: trace.events,
          vcpus: trace.vcpus,
          ...(report.lenient ? { partial: skipped > 0, skipped_rows: skipped } : {}),
        };
        yield `    ${JSON.stringify(about).slice(0, -1)},"strategies":[`;
        for (const [s, table] of perStrategy.entries()) {
          yield `      {"strategy":${JSON.stringify(table.strategy)},"rows":[`;
          for (let i = 0; i < table.length; i++) {
            yield `        ${JSON.stringify(rowJson(table.row(i)))}${comma(i, table.length)}`;
          }
          const total = JSON.stringify(table.total);
          yield `      ],"rows_total":${table.rowsTotal},"total":${total}}${comma(s, perStrategy.length)}`;
        }
        yield `    ]}${comma(t, tables.length)}`;
      }
      const failed = report.failed?.map(({ trace, error }) => ({ trace, error }));
      yield failed ? `  ],\n  "failed": ${JSON.stringify(failed)}` : "  ]";
      yield "}";
    })(),
  );
}
function rowJson(row: ByRow) {
  const key =
    row.msr === undefined
      ? { vcpu: row.vcpu }
      : { msr: hex(row.msr), name: msrName(row.msr) ?? null, dir: row.write ? "w" : "r" };
  return {
    ...key,
    ...Object.fromEntries(SORT_KEYS.map((k) => [k, row[k]])),
    share: Number(shareFraction(row.share)),
  };
}
