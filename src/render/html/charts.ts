/**
 * The report's charts: Vega-Lite specs compiled to Vega and rendered to SVG
 * text by Vega's headless View, in Node, with no browser and no canvas
 * (docs/report.md says why this library). Without the `canvas` package Vega
 * estimates a label's width from its length and font size instead of
 * measuring it; the build leaves `canvas` out on purpose, so a page does not
 * depend on what else is installed.
 *
 * Readable in greyscale and by colour-blind readers: colours from the
 * Okabe-Ito palette, and never colour alone. Bars carry a pattern as well (an
 * SVG <pattern> per series, defined inside the chart's own SVG), lines a dash
 * pattern, and both a direct label (the strategy, or the bar's total).
 *
 * Only `report` loads this module (by a dynamic import), so the other
 * commands never load Vega.
 */
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type {
  AcrossRow,
  BreakEvenChart,
  CycleRow,
  TopMsrs,
  WindowChart,
  WindowPoint,
} from "../../analysis/report-page.js";
import { count } from "../text-table.js";

/** A rendered chart: its SVG, and the data drawn, embedded beside it for readers and tests. */
export interface Chart {
  readonly id: string;
  readonly svg: string;
  readonly data: unknown;
}

/**
 * Okabe and Ito's palette ("Color Universal Design", 2002), told apart by
 * the common forms of colour blindness, then a mid grey for a ninth series
 * (`--strategies all` has nine).
 */
export const PALETTE = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#F0E442",
  "#000000",
  "#999999",
] as const;

/** The side of a pattern tile, in SVG user units (pixels at 100%). */
const TILE = 8;

/** Marks drawn over a series' colour, one per series: what tells bars apart in greyscale. */
const PATTERN_MARKS = [
  "", // solid
  `<path d="M-2,2l4,-4M0,${TILE}l${TILE},-${TILE}M6,10l4,-4" stroke-width="1.5"/>`, // diagonal /
  `<circle cx="2" cy="2" r="1.4" stroke="none" fill="INK"/><circle cx="6" cy="6" r="1.4" stroke="none" fill="INK"/>`, // dots
  `<path d="M0,2h${TILE}M0,6h${TILE}" stroke-width="1.5"/>`, // horizontal
  `<path d="M0,0L${TILE},${TILE}M${TILE},0L0,${TILE}" stroke-width="1"/>`, // cross-hatch
  `<path d="M2,0v${TILE}M6,0v${TILE}" stroke-width="1.5"/>`, // vertical
  `<path d="M-2,6l4,4M0,0l${TILE},${TILE}M6,-2l4,4" stroke-width="1.5"/>`, // diagonal \
  `<path d="M0,4h${TILE}M4,0v${TILE}" stroke-width="1"/>`, // grid
  `<circle cx="4" cy="4" r="2.2" fill="none" stroke-width="1"/>`, // rings
] as const;

/** Dash patterns for lines, one per series (the first solid). */
const DASHES = [
  [1, 0],
  [8, 3],
  [2, 2],
  [8, 3, 2, 3],
  [4, 4],
  [12, 3],
  [2, 5],
  [6, 2, 2, 2, 2, 2],
  [14, 4],
] as const;

/** Black marks on light colours, white on dark (relative luminance below this). */
const DARK_LUMINANCE = 0.3;

function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

function pick<T>(list: readonly T[], i: number): T {
  return list[i % list.length] as T;
}

/** The pattern fills of a chart's series, as fill values (`url(#ID)`) and the <defs> defining them. */
function patterns(chartId: string, series: number): { fills: string[]; defs: string } {
  const fills: string[] = [];
  const defs: string[] = [];
  for (let i = 0; i < series; i++) {
    const colour = pick(PALETTE, i);
    const ink = luminance(colour) < DARK_LUMINANCE ? "#fff" : "#000";
    const id = `${chartId}-p${i}`;
    const marks = pick(PATTERN_MARKS, i).replaceAll("INK", ink);
    defs.push(
      `<pattern id="${id}" patternUnits="userSpaceOnUse" width="${TILE}" height="${TILE}">` +
        `<rect width="${TILE}" height="${TILE}" fill="${colour}"/><g stroke="${ink}">${marks}</g></pattern>`,
    );
    fills.push(`url(#${id})`);
  }
  return { fills, defs: `<defs>${defs.join("")}</defs>` };
}

