/**
 * `nvmx-replay report`'s page: one self-contained HTML file, every chart an
 * inline SVG, no script that runs, no external URL (a Content-Security-Policy
 * of `default-src 'none'` makes the browser refuse any fetch should one slip
 * in), so it reads the same offline, from a mail attachment or a bug tracker.
 *
 * Each chart's data is embedded beside it as
 * `<script type="application/json" class="chart-data" data-chart="ID">`
 * (a data block: never executed), so a reader can take the numbers out and
 * the tests can check them against `compare`.
 */
import {
  BREAKEVEN_KEY,
  type BreakEvenChart,
  MAX_WINDOW_POINTS,
  type ReportPage,
  TOP_MSR_ROWS,
  type TracePage,
} from "../../analysis/report-page.js";
import { COST_KEYS, COST_SOURCES, DEFAULT_COST_MODEL, RESULT_FIELDS } from "../../engine/results.js";
import type { ReportOptions } from "../../report.js";
import { UNSAFE_ON_PURPOSE } from "../../report.js";
import { relative } from "../table.js";
import { count } from "../text-table.js";
import { acrossChart, breakEvenChart, type Chart, cyclesChart, topMsrChart, windowsChart } from "./charts.js";
import { html, scriptJson } from "./escape.js";

/** The page's styles: readable on a phone (tables scroll sideways, charts shrink to the screen) and in print. */
const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.45; color: #111;
  background: #fff; margin: 0 auto; padding: 1rem; max-width: 62rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #333; padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { font-size: 1.05rem; margin-top: 1.8rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0.5rem 0; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.5rem; }
