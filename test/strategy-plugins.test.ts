import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
/**
 * Strategies as plug-ins (issue 14, items 2 and 3): defineStrategy()'s
 * checks, the per-run registry, the conformance helper on every built-in and
 * on broken strategies, the engine's fast-path switch, and --strategy-module
 * on the CLI (its errors, its listing, its use by every command that names
 * strategies).
 */
import { describe, expect, it } from "vitest";
import { checkStrategy } from "../src/engine/conformance.js";
import { defineStrategy, StrategyDefinitionError, validateStrategy } from "../src/engine/define-strategy.js";
import { randomTrace } from "../src/engine/random-trace.js";
import { Replay } from "../src/engine/replay.js";
import { BUILT_IN_REGISTRY, registryWith, STRATEGIES } from "../src/engine/strategies/index.js";
import type { Strategy } from "../src/engine/strategy.js";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";
import { l0Bitmaps } from "./helpers/events.js";

const tempDir = useTempDirs();

/** A strategy that runs L2 without a bitmap, like l1-filter: the least an author writes. */
const minimal = (name = "my-filter"): Strategy => ({
  name,
  summary: "L2 without a bitmap",
  origin: "a test",
  create: () => ({}),
});

/**
 * A merge on every entry (vmcs01 OR vmcs12, no tracking needed), written as
 * an outside author would, from the interface alone.
 */
function eagerOr(name: string, flags: Partial<Strategy> = {}): Strategy {
  return {
    name,
    summary: "vmcs01 OR vmcs12 on every entry",
    origin: "a test",
    ...flags,
    create(machine, counters) {
      const pages = new Map<number, Uint8Array>();
      return {
        entry(v, state) {
          if (!state.useBitmap) return null;
          counters.merges++;
          const l1 = machine.memory.get(state.bitmapPtr) as Uint8Array;
          const l0 = state.l0Bitmap();
          const page = pages.get(v) ?? new Uint8Array(4096);
          pages.set(v, page);
          for (let i = 0; i < 4096; i++) page[i] = (l0[i] as number) | (l1[i] as number);
          return page;
        },
      };
    },
  };
}

/** Merges once per vCPU and never again: misses L1's stores, and does not say it is unsafe. */
const neverRemerges: Strategy = {
  name: "never-remerges",
  summary: "merged once, kept forever",
  origin: "a test",
  create(machine) {
    const pages = new Map<number, Uint8Array>();
    return {
      entry(v, state) {
        if (!state.useBitmap) return null;
        let page = pages.get(v);
        if (page === undefined) {
          const l1 = machine.memory.get(state.bitmapPtr) as Uint8Array;
          const l0 = state.l0Bitmap();
          page = Uint8Array.from(l1, (b, i) => b | (l0[i] as number));
          pages.set(v, page);
        }
        return page;
      },
    };
  },
};