/** Settings every chart shares: a plain font, readable sizes, legends below the plot (narrow screens). */
const CONFIG = {
  font: "sans-serif",
  background: "white",
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  legend: {
    orient: "bottom",
    labelFontSize: 11,
    titleFontSize: 11,
    symbolSize: 220,
    columns: 2,
    labelLimit: 320,
    titleLimit: 520,
  },
  view: { stroke: null },
} as const;

/** Whole numbers with thousands separators (d3-format), as the tables print them. */
const NUMBER = ",d";

/** Plot width of every chart, in SVG units; the page scales charts down to the screen (CSS). */
const WIDTH = 560;

/** Renders a Vega-Lite spec to SVG text, with `defs` placed inside the <svg> element. */
async function toSvg(spec: object, defs = ""): Promise<string> {
  const vega = compile({ ...spec, config: CONFIG } as TopLevelSpec).spec;
  const view = new View(parse(vega), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return defs === "" ? svg : svg.replace(/^<svg[^>]*>/, (open) => `${open}${defs}`);
  } finally {
    view.finalize();
  }
}

/** Names of est_cycles' terms as the chart's legend shows them (the counter × the cost key charging it). */
const TERM_LABELS: Readonly<Record<CycleRow["term"], string>> = {
  l0_handled: "L0-handled exits × l0_exit",
  l1_exits: "reflected exits × l1_exit",
  merges: "merges × merge (sparse*: merge_sparse)",
  wp_faults: "wp faults × wp_fault",
  dirty_checks: "dirty checks × dirty_check",
};

/** est_cycles per strategy, a bar each, split into its terms (stacked, patterned), the total at its end. */
export async function cyclesChart(id: string, rows: readonly CycleRow[]): Promise<Chart> {
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  const labels = Object.values(TERM_LABELS);
  const { fills, defs } = patterns(id, labels.length);
  const order = Object.keys(TERM_LABELS);
  const values = rows.map((r) => ({ ...r, label: TERM_LABELS[r.term], order: order.indexOf(r.term) }));
  const y = { field: "strategy", type: "nominal", sort: strategies, title: "strategy" };
  const spec = {
    width: WIDTH,
    height: { step: 30 },
    data: { values },
    layer: [
      {
        mark: { type: "bar", stroke: "#000", strokeWidth: 0.5 },
        encoding: {
          y,
          x: {
            field: "cycles",
            type: "quantitative",
            stack: "zero",
            title: "est_cycles (cycles)",
            axis: { format: NUMBER },
          },
          fill: {
            field: "label",
            type: "nominal",
            scale: { domain: labels, range: fills },
            legend: { title: "term (counter × cost key)" },
          },
          order: { field: "order" },
        },
      },
      {
        transform: [{ aggregate: [{ op: "sum", field: "cycles", as: "total" }], groupby: ["strategy"] }],
        mark: { type: "text", align: "left", dx: 4, fontSize: 11 },
        encoding: {
          y,
          x: { field: "total", type: "quantitative" },
          text: { field: "total", type: "quantitative", format: NUMBER },
        },
      },
    ],
  };
  return { id, svg: await toSvg(spec, defs), data: rows };
}

/**
 * est_cycles of each strategy as the merge cost goes over the chart's range,
 * a dashed line each with its name at the right end; the model's merge cost a
 * grey rule; each crossing within the range a diamond labelled with its value
 * (as `compare --breakeven` prints it).
 */
