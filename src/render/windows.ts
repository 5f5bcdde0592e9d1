/**
 * `compare --window`, rendered as the windows come (src/run/windows.ts
 * streams the pieces): nothing here sees a later window, so the table's
 * columns have widths fixed up front and the JSON is written as it goes.
 *
 * - CSV, long form: WINDOW_COLUMNS, a row per window and strategy (a leading
 *   `trace` column with several traces).
 * - JSON: {"schema", "window": {"unit", "size", "text"}, "options",
 *   "traces": [{"trace", "windows": [one line per window: {"window", "from",
 *   "to", "events", "results": [counters per strategy]}], "events", "vcpus",
 *   "results" (the whole trace's, as compare gives them)}]}.
 * - Table: a section per trace, a line per window: its number, from, to,
 *   accesses, and per strategy its exits (l0_exits) and those reflected to L1
 *   (l1_exits); a totals line at the end.
 */
import { RESULT_FIELDS, type StrategyResult } from "../engine/results.js";
import { NS_PER_SECOND, type WindowSpec } from "../engine/windows.js";
import { printable, spreadsheetSafe } from "../io/printable.js";
import type { ReportOptions } from "../report.js";
import type { WindowText } from "../run/windows.js";
import { JSON_SCHEMA_VERSION } from "./json.js";
import { setupText } from "./table.js";
import { count } from "./text-table.js";

/** The CSV header (without the leading `trace` of several traces): fixed, whatever the strategies. */
export const WINDOW_COLUMNS = ["window", "from", "to", ...RESULT_FIELDS] as const;

/** Time windows' bounds, in seconds since the first timestamp: to the microsecond, the finest window. */
export const SECONDS_DECIMALS = 6;

export interface WindowMeta {
  readonly window: WindowSpec;
  readonly options: ReportOptions;
  /** Several traces: CSV gains a leading `trace` column. */
  readonly several: boolean;
}

export async function windowText(format: "table" | "csv" | "json", meta: WindowMeta): Promise<WindowText> {
  if (format === "json") return jsonText(meta);
  if (format === "csv") return csvText(meta, (await import("csv-stringify/sync")).stringify);
  return tableText(meta);
}

/** A bound as the CSV and the table print it: an event number, or seconds to the microsecond. */
function bound(spec: WindowSpec, value: number): string {
  return spec.unit === "events" ? String(value) : value.toFixed(SECONDS_DECIMALS);
}

type Stringify = typeof import("csv-stringify/sync").stringify;

function csvText(meta: WindowMeta, stringify: Stringify): WindowText {
  const spec = meta.window;
  let trace = "";
  return {
    start: () => `${meta.several ? "trace," : ""}${WINDOW_COLUMNS.join(",")}\n`,
    trace: (name) => {
      // Quoted as csv-stringify quotes, and safe from spreadsheets (as compare's CSV).
      trace = meta.several ? stringify([[spreadsheetSafe(name)]]).trimEnd() : "";
      return "";
    },
    windows: (records) => {
      const lead = meta.several ? `${trace},` : "";
      const lines: string[] = [];
      for (const record of records) {
        const head = `${lead}${record.window},${bound(spec, record.from)},${bound(spec, record.to)}`;
        for (const r of record.results) lines.push(`${head},${RESULT_FIELDS.map((f) => r[f]).join(",")}\n`);
      }
      return lines.join("");
    },
    traceEnd: () => "",
    end: () => "",
  };
}

/** The window's size in its unit: events, or seconds. */
function sizeIn(spec: WindowSpec): number {
  return spec.unit === "events" ? spec.size : spec.size / NS_PER_SECOND;
}

