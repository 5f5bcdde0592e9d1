/**
 * `compare --violations`: each strategy's first violations (in trace order,
 * at most VIOLATION_LIMIT), as a table section after compare's table, a CSV
 * of its own, and a "violations" object in the JSON.
 */
import { type StrategyViolations, VIOLATION_LIMIT, type ViolationRecord } from "../engine/violations.js";
import { spreadsheetSafe } from "../io/printable.js";
import { msrName } from "../msr/names.js";
import type { Report } from "../report.js";
import type { TraceOutcome } from "../run/protocol.js";
import type { Style } from "./style.js";
import { type Cell, count, type Row, textTable } from "./text-table.js";

/** The CSV's columns, after a leading `trace` with several traces: one row per violation listed. */
export const VIOLATION_COLUMNS = ["strategy", "line", "vcpu", "msr", "name", "dir", "what"] as const;
/** The CSV header as the help and the README give it. */
export const VIOLATION_HEADER = `[trace,]${VIOLATION_COLUMNS.join(",")}`;

/** A violation's fields as every format shows them: the MSR in hex and by name, the direction r/w. */
function fields(v: ViolationRecord) {
  return {
    line: v.line,
    vcpu: v.vcpu,
    msr: `0x${v.msr.toString(16)}`,
    name: msrName(v.msr) ?? "",
    dir: v.write ? "w" : "r",
    what: v.kind,
  };
}

/**
 * The table section for one trace: per strategy with violations, how many
 * and a small table of the first ones; the strategies without any on one
 * line. Empty when the trace carries no violation lists.
 */
export function violationsSection(trace: TraceOutcome, style: Style): string {
  const lists = trace.violations;
  if (lists === undefined) return "";
  const parts: string[] = [];
  for (const list of lists.filter((l) => l.total > 0)) {
    const shown = list.first.length < list.total ? `, the first ${list.first.length}` : "";
    const heading = `${list.strategy}: ${count(list.total)} violation${list.total === 1 ? "" : "s"}${shown}`;
    const header: (Cell | string)[] = ["line", "vcpu", "msr", "name", "dir", "what"].map((text) => ({
      text,
      paint: style.bold,
    }));
    // Line and vCPU are numbers, right-aligned by hand: textTable left-aligns only leading columns.
    const lineWidth = Math.max(4, ...list.first.map((v) => count(v.line).length));
    const vcpuWidth = Math.max(4, ...list.first.map((v) => String(v.vcpu).length));
    header[0] = { text: "line".padStart(lineWidth), paint: style.bold };
    header[1] = { text: "vcpu".padStart(vcpuWidth), paint: style.bold };
    const rows: Row[] = list.first.map((v) => {
      const f = fields(v);
      return [count(f.line).padStart(lineWidth), String(f.vcpu).padStart(vcpuWidth), f.msr, f.name, f.dir, f.what];
    });
    const table = textTable(header, rows, VIOLATION_COLUMNS.length)
      .split("\n")
      .map((line) => `  ${line}`)
      .join("\n");
    parts.push(`${style.red(heading)}\n${table}`);
  }
  const clean = lists.filter((l) => l.total === 0).map((l) => l.strategy);
  if (clean.length > 0) parts.push(`no violations: ${clean.join(", ")}`);
  return [`violations (the first ${VIOLATION_LIMIT} per strategy, in trace order):`, ...parts].join("\n");
}

/**
 * compare --violations --format csv: one row per violation listed (the
 * first VIOLATION_LIMIT per strategy, in trace order), with a leading
 * `trace` column when several traces (or --keep-going), as the counters' CSV.
 * A strategy with no violations has no row.
 */
export async function renderViolationsCsv(report: Report): Promise<string> {
  const { stringify } = await import("csv-stringify/sync");
  const several = report.traces.length > 1 || report.failed !== undefined;
  const rows = report.traces.flatMap((t) =>
    (t.violations ?? []).flatMap((list) =>
      list.first.map((v) => ({
        ...(several ? { trace: spreadsheetSafe(t.trace) } : {}),
        strategy: list.strategy,
        ...fields(v),
      })),
    ),
  );
  const columns: string[] = [...VIOLATION_COLUMNS];
  if (several) columns.unshift("trace");
  return stringify(rows, { header: true, columns });
}

/**
 * A trace's "violations" in the JSON: strategy -> {"total" (the violations
 * counter), "first": [{"line", "vcpu", "msr", "name", "dir", "what"}]}, every
 * strategy asked, in order (an empty list when it has none).
 */
export function violationsJson(lists: readonly StrategyViolations[] | undefined): Record<string, unknown> {
  if (lists === undefined) return {};
  const out: Record<string, unknown> = {};
  for (const list of lists) {
    out[list.strategy] = {
      total: list.total,
      first: list.first.map((v) => {
        const f = fields(v);
        return { ...f, name: f.name === "" ? null : f.name };
      }),
    };
  }
  return { violations: out };
}
