/**
 * Issue 12, item 1: `compare --by msr|vcpu`, every strategy's counts per MSR
 * and direction or per vCPU. Every expected number is worked out by hand
 * below from docs/model.md §6, not copied from the program's output.
 */
import { describe, expect, it } from "vitest";
import { type ByView, byTable, byViewOf, parseMsrList, parseVcpuList } from "../src/analysis/breakdown.js";
import type { BreakdownBy, StrategyBreakdown } from "../src/engine/by.js";
import { Replay } from "../src/engine/replay.js";
import { DEFAULT_COST_MODEL } from "../src/engine/results.js";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";
import { bitmapPage, l0Bitmaps, load, ptr, rd, set, strategiesNamed, use, wr } from "./helpers/events.js";

const tempDir = useTempDirs("each");

const FS_BASE = 0xc0000100;
const EOI = 0x80b; // X2APIC_EOI
const TSC_DEADLINE = 0x6e0;
const A = 0x2000;

/**
 * A KVM-like L1 page: FS_BASE passed both ways and x2APIC EOI writes passed,
 * everything else (TSC_DEADLINE among it) intercepted. L0 is kvm-2013: it
 * passes FS_BASE and intercepts EOI and TSC_DEADLINE. Two vCPUs point at
 * the one page A.
 *
 * docs/model.md §6, access by access (n = none, 0 = l0, 1 = l1, per
 * no-bitmap / l1-filter / merged / merged-stale):
 *  6  wr v0 FS_BASE  entry v0; L1 and L0 pass          1 / 0 / n / n
 *  7  wr v1 FS_BASE  entry v1; as 6                    1 / 0 / n / n
 *  8  wr v0 EOI      L0 wants, L1 passes: exits to L0  1 / 0 / 0 / 0
 *  9  wr v1 TSC_DL   L1 wants: reflected, v1 leaves    1 / 1 / 1 / 1
 * 10  wr v0 FS_BASE  as 6, no entry                    1 / 0 / n / n
 * 11  set v0 A FS_BASE w = 1: L1 now wants FS_BASE writes. No vCPU runs L2
 *     on A elsewhere (v1 left at 9), so the change is judged everywhere.
 *     merged: A was write-protected by the merges: a fault, shadows stale.
 * 12  wr v0 FS_BASE  entry v0. merged re-merges: exits, reflected; merged-
 *     stale keeps its shadow (bit 0): no exit while L1 wants it: a VIOLATION
 *                                                      1 / 1 / 1 / n (viol.)
 * 13  rd v1 FS_BASE  entry v1; read bit passed by both  1 / 0 / n / n
 * 14  set v0 A FS_BASE r = 1 while L2 runs on v1 pointing at A (merged,
 *     merged-stale): the cross-vCPU rule leaves v1's FS_BASE read unjudged.
 * 15  rd v1 FS_BASE  no entry: shadow bit 0, no exit, L1 wants it, but
 *     unjudged: no violation                           1 / 1 / n / n
 */
function events() {
  const page = bitmapPage("intercept", [FS_BASE, [EOI, "w"]]);
  return [
    load(0, A, page),
    ptr(0, A),
    use(0, 1),
    ptr(1, A),
    use(1, 1),
    wr(0, FS_BASE),
    wr(1, FS_BASE),
    wr(0, EOI),
    wr(1, TSC_DEADLINE),
    wr(0, FS_BASE),
    set(0, A, FS_BASE, "w", 1),
    wr(0, FS_BASE),
    rd(1, FS_BASE),
    set(0, A, FS_BASE, "r", 1),
    rd(1, FS_BASE),
  ];
}

const FOUR = ["no-bitmap", "l1-filter", "merged", "merged-stale"];

function replayBy(by: BreakdownBy, names: readonly string[] = FOUR) {
  const replay = new Replay({ strategies: strategiesNamed(names), l0: l0Bitmaps("kvm-2013"), by });
  for (const ev of events()) replay.apply(ev);
  return { breakdowns: replay.breakdowns(), results: replay.results() };
}

