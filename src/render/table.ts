/** Human-readable tables for `compare` and `replay`. */
import {
  BREAKEVEN_DECIMALS,
  breakEvenFields,
  breakEvens,
  cyclesOf,
  mergeCostOf,
  type SweepSpec,
  sweepCycles,
  sweepValues,
} from "../analysis/costs.js";
import { msrRow } from "../engine/msr-counts.js";
import {
  COST_KEYS,
  type CostKey,
  type CostModel,
  CYCLE_TERMS,
  type CycleTerm,
  DEFAULT_COST_MODEL,
  RESULT_FIELDS,
  type StrategyResult,
  termCostKey,
} from "../engine/results.js";
import { printable } from "../io/printable.js";
import { msrName } from "../msr/names.js";
import type { Report, ReportOptions } from "../report.js";
import type { TraceOutcome } from "../run/protocol.js";
import type { Style } from "./style.js";
import { chunks, count, type Row, tableLines, textTable } from "./text-table.js";
import { violationsSection } from "./violations.js";

const COUNTERS = RESULT_FIELDS.filter((f) => f !== "strategy");

function title(trace: TraceOutcome, report: Report): string {
  const vcpus = trace.vcpus === 1 ? "1 vCPU" : `${count(trace.vcpus)} vCPUs`;
  const line = `${printable(trace.trace)}: ${count(trace.events)} events, ${vcpus}, ${setupText(report.options)}`;
  const skipped = trace.skipped?.rows ?? 0;
  return skipped > 0 ? `${line}\nPARTIAL: ${count(skipped)} bad rows skipped (--lenient)` : line;
}

/**
 * What the results were computed with, for a table's title: L0's profile or
 * the bitmap files that replaced it, L1's bitmap file or profile when given,
 * and the costs that differ from the defaults ("; costs: merge 600"). With
 * none of those options it is "L0 profile kvm-2013", as it always was.
 */
export function setupText(options: ReportOptions): string {
  const parts = [l0Text(options)];
  if (options.l1_bitmap !== null) parts.push(`L1 bitmap ${printable(options.l1_bitmap)}`);
  if (options.l1_profile !== null) parts.push(`L1 profile ${options.l1_profile}`);
  if (options.l1_override !== null) parts.push(`L1 pages overridden by ${printable(options.l1_override)}`);
  const changed = COST_KEYS.filter((key) => options.cost_model[key] !== DEFAULT_COST_MODEL[key]);
  const costs = changed.map((key) => `${key} ${count(options.cost_model[key])}`).join(", ");
  return changed.length > 0 ? `${parts.join(", ")}; costs: ${costs}` : parts.join(", ");
}

/** L0's bitmaps: --l0-bitmap replaces both of the profile's, --l0-bitmap-legacy the legacy one. */
function l0Text(options: ReportOptions): string {
  const both = options.l0_bitmap;
  const legacy = options.l0_bitmap_legacy;
  if (both !== null && legacy !== null) {
    return `L0 bitmap ${printable(both)} (long mode), ${printable(legacy)} (legacy)`;
  }
  if (both !== null) return `L0 bitmap ${printable(both)}`;
  const profile = `L0 profile ${options.l0_profile}`;
  return legacy === null ? profile : `${profile} (legacy mode: L0 bitmap ${printable(legacy)})`;
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
  const views = report.costs;
  const cost = report.options.cost_model;
  if (views?.cycles && results.length > 0) lines.push("", cyclesSection(results, cost, style));
  for (const spec of views?.sweeps ?? []) lines.push("", sweepSection(results, cost, spec, style));
  for (const key of views?.breakevens ?? []) lines.push("", breakEvenSection(results, cost, key));
  if (report.violations) lines.push("", violationsSection(trace, style));
  return lines.join("\n");
}

/** --cycles: what each est_cycles term is, in words. */
const TERM_LABELS: Record<CycleTerm, string> = {
  l0_handled: "L0-handled exits",
  l1_exits: "reflected exits",
  merges: "merges",
  wp_faults: "wp faults",
  dirty_checks: "dirty checks",
};

/** "1,686,000 14.8%": a term and its share of the strategy's est_cycles. */
function share(cycles: number, total: number): string {
  return total === 0 ? count(cycles) : `${count(cycles)} ${((cycles / total) * 100).toFixed(1)}%`;
}

/**
 * --cycles: est_cycles split into its terms, a row per term (with the cost
 * key it is charged at: merges at merge_sparse for the sparse strategies),
 * each with its share of the strategy's total.
 */
function cyclesSection(results: readonly StrategyResult[], cost: CostModel, style: Style): string {
  const header: Row = [
    { text: "where the cycles go", paint: style.bold },
    ...results.map((r) => ({ text: r.strategy, paint: style.bold })),
  ];
  const rows: Row[] = CYCLE_TERMS.map((term) => {
    const keys = [...new Set(results.map((r) => termCostKey(term, mergeCostOf(r.strategy))))];
    return [
      `${TERM_LABELS[term]} (${term} × ${keys.join("/")})`,
      ...results.map((r) => share(cyclesOf(r, cost)[term], r.est_cycles)),
    ];
  });
  rows.push(["est_cycles", ...results.map((r) => count(r.est_cycles))]);
  return textTable(header, rows);
}

/** --sweep: est_cycles per strategy at each value of one cost key. */
function sweepSection(results: readonly StrategyResult[], cost: CostModel, spec: SweepSpec, style: Style): string {
  const values = sweepValues(spec);
  const cycles = results.map((r) => sweepCycles(r, cost, spec));
  const header: Row = [
    { text: spec.key, paint: style.bold },
    ...results.map((r) => ({ text: r.strategy, paint: style.bold })),
  ];
  const rows: Row[] = values.map((value, v) => [count(value), ...cycles.map((c) => count(c[v] ?? 0))]);
  const intro =
    `est_cycles as ${spec.key} goes from ${count(spec.from)} to ${count(spec.to)} by ${count(spec.step)} ` +
    `(the other costs as in the model; ${spec.key} is ${count(cost[spec.key])} there)`;
  return `${intro}\n${textTable(header, rows, 0)}`;
}

/** --breakeven: for every pair of strategies, the value of `key` at which they cost the same. */
function breakEvenSection(results: readonly StrategyResult[], cost: CostModel, key: CostKey): string {
  const lines = [
    `break-even ${key} (the other costs as in the model; values rounded to ${BREAKEVEN_DECIMALS} decimals):`,
  ];
  for (const pair of breakEvens(results, cost, key)) {
    const f = breakEvenFields(pair);
    const vs = `${pair.a} vs ${pair.b}`;
    if (f.always_cheaper !== null) lines.push(`  ${vs}: never: ${f.always_cheaper} always cheaper`);
    else if (f.breakeven === null) lines.push(`  ${vs}: never: equal at every ${key}`);
    else {
      const sides =
        f.cheaper_below === null
          ? `${f.cheaper_above} cheaper above`
          : `${f.cheaper_below} cheaper below, ${f.cheaper_above} above`;
      const [whole = "", fraction = ""] = f.breakeven.split(".");
      lines.push(`  ${vs}: equal at ${key} = ${count(Number(whole))}.${fraction} cycles (${sides})`);
    }
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
