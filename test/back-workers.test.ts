/**
 * The strategies of one pipelined trace split over several worker threads
 * (src/run/back-workers.ts): the same results, breakdowns, violations and
 * windows, in the same order, as one thread running them all.
 *
 * The pipeline spawns dist/worker.js, so it is loaded from the built dist/
 * (`npm run build` first); the single-thread reference is src/run's own
 * replayHere.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findL0Profile } from "../src/engine/profiles.js";
import { DEFAULT_COST_MODEL, type StrategyResult } from "../src/engine/results.js";
import { STRATEGIES } from "../src/engine/strategies/index.js";
import type { WindowRecord } from "../src/engine/windows.js";
import { joinResults, mainThreadShare, shareStrategies, WindowJoin } from "../src/run/back-workers.js";
import type { ReplaySpec, TraceOutcome } from "../src/run/protocol.js";
import { replayHere } from "../src/run/replay-trace.js";
import { BIN, ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("all");

type Pipelined = typeof import("../src/run/pipeline.js");
const DIST_PIPELINE = pathToFileURL(join(ROOT, "dist", "pipeline.js")).href;
const { replayPipelined } = (await import(DIST_PIPELINE)) as Pipelined;

const ALL = STRATEGIES.map((s) => s.name);

function specFor(strategies: readonly string[], extra: Partial<ReplaySpec> = {}): ReplaySpec {
  const l0 = findL0Profile("kvm-2013");
  if (!l0) throw new Error("no kvm-2013 profile");
  return { strategies, l0: l0.bitmaps(), l1Bitmap: null, cost: DEFAULT_COST_MODEL, breakdown: false, ...extra };
}

/** A replay's outcome and its windows, as they came. */
async function replayed(
  file: string,
  spec: ReplaySpec,
  backWorkers: number | null,
): Promise<{ outcome: TraceOutcome; windows: WindowRecord[] }> {
  const windows: WindowRecord[] = [];
  const listener = { onWindows: (records: readonly WindowRecord[]) => windows.push(...records), pace: () => undefined };
  const outcome =
    backWorkers === null
      ? await replayHere(file, spec, { windows: listener })
      : // One thread reads, whatever the trace's form: the workers are the threads less one.
        await replayPipelined(file, spec, { windows: listener, threads: backWorkers + 1 });
  return { outcome, windows };
}

/**
 * The extras a strategy has that keep its tile summaries (--violations,
 * --window), and all of them (with --by msr, which goes event by event).
 */
const SUMMED: Partial<ReplaySpec> = {
  violations: true,
  window: { unit: "events", size: 97, text: "97" },
};
const EXTRAS: Partial<ReplaySpec> = { ...SUMMED, by: { by: "msr", vcpus: null, msrs: null } };

describe("shareStrategies", () => {
  it("splits in order into shares differing by at most one", () => {
    // 9 over 2: 9/2 = 4 rest 1, so the first share takes the extra one.
    expect(shareStrategies(ALL, 2).map((s) => s.length)).toEqual([5, 4]);
    expect(shareStrategies(ALL, 2).flat()).toEqual(ALL);
    // 5 over 3: 1 each and a rest of 2 for the first two.
    expect(shareStrategies(["a", "b", "c", "d", "e"], 3)).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    // Never more shares than strategies, never none.
    expect(shareStrategies(["a", "b"], 3)).toEqual([["a"], ["b"]]);
    expect(shareStrategies(["a"], 0)).toEqual([["a"]]);
  });

  it("gives the first share the size asked for (the main thread's), the rest split evenly", () => {
    expect(shareStrategies(["a", "b", "c", "d", "e"], 2, 2)).toEqual([
      ["a", "b"],
      ["c", "d", "e"],
    ]);
    expect(shareStrategies(["a", "b", "c", "d", "e"], 3, 1)).toEqual([["a"], ["b", "c"], ["d", "e"]]);
    expect(shareStrategies(ALL, 2, 4).flat()).toEqual(ALL);
  });
});