const MSR_VIEW = byViewOf({ by: "msr" }) as ByView;
const VCPU_VIEW = byViewOf({ by: "vcpu" }) as ByView;

/** Rows as [key, accesses, l0_exits, l1_exits, l0_handled, no_exit, violations, exit_cycles]. */
function rowsOf(b: StrategyBreakdown, view: ByView) {
  const table = byTable(b, view, DEFAULT_COST_MODEL);
  return Array.from({ length: table.length }, (_, i) => {
    const r = table.row(i);
    const key = r.msr === undefined ? `v${r.vcpu}` : `${r.msr.toString(16)}${r.write ? "w" : "r"}`;
    return [key, r.accesses, r.l0_exits, r.l1_exits, r.l0_handled, r.no_exit, r.violations, r.exit_cycles];
  });
}

describe("--by msr: the engine's per-MSR counts (hand-worked trace above)", () => {
  const { breakdowns, results } = replayBy({ by: "msr", vcpus: null, msrs: null });
  const byName = Object.fromEntries(breakdowns.map((b) => [b.strategy, b]));

  it("no-bitmap: everything reflected (15,000 cycles each)", () => {
    // FS_BASE w at 6, 7, 10, 12: 4 × 15,000; FS_BASE r at 13, 15: 2 × 15,000;
    // TSC_DEADLINE and EOI tie at 15,000 and 1 access: lower MSR first.
    expect(rowsOf(byName["no-bitmap"] as StrategyBreakdown, MSR_VIEW)).toEqual([
      ["c0000100w", 4, 4, 4, 0, 0, 0, 60_000],
      ["c0000100r", 2, 2, 2, 0, 0, 0, 30_000],
      ["6e0w", 1, 1, 1, 0, 0, 0, 15_000],
      ["80bw", 1, 1, 1, 0, 0, 0, 15_000],
    ]);
  });

  it("l1-filter: L1's wish decides between l0 and l1", () => {
    // FS_BASE w: 6, 7, 10 to L0 (3 × 1,500), 12 to L1 (15,000) = 19,500.
    // FS_BASE r: 13 to L0, 15 to L1 = 16,500. TSC_DEADLINE 15,000. EOI 1,500.
    expect(rowsOf(byName["l1-filter"] as StrategyBreakdown, MSR_VIEW)).toEqual([
      ["c0000100w", 4, 4, 1, 3, 0, 0, 19_500],
      ["c0000100r", 2, 2, 1, 1, 0, 0, 16_500],
      ["6e0w", 1, 1, 1, 0, 0, 0, 15_000],
      ["80bw", 1, 1, 0, 1, 0, 0, 1_500],
    ]);
  });

  it("merged: FS_BASE passes until line 11's store; the unjudged read is no violation", () => {
    // FS_BASE w: 6, 7, 10 none, 12 reflected = 15,000, ties TSC_DEADLINE's
    // 15,000 and wins on accesses (4 to 1). EOI 1,500. FS_BASE r: none twice.
    expect(rowsOf(byName.merged as StrategyBreakdown, MSR_VIEW)).toEqual([
      ["c0000100w", 4, 1, 1, 0, 3, 0, 15_000],
      ["6e0w", 1, 1, 1, 0, 0, 0, 15_000],
      ["80bw", 1, 1, 0, 1, 0, 0, 1_500],
      ["c0000100r", 2, 0, 0, 0, 2, 0, 0],
    ]);
  });

  it("merged-stale: the violation is line 12's FS_BASE write", () => {
    // FS_BASE w: no exit 4 times, one a violation (12); FS_BASE r: the
    // violation at 15 is unjudged (line 14 was a store while v1 ran on A).
    expect(rowsOf(byName["merged-stale"] as StrategyBreakdown, MSR_VIEW)).toEqual([
      ["6e0w", 1, 1, 1, 0, 0, 0, 15_000],
      ["80bw", 1, 1, 0, 1, 0, 0, 1_500],
      ["c0000100w", 4, 0, 0, 0, 4, 1, 0],
      ["c0000100r", 2, 0, 0, 0, 2, 0, 0],
    ]);
  });

  it("totals equal the strategy's own counters, and the share is of exit_cycles", () => {
    for (const [s, b] of breakdowns.entries()) {
      const table = byTable(b, MSR_VIEW, DEFAULT_COST_MODEL);
      const r = results[s];
      expect(r?.strategy).toBe(b.strategy);
      expect(table.total).toEqual({
        accesses: r?.accesses,
        l0_exits: r?.l0_exits,
        l1_exits: r?.l1_exits,
        l0_handled: r?.l0_handled,
        no_exit: r?.no_exit,
        violations: r?.violations,
        exit_cycles: 1500 * (r?.l0_handled ?? 0) + 15_000 * (r?.l1_exits ?? 0),
      });
    }
    // merged-stale's one violation, merged's none (line 15 unjudged).
    expect(results.map((r) => r.violations)).toEqual([0, 0, 0, 1]);
    // l1-filter's total 52,500: FS_BASE w 19,500 / 52,500 = 0.3714…
    const table = byTable(byName["l1-filter"] as StrategyBreakdown, MSR_VIEW, DEFAULT_COST_MODEL);
    expect(table.total.exit_cycles).toBe(52_500);
    expect(table.row(0).share).toBeCloseTo(19_500 / 52_500, 12);
  });
});

