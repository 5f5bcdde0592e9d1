/**
 * What `nvmx-replay report` shows, computed from a compare report and the
 * optional per-trace inputs (windows, top MSRs, violation lines) that other
 * commands produce: plain data, ready for the HTML renderer and for the tests
 * of the numbers behind each chart. Pure: no I/O.
 *
 * Every number comes from the functions `compare` uses (src/analysis/costs.ts),
 * so the page and `compare --cycles / --breakeven` cannot disagree.
 */

import {
  type CostKey,
  type CostModel,
  CYCLE_TERMS,
  type CycleTerm,
  InexactEstimateError,
  termCostKey,
} from "../engine/results.js";
import type { Report, ReportOptions } from "../report.js";
import type { TraceOutcome } from "../run/protocol.js";
import {
  type BreakEvenFields,
  breakEvenFields,
  breakEvens,
  cyclesOf,
  lineOf,
  mergeCostOf,
  type SweepSpec,
  sweepCycles,
  sweepValues,
} from "./costs.js";

/** One strategy's counters over one window (from `compare --window`). */
export interface WindowCounters {
  readonly strategy: string;
  readonly l0_exits: number;
  readonly l1_exits: number;
  readonly est_cycles: number;
}

/** One window: events (or seconds of the trace's `t` column) [from, to). */
export interface WindowPoint {
  readonly from: number;
  readonly to: number;
  readonly perStrategy: readonly WindowCounters[];
}

/** Every window of one trace, in order (`compare --window N` or `--window 50ms`). */
export interface WindowSeries {
  readonly unit: "events" | "seconds";
  readonly points: readonly WindowPoint[];
  /** Windows the points sum, when they were summed already as they came (WindowSeriesCollector); else one per point. */
  readonly windows?: number;
  /** Windows each point sums (the last may sum fewer); 1 when absent. */
  readonly perPoint?: number;
}

/** One MSR and direction under one strategy (`compare --by msr`). */
export interface TopMsrRow {
  readonly msr: number;
  readonly name: string | null;
  readonly dir: "r" | "w";
  readonly l0_exits: number;
  readonly l1_exits: number;
  /** The cycles its exits cost (L0-handled at l0_exit, reflected at l1_exit). */
  readonly exit_cycles: number;
}

export interface TopMsrs {
  readonly strategy: string;
  readonly rows: readonly TopMsrRow[];
}

/** One access that was a violation (`compare --violations`): its trace line and what went wrong. */
export interface ViolationLine {
  readonly line: number;
  readonly msr: number;
  readonly vcpu: number;
  readonly what: string;
}

export interface ViolationLines {
  readonly strategy: string;
  readonly lines: readonly ViolationLine[];
}

/** What other commands know of one trace; each section is drawn only when its input is given. */
export interface TraceExtras {
  readonly windows?: WindowSeries;
  readonly topMsrs?: readonly TopMsrs[];
  readonly violations?: readonly ViolationLines[];
}

/**
 * The most points a window chart draws. Consecutive windows are summed into
 * one point beyond it, so a 100M-event trace in 10k windows (10,000 of them)
 * still makes a page of a few hundred KiB, and the chart says how many
 * windows each point sums.
 */
export const MAX_WINDOW_POINTS = 300;

/** The most MSRs a strategy's top-MSR chart shows. */
export const TOP_MSR_ROWS = 10;

/**
 * The break-even chart sweeps the merge cost from 0 to at least this many
 * cycles (five times the default merge), and to twice the model's merge cost
 * when that is higher, so the model's own value is always inside.
 */
export const BREAKEVEN_RANGE_MIN_TO = 5000;

/** Steps of the merge sweep: its lines are straight, so a few points draw them. */
export const BREAKEVEN_STEPS = 20;

/** The cost key the break-even chart varies: what a full merge costs (docs/model.md §7). */
export const BREAKEVEN_KEY: CostKey = "merge";

/** One term of one strategy's est_cycles: `count` × the cost `key` = `cycles`. */
export interface CycleRow {
  readonly strategy: string;
  readonly term: CycleTerm;
  readonly key: CostKey;
  readonly count: number;
  readonly cycles: number;
}

