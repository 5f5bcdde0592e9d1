/**
 * Issue 12, items 3, 4 and 7: est_cycles split into its terms (--cycles, JSON
 * "cycles"), --sweep and --breakeven from one replay, and
 * --fail-on-violations. Every expected number is worked out by hand below.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { breakEven, decimal } from "../src/analysis/costs.js";
import { EXIT_VIOLATIONS, ViolationsFound } from "../src/cli/errors.js";
import { report as exitStatusOf } from "../src/cli/index.js";
import { DEFAULT_COST_MODEL, type StrategyResult, zeroCounters } from "../src/engine/results.js";
import { violators } from "../src/report.js";
import type { TraceOutcome } from "../src/run/protocol.js";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";
import { COSTS_TRACE } from "./helpers/traces.js";

const tempDir = useTempDirs("each");

/** The trace and its counters, worked by hand: see COSTS_TRACE. */
const TRACE = COSTS_TRACE;

const THREE = "l1-filter,merged-eager,sparse";

function compare(args: readonly string[]) {
  const dir = tempDir({ "t.csv": TRACE });
  return runCli(["compare", "t.csv", ...args], { cwd: dir });
}

/** CSV text as objects keyed by its header. */
function csvRows(stdout: string): Record<string, string>[] {
  const [header = "", ...rows] = lines(stdout);
  const names = header.split(",");
  return rows.map((row) => Object.fromEntries(row.split(",").map((v, i) => [names[i], v])));
}