describe("--by vcpu", () => {
  const { breakdowns } = replayBy({ by: "vcpu", vcpus: null, msrs: null });
  const byName = Object.fromEntries(breakdowns.map((b) => [b.strategy, b]));

  it("per vCPU, busiest first", () => {
    // l1-filter: v0 = 6, 8, 10 to L0 + 12 to L1 = 19,500; v1 = 7, 13 to L0 +
    // 9, 15 to L1 = 33,000: v1 first.
    expect(rowsOf(byName["l1-filter"] as StrategyBreakdown, VCPU_VIEW)).toEqual([
      ["v1", 4, 4, 2, 2, 0, 0, 33_000],
      ["v0", 4, 4, 1, 3, 0, 0, 19_500],
    ]);
    // no-bitmap: 60,000 each, 4 accesses each: the lower vCPU first.
    expect(rowsOf(byName["no-bitmap"] as StrategyBreakdown, VCPU_VIEW).map((r) => r[0])).toEqual(["v0", "v1"]);
    // merged-stale: v1 = 9 reflected (15,000); v0 = 8 to L0 (1,500), 12 the violation.
    expect(rowsOf(byName["merged-stale"] as StrategyBreakdown, VCPU_VIEW)).toEqual([
      ["v1", 4, 1, 1, 0, 3, 0, 15_000],
      ["v0", 4, 1, 0, 1, 3, 1, 1_500],
    ]);
  });

  it("--msr filters the accesses counted per vCPU", () => {
    // Only FS_BASE (both directions): l1-filter v0 = 6, 10 to L0, 12 to L1
    // (18,000); v1 = 7, 13 to L0, 15 to L1 (18,000): tie, 3 accesses each, v0 first.
    const msrs = parseMsrList("FS_BASE") as [number, number][];
    const { breakdowns: only } = replayBy({ by: "vcpu", vcpus: null, msrs }, ["l1-filter"]);
    expect(rowsOf(only[0] as StrategyBreakdown, VCPU_VIEW)).toEqual([
      ["v0", 3, 3, 1, 2, 0, 0, 18_000],
      ["v1", 3, 3, 1, 2, 0, 0, 18_000],
    ]);
  });
});