describe("mainThreadShare", () => {
  it("is an even share, the smaller one when the strategies do not divide evenly", () => {
    // 5 default strategies on 2 threads: 2 here, 3 on the worker.
    expect(mainThreadShare(5, 2)).toBe(2);
    // All 9 on 2 threads: 4 here, 5 on the worker; on 4 threads: 2 here, 7 on 3 workers.
    expect(mainThreadShare(9, 2)).toBe(4);
    expect(mainThreadShare(9, 4)).toBe(2);
    // Fewer strategies than threads: none here.
    expect(mainThreadShare(1, 2)).toBe(0);
    expect(mainThreadShare(3, 4)).toBe(0);
  });
});

describe("WindowJoin", () => {
  const result = (strategy: string, accesses: number) => ({ strategy, accesses }) as unknown as StrategyResult;
  const record = (window: number, results: StrategyResult[]): WindowRecord => ({
    window,
    from: window * 10 + 1,
    to: window * 10 + 10,
    events: 10,
    results,
  });

  it("gives a window once every worker reported it, its strategies in worker order", () => {
    const join = new WindowJoin(2);
    // Worker 1 runs ahead by two windows: nothing is complete yet.
    expect(join.add(1, [record(0, [result("c", 3)]), record(1, [result("c", 4)])])).toEqual([]);
    // Worker 0's window 0 completes window 0 only: a, b (worker 0) then c (worker 1).
    expect(join.add(0, [record(0, [result("a", 1), result("b", 2)])])).toEqual([
      record(0, [result("a", 1), result("b", 2), result("c", 3)]),
    ]);
    expect(join.add(0, [record(1, [result("a", 5), result("b", 6)])])).toEqual([
      record(1, [result("a", 5), result("b", 6), result("c", 4)]),
    ]);
  });
});

describe("joinResults", () => {
  it("concatenates in worker order and takes the first worker's set-up use", () => {
    const a = result("a");
    const b = result("b");
    const joined = joinResults([
      { type: "results", results: [a], setupUse: { ranWithL1Bitmap: true, l1OptionUsed: false }, violations: [] },
      { type: "results", results: [b], setupUse: { ranWithL1Bitmap: true, l1OptionUsed: false }, violations: [] },
    ]);
    expect(joined.results.map((r) => r.strategy)).toEqual(["a", "b"]);
    expect(joined.setupUse).toEqual({ ranWithL1Bitmap: true, l1OptionUsed: false });
  });
  function result(strategy: string): StrategyResult {
    return { strategy } as StrategyResult;
  }
});

