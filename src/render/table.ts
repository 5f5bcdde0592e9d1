/** Human-readable tables for `compare` and `replay`. */
import { msrRow } from "../engine/msr-counts.js";
import { RESULT_FIELDS, type StrategyResult } from "../engine/results.js";
import { printable } from "../io/printable.js";
import { msrName } from "../msr/names.js";
import type { Report } from "../report.js";
import type { TraceOutcome } from "../run/protocol.js";
import type { Style } from "./style.js";
import { chunks, count, type Row, tableLines, textTable } from "./text-table.js";

const COUNTERS = RESULT_FIELDS.filter((f) => f !== "strategy");

function title(trace: TraceOutcome, report: Report): string {
  const vcpus = trace.vcpus === 1 ? "1 vCPU" : `${count(trace.vcpus)} vCPUs`;
  const line = `${printable(trace.trace)}: ${count(trace.events)} events, ${vcpus}, L0 profile ${report.options.l0_profile}`;
  const skipped = trace.skipped?.rows ?? 0;
  return skipped > 0 ? `${line}\nPARTIAL: ${count(skipped)} bad rows skipped (--lenient)` : line;
}

function counterCell(result: StrategyResult, field: (typeof COUNTERS)[number], style: Style) {
  const n = result[field];
  if (field === "violations" && n > 0) return { text: count(n), paint: style.alarm };
  return count(n);
}

/** est_cycles against the first strategy: "0.131× -86.9%". */
export function relative(cycles: number, base: number): string {
  if (base === 0) return cycles === 0 ? "1.000× +0.0%" : "n/a";
  const ratio = cycles / base;
  const percent = (ratio - 1) * 100;
  return `${ratio.toFixed(3)}× ${percent >= 0 ? "+" : ""}${percent.toFixed(1)}%`;
}

/**
 * Per trace, a section: a column per strategy, a row per counter, then
 * est_cycles relative to the first strategy.
 */
export function renderCompareTable(report: Report, style: Style): string {
  return `${report.traces.map((trace) => compareSection(trace, report, style)).join("\n\n")}\n`;
}

function compareSection(trace: TraceOutcome, report: Report, style: Style): string {
  const results = trace.results;
  const first = results[0];
  const header: Row = ["", ...results.map((r) => ({ text: r.strategy, paint: style.bold }))];
  const rows: Row[] = COUNTERS.map((field) => [field, ...results.map((r) => counterCell(r, field, style))]);
  if (first) rows.push([`vs ${first.strategy}`, ...results.map((r) => relative(r.est_cycles, first.est_cycles))]);
  const lines = [title(trace, report), "", textTable(header, rows)];
  const unsafe = results.filter((r) => r.violations > 0).map((r) => r.strategy);
  if (unsafe.length > 0) {
    lines.push("", style.red(`violations: ${unsafe.join(", ")} let accesses past a hypervisor that wanted them`));
  }
  return lines.join("\n");
}

/**
 * One strategy's counters, then its per-MSR breakdown, busiest first, as
 * chunks of text: a breakdown may have millions of rows.
 */
export function* renderReplayTable(report: Report, style: Style): Generator<string> {
  const trace = report.traces[0];
  const result = trace?.results[0];
  if (!trace || !result) return;
  const counters = textTable(
    [{ text: result.strategy, paint: style.bold }, ""],
    COUNTERS.map((field) => [field, counterCell(result, field, style)]),
  );
  yield `${title(trace, report)}\n\n${counters}\n\n`;
  const msrs = trace.msrs;
  if (msrs === undefined || msrs.length === 0) {
    yield "no MSR accesses\n";
    return;
  }
  const header = ["msr", "name", "dir", "accesses", "l0_exits", "l1_exits", "no_exit"].map((h) => ({
    text: h,
    paint: style.bold,
  }));
  const rowAt = (i: number): Row => {
    const s = msrRow(msrs, i);
    return [
      `0x${s.msr.toString(16)}`,
      { text: msrName(s.msr) ?? "" },
      s.write ? "w" : "r",
      count(s.accesses),
      count(s.l0_exits),
      count(s.l1_exits),
      count(s.no_exit),
    ];
  };
  yield* chunks(tableLines(header, msrs.length, rowAt, 3));
}