th { background: #eee; text-align: left; }
td.n { text-align: right; white-space: nowrap; }
.changed { font-weight: bold; }
.alarm { font-weight: bold; text-decoration: underline; }
figure.chart { margin: 1rem 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #333; margin-bottom: 0.4rem; }
.note { font-size: 0.9rem; color: #333; }
code { font-size: 0.95em; }
@media (max-width: 40rem) { body { padding: 0.5rem; } th, td { padding: 0.15rem 0.3rem; font-size: 0.85rem; } }
`;

/** Refuses every fetch: the page is whole as it is (style attributes and the <style> element are its own). */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The counters of the compare table, in the order of docs/model.md §7 (the strategy is the column). */
const COUNTERS = RESULT_FIELDS.filter((f) => f !== "strategy");

/** The whole page. `generator` names the tool and version in a <meta>. */
export async function renderReportHtml(page: ReportPage, generator: string): Promise<string> {
  const names = page.traces.map((t) => t.outcome.trace);
  const title = `nvmx-replay report: ${names.length === 1 ? names[0] : `${names.length} traces`}`;
  const ids = counter();
  const body: string[] = [
    `<h1>${html(title)}</h1>`,
    `<p class="note">Each strategy models how L0 builds vmcs02's MSR bitmap for L2; the counters and ` +
      `est_cycles are those of <code>nvmx-replay compare</code> with the same options.</p>`,
    setupSection(page),
  ];
  if (page.across) {
    const chart = await acrossChart(ids(), page.across);
    body.push(
      `<section id="all-traces"><h2>All traces</h2>`,
      figure(chart, "across", "est_cycles of each strategy in each trace (cycles; fewer is better)"),
      `</section>`,
    );
  }
  for (const [i, trace] of page.traces.entries()) body.push(await traceSection(trace, i, ids));
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    `<meta name="generator" content="${html(generator)}">`,
    `<title>${html(title)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    ...body,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** Chart ids: c1, c2, … unique in the page (the SVG patterns' ids derive from them). */
function counter(): () => string {
  let n = 0;
  return () => `c${++n}`;
}

/**
 * A chart in its figure: `data-kind` says which chart it is (cycles, breakeven, across, windows-l0_exits,
 * windows-l1_exits, top-msrs), and its data follows it in a JSON data block.
 */
function figure(chart: Chart, kind: string, caption: string, note = ""): string {
  return [
    `<figure class="chart" id="chart-${chart.id}" data-kind="${kind}">`,
    `<figcaption>${html(caption)}${note === "" ? "" : `<br>${html(note)}`}</figcaption>`,
    chart.svg,
    `<script type="application/json" class="chart-data" data-chart="${chart.id}">${scriptJson(chart.data)}</script>`,
    "</figure>",
  ].join("\n");
}

function table(header: readonly string[], rows: readonly (readonly string[])[], caption = ""): string {
  const head = `<tr>${header.map((h) => `<th scope="col">${h}</th>`).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${r.join("")}</tr>`).join("\n");
  const cap = caption === "" ? "" : `<caption>${caption}</caption>`;
  return `<div class="scroll"><table>${cap}\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

const td = (text: string, className = "") => `<td${className === "" ? "" : ` class="${className}"`}>${text}</td>`;
const num = (n: number, extra = "") => td(count(n), extra === "" ? "n" : `n ${extra}`);
const th = (text: string) => `<th scope="row">${text}</th>`;

/** The traces, L0's and L1's bitmaps and the cost model, the costs that differ from the defaults marked. */
function setupSection(page: ReportPage): string {
  const o = page.options;
  const traces = table(
    ["trace", "events", "vCPUs", "note"],
    page.traces.map((t) => {
      const skipped = t.outcome.skipped?.rows ?? 0;
      return [
        th(`<code>${html(t.outcome.trace)}</code>`),
        num(t.outcome.events),
        num(t.outcome.vcpus),
        td(skipped > 0 ? `<span class="alarm">PARTIAL</span>: ${count(skipped)} bad rows skipped (--lenient)` : ""),
      ];
    }),
  );
  const costs = table(
    ["cost", "cycles", "default", "where the default comes from"],
    COST_KEYS.map((key) => {
      const changed = o.cost_model[key] !== DEFAULT_COST_MODEL[key];
      return [
        th(`<code>${key}</code>`),
        num(o.cost_model[key], changed ? "changed" : ""),
        td(changed ? `${count(DEFAULT_COST_MODEL[key])} (changed)` : "default"),
        td(html(COST_SOURCES[key])),
      ];
    }),
  );
  return [
    `<section id="setup"><h2>Set-up</h2>`,
    traces,
    `<ul>`,
    `<li>L0 (vmcs01's bitmaps): ${l0Html(o)}</li>`,
    `<li>L1 (vmcs12's bitmap): ${l1Html(o)}</li>`,
    `<li>Strategies: ${o.strategies.map((s) => `<code>${html(s)}</code>`).join(", ")}</li>`,
    `</ul>`,
    `<h3>Cost model</h3>`,
    `<p class="note">est_cycles = l0_exit × l0_handled + l1_exit × l1_exits + merge × merges (merge_sparse for ` +
      `the sparse strategies) + wp_fault × wp_faults + dirty_check × dirty_checks. Costs that differ from the ` +
      `defaults are in bold and marked "changed".</p>`,
    costs,
    `</section>`,
  ].join("\n");
}

function l0Html(o: ReportOptions): string {
  const file = (f: string) => `bitmap file <code>${html(f)}</code>`;
  if (o.l0_bitmap !== null && o.l0_bitmap_legacy !== null) {
    return `${file(o.l0_bitmap)} (long mode), ${file(o.l0_bitmap_legacy)} (legacy mode), replacing the profile`;
  }
  if (o.l0_bitmap !== null) return `${file(o.l0_bitmap)} for both modes, replacing the profile`;
  const profile = `profile <code>${html(o.l0_profile)}</code>`;
  return o.l0_bitmap_legacy === null ? profile : `${profile}; legacy mode: ${file(o.l0_bitmap_legacy)}`;
}

function l1Html(o: ReportOptions): string {
  if (o.l1_bitmap !== null) return `bitmap file <code>${html(o.l1_bitmap)}</code>`;
  if (o.l1_profile !== null) return `profile <code>${html(o.l1_profile)}</code>`;
  return "the pages the trace loads (no --l1-bitmap or --l1-profile)";
}

async function traceSection(trace: TracePage, index: number, ids: () => string): Promise<string> {
  const name = trace.outcome.trace;
  const out: string[] = [
    `<section class="trace" id="trace-${index + 1}">`,
    `<h2>Trace <code>${html(name)}</code></h2>`,
  ];
  out.push(`<h3>Counters</h3>`, compareTable(trace));
  out.push(
    `<h3>Where est_cycles goes</h3>`,
    figure(
      await cyclesChart(ids(), trace.cycles),
      "cycles",
      "est_cycles per strategy (cycles), split into its terms: each counter times the cost that charges it",
    ),
  );
  out.push(`<h3>Break-even ${BREAKEVEN_KEY} cost</h3>`, await breakEvenSection(trace.breakEven, ids));
  out.push(`<h3>Violations</h3>`, violationsSection(trace));
  if (trace.windows) out.push(`<h3>Exits over time</h3>`, await windowsSection(trace, ids));
  if (trace.topMsrs) out.push(`<h3>Top MSRs by exits</h3>`, await topMsrsSection(trace, ids));
  out.push(`</section>`);
  return out.join("\n");
}

/** The compare table: a row per counter, a column per strategy, est_cycles against the first strategy last. */
function compareTable(trace: TracePage): string {
  const results = trace.outcome.results;
  const rows = COUNTERS.map((field) => [
    th(`<code>${field}</code>`),
    ...results.map((r) => num(r[field], field === "violations" && r[field] > 0 ? "alarm" : "")),
  ]);
  const base = results[0]?.est_cycles ?? 0;
  const first = results[0]?.strategy ?? "";
  rows.push([th(`vs ${html(first)}`), ...results.map((r) => td(html(relative(r.est_cycles, base)), "n"))]);
  return table(["", ...results.map((r) => `<code>${html(r.strategy)}</code>`)], rows);
}

async function breakEvenSection(chart: BreakEvenChart | { error: string }, ids: () => string): Promise<string> {
  if ("error" in chart) return `<p class="note">${html(chart.error)}</p>`;
  const fig = figure(
    await breakEvenChart(ids(), chart),
    "breakeven",
    `est_cycles of each strategy (cycles) as the ${chart.key} cost goes from ${count(chart.sweep.from)} to ` +
      `${count(chart.sweep.to)} cycles, the other costs as in the model; diamonds mark where two strategies cost the same`,
    "The sparse strategies pay merge_sparse, not merge: their lines are flat.",
  );
  const items = [
    ...chart.crossings.map((c) => {
      const below = c.cheaper_below === null ? "" : `<code>${html(c.cheaper_below)}</code> cheaper below, `;
      const beyond = c.shown ? "" : " (beyond the chart's range)";
      return (
        `<li><code>${html(c.a)}</code> vs <code>${html(c.b)}</code>: equal at ${chart.key} = ${grouped(c.breakeven ?? "")} cycles` +
        `${beyond} (${below}<code>${html(c.cheaper_above ?? "")}</code> cheaper above)</li>`
      );
    }),
    ...chart.others.map((o) =>
      o.always_cheaper === null
        ? `<li><code>${html(o.a)}</code> vs <code>${html(o.b)}</code>: equal at every value</li>`
        : `<li><code>${html(o.a)}</code> vs <code>${html(o.b)}</code>: never: <code>${html(o.always_cheaper)}</code> always cheaper</li>`,
    ),
  ];
  return `${fig}\n<ul class="breakevens">\n${items.join("\n")}\n</ul>`;
}

/** "6722250.00" -> "6,722,250.00": the break-even as compare prints it, its whole part grouped by thousands. */
function grouped(decimal: string): string {
  const [whole = "", fraction] = decimal.split(".");
  const digits = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return fraction === undefined ? digits : `${digits}.${fraction}`;
}

function violationsSection(trace: TracePage): string {
  const any = trace.violations.some((v) => v.violations > 0);
  const counts = any
    ? table(
        ["strategy", "violations"],
        trace.violations.map((v) => [
          th(
            `<code>${html(v.strategy)}</code>${v.strategy === UNSAFE_ON_PURPOSE ? " (tracks no store on purpose)" : ""}`,
          ),
          num(v.violations, v.violations > 0 ? "alarm" : ""),
        ]),
      )
    : `<p>None: under every strategy, every access went where L0 and L1 wanted it.</p>`;
  const lines = (trace.violationLines ?? [])
    .filter((v) => v.lines.length > 0)
    .map((v) =>
      table(
        ["line", "vCPU", "MSR", "what went wrong"],
        v.lines.map((l) => [num(l.line), num(l.vcpu), td(`<code>0x${l.msr.toString(16)}</code>`), td(html(l.what))]),
        `first lines of <code>${html(v.strategy)}</code>`,
      ),
    );
  return [counts, ...lines].join("\n");
}

async function windowsSection(trace: TracePage, ids: () => string): Promise<string> {
  const w = trace.windows;
  if (!w) return "";
  const size = w.unit === "events" ? "events" : "seconds";
  const note =
    w.perPoint > 1
      ? `Downsampled: ${count(w.windows)} windows, each point sums ${count(w.perPoint)} consecutive windows ` +
        `(at most ${count(MAX_WINDOW_POINTS)} points a chart).`
      : `${count(w.windows)} windows, one point each.`;
  const l0 = await windowsChart(ids(), w, "l0_exits");
  const l1 = await windowsChart(ids(), w, "l1_exits");
  return [
    figure(l0, "windows-l0_exits", `Exits to L0 per window, per strategy (x: ${size} into the trace)`, note),
    figure(l1, "windows-l1_exits", `Exits reflected to L1 per window, per strategy (x: ${size} into the trace)`, note),
  ].join("\n");
}

async function topMsrsSection(trace: TracePage, ids: () => string): Promise<string> {
  const out: string[] = [];
  for (const top of trace.topMsrs ?? []) {
    if (top.rows.length === 0) continue;
    out.push(
      figure(
        await topMsrChart(ids(), top),
        "top-msrs",
        `${top.strategy}: the ${count(top.rows.length)} MSRs with the most exits to L0 (at most ${TOP_MSR_ROWS}), ` +
          "split into exits reflected to L1 and exits L0 handled, with the cycles those exits cost",
      ),
    );
  }
  return out.length > 0 ? out.join("\n") : `<p>No MSR exited under any strategy.</p>`;
}