describe("--by msr --vcpu, --sort, --top, --msr", () => {
  it("--vcpu counts only those vCPUs' accesses per MSR", () => {
    // v1 under merged: 7 FS_BASE w none, 9 TSC_DEADLINE reflected, 13 and 15 FS_BASE r none.
    const { breakdowns } = replayBy({ by: "msr", vcpus: [[1, 1]], msrs: null }, ["merged"]);
    expect(rowsOf(breakdowns[0] as StrategyBreakdown, MSR_VIEW)).toEqual([
      ["6e0w", 1, 1, 1, 0, 0, 0, 15_000],
      ["c0000100r", 2, 0, 0, 0, 2, 0, 0],
      ["c0000100w", 1, 0, 0, 0, 1, 0, 0],
    ]);
  });

  it("--sort, --top and --msr on the rows; the totals count every row kept", () => {
    const { breakdowns } = replayBy({ by: "msr", vcpus: null, msrs: null }, ["l1-filter"]);
    const b = breakdowns[0] as StrategyBreakdown;
    // --sort l0_handled: FS_BASE w 3, then FS_BASE r and EOI at 1 each: FS_BASE r
    // has 2 accesses to EOI's 1. --top 2 cuts EOI and TSC_DEADLINE (0).
    const view = byViewOf({ by: "msr", sort: "l0_handled", top: 2 }) as ByView;
    const table = byTable(b, view, DEFAULT_COST_MODEL);
    expect(rowsOf(b, view).map((r) => r[0])).toEqual(["c0000100w", "c0000100r"]);
    expect(table.rowsTotal).toBe(4);
    expect(table.total.l0_handled).toBe(5);
    expect(table.row(0).share).toBeCloseTo(3 / 5, 12);
    // --msr 0x6e0-0x80b keeps TSC_DEADLINE and EOI: exit cycles 15,000 + 1,500.
    const msr = { text: "0x6e0-0x80b", ranges: parseMsrList("0x6e0-0x80b") as [number, number][] };
    const filtered = byTable(b, byViewOf({ by: "msr", msr }) as ByView, DEFAULT_COST_MODEL);
    expect(filtered.rowsTotal).toBe(2);
    expect(filtered.total.exit_cycles).toBe(16_500);
    expect(filtered.row(1).share).toBeCloseTo(1_500 / 16_500, 12);
  });

  it("parses lists: hex, decimal, names, ranges; names a bad item", () => {
    expect(parseMsrList("0x10, 1760,IA32_TSC_DEADLINE,FS_BASE-KERNEL_GS_BASE")).toEqual([
      [0x10, 0x10],
      [0x6e0, 0x6e0],
      [0xc0000100, 0xc0000102],
    ]);
    expect(parseMsrList("0x10,NOPE")).toMatch(/"NOPE" is not an MSR/);
    expect(parseVcpuList("0,2-3,3")).toEqual([
      [0, 0],
      [2, 3],
    ]);
    expect(parseVcpuList("4096")).toMatch(/"4096" is not a vCPU/);
    expect(parseVcpuList("3-1")).toMatch(/ends below its start/);
  });
});

/** The same trace as events() above, as CSV (line numbers in the comment there are its lines). */
const TRACE = [
  "event,vcpu,msr,value,page,dir,file",
  "bitmap-load,0,,,0x2000,,l1.json",
  "bitmap-ptr,0,,,0x2000,,",
  "use-bitmap,0,,1,,,",
  "bitmap-ptr,1,,,0x2000,,",
  "use-bitmap,1,,1,,,",
  "wrmsr,0,0xc0000100,0x1,,,",
  "wrmsr,1,0xc0000100,0x2,,,",
  "wrmsr,0,0x80b,0x0,,,",
  "wrmsr,1,0x6e0,0x5,,,",
  "wrmsr,0,0xc0000100,0x3,,,",
  "bitmap-set,0,0xc0000100,1,0x2000,w,",
  "wrmsr,0,0xc0000100,0x4,,,",
  "rdmsr,1,0xc0000100,,,,",
  "bitmap-set,0,0xc0000100,1,0x2000,r,",
  "rdmsr,1,0xc0000100,,,,",
  "",
].join("\n");
const L1_PAGE = { default: "intercept", pass: ["FS_BASE", "X2APIC_EOI:w"] };