function jsonText(meta: WindowMeta): WindowText {
  let traces = 0;
  let windows = 0;
  const spec = meta.window;
  return {
    start: () => {
      const head = {
        schema: JSON_SCHEMA_VERSION,
        window: { unit: spec.unit, size: sizeIn(spec), text: spec.text },
        options: meta.options,
      };
      const text = JSON.stringify(head, null, 2);
      // Open the object again after "options", for the traces to stream into.
      return `${text.slice(0, text.lastIndexOf("}")).trimEnd()},\n  "traces": [`;
    },
    trace: (name) => {
      windows = 0;
      return `${traces++ > 0 ? "," : ""}\n    {\n      "trace": ${JSON.stringify(name)},\n      "windows": [`;
    },
    windows: (records) =>
      records.map((record) => `${windows++ > 0 ? "," : ""}\n        ${JSON.stringify(record)}`).join(""),
    traceEnd: (outcome) => {
      const results = outcome.results.map((r) => `\n        ${JSON.stringify(r)}`).join(",");
      const partial =
        outcome.skipped === undefined
          ? ""
          : `,\n      "partial": ${outcome.skipped.rows > 0},\n      "skipped_rows": ${outcome.skipped.rows}`;
      return (
        `\n      ],\n      "events": ${outcome.events},\n      "vcpus": ${outcome.vcpus}${partial},` +
        `\n      "results": [${results}\n      ]\n    }`
      );
    },
    end: () => "\n  ]\n}\n",
  };
}

/** Table widths, fixed before the first window: up to 999,999 seconds and 9,999,999 events a window fit. */
const WINDOW_WIDTH = 6;
const BOUND_WIDTH = 11;
const NUMBER_WIDTH = 9;
/** Each strategy's pair of columns, exits (l0_exits) and reflected to L1 (l1_exits), a space apart. */
const PAIR_GAP = " ";
const PAIR_WIDTH = 2 * NUMBER_WIDTH + PAIR_GAP.length;
const GAP = "  ";

function tableText(meta: WindowMeta): WindowText {
  const spec = meta.window;
  const strategies = meta.options.strategies;
  const group = Math.max(PAIR_WIDTH, ...strategies.map((s) => s.length));
  const line = (window: string, from: string, to: string, accesses: string, pairs: readonly string[]) =>
    [
      window.padStart(WINDOW_WIDTH),
      from.padStart(BOUND_WIDTH),
      to.padStart(BOUND_WIDTH),
      accesses.padStart(NUMBER_WIDTH),
      ...pairs.map((p) => p.padStart(group)),
    ]
      .join(GAP)
      .trimEnd();
  const pair = (r: StrategyResult | undefined) =>
    `${count(r?.l0_exits ?? 0).padStart(NUMBER_WIDTH)}${PAIR_GAP}${count(r?.l1_exits ?? 0).padStart(NUMBER_WIDTH)}`;
  const unit =
    spec.unit === "events"
      ? `windows of ${count(spec.size)} events (from, to: the first and last event, numbered from 1)`
      : `windows of ${spec.text} (from, to: seconds since the first timestamp)`;
  let sections = 0;
  return {
    start: () => "",
    trace: (name) =>
      [
        `${sections++ > 0 ? "\n" : ""}${printable(name)}: ${unit}, ${setupText(meta.options)}`,
        "per strategy: exits = accesses that exited to L0 (l0_exits), →L1 = those reflected to L1 (l1_exits)",
        line("window", "from", "to", "accesses", strategies),
        line(
          "",
          "",
          "",
          "",
          strategies.map(() => `${"exits".padStart(NUMBER_WIDTH)}${PAIR_GAP}${"→L1".padStart(NUMBER_WIDTH)}`),
        ),
        "",
      ].join("\n"),
    windows: (records) =>
      records
        .map((record) =>
          line(
            String(record.window),
            spec.unit === "events" ? count(record.from) : bound(spec, record.from),
            spec.unit === "events" ? count(record.to) : bound(spec, record.to),
            count(record.results[0]?.accesses ?? 0),
            record.results.map(pair),
          ),
        )
        .map((l) => `${l}\n`)
        .join(""),
    traceEnd: (outcome) =>
      `${line("total", "", "", count(outcome.results[0]?.accesses ?? 0), outcome.results.map(pair))}\n` +
      `${count(outcome.events)} events, ${outcome.vcpus === 1 ? "1 vCPU" : `${count(outcome.vcpus)} vCPUs`}` +
      `${(outcome.skipped?.rows ?? 0) > 0 ? `; PARTIAL: ${count(outcome.skipped?.rows ?? 0)} bad rows skipped (--lenient)` : ""}\n`,
    end: () => "",
  };
}
