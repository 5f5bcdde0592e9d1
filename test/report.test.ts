/**
 * Issue 13: `nvmx-replay report`, one self-contained HTML page. The data
 * behind each chart is embedded beside it (a JSON data block per figure,
 * src/render/html/page.ts) and checked here against `compare` and against
 * numbers worked out by hand; the sections fed by other commands (windows,
 * top MSRs, violation lines) are checked from hand-made data.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WindowSeriesCollector } from "../src/analysis/report-extras.js";
import {
  downsampleWindows,
  MAX_WINDOW_POINTS,
  reportPage,
  type TraceExtras,
  type WindowSeries,
} from "../src/analysis/report-page.js";
import { type StrategyResult, zeroCounters } from "../src/engine/results.js";
import { renderReportHtml } from "../src/render/html/page.js";
import type { Report } from "../src/report.js";
import { ROOT, runCli, useTempDirs } from "./helpers/cli.js";
import { plainOptions } from "./helpers/report.js";
import { COSTS_TRACE } from "./helpers/traces.js";

const tempDir = useTempDirs("each");

/** The trace of test/insight-costs.test.ts, worked by hand in its helper (COSTS_TRACE). */
const TRACE = COSTS_TRACE;

/**
 * TRACE without line 9 (the TSC_DEADLINE write), so L2 never stops and
 * enters once: l1-filter l0_handled 4 -> 6,000; merged-eager l0_handled 1,
 * merges 1 -> 2,500; sparse l0_handled 1, merges 1 -> 2,200.
 */
const SHORT = TRACE.split("\n")
  .filter((l) => !l.startsWith("wrmsr,0,0x6e0"))
  .join("\n");

const THREE = "l1-filter,merged-eager,sparse";

interface EmbeddedChart {
  readonly id: string;
  readonly kind: string;
  readonly data: unknown;
}

/** Every chart of a page, in order: its id, its kind and the data block after it. */
function chartsOf(page: string): EmbeddedChart[] {
  const figures = [...page.matchAll(/<figure class="chart" id="chart-(c\d+)" data-kind="([\w-]+)">/g)];
  return figures.map(([, id = "", kind = ""]) => {
    const block = new RegExp(
      `<script type="application/json" class="chart-data" data-chart="${id}">([^<]*)</script>`,
    ).exec(page);
    if (!block) throw new Error(`chart ${id} has no data block`);
    return { id, kind, data: JSON.parse(block[1] ?? "") };
  });
}

function report(files: Record<string, string>, args: readonly string[]) {
  const dir = tempDir(files);
  const result = runCli(["report", ...args], { cwd: dir });
  return { ...result, dir };
}

function compareJson(files: Record<string, string>, args: readonly string[]) {
  const dir = tempDir(files);
  const result = runCli(["compare", ...args, "-f", "json"], { cwd: dir });
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout);
}

