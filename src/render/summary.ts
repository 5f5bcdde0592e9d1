/** `validate` output. */
import { EVENT_NAMES } from "../engine/events.js";
import { printable } from "../io/printable.js";
import { msrName } from "../msr/names.js";
import { DISTINCT_COUNT_LIMIT, type DistinctValues, type TraceSummary } from "../summary.js";
import { JSON_SCHEMA_VERSION } from "./json.js";
import type { Style } from "./style.js";
import { count, textTable } from "./text-table.js";

const hex = (n: number) => `0x${n.toString(16)}`;
const named = (msr: number) => {
  const name = msrName(msr);
  return name ? `${hex(msr)} ${name}` : hex(msr);
};

/** "pages (2): 0x3000, 0x4000", bounded: at most DISTINCT_LIST_LIMIT listed, and how many more. */
function listing(title: string, values: DistinctValues, show: (n: number) => string): string {
  const listed = values.lowest();
  if (listed.length === 0) return `${title} (0): none`;
  const more = values.count - listed.length;
  if (!values.exact) {
    return (
      `${title} (more than ${count(values.count)}): the lowest ${count(listed.length)} of the first ` +
      `${count(DISTINCT_COUNT_LIMIT)} distinct: ${listed.map(show).join(", ")}, and more ` +
      `(distinct ${title} are counted up to ${count(DISTINCT_COUNT_LIMIT)})`
    );
  }
  const tail = more > 0 ? `, and ${count(more)} more` : "";
  return `${title} (${count(values.count)}): ${listed.map(show).join(", ")}${tail}`;
}

export function renderSummaryTable(trace: string, s: TraceSummary, style: Style): string {
  const events = textTable(
    [
      { text: "event", paint: style.bold },
      { text: "count", paint: style.bold },
    ],
    EVENT_NAMES.map((name, i) => [name, count(s.byEvent[i] ?? 0)]),
  );
  const total = s.events;
  const vcpus = s.vcpus;
  const lines = [
    `${printable(trace)}: ${style.green("valid")}, ${count(total)} ${total === 1 ? "event" : "events"}`,
    "",
    events,
    "",
    `vCPUs (${count(vcpus.length)}): ${vcpus.join(", ")}`,
    listing("pages", s.pages, hex),
    listing("MSRs", s.msrs, named),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * `pages` and `msrs` list at most DISTINCT_LIST_LIMIT values, the lowest;
 * `pages_total` and `msrs_total` count them all, exactly when
 * `pages_total_exact` (`msrs_total_exact`) is true, and otherwise are the
 * DISTINCT_COUNT_LIMIT counted, a lower bound.
 */
export function renderSummaryJson(trace: string, s: TraceSummary): string {
  const out = {
    schema: JSON_SCHEMA_VERSION,
    trace,
    valid: true,
    events: s.events,
    by_event: Object.fromEntries(EVENT_NAMES.map((name, i) => [name, s.byEvent[i] ?? 0])),
    vcpus: s.vcpus,
    pages: s.pages.lowest().map(hex),
    pages_total: s.pages.count,
    pages_total_exact: s.pages.exact,
    msrs: s.msrs.lowest().map((msr) => ({ msr: hex(msr), name: msrName(msr) ?? null })),
    msrs_total: s.msrs.count,
    msrs_total_exact: s.msrs.exact,
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