export async function breakEvenChart(id: string, chart: BreakEvenChart): Promise<Chart> {
  const strategies = [...new Set(chart.lines.map((l) => l.strategy))];
  const colour = { field: "strategy", type: "nominal", scale: { domain: strategies, range: PALETTE.slice() } };
  const dash = { field: "strategy", type: "nominal", scale: { domain: strategies, range: DASHES.map((d) => [...d]) } };
  const x = {
    field: "value",
    type: "quantitative",
    title: `${chart.key} cost (cycles per merge)`,
    axis: { format: NUMBER },
    scale: { domain: [chart.sweep.from, chart.sweep.to], nice: false },
  };
  const y = { field: "est_cycles", type: "quantitative", title: "est_cycles (cycles)", axis: { format: NUMBER } };
  const shown = chart.crossings.filter((c) => c.shown);
  const spec = {
    width: WIDTH,
    height: 320,
    layer: [
      {
        data: { values: chart.lines },
        mark: { type: "line", strokeWidth: 2 },
        encoding: { x, y, color: { ...colour, legend: { title: "strategy" } }, strokeDash: dash },
      },
      {
        data: { values: chart.lines.filter((l) => l.value === chart.sweep.to) },
        mark: { type: "text", align: "left", dx: 4, fontSize: 11, color: "#000" },
        encoding: { x, y, text: { field: "strategy" } },
      },
      {
        data: { values: [{ value: chart.model, label: `model: ${count(chart.model)}` }] },
        mark: { type: "rule", color: "#666", strokeDash: [3, 3] },
        encoding: { x },
      },
      {
        data: { values: [{ value: chart.model, label: `model: ${count(chart.model)}` }] },
        mark: { type: "text", align: "left", baseline: "top", dx: 3, y: 2, color: "#444", fontSize: 10 },
        encoding: { x, text: { field: "label" } },
      },
      {
        data: { values: shown },
        mark: { type: "point", shape: "diamond", filled: true, color: "#000", size: 70 },
        encoding: { x, y },
      },
      {
        data: { values: shown },
        mark: { type: "text", dy: -10, fontSize: 10, color: "#000" },
        encoding: { x, y, text: { field: "breakeven" } },
      },
    ],
  };
  return {
    id,
    svg: await toSvg(spec),
    data: {
      sweep: chart.sweep,
      model: chart.model,
      lines: chart.lines,
      crossings: chart.crossings,
      others: chart.others,
    },
  };
}

/** What a window chart plots: a counter per window. */
export type WindowCounter = "l0_exits" | "l1_exits";

const COUNTER_TITLES: Readonly<Record<WindowCounter, string>> = {
  l0_exits: "exits to L0 per window",
  l1_exits: "exits reflected to L1 per window",
};

/** A counter per window over the run, a dashed line per strategy named at its right end. */
export async function windowsChart(id: string, chart: WindowChart, counter: WindowCounter): Promise<Chart> {
  const values = chart.points.flatMap((p: WindowPoint) =>
    p.perStrategy.map((s) => ({ from: p.from, to: p.to, strategy: s.strategy, [counter]: s[counter] })),
  );
  const strategies = [...new Set(values.map((v) => v.strategy))];
  const lastTo = chart.points[chart.points.length - 1]?.to;
  const x = {
    field: "to",
    type: "quantitative",
    title: chart.unit === "events" ? "events into the trace (end of window)" : "seconds into the trace (end of window)",
    axis: { format: chart.unit === "events" ? NUMBER : ",~f" },
  };
  const y = { field: counter, type: "quantitative", title: COUNTER_TITLES[counter], axis: { format: NUMBER } };
  const colour = { field: "strategy", type: "nominal", scale: { domain: strategies, range: PALETTE.slice() } };
  const spec = {
    width: WIDTH,
    height: 240,
    data: { values },
    layer: [
      {
        mark: { type: "line", strokeWidth: 1.5, interpolate: "step-before" },
        encoding: {
          x,
          y,
          color: { ...colour, legend: { title: "strategy" } },
          strokeDash: {
            field: "strategy",
            type: "nominal",
            scale: { domain: strategies, range: DASHES.map((d) => [...d]) },
          },
        },
      },
      {
        transform: [{ filter: { field: "to", equal: lastTo ?? 0 } }],
        mark: { type: "text", align: "left", dx: 4, fontSize: 11, color: "#000" },
        encoding: { x, y, text: { field: "strategy" } },
      },
    ],
  };
  return { id, svg: await toSvg(spec), data: { counter, ...chart } };
}

