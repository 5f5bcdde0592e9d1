/**
 * examples/pml.mjs, the plug-in strategy the README runs: hand-worked
 * counters, the conformance helper on random traces, and the CLI running it
 * with --strategy-module in one thread and in worker threads.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { checkStrategy } from "../src/engine/conformance.js";
import { validateStrategy } from "../src/engine/define-strategy.js";
import { Replay } from "../src/engine/replay.js";
import type { Strategy } from "../src/engine/strategy.js";
import { lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";
import { l0Bitmaps, ptr, rd, set, use } from "./helpers/events.js";

const PML_FILE = join(ROOT, "examples", "pml.mjs");
let pml: Strategy;

beforeAll(async () => {
  // A variable URL, so that the type checker does not look for the module's declarations.
  const url = pathToFileURL(PML_FILE).href;
  pml = validateStrategy(((await import(url)) as { default: unknown }).default);
});

const tempDir = useTempDirs();
const HEADER =
  "strategy,accesses,l0_exits,l1_exits,l0_handled,no_exit,merges,wp_faults,dirty_checks,entries,other_exits,violations,est_cycles";

/**
 * One vCPU, L0 profile kvm-2013 (FS_BASE 0xC0000100 passes in L0; TSC_DEADLINE
 * 0x6E0 is intercepted). docs/model.md §6, line by line, for pml:
 *   2  bitmap-set: page 0x2000 first touched (all zeros: L1 passes everything);
 *      the store logs 0x2000 in the PML log.
 *   5  rdmsr FS_BASE: entry 1. The log holds 0x2000: a drain (dirty_checks 1);
 *      no shadow: merge 1. Shadow = L0 OR zeros: FS_BASE read bit 0 -> none.
 *   6  rdmsr FS_BASE: L2 runs; none.
 *   7  bitmap-set FS_BASE read = 1: an L1 event, so L2 leaves first
 *      (other_exits 1); the store logs 0x2000 again.
 *   8  rdmsr FS_BASE: entry 2. Drain 2 marks the shadow stale: merge 2. Its
 *      FS_BASE read bit is now 1 and L1 wants the access: l1 (L2 leaves).
 *   9  rdmsr 0x6E0: entry 3. The log is empty: no drain; shadow current: no
 *      merge. L0's bit is 1, L1's 0: exits, handled by L0 (l0).
 *  10  vmexit: other_exits 2.
 *  11  vmentry: entry 4; empty log, current shadow: nothing.
 * pml: accesses 4, l0_exits 2, l1_exits 1, l0_handled 1, no_exit 2, merges 2,
 * wp_faults 0, dirty_checks 2, entries 4, other_exits 2, violations 0;
 * est_cycles = 1500 x 1 + 15000 x 1 + 1000 x 2 + 300 x 2 = 19,100.
 * merged, the same deliveries and merges, but line 7 hits the page its first
 * merge protected: wp_faults 1, est_cycles 1500 + 15000 + 2000 + 3000 = 21,500.
 * merged-dirty checks the dirty bit at entries 2, 3 and 4 (entry 1 builds):
 * dirty_checks 3, est_cycles 1500 + 15000 + 2000 + 900 = 19,400.
 */
const SMALL = [
  "event,vcpu,msr,value,page,dir",
  "bitmap-set,0,0xc0000100,0,0x2000,rw",
  "bitmap-ptr,0,,,0x2000,",
  "use-bitmap,0,,1,,",
  "rdmsr,0,0xc0000100,,,",
  "rdmsr,0,0xc0000100,,,",
  "bitmap-set,0,0xc0000100,1,0x2000,r",
  "rdmsr,0,0xc0000100,,,",
  "rdmsr,0,0x6e0,,,",
  "vmexit,0,,,,",
  "vmentry,0,,,,",
  "",
].join("\n");

const SMALL_ROWS = [
  "merged,4,2,1,1,2,2,1,0,4,2,0,21500",
  "merged-dirty,4,2,1,1,2,2,0,3,4,2,0,19400",
  "pml,4,2,1,1,2,2,0,2,4,2,0,19100",
];