describe("the strategies over several back workers", () => {
  it("a hand-worked trace: windows joined per window, strategies in order", async () => {
    const file = join(tempDir(), "small.csv");
    writeFileSync(
      file,
      "event,vcpu,msr,value,page,dir,file\nrdmsr,0,0x10,,,,\nrdmsr,0,0x10,,,,\nvmexit,0,,HLT,,,\nrdmsr,0,0x10,,,,\n",
    );
    const strategies = ["no-bitmap", "l1-filter", "merged"];
    const spec = specFor(strategies, { window: { unit: "events", size: 2, text: "2" } });
    // Two workers: [no-bitmap, l1-filter] and [merged].
    const { outcome, windows } = await replayed(file, spec, 2);
    // SPEC section 6: use_bitmap starts 0, so L1 wants every access and every
    // strategy delivers each to l1 (L2 leaves; the next L2 event enters again).
    // Window 0 (events 1-2): entry, rdmsr -> l1; entry, rdmsr -> l1: 2 accesses,
    // 2 l1_exits, 2 entries, 30,000 cycles (2 x l1_exit 15,000).
    // Window 1 (events 3-4): entry, vmexit (other_exits 1); entry, rdmsr -> l1:
    // 1 access, 1 l1_exit, 2 entries, 15,000 cycles. No merges: use_bitmap 0.
    const pick = (r: StrategyResult) => [r.strategy, r.accesses, r.l1_exits, r.entries, r.other_exits, r.est_cycles];
    expect(windows.map((w) => [w.window, w.from, w.to, w.results.map(pick)])).toEqual([
      [0, 1, 2, strategies.map((s) => [s, 2, 2, 2, 0, 30_000])],
      [1, 3, 4, strategies.map((s) => [s, 1, 1, 2, 1, 15_000])],
    ]);
    expect(outcome.results.map(pick)).toEqual(strategies.map((s) => [s, 3, 3, 4, 1, 45_000]));
  });

  const bundled = readdirSync(join(ROOT, "traces"))
    .filter((f) => f.endsWith(".csv"))
    .map((f) => join(ROOT, "traces", f));

  it.each(bundled)("%s: 1, 2 and 4 workers give what one thread gives, every extra included", async (file) => {
    for (const extras of [SUMMED, EXTRAS]) {
      const spec = specFor(ALL, extras);
      const here = await replayed(file, spec, null);
      expect(here.windows.length).toBeGreaterThan(0);
      for (const workers of [1, 2, 4]) expect(await replayed(file, spec, workers)).toEqual(here);
    }
  });

  it.each(bundled)("%s packed: 1, 2 and 4 workers give what one thread gives on the CSV", async (csv) => {
    // A packed read goes in columns (ReplayFront.queueColumns) to workers that
    // each judge and sum up their tiles, where one thread reads the CSV event by
    // event; with --by msr, which goes event by event, the main thread runs a
    // share of the strategies too (4, 3 and 1 of the 9). Every extra is
    // compared, windows included.
    const packed = join(tempDir(), "trace.nvmx");
    const pack = spawnSync(process.execPath, [BIN, "pack", csv, "-o", packed], { encoding: "utf8" });
    expect(pack.status, pack.stderr).toBe(0);
    const named = ({ outcome, windows }: Awaited<ReturnType<typeof replayed>>) => ({
      outcome: { ...outcome, trace: "" },
      windows,
    });
    for (const extras of [SUMMED, EXTRAS]) {
      const spec = specFor(ALL, extras);
      const here = named(await replayed(csv, spec, null));
      for (const workers of [1, 2, 4]) expect(named(await replayed(packed, spec, workers))).toEqual(here);
    }
  });

  it("the CLI: --jobs 1 (one thread) and --jobs 2 (stdin, pipelined) print the same", () => {
    const input = readFileSync(join(ROOT, "traces", "multi-vcpu.csv"));
    const args = ["compare", "-", "-s", "all", "--by", "msr", "-f", "csv"];
    // A piped trace's snapshots are found in the current folder.
    const cwd = join(ROOT, "traces");
    const one = runCli([...args, "--jobs", "1"], { input, cwd });
    const two = runCli([...args, "--jobs", "2"], { input, cwd });
    expect(one.status, one.stderr).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    // A row per strategy and MSR: more than the nine strategies alone.
    expect(one.stdout.split("\n").length).toBeGreaterThan(ALL.length);
  });

  it("replay's per-MSR table is the first strategy's", async () => {
    const file = join(ROOT, "traces", "linux-kvm.csv");
    const spec = specFor(["merged", "no-bitmap"], { breakdown: true });
    const here = await replayed(file, spec, null);
    expect((await replayed(file, spec, 2)).outcome).toEqual(here.outcome);
  });

  it("random generated traces: the same as one thread (property)", async () => {
    const dir = tempDir();
    const workloads = ["bitmap-churn", "linux-mixed", "boot", "linux-idle"];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...workloads),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 5 }),
        fc.subarray(ALL, { minLength: 1 }),
        async (workload, seed, vcpus, workers, strategies) => {
          const file = join(dir, `${workload}-${seed}-${vcpus}.csv`);
          const gen = spawnSync(
            process.execPath,
            [BIN, "gen", workload, "--events", "3000", "--vcpus", String(vcpus), "--seed", String(seed), "-o", file],
            { encoding: "utf8" },
          );
          expect(gen.status, gen.stderr).toBe(0);
          const spec = specFor(strategies, EXTRAS);
          const here = await replayed(file, spec, null);
          expect(await replayed(file, spec, workers)).toEqual(here);
          // Packed: the main thread judges, and takes a share of the strategies when there are enough.
          const packed = join(dir, `${workload}-${seed}-${vcpus}.nvmx`);
          const pack = spawnSync(process.execPath, [BIN, "pack", file, "-o", packed], { encoding: "utf8" });
          expect(pack.status, pack.stderr).toBe(0);
          const fromPacked = await replayed(packed, spec, workers);
          expect({ ...fromPacked, outcome: { ...fromPacked.outcome, trace: file } }).toEqual(here);
        },
      ),
      { numRuns: 8 },
    );
  }, 120_000);
});
