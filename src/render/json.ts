import { msrName } from "../msr/names.js";
import type { Report } from "../report.js";

export const JSON_SCHEMA_VERSION = 1;

/** {"schema": 1, "trace", "events", "vcpus", "options", "results", ["msrs"]}. */
export function renderJson(report: Report): string {
  const out: Record<string, unknown> = {
    schema: JSON_SCHEMA_VERSION,
    trace: report.trace,
    events: report.events,
    vcpus: report.vcpus,
    options: report.options,
    results: report.results,
  };
  if (report.msrs) {
    out.msrs = report.msrs.map((s) => ({
      msr: `0x${s.msr.toString(16)}`,
      name: msrName(s.msr) ?? null,
      dir: s.write ? "w" : "r",
      accesses: s.accesses,
      l0_exits: s.l0_exits,
      l1_exits: s.l1_exits,
      no_exit: s.no_exit,
    }));
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}
