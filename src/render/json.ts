import { breakEvenFields, breakEvens, cyclesOf, sweepCycles, sweepValues } from "../analysis/costs.js";
import { type MsrStats, msrRow } from "../engine/msr-counts.js";
import { msrName } from "../msr/names.js";
import type { Report } from "../report.js";
import { chunks } from "./text-table.js";
import { violationsJson } from "./violations.js";

/** 2 added `dirty_checks` to every result (docs/model.md §7). */
export const JSON_SCHEMA_VERSION = 2;

/**
 * The JSON output, as chunks of text (a per-MSR breakdown may be huge).
 * One trace: {"schema": 2, "trace", "events", "vcpus", "options", "results", ["msrs"]}.
 * Several: {"schema": 2, "options", "traces": [{"trace", "events", "vcpus"}],
 * "results": [{"trace", …results of that trace's strategy}]}.
 * With --lenient, "partial" and "skipped_rows" (per trace when several).
 * With --keep-going, always the second form, and "failed": [{"trace",
 * "error"}] lists the traces that could not be replayed, in the order given.
 * Always "cycles" after "results": per result (same order, with its "trace"
 * when several), est_cycles split into its terms, which add up to it. With
 * --sweep, "sweeps"; with --breakeven, "breakevens" (see costJson).
 */
export function* renderJson(report: Report): Generator<string> {
  const [only] = report.traces;
  let out: Record<string, unknown>;
  if (report.traces.length === 1 && only && report.failed === undefined) {
    out = {
      schema: JSON_SCHEMA_VERSION,
      trace: only.trace,
      events: only.events,
      vcpus: only.vcpus,
      options: report.options,
      results: only.results,
      cycles: cyclesJson(report, false),
      ...costJson(report, false),
      ...violationsJson(only.violations),
    };
    if (only.msrs) out.msrs = MSRS_GO_HERE;
    if (report.lenient) Object.assign(out, partial(only.skipped?.rows ?? 0));
  } else {
    out = {
      schema: JSON_SCHEMA_VERSION,
      options: report.options,
      traces: report.traces.map(({ trace, events, vcpus, skipped, violations }) => ({
        trace,
        events,
        vcpus,
        ...(report.lenient ? partial(skipped?.rows ?? 0) : {}),
        ...violationsJson(violations),
      })),
      results: report.traces.flatMap((t) => t.results.map((r) => ({ trace: t.trace, ...r }))),
      cycles: cyclesJson(report, true),
      ...costJson(report, true),
    };
    if (report.failed) out.failed = report.failed.map(({ trace, error }) => ({ trace, error }));
  }
  const text = JSON.stringify(out, null, 2);
  const msrs = only?.msrs;
  const placeholder = JSON.stringify(MSRS_GO_HERE);
  const at = text.indexOf(placeholder);
  if (!msrs || at < 0) {
    yield `${text}\n`;
    return;
  }
  // The per-MSR breakdown, one entry at a time: millions of MSRs would not fit
  // one string. The same text JSON.stringify(out, null, 2) would give.
  yield text.slice(0, at);
  if (msrs.length === 0) yield "[]";
  else {
    yield* chunks(
      (function* () {
        yield "[";
        for (let i = 0; i < msrs.length; i++) {
          const entry = JSON.stringify(msrJson(msrRow(msrs, i)), null, 2).replaceAll("\n", "\n    ");
          yield `    ${entry}${i + 1 < msrs.length ? "," : ""}`;
        }
      })(),
    );
    yield "  ]";
  }
  yield `${text.slice(at + placeholder.length)}\n`;
}

/** Where the streamed breakdown goes in the JSON text (no MSR name or hex can look like it). */
const MSRS_GO_HERE = "\u0000msrs";

/** Per result, its est_cycles split into its terms (src/engine/results.ts splitCycles). */
function cyclesJson(report: Report, several: boolean) {
  const cost = report.options.cost_model;
  return report.traces.flatMap((t) =>
    t.results.map((r) => ({ ...(several ? { trace: t.trace } : {}), strategy: r.strategy, ...cyclesOf(r, cost) })),
  );
}

/**
 * --sweep: "sweeps": [{"key", "from", "to", "step", "values": [...],
 * "results": [{["trace"], "strategy", "est_cycles": [one per value]}]}].
 * --breakeven: "breakevens": [{["trace"], "key", "a", "b", "breakeven" (the
 * value of key, rounded to 2 places, or null), "fraction" (exact, "p/q"),
 * "cheaper_below", "cheaper_above", "always_cheaper"}], every pair of
 * strategies in the order asked.
 */
function costJson(report: Report, several: boolean): Record<string, unknown> {
  const views = report.costs;
  if (!views) return {};
  const cost = report.options.cost_model;
  const trace = (name: string) => (several ? { trace: name } : {});
  const out: Record<string, unknown> = {};
  if (views.sweeps.length > 0) {
    out.sweeps = views.sweeps.map((spec) => ({
      ...spec,
      values: sweepValues(spec),
      results: report.traces.flatMap((t) =>
        t.results.map((r) => ({ ...trace(t.trace), strategy: r.strategy, est_cycles: sweepCycles(r, cost, spec) })),
      ),
    }));
  }
  if (views.breakevens.length > 0) {
    out.breakevens = views.breakevens.flatMap((key) =>
      report.traces.flatMap((t) =>
        breakEvens(t.results, cost, key).map((pair) => {
          const fields = breakEvenFields(pair);
          return {
            ...trace(t.trace),
            ...fields,
            breakeven: fields.breakeven === null ? null : Number(fields.breakeven),
          };
        }),
      ),
    );
  }
  return out;
}

/** --lenient: whether rows were skipped, and how many. */
function partial(skippedRows: number) {
  return { partial: skippedRows > 0, skipped_rows: skippedRows };
}

function msrJson(s: MsrStats) {
  return {
    msr: `0x${s.msr.toString(16)}`,
    name: msrName(s.msr) ?? null,
    dir: s.write ? "w" : "r",
    accesses: s.accesses,
    l0_exits: s.l0_exits,
    l1_exits: s.l1_exits,
    no_exit: s.no_exit,
  };
}
