/**
 * The library (issue 14): the BUILT package entry, imported by the package's
 * own name (package.json "exports" resolves it to dist/index.js; `npm test`
 * builds first). Its export list, compareTrace() against the CLI's JSON,
 * traceEvents() against `validate`, and errors as the CLI shows them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import type { Strategy, StrategyCounters } from "nvmx-replay";
import * as lib from "nvmx-replay";
import { describe, expect, it } from "vitest";
import { ROOT, runCli, useTempDirs } from "./helpers/cli.js";
import { COSTS_TRACE } from "./helpers/traces.js";

const tempDir = useTempDirs("each");

/** The two bundled traces compared with the CLI: one vCPU-heavy, one with bitmap churn. */
const BUNDLED = ["traces/linux-kvm.csv", "traces/multi-vcpu.csv"];

/** The CLI's JSON for a trace (run from the project root, as these paths are). */
function cliJson(args: readonly string[]): unknown {
  const r = runCli(["compare", ...args, "--format", "json"]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/**
 * A strategy that is not built in: L2 never gets a bitmap (so every access
 * goes as under l1-filter), but it counts a merge at every entry and charges
 * merges at merge_sparse. Its est_cycles split must use its own merge cost.
 */
const countingFilter: Strategy = {
  name: "counting-filter",
  summary: "no bitmap; a merge counted at every entry (a test strategy)",
  origin: "nobody: a test",
  mergeCost: "merge_sparse",
  create: (_machine, counters: StrategyCounters) => ({
    entry: () => {
      counters.merges++;
      return null;
    },
    l1Write: () => undefined,
  }),
};

describe("the package's exports", () => {
  it("are exactly the public surface", () => {
    expect(Object.keys(lib).sort()).toEqual(
      [
        "COST_KEYS",
        "DEFAULT_COST_MODEL",
        "DEFAULT_STRATEGIES",
        "DIR_R",
        "DIR_W",
        "Delivery",
        "EVENT_NAMES",
        "IN_MEMORY",
        "L0_PROFILE_NAMES",
        "L1_PROFILE_NAMES",
        "PAGE_SIZE",
        "RESULT_FIELDS",
        "STRATEGY_NAMES",
        "STREAM_NAME",
        "checkStrategy",
        "compareTrace",
        "defineStrategy",
        "l0Profile",
        "l1Profile",
        "loadSnapshot",
        "traceEvents",
      ].sort(),
    );
  });

  it("has types for the public surface only", () => {
    const dts = readFileSync(join(ROOT, "dist", "index.d.ts"), "utf8");
    for (const internal of ["ReplayBack", "ReplayFront", "MsrCounts", "zod", "class InputError", "TraceRows"]) {
      expect(dts, internal).not.toContain(internal);
    }
    expect(dts).toContain("export declare function compareTrace(");
    expect(dts).not.toMatch(/^import .* from "(?!node:)/m); // nothing from a package the user does not have
  });

  it("gives constants a script cannot change under the replay", () => {
    expect(Object.isFrozen(lib.DEFAULT_COST_MODEL)).toBe(true);
    expect(Object.isFrozen(lib.STRATEGY_NAMES)).toBe(true);
    // README "Cost model" defaults.
    expect(lib.DEFAULT_COST_MODEL).toEqual({
      l0_exit: 1500,
      l1_exit: 15000,
      merge: 1000,
      merge_sparse: 700,
      wp_fault: 3000,
      dirty_check: 300,
    });
    expect(lib.DEFAULT_STRATEGIES).toEqual(["no-bitmap", "l1-filter", "merged", "merged-eager", "sparse"]);
  });
});

describe("compareTrace", () => {
  for (const trace of BUNDLED) {
    it(`resolves to what compare --format json prints (${trace})`, async () => {
      expect(await lib.compareTrace(trace)).toEqual(cliJson([trace]));
      const options = { strategies: "all" as const, l0Profile: "kvm-modern", costModel: { merge: 2500 } };
      expect(await lib.compareTrace(trace, options)).toEqual(
        cliJson([trace, "-s", "all", "--l0-profile", "kvm-modern", "--cost-model", '{"merge": 2500}']),
      );
    });
  }

  it("takes bitmaps as files or bytes, and echoes bytes as <bytes>", async () => {
    const l1 = lib.loadSnapshot("traces/kvm-l1.json");
    const fromBytes = await lib.compareTrace("traces/linux-kvm.csv", { l1Override: l1 });
    const fromFile = cliJson(["traces/linux-kvm.csv", "--l1-override", "traces/kvm-l1.json"]) as lib.CompareResult;
    expect(fromBytes.results).toEqual(fromFile.results);
    expect(fromBytes.options.l1_override).toBe(lib.IN_MEMORY);
    expect(fromFile.options.l1_override).toBe("traces/kvm-l1.json");
  });

  it("reads a Readable, an AsyncIterable of bytes and gzip alike", async () => {
    const csv = Buffer.from(COSTS_TRACE);
    async function* bytes() {
      yield new Uint8Array(gzipSync(csv));
    }
    const a = await lib.compareTrace(Readable.from([csv]), { strategies: ["l1-filter", "merged-eager", "sparse"] });
    const b = await lib.compareTrace(bytes(), { strategies: ["l1-filter", "merged-eager", "sparse"], name: "costs" });
    expect(a.trace).toBe(lib.STREAM_NAME);
    expect(b.trace).toBe("costs");
    // test/helpers/traces.ts works COSTS_TRACE by hand: 21000, 18500, 17900.
    expect(a.results.map((r) => r.est_cycles)).toEqual([21000, 18500, 17900]);
    expect(b.results).toEqual(a.results);
  });

  it("runs a strategy object, with its own merge cost in est_cycles and cycles", async () => {
    const r = await lib.compareTrace(Readable.from([COSTS_TRACE]), { strategies: ["l1-filter", countingFilter] });
    const [filter, mine] = r.results;
    // No bitmap, as l1-filter (COSTS_TRACE's comment): l0_handled 4 (lines 6, 7, 8, 10:
    // L1 passes FS_BASE and TSC), l1_exits 1 (line 9: L1 wants the TSC_DEADLINE write).
    // Entries 2 (line 6, and line 10 after the reflected exit), a merge counted at each:
    // est = 1500*4 + 15000*1 + 700*2 (merge_sparse) = 22400.
    expect(mine).toMatchObject({ strategy: "counting-filter", l0_handled: 4, l1_exits: 1, entries: 2, merges: 2 });
    expect(mine?.est_cycles).toBe(22400);
    expect(filter?.est_cycles).toBe(21000);
    expect(r.cycles[1]).toEqual({
      strategy: "counting-filter",
      l0_handled: 6000,
      l1_exits: 15000,
      merges: 1400,
      wp_faults: 0,
      dirty_checks: 0,
    });
    expect(r.options.strategies).toEqual(["l1-filter", "counting-filter"]);
  });

  it("rejects with the CLI's one-line error, file:line:column first", async () => {
    const dir = tempDir({ "bad.csv": "event,vcpu,msr\nwrmsr,0,0xZZ\n" });
    const cli = runCli(["compare", "bad.csv"], { cwd: dir });
    expect(cli.status).toBe(1);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const error = await lib.compareTrace("bad.csv").then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe("InputError");
      // Line 2, column 9: "wrmsr," and "0," are 8 characters before the msr field.
      expect((error as Error).message).toMatch(/^bad\.csv:2:9: column msr: "0xZZ" is not an MSR index/);
      expect(`${(error as Error).message}\n`).toBe(cli.stderr);
    } finally {
      process.chdir(cwd);
    }
  });

  it("validates its options at the boundary, in one line", async () => {
    const fail = (options: unknown) =>
      lib.compareTrace("traces/linux-kvm.csv", options as lib.CompareTraceOptions).then(
        () => "resolved",
        (e: Error) => `${e.name}: ${e.message}`,
      );
    expect(await fail({ strategies: ["merged", "nope"] })).toMatch(
      /^InputError: compareTrace: bad options: at strategies\[1\]: unknown strategy "nope"/,
    );
    expect(await fail({ costModel: { merge: -1 } })).toMatch(
      /^InputError: compareTrace: bad options: at costModel\.merge: /,
    );
    expect(await fail({ l1Bitmap: new Uint8Array(10) })).toMatch(/a bitmap page is 4096 bytes, this one is 10/);
    expect(await fail({ l1Profile: "kvm", l1Bitmap: "traces/kvm-l1.bin" })).toMatch(/give l1Bitmap or l1Profile/);
    expect(await fail({ colour: true })).toMatch(/unknown key "colour"/);
    expect(await fail({ strategies: [{ ...countingFilter, name: "merged" }] })).toMatch(
      /"merged" is a built-in strategy's name/,
    );
  });

  it("checks a strategy object as --strategy-module does: defineStrategy, compareTrace, checkStrategy", async () => {
    // A member the interface does not have is refused, naming it (a typo would otherwise be ignored).
    const typo = { ...countingFilter, entryIdempotant: true } as unknown as Strategy;
    expect(() => lib.defineStrategy(typo)).toThrow(/^strategy "counting-filter": unknown member entryIdempotant/);
    await expect(lib.compareTrace(Readable.from([COSTS_TRACE]), { strategies: [typo] })).rejects.toThrow(
      /^compareTrace: bad options: at strategies\[0\]: strategy "counting-filter": unknown member entryIdempotant/,
    );
    // countingFilter runs L2 without a bitmap: every access exits, so it can let nothing slip past.
    const report = lib.checkStrategy(lib.defineStrategy(countingFilter), { traces: 5 });
    expect(report).toMatchObject({ strategy: "counting-filter", ok: true, violations: 0, failures: [] });
  });
});

describe("traceEvents", () => {
  for (const trace of BUNDLED) {
    it(`yields as many events as validate counts (${trace})`, async () => {
      const r = runCli(["validate", trace, "--format", "json"]);
      expect(r.status, r.stderr).toBe(0);
      let n = 0;
      for await (const _ of lib.traceEvents(trace)) n++;
      expect(n).toBe((JSON.parse(r.stdout) as { events: number }).events);
    });
  }

  it("yields a fresh object per event, with its line", async () => {
    const events: lib.TraceEvent[] = [];
    for await (const ev of lib.traceEvents(Readable.from([COSTS_TRACE]))) events.push(ev);
    // COSTS_TRACE: the header on line 1, nine events on lines 2-10.
    expect(events.map((e) => [e.line, e.event])).toEqual([
      [2, "bitmap-set"],
      [3, "bitmap-set"],
      [4, "bitmap-ptr"],
      [5, "use-bitmap"],
      [6, "wrmsr"],
      [7, "wrmsr"],
      [8, "rdmsr"],
      [9, "wrmsr"],
      [10, "wrmsr"],
    ]);
    expect(new Set(events).size).toBe(events.length);
    // Line 3: bitmap-set of 0x6e0's write bit (DIR_W) to 1 (intercept) on page 0x2000.
    expect(events[1]).toMatchObject({ msr: 0x6e0, dir: lib.DIR_W, flag: 1, page: 0x2000, vcpu: 0 });
  });

  it("stops reading when the loop breaks, and says where a bad row is", async () => {
    let n = 0;
    for await (const _ of lib.traceEvents("traces/linux-kvm.csv")) if (++n === 3) break;
    expect(n).toBe(3);
    const bad = Readable.from(["event,vcpu,msr\nrdmsr,0,0x10\nwrmsr,x,0x10\n"]);
    const seen: number[] = [];
    const error = await (async () => {
      for await (const ev of lib.traceEvents(bad, { name: "mine.csv" })) seen.push(ev.line);
    })().then(
      () => null,
      (e: Error) => e,
    );
    expect(seen).toEqual([2]);
    // Line 3, column 7: "wrmsr," is 6 characters before the vcpu field.
    expect(error?.message).toMatch(/^mine\.csv:3:7: /);
  });
});

describe("the loaders", () => {
  it("load snapshots and profiles as fresh pages", () => {
    const bin = lib.loadSnapshot("traces/kvm-l1.bin");
    expect(bin.length).toBe(lib.PAGE_SIZE);
    expect(lib.loadSnapshot("traces/kvm-l1.json")).toEqual(bin); // the two forms of one page (traces/README.md)
    const a = lib.l1Profile("kvm");
    a.fill(0);
    expect(lib.l1Profile("kvm")).not.toEqual(a);
    const l0 = lib.l0Profile("intercept-all");
    expect(l0.longmode.every((b) => b === 0xff)).toBe(true); // every bit 1: L0 intercepts all
    expect(() => lib.l0Profile("nope")).toThrow(/^l0Profile: unknown L0 profile "nope"/);
    expect(() => lib.loadSnapshot("traces/linux-kvm.csv")).toThrow(/a snapshot is a \.bin page/);
  });
});