describe("est_cycles split into its terms (item 3)", () => {
  // See TRACE: each term is count x cost; merges at merge_sparse (700) for sparse.
  const SPLIT = {
    "l1-filter": { l0_handled: 6000, l1_exits: 15000, merges: 0, wp_faults: 0, dirty_checks: 0 },
    "merged-eager": { l0_handled: 1500, l1_exits: 15000, merges: 2000, wp_faults: 0, dirty_checks: 0 },
    sparse: { l0_handled: 1500, l1_exits: 15000, merges: 1400, wp_faults: 0, dirty_checks: 0 },
  };

  it("JSON always has it, one entry per result, adding up to est_cycles", () => {
    const r = compare(["-s", THREE, "-f", "json"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { results: StrategyResult[]; cycles: Record<string, number | string>[] };
    expect(out.cycles).toEqual(Object.entries(SPLIT).map(([strategy, split]) => ({ strategy, ...split })));
    for (const [i, result] of out.results.entries()) {
      const { strategy: _, ...terms } = out.cycles[i] ?? {};
      const sum = Object.values(terms).reduce((a: number, b) => a + Number(b), 0);
      expect(sum, result.strategy).toBe(result.est_cycles);
    }
    expect(out.results.map((x) => x.est_cycles)).toEqual([21000, 18500, 17900]);
  });

  it("CSV with --cycles: cycles_* columns after est_cycles; without it the header is unchanged", () => {
    const plain = compare(["-s", THREE, "-f", "csv"]);
    expect(lines(plain.stdout)[0]).toBe(
      "strategy,accesses,l0_exits,l1_exits,l0_handled,no_exit,merges,wp_faults,dirty_checks,entries,other_exits,violations,est_cycles",
    );
    const r = compare(["-s", THREE, "-f", "csv", "--cycles"]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(
      /,est_cycles,cycles_l0_handled,cycles_l1_exits,cycles_merges,cycles_wp_faults,cycles_dirty_checks$/,
    );
    const rows = csvRows(r.stdout);
    expect(rows.map((row) => [row.strategy, row.est_cycles, row.cycles_l0_handled, row.cycles_merges])).toEqual([
      ["l1-filter", "21000", "6000", "0"],
      ["merged-eager", "18500", "1500", "2000"],
      ["sparse", "17900", "1500", "1400"],
    ]);
  });

  it("table with --cycles: a section with each term and its share of the total", () => {
    const r = compare(["-s", THREE, "--cycles"]);
    expect(r.status).toBe(0);
    const out = lines(r.stdout);
    // merged-eager's merges: 2000 of 18500 = 10.8%; sparse's 1400 of 17900 = 7.8%.
    const merges = out.find((l) => l.startsWith("merges (merges × merge/merge_sparse)"));
    expect(merges?.split(/\s{2,}/).slice(1)).toEqual(["0 0.0%", "2,000 10.8%", "1,400 7.8%"]);
    // l1-filter's reflected exits: 15000 of 21000 = 71.4%.
    expect(out.find((l) => l.startsWith("reflected exits"))).toMatch(/15,000 71\.4%/);
  });
});

describe("--sweep (item 4)", () => {
  it("gives est_cycles per strategy per value, recomputed from the counters", () => {
    // merge = 0: merged-eager 1500 + 15000 + 0 = 16500; l1-filter 21000 and
    // sparse 17900 (merge is not their cost). merge = 1500: merged-eager
    // 16500 + 2 x 1500 = 19500. merge = 3000: 22500.
    const r = compare(["-s", THREE, "--sweep", "merge=0:3000:1500", "-f", "csv"]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([
      "key,value,strategy,est_cycles",
      "merge,0,l1-filter,21000",
      "merge,0,merged-eager,16500",
      "merge,0,sparse,17900",
      "merge,1500,l1-filter,21000",
      "merge,1500,merged-eager,19500",
      "merge,1500,sparse,17900",
      "merge,3000,l1-filter,21000",
      "merge,3000,merged-eager,22500",
      "merge,3000,sparse,17900",
    ]);
  });

  it("takes several keys, each on its own, in JSON; TO only when a step lands on it", () => {
    // l0_exit = 1000: l1-filter 4000 + 15000 = 19000, merged-eager 1000 +
    // 15000 + 2000 = 18000, sparse 1000 + 15000 + 1400 = 17400.
    // merge_sparse 0:1000:600 takes 0 and 600: sparse 16500 and 17700.
    const r = compare([
      "-s",
      THREE,
      "-f",
      "json",
      "--sweep",
      "l0_exit=1000:1000:1",
      "--sweep",
      "merge_sparse=0:1000:600",
    ]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { sweeps: unknown[] };
    expect(out.sweeps).toEqual([
      {
        key: "l0_exit",
        from: 1000,
        to: 1000,
        step: 1,
        values: [1000],
        results: [
          { strategy: "l1-filter", est_cycles: [19000] },
          { strategy: "merged-eager", est_cycles: [18000] },
          { strategy: "sparse", est_cycles: [17400] },
        ],
      },
      {
        key: "merge_sparse",
        from: 0,
        to: 1000,
        step: 600,
        values: [0, 600],
        results: [
          { strategy: "l1-filter", est_cycles: [21000, 21000] },
          { strategy: "merged-eager", est_cycles: [18500, 18500] },
          { strategy: "sparse", est_cycles: [16500, 17700] },
        ],
      },
    ]);
  });

  it("allows 10,000 values and refuses 10,001", () => {
    const ok = compare(["-s", "merged-eager", "--sweep", "merge=0:9999:1", "-f", "csv"]);
    expect(ok.status).toBe(0);
    expect(lines(ok.stdout)).toHaveLength(1 + 10_000);
    // merged-eager at merge = 9999: 16500 + 2 x 9999 = 36498.
    expect(lines(ok.stdout).at(-1)).toBe("merge,9999,merged-eager,36498");
    const over = compare(["-s", "merged-eager", "--sweep", "merge=0:10000:1"]);
    expect(over.status).toBe(2);
    expect(over.stdout).toBe("");
    expect(lines(over.stderr)).toEqual([
      'error: option --sweep: "merge=0:10000:1" takes 10001 values, more than the 10,000 a sweep may; raise STEP ' +
        "(KEY=FROM:TO:STEP, e.g. merge=0:5000:250; the cost keys are l0_exit, l1_exit, merge, merge_sparse, wp_fault, dirty_check)",
    ]);
  });

  it.each([
    ["mrege=0:10:1", /unknown cost key "mrege"/],
    ["merge=10:0:1", /FROM 10 is above TO 0/],
    ["merge=0:10:0", /STEP must be 1 or more/],
    ["merge=0:10:-5", /STEP must be 1 or more/],
    ["merge=0:1.5:1", /TO "1\.5" is not a whole number of cycles/],
    ["merge=0:2000000000:1000", /TO 2000000000 is above 1,000,000,000 cycles/],
    ["merge", /"merge" is not KEY=FROM:TO:STEP/],
  ])("refuses --sweep %s in one line listing the keys, exit 2", (spec, says) => {
    const r = compare(["--sweep", spec]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(says);
    expect(r.stderr).toMatch(/l0_exit, l1_exit, merge, merge_sparse, wp_fault, dirty_check\)$/m);
  });

  it("refuses a key swept twice, and two CSV shapes at once", () => {
    const twice = compare(["--sweep", "merge=0:1:1", "--sweep", "merge=2:3:1"]);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/^error: option --sweep: a cost key is swept twice/);
    const both = compare(["-f", "csv", "--sweep", "merge=0:1:1", "--breakeven", "merge"]);
    expect(both.status).toBe(2);
    expect(lines(both.stderr)).toEqual([
      "error: option --format: with --format csv give one of --cycles, --sweep, --breakeven (each is a CSV of its own columns)",
    ]);
  });
});

describe("--breakeven (item 4)", () => {
  it("solves each pair exactly on the toy trace", () => {
    // As a function of merge (x), from TRACE's counters:
    //   l1-filter    21000 + 0x;  merged-eager 16500 + 2x;  sparse 17900 + 0x
    //   (sparse's merges cost merge_sparse, not merge).
    // l1-filter vs merged-eager: 21000 = 16500 + 2x -> x = 2250; below it
    //   merged-eager is cheaper, above it l1-filter (the smaller slope).
    // l1-filter vs sparse: parallel, sparse always cheaper (17900 < 21000).
    // merged-eager vs sparse: 16500 + 2x = 17900 -> x = 700.
    const r = compare(["-s", THREE, "--breakeven", "merge", "-f", "csv"]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([
      "key,a,b,breakeven,cheaper_below,cheaper_above",
      "merge,l1-filter,merged-eager,2250.00,merged-eager,l1-filter",
      "merge,l1-filter,sparse,,sparse,sparse",
      "merge,merged-eager,sparse,700.00,merged-eager,sparse",
    ]);
  });

  it("gives a fractional break-even rounded to 2 places, and the exact fraction in JSON", () => {
    // As a function of l0_exit (x): l1-filter 4x + 15000, merged-eager
    // x + 15000 + 2000. 4x + 15000 = x + 17000 -> x = 2000/3 = 666.666…,
    // printed 666.67; l1-filter cheaper below (15000 < 17000 at 0).
    const r = compare([
      "-s",
      "l1-filter,merged-eager",
      "--breakeven",
      "l0_exit",
      "--breakeven",
      "l1_exit",
      "-f",
      "json",
    ]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { breakevens: unknown[] };
    expect(out.breakevens).toEqual([
      {
        key: "l0_exit",
        a: "l1-filter",
        b: "merged-eager",
        breakeven: 666.67,
        fraction: "2000/3",
        cheaper_below: "l1-filter",
        cheaper_above: "merged-eager",
        always_cheaper: null,
      },
      // l1_exit: both reflect one exit (slope 1): parallel; at 0, l1-filter
      // 6000 against merged-eager 3500: merged-eager always cheaper.
      {
        key: "l1_exit",
        a: "l1-filter",
        b: "merged-eager",
        breakeven: null,
        fraction: null,
        cheaper_below: "merged-eager",
        cheaper_above: "merged-eager",
        always_cheaper: "merged-eager",
      },
    ]);
  });

  it("finds the issue's 894 cycles for merged-eager against l1-filter on linux-kvm.csv", () => {
    // From `compare traces/linux-kvm.csv --format json`: l1-filter has
    // l0_handled 1,905, l1_exits 569, no merges; merged-eager l0_handled 1,124,
    // l1_exits 569, merges 1,310. With merge = x:
    //   1500 x 1124 + 15000 x 569 + 1310 x = 1500 x 1905 + 15000 x 569
    //   x = 1500 x 781 / 1310 = 1171500 / 1310 = 117150 / 131 = 894.274…
    const r = runCli(["compare", "traces/linux-kvm.csv", "-s", "l1-filter,merged-eager", "--breakeven", "merge"]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout).slice(-2)).toEqual([
      "break-even merge (the other costs as in the model; values rounded to 2 decimals):",
      "  l1-filter vs merged-eager: equal at merge = 894.27 cycles (merged-eager cheaper below, l1-filter above)",
    ]);
    const json = runCli([
      "compare",
      "traces/linux-kvm.csv",
      "-s",
      "merged-eager,l1-filter",
      "--breakeven",
      "merge",
      "-f",
      "json",
    ]);
    const [pair] = (JSON.parse(json.stdout) as { breakevens: { fraction: string }[] }).breakevens;
    expect(pair?.fraction).toBe("117150/131");
  });

  it("says a crossing below 0 is never, and which one always wins", () => {
    // Fabricated, with l0_exit = 50 and merge = 1000:
    //   a (merged): l0_handled 2, merges 1: 100 + x, est 1100 at the model.
    //   b (merged-eager): l0_handled 3, merges 2: 150 + 2x, est 2150.
    // 100 + x = 150 + 2x at x = -50, below 0: a is cheaper at every cost from 0 up.
    const cost = { ...DEFAULT_COST_MODEL, l0_exit: 50 };
    const a: StrategyResult = { strategy: "merged", ...zeroCounters(), l0_handled: 2, merges: 1, est_cycles: 1100 };
    const b: StrategyResult = {
      strategy: "merged-eager",
      ...zeroCounters(),
      l0_handled: 3,
      merges: 2,
      est_cycles: 2150,
    };
    expect(breakEven(a, b, cost, "merge")).toEqual({ kind: "never", cheaper: "merged" });
    expect(breakEven(b, a, cost, "merge")).toEqual({ kind: "never", cheaper: "merged" });
  });

  it("rounds half up, exactly", () => {
    expect(decimal(2000n, 3n)).toBe("666.67");
    expect(decimal(1n, 8n)).toBe("0.13"); // 0.125 -> 0.13
    expect(decimal(117150n, 131n)).toBe("894.27");
    expect(decimal(0n, 1n)).toBe("0.00");
  });

  it("refuses an unknown key in one line listing the keys, exit 2", () => {
    const r = compare(["--breakeven", "merges"]);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([
      'error: option --breakeven: unknown cost key "merges" (the cost keys are l0_exit, l1_exit, merge, merge_sparse, wp_fault, dirty_check)',
    ]);
  });
});

describe("--fail-on-violations (item 7)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("exits 0 when only merged-stale (unsafe on purpose) has violations, after writing the output", () => {
    // multi-vcpu.csv: merged-stale misses a cross-vCPU store (97 violations,
    // the README says); every other strategy has none.
    const r = runCli(["compare", "traces/multi-vcpu.csv", "--strategies", "all", "-f", "csv", "--fail-on-violations"]);
    expect(r.status).toBe(0);
    const rows = csvRows(r.stdout);
    expect(rows.find((row) => row.strategy === "merged-stale")?.violations).toBe("97");
    expect(rows.filter((row) => row.violations !== "0").map((row) => row.strategy)).toEqual(["merged-stale"]);
    expect(r.stderr).toBe("");
  });

  it("picks every strategy with violations but merged-stale", () => {
    const result = (strategy: string, violations: number): StrategyResult => ({
      strategy,
      ...zeroCounters(),
      violations,
      est_cycles: 0,
    });
    const trace = (name: string, results: StrategyResult[]): TraceOutcome => ({
      trace: name,
      events: 1,
      vcpus: 1,
      results,
    });
    const report = {
      traces: [
        trace("a.csv", [result("merged", 0), result("merged-stale", 5), result("sparse", 2)]),
        trace("b.csv", [result("merged", 1), result("merged-stale", 0), result("sparse", 0)]),
      ],
    };
    expect(violators(report)).toEqual([
      { trace: "a.csv", strategy: "sparse", violations: 2 },
      { trace: "b.csv", strategy: "merged", violations: 1 },
    ]);
    expect(violators({ traces: [trace("c.csv", [result("merged-stale", 97), result("merged", 0)])] })).toEqual([]);
  });

  it("maps to exit status 4 with one line naming the strategies", () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const status = exitStatusOf(
      new ViolationsFound([
        { trace: "a.csv", strategy: "sparse", violations: 2 },
        { trace: "b.csv", strategy: "merged", violations: 1 },
      ]),
    );
    expect(status).toBe(EXIT_VIOLATIONS);
    expect(EXIT_VIOLATIONS).toBe(4);
    expect(written).toEqual([
      "nvmx-replay: --fail-on-violations: sparse has 2 violations in a.csv; merged has 1 violation in b.csv\n",
    ]);
  });

  it("is in compare --help with an example", () => {
    const r = runCli(["compare", "--help"]);
    expect(r.stdout).toMatch(/--fail-on-violations\s+after writing the output, exit 4/);
    expect(r.stdout).toMatch(/\$ nvmx-replay compare .*--fail-on-violations/);
    expect(r.stdout).toMatch(/\$ nvmx-replay compare .*--sweep merge=0:5000:250/);
    expect(r.stdout).toMatch(/\$ nvmx-replay compare .*--breakeven merge/);
    expect(r.stdout).toMatch(/\$ nvmx-replay compare .*--cycles/);
  });
});