/** One point of a strategy's est_cycles line as the merge cost varies. */
export interface SweepPoint {
  readonly strategy: string;
  readonly value: number;
  readonly est_cycles: number;
}

/** Where two strategies' lines cross, as `compare --breakeven` prints it, and where to draw it. */
export interface CrossingPoint extends BreakEvenFields {
  /** The exact value as a number (for drawing), and est_cycles there. */
  readonly value: number;
  readonly est_cycles: number;
  /** Within the swept range (drawn), or beyond it (listed only). */
  readonly shown: boolean;
}

export interface BreakEvenChart {
  readonly key: CostKey;
  readonly sweep: SweepSpec;
  /** The model's value of the key (a rule on the chart). */
  readonly model: number;
  readonly lines: readonly SweepPoint[];
  readonly crossings: readonly CrossingPoint[];
  /** Every pair that never crosses, or is equal everywhere, as `compare --breakeven` lists them. */
  readonly others: readonly BreakEvenFields[];
}

/** Windows as drawn: at most MAX_WINDOW_POINTS points, each summing `perPoint` windows. */
export interface WindowChart {
  readonly unit: "events" | "seconds";
  readonly windows: number;
  readonly perPoint: number;
  readonly points: readonly WindowPoint[];
}

export interface TracePage {
  readonly outcome: TraceOutcome;
  readonly cycles: readonly CycleRow[];
  /** The break-even chart, or why there is none (a total above 2^53 at the range's end). */
  readonly breakEven: BreakEvenChart | { readonly error: string };
  /** Per strategy, its violations count. */
  readonly violations: readonly { readonly strategy: string; readonly violations: number }[];
  readonly violationLines?: readonly ViolationLines[];
  readonly windows?: WindowChart;
  readonly topMsrs?: readonly TopMsrs[];
}

/** est_cycles of each strategy of each trace: the chart comparing traces. */
export interface AcrossRow {
  readonly trace: string;
  readonly strategy: string;
  readonly est_cycles: number;
}

export interface ReportPage {
  readonly options: ReportOptions;
  readonly traces: readonly TracePage[];
  /** Only with several traces. */
  readonly across: readonly AcrossRow[] | null;
}

/**
 * The page's data. `extras[i]` belongs to `report.traces[i]` (the order the
 * traces were given); a missing entry, or a missing field in one, leaves that
 * section out.
 */
export function reportPage(report: Report, extras: readonly (TraceExtras | undefined)[] = []): ReportPage {
  const cost = report.options.cost_model;
  const traces = report.traces.map((outcome, i) => tracePage(outcome, cost, extras[i]));
  const across =
    report.traces.length > 1
      ? report.traces.flatMap((t) =>
          t.results.map((r) => ({ trace: t.trace, strategy: r.strategy, est_cycles: r.est_cycles })),
        )
      : null;
  return { options: report.options, traces, across };
}

function tracePage(outcome: TraceOutcome, cost: CostModel, extras: TraceExtras | undefined): TracePage {
  const page: TracePage = {
    outcome,
    cycles: cycleRows(outcome, cost),
    breakEven: breakEvenChart(outcome, cost),
    violations: outcome.results.map((r) => ({ strategy: r.strategy, violations: r.violations })),
    ...(extras?.violations ? { violationLines: extras.violations } : {}),
    ...(extras?.windows ? { windows: downsampleWindows(extras.windows) } : {}),
    ...(extras?.topMsrs ? { topMsrs: extras.topMsrs.map(topRows) } : {}),
  };
  return page;
}

/** est_cycles split into its terms (cyclesOf, what `compare --cycles` prints), one row per term. */
export function cycleRows(outcome: TraceOutcome, cost: CostModel): CycleRow[] {
  return outcome.results.flatMap((r) => {
    const split = cyclesOf(r, cost);
    const mergeCost = mergeCostOf(r.strategy);
    return CYCLE_TERMS.map((term) => ({
      strategy: r.strategy,
      term,
      key: termCostKey(term, mergeCost),
      count: r[term],
      cycles: split[term],
    }));
  });
}

