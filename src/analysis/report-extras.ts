/**
 * The report's sections that come from `compare --window`, `--by msr` and
 * `--violations` (TraceExtras in report-page.ts), computed from what one
 * replay returns. Pure: it takes records and outcomes.
 */

import type { CostModel } from "../engine/results.js";
import type { WindowRecord, WindowUnit } from "../engine/windows.js";
import { msrName } from "../msr/names.js";
import type { TraceOutcome } from "../run/protocol.js";
import { byTable, exitCycles } from "./breakdown.js";
import {
  MAX_WINDOW_POINTS,
  TOP_MSR_ROWS,
  type TraceExtras,
  type WindowPoint,
  type WindowSeries,
} from "./report-page.js";

/**
 * Points kept while a trace is replayed: twice what a chart draws, so that
 * downsampleWindows() still has groups to sum at the end. Beyond it, pairs
 * of neighbouring points are summed: the memory a report takes does not grow
 * with the trace, however small its windows.
 */
const KEPT_POINTS = 2 * MAX_WINDOW_POINTS;

/** One trace's windows as they end, summed two by two whenever more than KEPT_POINTS are held. */
export class WindowSeriesCollector {
  private points: WindowPoint[] = [];
  /** Windows (as the replay cut them) that each point sums: a power of two. */
  private perPoint = 1;
  /** Windows in the last point, which may hold fewer than perPoint. */
  private inLast = 0;
  private windows = 0;

  constructor(private readonly unit: WindowUnit) {}

  add(records: readonly WindowRecord[]): void {
    for (const record of records) {
      this.windows++;
      const point: WindowPoint = {
        from: record.from,
        to: record.to,
        perStrategy: record.results.map((r) => ({
          strategy: r.strategy,
          l0_exits: r.l0_exits,
          l1_exits: r.l1_exits,
          est_cycles: r.est_cycles,
        })),
      };
      const last = this.points[this.points.length - 1];
      if (last !== undefined && this.inLast < this.perPoint) {
        this.points[this.points.length - 1] = sum(last, point);
        this.inLast++;
      } else {
        this.points.push(point);
        this.inLast = 1;
      }
      if (this.points.length > KEPT_POINTS) this.halve();
    }
  }

  /** Sums neighbours: point i of the result is points 2i and 2i+1. */
  private halve(): void {
    const halved: WindowPoint[] = [];
    for (let i = 0; i < this.points.length; i += 2) {
      const a = this.points[i] as WindowPoint;
      const b = this.points[i + 1];
      halved.push(b === undefined ? a : sum(a, b));
    }
    // The last point is full only when it summed two full ones.
    const lastWasPair = this.points.length % 2 === 0;
    this.inLast = lastWasPair ? this.perPoint + this.inLast : this.inLast;
    this.perPoint *= 2;
    this.points = halved;
  }

  series(): WindowSeries {
    return { unit: this.unit, points: this.points, windows: this.windows, perPoint: this.perPoint };
  }
}

/** Two consecutive points as one: from the first's start to the second's end, counters summed. */
function sum(a: WindowPoint, b: WindowPoint): WindowPoint {
  return {
    from: a.from,
    to: b.to,
    perStrategy: a.perStrategy.map((s, k) => {
      const t = b.perStrategy[k];
      return {
        strategy: s.strategy,
        l0_exits: s.l0_exits + (t?.l0_exits ?? 0),
        l1_exits: s.l1_exits + (t?.l1_exits ?? 0),
        est_cycles: s.est_cycles + (t?.est_cycles ?? 0),
      };
    }),
  };
}

/**
 * The extras of one trace: its windows (when collected), its busiest MSRs by
 * exits to L0 per strategy (from the replay's per-MSR breakdowns), and each
 * strategy's first violations with their lines.
 */
export function traceExtras(outcome: TraceOutcome, cost: CostModel, windows?: WindowSeries): TraceExtras {
  const topMsrs = outcome.breakdowns?.map((breakdown) => {
    const table = byTable(
      breakdown,
      { by: "msr", sort: "l0_exits", top: TOP_MSR_ROWS, vcpus: null, msrs: null, vcpuText: null, msrText: null },
      cost,
    );
    const rows = Array.from({ length: table.length }, (_, i) => table.row(i))
      .filter((row) => row.l0_exits > 0)
      .map((row) => {
        const msr = row.msr ?? 0;
        return {
          msr,
          name: msrName(msr) ?? null,
          dir: row.write ? ("w" as const) : ("r" as const),
          l0_exits: row.l0_exits,
          l1_exits: row.l1_exits,
          exit_cycles: exitCycles(row.l0_handled, row.l1_exits, cost),
        };
      });
    return { strategy: breakdown.strategy, rows };
  });
  const violations = outcome.violations?.map((v) => ({
    strategy: v.strategy,
    lines: v.first.map((r) => ({ line: r.line, msr: r.msr, vcpu: r.vcpu, what: r.kind })),
  }));
  return {
    ...(windows ? { windows } : {}),
    ...(topMsrs ? { topMsrs } : {}),
    ...(violations ? { violations } : {}),
  };
}