function compare(args: readonly string[], traces: readonly string[] = ["t.csv"]) {
  const dir = tempDir({ "t.csv": TRACE, "u.csv": TRACE, "l1.json": L1_PAGE });
  return runCli(["compare", ...traces, "-s", FOUR.join(","), ...args], { cwd: dir });
}

describe("compare --by (CLI, on the built dist/)", () => {
  it("table: a section per strategy, a totals line, and the --top note", () => {
    const r = compare(["--by", "msr", "--top", "2"]);
    expect(r.status).toBe(0);
    const out = lines(r.stdout);
    const at = out.indexOf("l1-filter");
    expect(at).toBeGreaterThan(0);
    // l1-filter's first two rows by exit_cycles (worked above), then the totals:
    // 8 accesses, 8 exits, 3 reflected, 5 handled, 52,500 cycles.
    expect(out[at + 1]?.split(/\s+/)).toEqual([
      "msr",
      "name",
      "dir",
      "accesses",
      "l0_exits",
      "l1_exits",
      "l0_handled",
      "no_exit",
      "violations",
      "exit_cycles",
      "share",
    ]);
    // 19,500 / 52,500 = 37.14% -> 37.1%; 16,500 / 52,500 = 31.43% -> 31.4%.
    expect(out[at + 2]?.split(/\s+/)).toEqual([
      "0xc0000100",
      "FS_BASE",
      "w",
      "4",
      "4",
      "1",
      "3",
      "0",
      "0",
      "19,500",
      "37.1%",
    ]);
    expect(out[at + 3]?.split(/\s+/)).toEqual([
      "0xc0000100",
      "FS_BASE",
      "r",
      "2",
      "2",
      "1",
      "1",
      "0",
      "0",
      "16,500",
      "31.4%",
    ]);
    expect(out[at + 4]?.split(/\s+/)).toEqual(["total", "8", "8", "3", "5", "0", "0", "52,500", "100.0%"]);
    expect(out[at + 5]).toBe("2 more rows (--top 2); the total counts them");
  });

  it("CSV: the fixed header and a row per strategy and key; totals match compare's counters", () => {
    const r = compare(["--by", "vcpu", "--format", "csv"]);
    expect(r.status).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe("strategy,vcpu,accesses,l0_exits,l1_exits,l0_handled,no_exit,violations,exit_cycles,share");
    // merged-stale per vCPU (worked above): v1 15,000 of 16,500 = 0.9091; v0 1,500 = 0.0909.
    expect(out.filter((l) => l.startsWith("merged-stale,"))).toEqual([
      "merged-stale,1,4,1,1,0,3,0,15000,0.9091",
      "merged-stale,0,4,1,0,1,3,1,1500,0.0909",
    ]);
    expect(out).toHaveLength(1 + 4 * 2);
    // Summed over its rows, each strategy gives compare's own counters.
    const plain = compare(["--format", "csv"]);
    const [header = "", ...results] = lines(plain.stdout);
    const names = header.split(",");
    for (const result of results) {
      const counters = Object.fromEntries(result.split(",").map((v, i) => [names[i], v]));
      const rows = out.slice(1).filter((l) => l.startsWith(`${counters.strategy},`));
      const sum = (col: number) => rows.reduce((s, l) => s + Number(l.split(",")[col]), 0);
      expect([sum(2), sum(3), sum(4), sum(5), sum(6), sum(7)]).toEqual(
        ["accesses", "l0_exits", "l1_exits", "l0_handled", "no_exit", "violations"].map((k) => Number(counters[k])),
      );
    }
  });

  it("CSV with several traces leads with a trace column", () => {
    const r = compare(["--by", "msr", "--format", "csv", "--msr", "TSC_DEADLINE"], ["t.csv", "u.csv"]);
    expect(r.status).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe(
      "trace,strategy,msr,name,dir,accesses,l0_exits,l1_exits,l0_handled,no_exit,violations,exit_cycles,share",
    );
    // One row per trace and strategy: TSC_DEADLINE's one reflected write, all of the filtered total.
    expect(out.slice(1)).toHaveLength(2 * 4);
    expect(out[1]).toBe("t.csv,no-bitmap,0x6e0,TSC_DEADLINE,w,1,1,1,0,0,0,15000,1.0000");
  });

  it("JSON: by, sort, top, filters, then per trace and strategy its rows, rows_total and total", () => {
    const r = compare(["--by", "msr", "--vcpu", "1", "--sort", "accesses", "--top", "1", "--format", "json"]);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ schema: 2, by: "msr", sort: "accesses", top: 1, filters: { vcpu: "1", msr: null } });
    const merged = json.traces[0].strategies[2];
    // v1 under merged: FS_BASE r has 2 accesses (13, 15), the most; 3 rows kept.
    expect(merged).toEqual({
      strategy: "merged",
      rows: [
        {
          msr: "0xc0000100",
          name: "FS_BASE",
          dir: "r",
          accesses: 2,
          l0_exits: 0,
          l1_exits: 0,
          l0_handled: 0,
          no_exit: 2,
          violations: 0,
          exit_cycles: 0,
          share: 0.5, // 2 of v1's 4 accesses
        },
      ],
      rows_total: 3,
      total: {
        accesses: 4,
        l0_exits: 1,
        l1_exits: 1,
        l0_handled: 0,
        no_exit: 3,
        violations: 0,
        exit_cycles: 15_000,
      },
    });
  });

  it("crosses worker threads: stdin (read here, strategies in a worker) and a pool of traces give the same rows", () => {
    const dir = tempDir({ "t.csv": TRACE, "u.csv": TRACE, "l1.json": L1_PAGE });
    const args = ["-s", FOUR.join(","), "--by", "msr", "--format", "csv", "--jobs", "2"];
    const here = runCli(["compare", "t.csv", ...args.slice(0, -2), "--jobs", "1"], { cwd: dir });
    const piped = runCli(["compare", "-", ...args], { cwd: dir, input: TRACE });
    expect(piped.status).toBe(0);
    // The same rows either way (no trace column: one trace). merged-stale's
    // FS_BASE write row carries the violation of line 12.
    expect(piped.stdout).toBe(here.stdout);
    expect(lines(here.stdout)).toContain("merged-stale,0xc0000100,FS_BASE,w,4,0,0,0,4,1,0,0.0000");
    const pool = runCli(["compare", "t.csv", "u.csv", ...args], { cwd: dir });
    expect(pool.status).toBe(0);
    const rows = lines(pool.stdout).slice(1);
    expect(rows.filter((l) => l.startsWith("u.csv,")).map((l) => l.slice("u.csv,".length))).toEqual(
      lines(here.stdout).slice(1),
    );
  });

  it("a filter that keeps nothing says so", () => {
    // No access on vCPU 7: every strategy's section says there is nothing to show.
    const r = compare(["--by", "msr", "--vcpu", "7"]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout).filter((l) => l === "no MSR accesses")).toHaveLength(4);
  });

  it("usage errors: options without --by, --by with another view, a bad --msr item", () => {
    const alone = compare(["--sort", "accesses"]);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toBe("error: option --sort: needs --by msr or --by vcpu\n");
    const both = compare(["--by", "msr", "--sweep", "merge=0:100:50"]);
    expect(both.status).toBe(2);
    expect(lines(both.stderr)).toHaveLength(1);
    expect(both.stderr).toMatch(/--by and --sweep cannot be combined/);
    const bad = compare(["--by", "msr", "--msr", "0x10,NOT_AN_MSR"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: option --msr: "NOT_AN_MSR" is not an MSR/);
    const top = compare(["--by", "vcpu", "--top", "1.5"]);
    expect(top.status).toBe(2);
    expect(top.stderr).toBe("error: option --top: expected a whole number of rows, 1 or more\n");
  });
});