/** The merge sweep's range: 0 to max(BREAKEVEN_RANGE_MIN_TO, 2 × the model's merge), in BREAKEVEN_STEPS steps. */
export function breakEvenSweep(cost: CostModel): SweepSpec {
  const wanted = Math.max(BREAKEVEN_RANGE_MIN_TO, 2 * cost[BREAKEVEN_KEY]);
  const step = Math.ceil(wanted / BREAKEVEN_STEPS);
  return { key: BREAKEVEN_KEY, from: 0, to: step * BREAKEVEN_STEPS, step };
}

/** est_cycles of every strategy as the merge cost varies (sweepCycles), and where each pair crosses (breakEvens). */
export function breakEvenChart(outcome: TraceOutcome, cost: CostModel): BreakEvenChart | { error: string } {
  const sweep = breakEvenSweep(cost);
  const values = sweepValues(sweep);
  let lines: SweepPoint[];
  try {
    lines = outcome.results.flatMap((r) => {
      const cycles = sweepCycles(r, cost, sweep);
      return values.map((value, i) => ({ strategy: r.strategy, value, est_cycles: cycles[i] as number }));
    });
  } catch (error) {
    if (!(error instanceof InexactEstimateError)) throw error;
    return { error: `not drawn: at ${BREAKEVEN_KEY} = ${sweep.to}, ${error.message}` };
  }
  const crossings: CrossingPoint[] = [];
  const others: BreakEvenFields[] = [];
  for (const pair of breakEvens(outcome.results, cost, sweep.key)) {
    const fields = breakEvenFields(pair);
    if (pair.result.kind !== "crosses") {
      others.push(fields);
      continue;
    }
    const a = outcome.results.find((r) => r.strategy === pair.a);
    if (!a) continue;
    const value = Number(pair.result.numerator) / Number(pair.result.denominator);
    const line = lineOf(a, cost, sweep.key);
    crossings.push({
      ...fields,
      value,
      est_cycles: Number(line.base) + Number(line.slope) * value,
      shown: value <= sweep.to,
    });
  }
  return { key: sweep.key, sweep, model: cost[sweep.key], lines, crossings, others };
}

/**
 * At most `max` points: consecutive windows summed in groups of
 * ceil(windows / max), so totals are kept (a sampled point would hide the
 * bursts between samples). A group spans its first window's `from` to its
 * last one's `to`.
 */
export function downsampleWindows(series: WindowSeries, max = MAX_WINDOW_POINTS): WindowChart {
  const pointsIn = series.points.length;
  const windows = series.windows ?? pointsIn;
  const summed = series.perPoint ?? 1;
  const perPoint = Math.max(1, Math.ceil(pointsIn / max));
  if (perPoint === 1) return { unit: series.unit, windows, perPoint: summed, points: series.points };
  const points: WindowPoint[] = [];
  for (let start = 0; start < pointsIn; start += perPoint) {
    const group = series.points.slice(start, start + perPoint);
    const first = group[0] as WindowPoint;
    const last = group[group.length - 1] as WindowPoint;
    const sums = new Map<string, { l0_exits: number; l1_exits: number; est_cycles: number }>();
    for (const point of group) {
      for (const s of point.perStrategy) {
        const sum = sums.get(s.strategy) ?? { l0_exits: 0, l1_exits: 0, est_cycles: 0 };
        sum.l0_exits += s.l0_exits;
        sum.l1_exits += s.l1_exits;
        sum.est_cycles += s.est_cycles;
        sums.set(s.strategy, sum);
      }
    }
    points.push({
      from: first.from,
      to: last.to,
      perStrategy: [...sums].map(([strategy, sum]) => ({ strategy, ...sum })),
    });
  }
  return { unit: series.unit, windows, perPoint: perPoint * summed, points };
}

/** A strategy's busiest MSRs by exits to L0 (ties: more reflected first, then by MSR), at most TOP_MSR_ROWS. */
export function topRows(top: TopMsrs): TopMsrs {
  const rows = [...top.rows]
    .sort((x, y) => y.l0_exits - x.l0_exits || y.l1_exits - x.l1_exits || x.msr - y.msr || x.dir.localeCompare(y.dir))
    .slice(0, TOP_MSR_ROWS);
  return { strategy: top.strategy, rows };
}