describe("examples/pml.mjs in the engine", () => {
  it("drains once for several stores to one page, and only when the log holds a page", () => {
    // Two stores to 0x2000 before the entry: the first sets the page's dirty
    // flag and logs it, the second finds the flag set and logs nothing, so
    // the one entry finds one page: one drain, one merge.
    const replay = new Replay({ strategies: [pml], l0: l0Bitmaps("kvm-2013") });
    for (const ev of [
      set(0, 0x2000, 0xc000_0100, "rw", 0),
      set(0, 0x2000, 0xc000_0101, "rw", 0),
      ptr(0, 0x2000),
      use(0, 1),
      rd(0, 0xc000_0100),
      rd(0, 0xc000_0101),
    ]) {
      replay.apply(ev);
    }
    const [r] = replay.results();
    // FS_BASE and GS_BASE: L0 passes both (kvm-2013), L1's page is all zeros: no exit.
    expect(r).toMatchObject({ entries: 1, merges: 1, dirty_checks: 1, no_exit: 2, violations: 0 });
  });

  it("drains at the 512th page logged (a log-full exit), then at the entry only what came after", () => {
    // 513 stores to 513 different pages, then an entry on 0x1000. The 512th
    // store fills the log: a "page-modification log full" exit, a drain (1).
    // The 513th logs one page; the entry finds it: a drain (2), and a merge.
    const stores = Array.from({ length: 513 }, (_, i) => set(0, 0x1000 * (i + 1), 0x10, "r", 1));
    const replay = new Replay({ strategies: [pml], l0: l0Bitmaps("kvm-2013") });
    for (const ev of [...stores, ptr(0, 0x1000), use(0, 1), rd(0, 0x10)]) replay.apply(ev);
    const [r] = replay.results();
    // TSC (0x10) read: L1's bit is 1 on page 0x1000, so it exits and is reflected.
    expect(r).toMatchObject({ dirty_checks: 2, merges: 1, entries: 1, l1_exits: 1, violations: 0 });
  });

  it("passes the conformance helper: 0 violations on random traces, the same results without the fast path", () => {
    const report = checkStrategy(pml, { traces: 40, seed: 7 });
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ ok: true, violations: 0, fastPathChecked: true, traces: 40 });
  });
});

describe("examples/pml.mjs through the CLI", () => {
  it("runs with --strategy-module in one thread, hand-worked", () => {
    const dir = tempDir({ "t.csv": SMALL });
    const r = runCli(
      ["compare", "t.csv", "--strategy-module", PML_FILE, "-s", "merged,merged-dirty,pml", "-f", "csv", "-j", "1"],
      { cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([HEADER, ...SMALL_ROWS]);
  });

  it("gives the same results in a worker thread (a gzip trace is read in the main thread, replayed in a worker)", () => {
    const dir = tempDir({ "t.csv.gz": gzipSync(SMALL) });
    const r = runCli(
      ["compare", "t.csv.gz", "--strategy-module", PML_FILE, "-s", "merged,merged-dirty,pml", "-f", "csv", "-j", "2"],
      { cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual([HEADER, ...SMALL_ROWS]);
  });

  it("gives the same results with several traces on a pool of workers as in one thread", () => {
    const traces = ["traces/bitmap-churn.csv", "traces/multi-vcpu.csv", "traces/linux-kvm.csv"];
    const args = ["compare", ...traces, "--strategy-module", "examples/pml.mjs", "-s", "all", "-f", "csv"];
    const pooled = runCli([...args, "--jobs", "2"]);
    const alone = runCli([...args, "--jobs", "1"]);
    expect(pooled.status).toBe(0);
    expect(pooled.stdout).toBe(alone.stdout);
    // pml is listed after the nine built-ins, and never lets an access past (violations column).
    const pmlRows = lines(alone.stdout).filter((l) => l.split(",")[1] === "pml");
    expect(pmlRows).toHaveLength(3);
    for (const row of pmlRows) expect(row.split(",")[12]).toBe("0");
  });

  it("is listed by strategies --strategy-module after the built-ins", () => {
    const r = runCli(["strategies", "--strategy-module", "examples/pml.mjs"]);
    expect(r.status).toBe(0);
    const names = lines(r.stdout).map((l) => l.split(/\s+/)[0]);
    expect(names.at(-1)).toBe("pml");
    expect(names).toHaveLength(10);
  });

  it("is a plain ES module: no build step, no import of the project's code", () => {
    const source = readFileSync(PML_FILE, "utf8");
    expect(source).not.toMatch(/^\s*import\s/m);
  });
});
