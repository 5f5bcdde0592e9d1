/** `validate` output. */
import { EVENT_NAMES } from "../engine/events.js";
import { msrName } from "../msr/names.js";
import type { TraceSummary } from "../summary.js";
import { JSON_SCHEMA_VERSION } from "./json.js";
import type { Style } from "./style.js";
import { count, textTable } from "./text-table.js";

const hex = (n: number) => `0x${n.toString(16)}`;
const named = (msr: number) => {
  const name = msrName(msr);
  return name ? `${hex(msr)} ${name}` : hex(msr);
};

export function renderSummaryTable(trace: string, s: TraceSummary, style: Style): string {
  const events = textTable(
    [
      { text: "event", paint: style.bold },
      { text: "count", paint: style.bold },
    ],
    EVENT_NAMES.map((name, i) => [name, count(s.byEvent[i] ?? 0)]),
  );
  const lines = [
    `${trace}: ${style.green("valid")}, ${count(s.events)} events`,
    "",
    events,
    "",
    `vCPUs (${s.vcpus.length}): ${s.vcpus.join(", ")}`,
    `pages (${s.pages.length}): ${s.pages.map(hex).join(", ") || "none"}`,
    `MSRs (${s.msrs.length}): ${s.msrs.map(named).join(", ") || "none"}`,
  ];
  return `${lines.join("\n")}\n`;
}

export function renderSummaryJson(trace: string, s: TraceSummary): string {
  const out = {
    schema: JSON_SCHEMA_VERSION,
    trace,
    valid: true,
    events: s.events,
    by_event: Object.fromEntries(EVENT_NAMES.map((name, i) => [name, s.byEvent[i] ?? 0])),
    vcpus: s.vcpus,
    pages: s.pages.map(hex),
    msrs: s.msrs.map((msr) => ({ msr: hex(msr), name: msrName(msr) ?? null })),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
