import type { MsrStats } from "../engine/back.js";
import { msrName } from "../msr/names.js";
import type { Report } from "../report.js";

/** 2 added `dirty_checks` to every result (SPEC section 7). */
export const JSON_SCHEMA_VERSION = 2;

/**
 * One trace: {"schema": 2, "trace", "events", "vcpus", "options", "results", ["msrs"]}.
 * Several: {"schema": 2, "options", "traces": [{"trace", "events", "vcpus"}],
 * "results": [{"trace", …results of that trace's strategy}]}.
 * With --lenient, "partial" and "skipped_rows" (per trace when several).
 */
export function renderJson(report: Report): string {
  const [only] = report.traces;
  let out: Record<string, unknown>;
  if (report.traces.length === 1 && only) {
    out = {
      schema: JSON_SCHEMA_VERSION,
      trace: only.trace,
      events: only.events,
      vcpus: only.vcpus,
      options: report.options,
      results: only.results,
    };
    if (only.msrs) out.msrs = only.msrs.map(msrJson);
    if (report.lenient) Object.assign(out, partial(only.skipped?.rows ?? 0));
  } else {
    out = {
      schema: JSON_SCHEMA_VERSION,
      options: report.options,
      traces: report.traces.map(({ trace, events, vcpus, skipped }) => ({
        trace,
        events,
        vcpus,
        ...(report.lenient ? partial(skipped?.rows ?? 0) : {}),
      })),
      results: report.traces.flatMap((t) => t.results.map((r) => ({ trace: t.trace, ...r }))),
    };
  }
  return `${JSON.stringify(out, null, 2)}\n`;
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