describe("report: the data behind each chart is compare's", () => {
  it("-o - writes one HTML page to stdout, nothing on stderr", () => {
    const r = report({ "t.csv": TRACE }, ["t.csv", "-s", THREE, "-o", "-"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.startsWith("<!doctype html>\n")).toBe(true);
    expect(r.stdout.endsWith("</html>\n")).toBe(true);
    expect(r.stdout).toContain("<title>nvmx-replay report: t.csv</title>");
    expect(r.stdout).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  it("the stacked bars split est_cycles as compare's JSON 'cycles' does, and as worked by hand", () => {
    const r = report({ "t.csv": TRACE }, ["t.csv", "-s", THREE, "-o", "-"]);
    const cycles = chartsOf(r.stdout).find((c) => c.kind === "cycles");
    const rows = cycles?.data as { strategy: string; term: string; cycles: number }[];
    const byStrategy = (s: string) =>
      Object.fromEntries(rows.filter((x) => x.strategy === s).map((x) => [x.term, x.cycles]));
    // By hand (TRACE's comment): each term = counter × its cost.
    expect(byStrategy("l1-filter")).toEqual({
      l0_handled: 6000,
      l1_exits: 15000,
      merges: 0,
      wp_faults: 0,
      dirty_checks: 0,
    });
    expect(byStrategy("merged-eager")).toEqual({
      l0_handled: 1500,
      l1_exits: 15000,
      merges: 2000,
      wp_faults: 0,
      dirty_checks: 0,
    });
    expect(byStrategy("sparse")).toEqual({
      l0_handled: 1500,
      l1_exits: 15000,
      merges: 1400,
      wp_faults: 0,
      dirty_checks: 0,
    });
    const json = compareJson({ "t.csv": TRACE }, ["t.csv", "-s", THREE]);
    for (const split of json.cycles as Record<string, number | string>[]) {
      const { strategy, ...terms } = split;
      expect(byStrategy(String(strategy))).toEqual(terms);
    }
  });

  it("the break-even lines and points are compare's --sweep and --breakeven merge", () => {
    const r = report({ "t.csv": TRACE }, ["t.csv", "-s", THREE, "-o", "-"]);
    const chart = chartsOf(r.stdout).find((c) => c.kind === "breakeven")?.data as {
      sweep: { from: number; to: number; step: number };
      lines: { strategy: string; value: number; est_cycles: number }[];
      crossings: { a: string; b: string; breakeven: string; fraction: string; value: number; shown: boolean }[];
      others: { a: string; b: string; always_cheaper: string | null }[];
    };
    // 0 to max(5,000, 2 × merge 1,000) in 20 steps of 250.
    expect(chart.sweep).toEqual({ key: "merge", from: 0, to: 5000, step: 250 });
    // By hand: l1-filter 21,000 flat (no merges); merged-eager 16,500 + 2 × merge; sparse 17,900 flat (merge_sparse).
    const at = (s: string, v: number) => chart.lines.find((l) => l.strategy === s && l.value === v)?.est_cycles;
    expect([at("l1-filter", 0), at("l1-filter", 5000)]).toEqual([21000, 21000]);
    expect([at("merged-eager", 0), at("merged-eager", 1000), at("merged-eager", 5000)]).toEqual([16500, 18500, 26500]);
    expect([at("sparse", 0), at("sparse", 5000)]).toEqual([17900, 17900]);
    // Crossings by hand: 21,000 = 16,500 + 2x at x = 2,250; 16,500 + 2x = 17,900 at x = 700;
    // l1-filter vs sparse never (sparse always 3,100 cheaper).
    expect(chart.crossings.map((c) => [c.a, c.b, c.breakeven, c.fraction, c.shown])).toEqual([
      ["l1-filter", "merged-eager", "2250.00", "2250/1", true],
      ["merged-eager", "sparse", "700.00", "700/1", true],
    ]);
    expect(chart.others.map((o) => [o.a, o.b, o.always_cheaper])).toEqual([["l1-filter", "sparse", "sparse"]]);
    // And exactly what compare says.
    const json = compareJson({ "t.csv": TRACE }, [
      "t.csv",
      "-s",
      THREE,
      "--breakeven",
      "merge",
      "--sweep",
      "merge=0:5000:250",
    ]);
    const crossing = (json.breakevens as { a: string; b: string; breakeven: number | null; fraction: string | null }[])
      .filter((b) => b.breakeven !== null)
      .map((b) => [b.a, b.b, b.breakeven, b.fraction]);
    expect(chart.crossings.map((c) => [c.a, c.b, Number(c.breakeven), c.fraction])).toEqual(crossing);
    for (const line of json.sweeps[0].results as { strategy: string; est_cycles: number[] }[]) {
      expect(chart.lines.filter((l) => l.strategy === line.strategy).map((l) => l.est_cycles)).toEqual(line.est_cycles);
    }
    // The page lists them as compare prints them.
    expect(r.stdout).toContain("equal at merge = 2,250.00 cycles");
    expect(r.stdout).toContain("never: <code>sparse</code> always cheaper");
  });

  it("several traces: a section each, and one chart comparing them with compare's est_cycles", () => {
    const r = report({ "t.csv": TRACE, "u.csv": SHORT }, ["t.csv", "u.csv", "-s", THREE, "-o", "-"]);
    expect(r.status).toBe(0);
    expect(r.stdout.match(/<section class="trace"/g)).toHaveLength(2);
    const charts = chartsOf(r.stdout);
    // across, then per trace: cycles, breakeven, the two window charts, and top MSRs per strategy.
    const perTrace = [
      "cycles",
      "breakeven",
      "windows-l0_exits",
      "windows-l1_exits",
      "top-msrs",
      "top-msrs",
      "top-msrs",
    ];
    expect(charts.map((c) => c.kind)).toEqual(["across", ...perTrace, ...perTrace]);
    const across = charts[0]?.data as { trace: string; strategy: string; est_cycles: number }[];
    // By hand: TRACE 21,000 / 18,500 / 17,900; SHORT 6,000 / 2,500 / 2,200 (see SHORT).
    expect(across.map((a) => [a.trace, a.strategy, a.est_cycles])).toEqual([
      ["t.csv", "l1-filter", 21000],
      ["t.csv", "merged-eager", 18500],
      ["t.csv", "sparse", 17900],
      ["u.csv", "l1-filter", 6000],
      ["u.csv", "merged-eager", 2500],
      ["u.csv", "sparse", 2200],
    ]);
    const json = compareJson({ "t.csv": TRACE, "u.csv": SHORT }, ["t.csv", "u.csv", "-s", THREE]);
    expect(across).toEqual(
      (json.results as StrategyResult[] & { trace: string }[]).map((x) => ({
        trace: (x as unknown as { trace: string }).trace,
        strategy: x.strategy,
        est_cycles: x.est_cycles,
      })),
    );
  });

  it("loads nothing from anywhere: no http(s) URL in any src, href or url(), only the SVG namespaces", () => {
    const r = report({ "t.csv": TRACE, "u.csv": SHORT }, ["t.csv", "u.csv", "-o", "-"]);
    const page = r.stdout;
    const references = [...page.matchAll(/\b(?:src|href|xlink:href)\s*=\s*["']?([^"'\s>]*)|url\(\s*([^)]*)\)/gi)];
    expect(references.length).toBeGreaterThan(0); // the pattern fills: url(#c1-p0) …
    for (const [, attribute, url] of references) expect(attribute ?? url).not.toMatch(/^["']?(https?:)?\/\//i);
    const urls = new Set(page.match(/https?:\/\/[^\s"'<>)]*/g));
    expect([...urls].sort()).toEqual(["http://www.w3.org/1999/xlink", "http://www.w3.org/2000/svg"]);
    expect(page).not.toMatch(/<script(?![^>]*type="application\/json")/);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it("the set-up names the bitmaps and profile and marks the costs that differ from the defaults", () => {
    const r = report({ "t.csv": TRACE }, ["t.csv", "--l1-profile", "xen", "--cost-model", '{"merge": 600}', "-o", "-"]);
    expect(r.stdout).toContain("L1 (vmcs12's bitmap): profile <code>xen</code>");
    expect(r.stdout).toContain("L0 (vmcs01's bitmaps): profile <code>kvm-2013</code>");
    expect(r.stdout).toMatch(/<code>merge<\/code><\/th><td class="n changed">600<\/td><td>1,000 \(changed\)<\/td>/);
    expect(r.stdout).toMatch(/<code>l1_exit<\/code><\/th><td class="n">15,000<\/td><td>default<\/td>/);
  });

  it("without -o, writes to stdout when it is not a terminal; -f other than html is a usage error", () => {
    const piped = report({ "t.csv": TRACE }, ["t.csv"]);
    expect(piped.status).toBe(0);
    expect(piped.stdout.startsWith("<!doctype html>")).toBe(true);
    const csv = report({ "t.csv": TRACE }, ["t.csv", "-f", "csv"]);
    expect(csv.status).toBe(2);
    expect(csv.stderr).toBe("error: option --format: report writes one HTML page: give no --format, or html\n");
  });

  it("-o FILE is written atomically: a failed run leaves the old file and no temporary file", () => {
    const bad = `${TRACE}wrmsr,0,0xZZ,1,,\n`;
    const dir = tempDir({ "t.csv": TRACE, "bad.csv": bad, "report.html": "old\n" });
    const failed = runCli(["report", "bad.csv", "-o", "report.html"], { cwd: dir });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^bad\.csv:11:\d+: column msr: /);
    expect(readFileSync(join(dir, "report.html"), "utf8")).toBe("old\n");
    expect(readdirSync(dir).sort()).toEqual(["bad.csv", "report.html", "t.csv"]);
    const ok = runCli(["report", "t.csv", "-o", "report.html"], { cwd: dir });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe("");
    expect(readFileSync(join(dir, "report.html"), "utf8").startsWith("<!doctype html>")).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["bad.csv", "report.html", "t.csv"]);
    // And never over an input.
    const over = runCli(["report", "t.csv", "-o", "t.csv"], { cwd: dir });
    expect(over.status).toBe(1);
    expect(readFileSync(join(dir, "t.csv"), "utf8")).toBe(TRACE);
  });
});

/** A report of one made-up trace: results by hand, no replay. */
function madeUp(trace: string, results: Partial<StrategyResult>[]): Report {
  return {
    options: plainOptions(results.map((r) => r.strategy ?? "")),
    traces: [
      {
        trace,
        events: 100,
        vcpus: 1,
        results: results.map((r) => ({ strategy: "", ...zeroCounters(), est_cycles: 0, ...r })),
      },
    ],
  };
}

/** `n` windows of 10 events; under merged, window i has i % 3 L0 exits and 1 L1 exit; under sparse, 2 and 0. */
function windows(n: number): WindowSeries {
  return {
    unit: "events",
    points: Array.from({ length: n }, (_, i) => ({
      from: i * 10,
      to: (i + 1) * 10,
      perStrategy: [
        { strategy: "merged", l0_exits: i % 3, l1_exits: 1, est_cycles: 15000 },
        { strategy: "sparse", l0_exits: 2, l1_exits: 0, est_cycles: 3000 },
      ],
    })),
  };
}

describe("report: the sections other commands feed, from hand-made data", () => {
  const results = [
    { strategy: "merged", accesses: 10, l0_exits: 6, l1_exits: 3, l0_handled: 3, no_exit: 4, violations: 0 },
    { strategy: "merged-stale", accesses: 10, l0_exits: 5, l1_exits: 2, l0_handled: 3, no_exit: 5, violations: 2 },
  ];

  it("windows: at most MAX_WINDOW_POINTS points, each summing consecutive windows, and the chart says so", async () => {
    // 1,000 windows > 300: ceil(1000 / 300) = 4 windows a point, 250 points.
    const chart = downsampleWindows(windows(1000));
    expect([chart.windows, chart.perPoint, chart.points.length]).toEqual([1000, 4, 250]);
    // Point 0 sums windows 0-3 (events 0-40): merged L0 exits 0+1+2+0 = 3, L1 exits 4; sparse 8 and 0.
    expect(chart.points[0]).toEqual({
      from: 0,
      to: 40,
      perStrategy: [
        { strategy: "merged", l0_exits: 3, l1_exits: 4, est_cycles: 60000 },
        { strategy: "sparse", l0_exits: 8, l1_exits: 0, est_cycles: 12000 },
      ],
    });
    // Point 1 sums windows 4-7: 4%3 + 5%3 + 6%3 + 7%3 = 1 + 2 + 0 + 1 = 4.
    expect(chart.points[1]?.perStrategy[0]?.l0_exits).toBe(4);
    expect(chart.points.at(-1)).toMatchObject({ from: 9960, to: 10000 });
    // 300 windows are drawn as they are.
    expect(downsampleWindows(windows(MAX_WINDOW_POINTS)).perPoint).toBe(1);

    const extras: TraceExtras = { windows: windows(1000) };
    const page = await renderReportHtml(reportPage(madeUp("w.csv", results), [extras]), "nvmx-replay test");
    expect(page).toContain("<h3>Exits over time</h3>");
    expect(page).toContain(
      "Downsampled: 1,000 windows, each point sums 4 consecutive windows (at most 300 points a chart).",
    );
    const drawn = chartsOf(page).filter((c) => c.kind.startsWith("windows-"));
    expect(drawn.map((c) => c.kind)).toEqual(["windows-l0_exits", "windows-l1_exits"]);
    expect((drawn[0]!.data as { points: unknown[] }).points).toHaveLength(250);
  });

  it("top MSRs: the busiest ten by exits to L0 per strategy, split into reflected and L0-handled", async () => {
    // Twelve MSRs with 1..12 L0 exits (half reflected, rounded down): the ten with 12..3 are shown.
    const rows = Array.from({ length: 12 }, (_, i) => ({
      msr: 0x800 + i,
      name: i === 11 ? "<b>odd</b>" : null,
      dir: "w" as const,
      l0_exits: i + 1,
      l1_exits: Math.floor((i + 1) / 2),
      exit_cycles: 1500 * (i + 1),
    }));
    const extras: TraceExtras = {
      topMsrs: [
        { strategy: "merged", rows },
        { strategy: "merged-stale", rows: [] },
      ],
    };
    const page = await renderReportHtml(reportPage(madeUp("m.csv", results), [extras]), "nvmx-replay test");
    expect(page).toContain("<h3>Top MSRs by exits</h3>");
    const top = chartsOf(page).filter((c) => c.kind === "top-msrs");
    expect(top).toHaveLength(1); // merged-stale has no rows: no chart
    const shown = (top[0]!.data as { rows: { msr: number; l0_exits: number }[] }).rows;
    expect(shown.map((r) => r.l0_exits)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(shown[0]?.msr).toBe(0x80b);
    // The MSR name is text in the SVG, never markup.
    expect(page).not.toContain("<b>odd</b>");
    expect(page).toContain("&lt;b&gt;odd&lt;/b&gt;");
  });

  it("violations: the counts always, the first lines when given", async () => {
    const extras: TraceExtras = {
      violations: [
        {
          strategy: "merged-stale",
          lines: [
            { line: 17, msr: 0x6e0, vcpu: 1, what: "L1 wanted it, it did not reach L1" },
            { line: 23, msr: 0xc0000100, vcpu: 0, what: "L1 wanted it, it did not reach L1" },
          ],
        },
      ],
    };
    const page = await renderReportHtml(reportPage(madeUp("v.csv", results), [extras]), "nvmx-replay test");
    expect(page).toMatch(/<code>merged-stale<\/code> \(tracks no store on purpose\)<\/th><td class="n alarm">2<\/td>/);
    expect(page).toContain("<caption>first lines of <code>merged-stale</code></caption>");
    expect(page).toMatch(/<td class="n">17<\/td><td class="n">1<\/td><td><code>0x6e0<\/code><\/td>/);
    // No extras: the counts only, and no window or top-MSR section.
    const plain = await renderReportHtml(reportPage(madeUp("v.csv", results)), "nvmx-replay test");
    expect(plain).not.toContain("first lines of");
    expect(plain).not.toContain("Exits over time");
    expect(plain).not.toContain("Top MSRs");
  });

  it("a trace name is text, escaped everywhere it is shown", async () => {
    const name = `</title><script>alert(1)</script>"x'.csv`;
    const page = await renderReportHtml(reportPage(madeUp(name, results)), "nvmx-replay test");
    expect(page).not.toContain("<script>alert(1)");
    expect(page).toContain("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;x&#39;.csv");
  });
});

describe("report: the README's screenshot", () => {
  it("is committed under docs/ and shown in the README", () => {
    expect(existsSync(join(ROOT, "docs", "report.png"))).toBe(true);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("](docs/report.png)");
    // A PNG, not a placeholder: the signature and some size.
    const png = readFileSync(join(ROOT, "docs", "report.png"));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});

describe("report: the sections compare --window, --by msr and --violations feed, from the same replay", () => {
  it("exits over time: the windows of compare --window, worked by hand", () => {
    // --window 5 over TRACE's 9 events: window 1 is events 1-5 (four L1 events and line 6), window 2 events 6-9
    // (lines 7-10). l1-filter: line 6 l0 (1,500), then lines 7, 8, 10 l0 and line 9 l1 (19,500).
    // merged-eager: entry 1 merges (1,000), line 6 no exit; then line 8 l0, line 9 l1, entry 2 merges, line 10
    // no exit (1,500 + 15,000 + 1,000 = 17,500). sparse: merges at 700: 700, then 17,200.
    const r = report({ "t.csv": TRACE }, ["t.csv", "-s", THREE, "--window", "5", "-o", "-"]);
    expect(r.status).toBe(0);
    const windows = chartsOf(r.stdout).filter((c) => c.kind.startsWith("windows-"));
    expect(windows.map((c) => c.kind)).toEqual(["windows-l0_exits", "windows-l1_exits"]);
    const data = windows[0]?.data as { windows: number; perPoint: number; points: WindowSeries["points"] };
    expect([data.windows, data.perPoint]).toEqual([2, 1]);
    const byHand = [
      [
        1,
        5,
        [
          ["l1-filter", 1, 0, 1500],
          ["merged-eager", 0, 0, 1000],
          ["sparse", 0, 0, 700],
        ],
      ],
      [
        6,
        9,
        [
          ["l1-filter", 4, 1, 19500],
          ["merged-eager", 2, 1, 17500],
          ["sparse", 2, 1, 17200],
        ],
      ],
    ];
    expect(
      data.points.map((p) => [
        p.from,
        p.to,
        p.perStrategy.map((s) => [s.strategy, s.l0_exits, s.l1_exits, s.est_cycles]),
      ]),
    ).toEqual(byHand);
    // And compare --window 5 says the same.
    const compared = compareJson({ "t.csv": TRACE }, ["t.csv", "-s", THREE, "--window", "5"]);
    const fromCompare = compared.traces[0].windows.map((w: { from: number; to: number; results: StrategyResult[] }) => [
      w.from,
      w.to,
      w.results.map((s) => [s.strategy, s.l0_exits, s.l1_exits, s.est_cycles]),
    ]);
    expect(fromCompare).toEqual(byHand);
  });

  it("top MSRs: compare --by msr's rows with exits to L0, busiest first", () => {
    const r = report({ "t.csv": TRACE }, ["t.csv", "-s", THREE, "-o", "-"]);
    const tops = chartsOf(r.stdout)
      .filter((c) => c.kind === "top-msrs")
      .map(
        (c) => c.data as { strategy: string; rows: { msr: number; dir: string; l0_exits: number; l1_exits: number }[] },
      );
    // By hand (see TRACE): l1-filter sends FS_BASE's three writes to L0, TSC's read to L0 and TSC_DEADLINE's write
    // to L1; the merged designs only TSC and TSC_DEADLINE (FS_BASE passes). TSC_DEADLINE first on a tie: more reflected.
    expect(tops.map((t) => [t.strategy, t.rows.map((row) => [row.msr, row.dir, row.l0_exits, row.l1_exits])])).toEqual([
      [
        "l1-filter",
        [
          [0xc0000100, "w", 3, 0],
          [0x6e0, "w", 1, 1],
          [0x10, "r", 1, 0],
        ],
      ],
      [
        "merged-eager",
        [
          [0x6e0, "w", 1, 1],
          [0x10, "r", 1, 0],
        ],
      ],
      [
        "sparse",
        [
          [0x6e0, "w", 1, 1],
          [0x10, "r", 1, 0],
        ],
      ],
    ]);
    const by = compareJson({ "t.csv": TRACE }, ["t.csv", "-s", THREE, "--by", "msr", "--sort", "l0_exits"]);
    for (const [i, top] of tops.entries()) {
      const rows = by.traces[0].strategies[i].rows.filter((row: { l0_exits: number }) => row.l0_exits > 0);
      expect(rows.map((row: { l0_exits: number }) => row.l0_exits).sort()).toEqual(
        top.rows.map((row) => row.l0_exits).sort(),
      );
    }
  });

  it("violations: the first lines of compare --violations", () => {
    const r = runCli(["report", "traces/multi-vcpu.csv", "-s", "merged,merged-stale", "-o", "-"], { cwd: ROOT });
    expect(r.status).toBe(0);
    const compared = JSON.parse(
      runCli(["compare", "traces/multi-vcpu.csv", "-s", "merged,merged-stale", "--violations", "-f", "json"], {
        cwd: ROOT,
      }).stdout,
    );
    const lines = compared.violations["merged-stale"].first.map((v: { line: number }) => v.line);
    // The first four, checked by hand in test/insight-explain.test.ts: lines 177, 180, 183, 184.
    expect(lines.slice(0, 4)).toEqual([177, 180, 183, 184]);
    for (const line of lines) expect(r.stdout).toContain(`<td class="n">${line}</td>`);
    expect(lines).toHaveLength(20);
  });
});

describe("WindowSeriesCollector: a report's memory does not grow with the windows", () => {
  const record = (window: number) => ({
    window,
    from: window * 10 + 1,
    to: window * 10 + 10,
    events: 10,
    results: [{ strategy: "merged", ...zeroCounters(), l0_exits: 1, l1_exits: window % 2, est_cycles: 100 }],
  });

  it("keeps at most twice MAX_WINDOW_POINTS points, each summing a power of two of windows, totals kept", () => {
    const collector = new WindowSeriesCollector("events");
    const n = 5000;
    for (let w = 0; w < n; w++) collector.add([record(w)]);
    const series = collector.series();
    // 5,000 windows: halved at 601 points (to 301, 2 a point), at 1,202 windows... until a point sums 16:
    // 5,000 / 16 = 312.5 -> 313 points, the last summing 8.
    expect([series.windows, series.perPoint, series.points.length]).toEqual([5000, 16, 313]);
    expect(series.points[0]).toMatchObject({ from: 1, to: 160 });
    // The last point: windows 4,992-4,999, events 49,921-50,000.
    expect(series.points.at(-1)).toMatchObject({ from: 49921, to: 50000 });
    const totals = series.points
      .flatMap((p) => p.perStrategy)
      .reduce((t, s) => ({ l0: t.l0 + s.l0_exits, l1: t.l1 + s.l1_exits, cycles: t.cycles + s.est_cycles }), {
        l0: 0,
        l1: 0,
        cycles: 0,
      });
    expect(totals).toEqual({ l0: n, l1: n / 2, cycles: 100 * n });
    // Drawn: ceil(313 / 300) = 2 points a point, so 32 windows each.
    expect(downsampleWindows(series)).toMatchObject({ windows: 5000, perPoint: 32 });
  });
});