describe("defineStrategy", () => {
  it("returns a strategy holding the members given", () => {
    const s = defineStrategy({
      ...minimal(),
      mergeCost: "merge_sparse",
      entryIdempotent: true,
      repeatEntryStable: true,
    });
    expect(s).toMatchObject({
      name: "my-filter",
      mergeCost: "merge_sparse",
      entryIdempotent: true,
      repeatEntryStable: true,
    });
    expect(typeof s.create).toBe("function");
  });

  it.each([
    [{ ...minimal(), name: "My Strategy" }, "name must be a lowercase slug"],
    [{ ...minimal(), name: "a--b" }, "name must be a lowercase slug"],
    [{ ...minimal(), name: "merged" }, 'strategy "merged": name "merged" is a built-in strategy\'s'],
    [{ ...minimal(), summary: "" }, 'strategy "my-filter": summary is empty'],
    [{ ...minimal(), origin: "two\nlines" }, 'strategy "my-filter": origin must be one line'],
    [{ ...minimal(), mergeCost: "cheap" }, 'strategy "my-filter": mergeCost must be one of merge, merge_sparse'],
    [{ ...minimal(), entryIdempotent: "yes" }, 'strategy "my-filter": entryIdempotent must be true or false'],
    [{ ...minimal(), repeatEntryStable: 1 }, 'strategy "my-filter": repeatEntryStable must be true or false'],
    [{ ...minimal(), create: {} }, 'strategy "my-filter": create must be a function'],
    [{ ...minimal(), withoutBitmap: true }, 'strategy "my-filter": unknown member withoutBitmap'],
    [42, "a strategy must be an object"],
  ])("refuses %j in one line naming the member", (value, message) => {
    let error: unknown;
    try {
      validateStrategy(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StrategyDefinitionError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain("\n");
  });

  it("takes every built-in's members but its name (built-ins are checked by the same schema)", () => {
    for (const s of STRATEGIES) {
      expect(() => validateStrategy({ ...s, name: `my-${s.name}` })).not.toThrow();
    }
  });
});

describe("registryWith", () => {
  it("puts the extra strategies after the built-ins, in the order of docs/model.md §8", () => {
    const extra = minimal();
    const registry = registryWith([extra]);
    expect(registry.names).toEqual([...BUILT_IN_REGISTRY.names, "my-filter"]);
    expect(registry.find("my-filter")).toBe(extra);
    expect(BUILT_IN_REGISTRY.find("my-filter")).toBeUndefined();
  });

  it("refuses a name taken by a built-in or by another extra strategy", () => {
    expect(() => registryWith([{ ...minimal(), name: "sparse" }])).toThrow(/"sparse" is taken by a built-in strategy/);
    expect(() => registryWith([minimal(), minimal()])).toThrow(/"my-filter" is taken by another strategy/);
  });
});

describe("the interface as an author meets it", () => {
  it("a strategy with no entry step runs L2 without a bitmap: every access exits, as l1-filter", () => {
    // The same random trace under l1-filter and under a strategy that is only a name and create() => ({}).
    const trace = randomTrace(3);
    const replay = new Replay({
      strategies: [BUILT_IN_REGISTRY.find("l1-filter") as Strategy, minimal()],
      l0: l0Bitmaps(),
    });
    for (const ev of trace) replay.apply(ev);
    const [filter, mine] = replay.results();
    expect(mine).toEqual({ ...filter, strategy: "my-filter" });
    expect(mine?.no_exit).toBe(0);
    expect(mine?.accesses).toBeGreaterThan(0);
  });

  it("an author's eager OR gives merged-eager's results (an l0-set while L2 runs re-runs the entry step)", () => {
    const trace = randomTrace(5);
    const replay = new Replay({
      strategies: [BUILT_IN_REGISTRY.find("merged-eager") as Strategy, eagerOr("my-eager")],
      l0: l0Bitmaps(),
    });
    for (const ev of trace) replay.apply(ev);
    const [eager, mine] = replay.results();
    expect(mine).toEqual({ ...eager, strategy: "my-eager" });
    expect(mine?.merges).toBeGreaterThan(0);
  });
});

describe("checkStrategy", () => {
  it.each(STRATEGIES.map((s) => [s.name, s] as const))("passes the built-in %s", (_, strategy) => {
    const report = checkStrategy(strategy, { traces: 20 });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.fastPathChecked).toBe(strategy.entryIdempotent === true || strategy.repeatEntryStable === true);
    // merged-stale passes as declared unsafe: its violations are found, and allowed.
    if (strategy.name === "merged-stale") expect(report.violations).toBeGreaterThan(0);
    else expect(report.violations).toBe(0);
  });

  it("fails a strategy that lets accesses past, naming the check and the first trace", () => {
    const report = checkStrategy(neverRemerges, { traces: 20 });
    expect(report.ok).toBe(false);
    expect(report.failures.map((f) => f.check)).toEqual(["violations"]);
    expect(report.failures[0]?.message).toMatch(
      /^never-remerges: \d+ violations on \d+ of 20 random traces \(the first with seed \d+\): an access completed in L2 that L1 or L0 wanted/,
    );
    // Declared unsafe, the same strategy passes.
    expect(checkStrategy({ ...neverRemerges, unsafe: true }, { traces: 20 }).ok).toBe(true);
  });

  it("fails a strategy that declares entryIdempotent but counts a merge at every entry", () => {
    const report = checkStrategy(eagerOr("liar", { entryIdempotent: true }), { traces: 10 });
    expect(report.failures.map((f) => f.check)).toEqual(["fast-path"]);
    expect(report.failures[0]?.message).toMatch(
      /^liar: declares entryIdempotent, but the fast path changes the results \(merges \d+ against \d+ with it, without it\): entry\(\) called again with no machine event between must return the same page and count nothing$/,
    );
  });

  it("fails a strategy that declares repeatEntryStable but returns other bits at a repeat entry", () => {
    // Every other entry step on a vCPU runs L2 without a bitmap: a repeat entry's bits differ.
    const flipping: Strategy = {
      ...eagerOr("flipping"),
      repeatEntryStable: true,
      create(machine, counters) {
        const inner = eagerOr("inner").create(machine, counters);
        const calls = new Map<number, number>();
        return {
          entry(v, state) {
            const n = (calls.get(v) ?? 0) + 1;
            calls.set(v, n);
            const page = inner.entry?.(v, state) ?? null;
            return n % 2 === 0 ? null : page;
          },
        };
      },
    };
    const report = checkStrategy(flipping, { traces: 10 });
    expect(report.fastPathChecked).toBe(true);
    expect(report.failures.map((f) => f.check)).toEqual(["fast-path"]);
    expect(report.failures[0]?.message).toMatch(
      /^flipping: declares repeatEntryStable, but the fast path changes the results \((l0_exits|l0_handled|no_exit) \d+ against \d+ with it, without it\): entry\(\) called again with no machine event between must return the same bits, count the same each time and change nothing another vCPU's entry reads$/,
    );
    // The same strategy without the promise passes: the loop then calls it at every entry.
    expect(checkStrategy({ ...flipping, repeatEntryStable: false }, { traces: 10 }).ok).toBe(true);
  });

  it("fails a strategy that keeps state between replays, and one that throws", () => {
    let merges = 0;
    const leaky: Strategy = {
      ...minimal("leaky"),
      create: (_machine, counters) => ({
        entry() {
          counters.merges += ++merges; // module state: the second replay counts more
          return null;
        },
      }),
    };
    expect(checkStrategy(leaky, { traces: 3 }).failures.map((f) => f.check)).toEqual(["repeatable"]);
    const thrower: Strategy = {
      ...minimal("thrower"),
      create: () => ({
        entry() {
          throw new Error("boom");
        },
      }),
    };
    const report = checkStrategy(thrower, { traces: 3 });
    expect(report.failures).toEqual([{ check: "threw", seed: 1, message: "thrower: threw Error: boom" }]);
  });
});

describe("--strategy-module", () => {
  const module = (body: string) => tempDir({ "s.mjs": body, "t.csv": "event,vcpu,msr\nrdmsr,0,0x10\n" });
  const ok = 'export default { name: "mine", summary: "s", origin: "o", create() { return {}; } };\n';

  it.each([
    ["export const x = 1;\n", "s.mjs: --strategy-module: exports no strategy"],
    ["this is not javascript(\n", "s.mjs: --strategy-module: cannot be loaded: SyntaxError"],
    [
      'export default { name: "merged", summary: "s", origin: "o", create() { return {}; } };\n',
      `s.mjs: --strategy-module: default export: strategy "merged": name "merged" is a built-in strategy's; choose another`,
    ],
    [
      'export const a = { name: "x", summary: "s", origin: "o", mergeCost: "free", create() { return {}; } };\n',
      's.mjs: --strategy-module: export a: strategy "x": mergeCost must be one of merge, merge_sparse',
    ],
    [
      'export const a = { name: "x", summary: "s", origin: "o", create() {} };\nexport const b = { ...a };\n',
      's.mjs: --strategy-module: strategy "x" is defined twice in this module',
    ],
    ['throw new Error("no\\nway");\n', "s.mjs: --strategy-module: cannot be loaded: Error: no"],
  ])("refuses a bad module in one line naming the file (%#)", (body, message) => {
    const dir = module(body);
    for (const command of [
      ["compare", "t.csv"],
      ["replay", "t.csv"],
      ["explain", "t.csv", "--line", "2"],
      ["strategies"],
    ]) {
      const r = runCli([...command, "--strategy-module", "s.mjs"], { cwd: dir });
      expect(r.status).toBe(1);
      expect(lines(r.stderr)).toEqual([expect.stringContaining(message)]);
      expect(r.stderr.startsWith(message)).toBe(true);
      expect(r.stdout).toBe("");
    }
  });

  it("refuses a missing file, and the same name in two modules", () => {
    const dir = tempDir({ "a.mjs": ok, "b.mjs": ok, "t.csv": "event,vcpu,msr\nrdmsr,0,0x10\n" });
    const missing = runCli(["compare", "t.csv", "--strategy-module", "nope.mjs"], { cwd: dir });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("nope.mjs: --strategy-module: no such file\n");
    const twice = runCli(["compare", "t.csv", "--strategy-module", "a.mjs", "--strategy-module", "b.mjs"], {
      cwd: dir,
    });
    expect(twice.status).toBe(1);
    expect(twice.stderr).toBe('b.mjs: --strategy-module: strategy "mine" is also defined by a.mjs\n');
  });

  it("names a plug-in that throws while the trace replays, in one line (exit 1), in one thread and in a worker", () => {
    // An entry step that throws at the first nested entry: the trace's one rdmsr needs one.
    const throwing = [
      "export default {",
      '  name: "thrower", summary: "throws", origin: "a test",',
      "  create() {",
      '    return { entry() { throw new Error("kaput"); } };',
      "  },",
      "};",
      "",
    ].join("\n");
    const trace = "event,vcpu,msr\nrdmsr,0,0x10\n";
    const dir = tempDir({ "s.mjs": throwing, "t.csv": trace, "t.csv.gz": gzipSync(trace) });
    const message = 's.mjs: --strategy-module: strategy "thrower" failed in entry(): Error: kaput';
    const here = runCli(["compare", "t.csv", "-s", "thrower", "--strategy-module", "s.mjs", "-j", "1"], { cwd: dir });
    expect(here.status).toBe(1);
    expect(lines(here.stderr)).toEqual([message]);
    // Read here, the strategies in a worker: the worker's error names the trace first.
    const worker = runCli(["compare", "t.csv.gz", "-s", "thrower", "--strategy-module", "s.mjs", "-j", "2"], {
      cwd: dir,
    });
    expect(worker.status).toBe(1);
    expect(lines(worker.stderr)).toEqual([`t.csv.gz: ${message}`]);
    expect(worker.stdout).toBe("");
    // Packed, on stdin (so read here, the pipeline's way): the thrower first or second of
    // the worker's strategies, and with --by msr (event by event), of two strategies the
    // main thread runs the first and a worker the second, so it fails in either thread.
    const pack = runCli(["pack", "t.csv", "-o", "t.nvmx"], { cwd: dir });
    expect(pack.status, pack.stderr).toBe(0);
    const packed = readFileSync(join(dir, "t.nvmx"));
    for (const [strategies, by] of [
      ["thrower,merged", []],
      ["merged,thrower", []],
      ["thrower,merged", ["--by", "msr"]],
      ["merged,thrower", ["--by", "msr"]],
    ] as const) {
      const args = ["compare", "-", "-s", strategies, "--strategy-module", "s.mjs", "-j", "2", ...by];
      const r = runCli(args, { cwd: dir, input: packed });
      expect(r.status, `${strategies} ${by.join(" ")}`).toBe(1);
      expect(lines(r.stderr)).toEqual([`<stdin>: ${message}`]);
      expect(r.stdout).toBe("");
    }
  });

  it("joins the module's strategies to --strategies and to all, for compare, replay and explain", () => {
    // One rdmsr of TSC (0x10) with use_bitmap 0: an entry, then an exit L1 wants (docs/model.md §6), under
    // any strategy; "mine" has no entry step, so L2 runs without a bitmap (every access exits) as l1-filter.
    const dir = tempDir({ "s.mjs": ok, "t.csv": "event,vcpu,msr\nrdmsr,0,0x10\n" });
    const compare = runCli(["compare", "t.csv", "--strategy-module", "s.mjs", "-s", "l1-filter,mine", "-f", "csv"], {
      cwd: dir,
    });
    expect(compare.status).toBe(0);
    expect(lines(compare.stdout).slice(1)).toEqual([
      "l1-filter,1,1,1,0,0,0,0,0,1,0,0,15000",
      "mine,1,1,1,0,0,0,0,0,1,0,0,15000",
    ]);
    const all = runCli(["compare", "t.csv", "--strategy-module", "s.mjs", "-s", "all", "-f", "csv"], { cwd: dir });
    expect(lines(all.stdout).map((l) => l.split(",")[0])).toEqual(["strategy", ...BUILT_IN_REGISTRY.names, "mine"]);
    const replay = runCli(["replay", "t.csv", "--strategy-module", "s.mjs", "-s", "mine", "-f", "csv"], { cwd: dir });
    expect(lines(replay.stdout)[1]).toBe("mine,1,1,1,0,0,0,0,0,1,0,0,15000");
    const explain = runCli(["explain", "t.csv", "--line", "2", "--strategy-module", "s.mjs", "-f", "json"], {
      cwd: dir,
    });
    expect(explain.status).toBe(0);
    const strategies = (JSON.parse(explain.stdout) as { strategies: { strategy: string; delivered: string }[] })
      .strategies;
    expect(strategies.map((s) => s.strategy)).toEqual([...BUILT_IN_REGISTRY.names, "mine"]);
  });

  it("without the module, the name is unknown (usage error, exit 2)", () => {
    const dir = tempDir({ "t.csv": "event,vcpu,msr\nrdmsr,0,0x10\n" });
    const r = runCli(["compare", "t.csv", "-s", "mine"], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: option --strategies: unknown strategy "mine"/);
  });

  it("charges a plug-in's merges at its own merge cost in --cycles, as est_cycles does", () => {
    // The eager OR of merged-eager with mergeCost merge_sparse: one entry with use_bitmap 1 on
    // --l1-profile kvm's page merges once, so cycles_merges is merge_sparse's 700, not merge's 1000.
    const body = `export default {
      name: "cheap-eager", summary: "s", origin: "o", mergeCost: "merge_sparse",
      create(machine, counters) {
        return { entry(v, state) {
          if (!state.useBitmap) return null;
          counters.merges++;
          const l1 = machine.memory.get(state.bitmapPtr), l0 = state.l0Bitmap();
          return Uint8Array.from(l1, (b, i) => b | l0[i]);
        } };
      },
    };\n`;
    const dir = tempDir({ "s.mjs": body, "t.csv": "event,vcpu,msr\nvmentry,0,\n" });
    const r = runCli(
      [
        "compare",
        "t.csv",
        "--strategy-module",
        "s.mjs",
        "-s",
        "cheap-eager",
        "--l1-profile",
        "kvm",
        "--cycles",
        "-f",
        "csv",
      ],
      { cwd: dir },
    );
    expect(r.status).toBe(0);
    const [header, row] = lines(r.stdout);
    const cell = (name: string) => row?.split(",")[header?.split(",").indexOf(name) ?? -1];
    expect([cell("merges"), cell("est_cycles"), cell("cycles_merges")]).toEqual(["1", "700", "700"]);
  });
});