/** A strategy's busiest MSRs: a bar each, split into reflected and L0-handled exits, with its totals at the end. */
export async function topMsrChart(id: string, top: TopMsrs): Promise<Chart> {
  const kinds = ["reflected to L1", "handled by L0"];
  const { fills, defs } = patterns(id, kinds.length);
  const label = (r: TopMsrs["rows"][number]) =>
    `0x${r.msr.toString(16)} ${r.name ?? "(no name)"} ${r.dir === "w" ? "write" : "read"}`;
  const msrs = top.rows.map(label);
  const values = top.rows.flatMap((r) => [
    { msr: label(r), kind: kinds[0], exits: r.l1_exits, order: 0 },
    { msr: label(r), kind: kinds[1], exits: r.l0_exits - r.l1_exits, order: 1 },
  ]);
  const totals = top.rows.map((r) => ({
    msr: label(r),
    l0_exits: r.l0_exits,
    text: `${count(r.l0_exits)} exits, ${count(r.exit_cycles)} cycles`,
  }));
  const y = { field: "msr", type: "nominal", sort: msrs, title: "MSR, direction" };
  const spec = {
    width: WIDTH - 120,
    height: { step: 24 },
    layer: [
      {
        data: { values },
        mark: { type: "bar", stroke: "#000", strokeWidth: 0.5 },
        encoding: {
          y,
          x: { field: "exits", type: "quantitative", stack: "zero", title: "exits to L0", axis: { format: NUMBER } },
          fill: { field: "kind", type: "nominal", scale: { domain: kinds, range: fills }, legend: { title: "exit" } },
          order: { field: "order" },
        },
      },
      {
        data: { values: totals },
        mark: { type: "text", align: "left", dx: 4, fontSize: 10 },
        encoding: { y, x: { field: "l0_exits", type: "quantitative" }, text: { field: "text" } },
      },
    ],
  };
  return { id, svg: await toSvg(spec, defs), data: top };
}

/** est_cycles of each strategy in each trace: grouped bars (a group per trace), patterned, each named at its end. */
export async function acrossChart(id: string, rows: readonly AcrossRow[]): Promise<Chart> {
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  const traces = [...new Set(rows.map((r) => r.trace))];
  const { fills, defs } = patterns(id, strategies.length);
  const values = rows.map((r) => ({ ...r, label: `${r.strategy} ${count(r.est_cycles)}` }));
  const y = { field: "trace", type: "nominal", sort: traces, title: "trace" };
  const yOffset = { field: "strategy", type: "nominal", sort: strategies };
  const spec = {
    width: WIDTH - 80,
    height: { step: 20, for: "offset" },
    data: { values },
    layer: [
      {
        mark: { type: "bar", stroke: "#000", strokeWidth: 0.5 },
        encoding: {
          y,
          yOffset,
          x: { field: "est_cycles", type: "quantitative", title: "est_cycles (cycles)", axis: { format: NUMBER } },
          fill: {
            field: "strategy",
            type: "nominal",
            scale: { domain: strategies, range: fills },
            legend: { title: "strategy" },
          },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 4, fontSize: 10 },
        encoding: { y, yOffset, x: { field: "est_cycles", type: "quantitative" }, text: { field: "label" } },
      },
    ],
  };
  return { id, svg: await toSvg(spec, defs), data: rows };
}
