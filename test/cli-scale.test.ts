/**
 * The CLI on what "at scale" adds: several traces at once, gzip, stdin, and a
 * worker-thread pipeline that must give the in-process replay's results.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { findL0Profile } from "../src/engine/profiles.js";
import { DEFAULT_COST_MODEL } from "../src/engine/results.js";
import { STRATEGIES } from "../src/engine/strategies/index.js";
import { replayHere } from "../src/run/replay-trace.js";
import { ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");
const BUNDLED = ["linux-kvm", "bitmap-churn", "multi-vcpu", "edge-cases"].map((t) => `traces/${t}.csv`);
const HEADER =
  "strategy,accesses,l0_exits,l1_exits,l0_handled,no_exit,merges,wp_faults,dirty_checks,entries,other_exits,violations,est_cycles";

// A small trace (hand-checked): L1 passes FS_BASE, L0 (kvm-2013) does too.
// 5 wrmsr FS_BASE: entry, merged none; 6 wrmsr 0x6e0: L1 intercepts -> l1.
const SMALL = [
  "event,vcpu,msr,value,page,file",
  "bitmap-load,0,,,0x10000,l1.json",
  "bitmap-ptr,0,,,0x10000,",
  "use-bitmap,0,,1,,",
  "wrmsr,0,0xc0000100,0x7f00,,",
  "wrmsr,0,0x6e0,0x10,,",
  "",
].join("\n");
const L1 = { default: "intercept", pass: ["0xc0000100-0xc0000102"] };

function json(stdout: string) {
  return JSON.parse(stdout) as { results: Record<string, unknown>[]; traces?: { trace: string }[]; trace?: string };
}

describe("the worker pipeline", () => {
  // Small files replay in one thread; a gzip trace (size unknown) goes through
  // the two-thread pipeline, which must give the same results.
  it("gives the in-process replay's results on every bundled trace, all strategies", async () => {
    const l0 = findL0Profile("kvm-2013")?.bitmaps();
    if (!l0) throw new Error("no kvm-2013 profile");
    const snapshots: Record<string, Uint8Array> = {};
    const entries = readdirSync(join(ROOT, "traces"), { withFileTypes: true });
    for (const name of entries.filter((e) => e.isFile() && !e.name.endsWith(".csv")).map((e) => e.name)) {
      snapshots[name] = readFileSync(join(ROOT, "traces", name));
    }
    for (const trace of BUNDLED) {
      const dir = tempDir({ ...snapshots, "trace.gz": gzipSync(readFileSync(join(ROOT, trace))) });
      const cli = runCli(["compare", "trace.gz", "--strategies", "all", "--format", "json"], { cwd: dir });
      expect(cli.status, cli.stderr).toBe(0);
      const here = await replayHere(join(ROOT, trace), {
        strategies: STRATEGIES.map((s) => s.name),
        l0,
        l1Bitmap: null,
        cost: DEFAULT_COST_MODEL,
        breakdown: false,
      });
      expect(json(cli.stdout).results).toEqual(here.results);
    }
  });

  it("a trace of many batches (L1 edits among them) gives the one-thread results", { timeout: 60_000 }, () => {
    // Over 8 MiB, so the pipeline takes it: about 15 batches of 32K events go
    // through the shared slots and come back to be refilled, with machine
    // events in most of them. --jobs 1 replays it in one thread.
    const dir = tempDir({});
    const gen = runCli(["gen", "bitmap-churn", "--events", "500k", "--vcpus", "3", "-o", "big.csv"], { cwd: dir });
    expect(gen.status, gen.stderr).toBe(0);
    expect(statSync(join(dir, "big.csv")).size).toBeGreaterThan(8 << 20);
    const piped = runCli(["compare", "big.csv", "--strategies", "all", "-f", "json"], { cwd: dir });
    const single = runCli(["compare", "big.csv", "--strategies", "all", "-f", "json", "--jobs", "1"], { cwd: dir });
    expect(piped.status, piped.stderr).toBe(0);
    expect(single.status, single.stderr).toBe(0);
    const results = json(piped.stdout).results;
    expect(results).toEqual(json(single.stdout).results);
    expect(results.map((r) => r.accesses)).toEqual(Array(STRATEGIES.length).fill(results[0]?.accesses));
    expect(Number(results.find((r) => r.strategy === "merged")?.wp_faults)).toBeGreaterThan(100);
    // The L1 edits reach the strategies of docs/model.md §8 through the slots too.
    expect(Number(results.find((r) => r.strategy === "merged-dirty")?.dirty_checks)).toBeGreaterThan(100);
    const merges = (name: string) => Number(results.find((r) => r.strategy === name)?.merges);
    expect(merges("sparse-clean")).toBeLessThan(merges("sparse"));
  });

  it("--jobs 1 replays several traces in one thread, with the same results", () => {
    const pooled = runCli(["compare", ...BUNDLED, "-f", "csv"]);
    const single = runCli(["compare", ...BUNDLED, "-f", "csv", "--jobs", "1"]);
    expect(single.status, single.stderr).toBe(0);
    expect(single.stdout).toBe(pooled.stdout);
    expect(runCli(["compare", BUNDLED[0] as string, "--jobs", "0"]).status).toBe(2);
  });
});

describe("several traces", () => {
  it("CSV has a leading trace column and one row per trace and strategy, in the order given", () => {
    const r = runCli([
      "compare",
      BUNDLED[0] as string,
      BUNDLED[3] as string,
      "--strategies",
      "merged,l1-filter",
      "-f",
      "csv",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`trace,${HEADER}`);
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 2).join(","))).toEqual([
      "traces/linux-kvm.csv,merged",
      "traces/linux-kvm.csv,l1-filter",
      "traces/edge-cases.csv,merged",
      "traces/edge-cases.csv,l1-filter",
    ]);
  });

  it("each trace's rows equal that trace replayed alone", () => {
    const both = runCli(["compare", ...BUNDLED, "-f", "json"]);
    expect(both.status, both.stderr).toBe(0);
    const results = json(both.stdout).results;
    expect(json(both.stdout).traces?.map((t) => t.trace)).toEqual(BUNDLED);
    for (const trace of BUNDLED) {
      const alone = json(runCli(["compare", trace, "-f", "json"]).stdout).results;
      const mine = results.filter((r) => r.trace === trace).map(({ trace: _t, ...rest }) => rest);
      expect(mine).toEqual(alone);
      // The trace key comes first, as the CSV column does.
      expect(Object.keys(results.find((r) => r.trace === trace) ?? {})[0]).toBe("trace");
    }
  });

  it("the table has a section per trace", () => {
    const r = runCli(["compare", BUNDLED[0] as string, BUNDLED[1] as string]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("traces/linux-kvm.csv: 3,963 events");
    expect(r.stdout).toContain("traces/bitmap-churn.csv: 1,925 events");
  });

  it("an error in one trace names it and exits 1", () => {
    const dir = tempDir({ "bad.csv": "event,msr\nrdmsr,0xZZ\n" });
    const r = runCli(["compare", join(ROOT, BUNDLED[0] as string), "bad.csv"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^bad\.csv:2:7: column msr: "0xZZ"/);
    expect(r.stdout).toBe("");
  });

  it("stdin (-) cannot be mixed with files", () => {
    const r = runCli(["compare", "-", BUNDLED[0] as string], { input: SMALL });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("stdin");
  });
});

describe("inputs", () => {
  it("a gzip trace is recognised by its magic bytes, whatever its name", () => {
    const text = readFileSync(join(ROOT, BUNDLED[0] as string));
    const dir = tempDir({
      "trace.data": gzipSync(text),
      "kvm-l1.json": readFileSync(join(ROOT, "traces/kvm-l1.json"), "utf8"),
    });
    const plain = runCli(["compare", BUNDLED[0] as string, "-f", "csv"]);
    const zipped = runCli(["compare", "trace.data", "-f", "csv"], { cwd: dir });
    expect(zipped.status, zipped.stderr).toBe(0);
    expect(zipped.stdout).toBe(plain.stdout);
  });

  it("- reads stdin, plain or gzip, with snapshots from the current folder", () => {
    const dir = tempDir({ "l1.json": L1 });
    for (const input of [SMALL, gzipSync(SMALL)]) {
      const r = runCli(["compare", "-", "--strategies", "merged,l1-filter", "-f", "csv"], { cwd: dir, input });
      expect(r.status, r.stderr).toBe(0);
      // merged: FS_BASE none, 0x6e0 l1 (1 merge); l1-filter: FS_BASE l0, 0x6e0 l1.
      expect(r.stdout).toBe(`${HEADER}\nmerged,2,1,1,0,1,1,0,0,1,0,0,16000\nl1-filter,2,2,1,1,0,0,0,0,1,0,0,16500\n`);
    }
  });

  it("errors in a piped trace name <stdin>", () => {
    const r = runCli(["validate", "-"], { input: "event,msr\nrdmsr,0xZZ\n" });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('<stdin>:2:7: column msr: "0xZZ" is not an MSR index (32 bits, hex 0x… or decimal)');
  });

  it("no progress line when stderr is not a terminal, --quiet or not", () => {
    for (const extra of [[], ["--quiet"]]) {
      const r = runCli(["compare", BUNDLED[0] as string, ...extra]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
    }
  });
});

describe("snapshot paths stay inside the trace's folder", () => {
  const L1_PAGE = { default: "intercept", pass: ["0xc0000100-0xc0000102"] };
  const trace = (file: string) =>
    `event,vcpu,msr,value,page,file\nbitmap-load,0,,,0x1000,${file}\nbitmap-ptr,0,,,0x1000,\nuse-bitmap,0,,1,,\nrdmsr,0,0x10,,,\n`;

  it("refuses ../ and absolute paths and links out, unless --snapshots-dir allows the folder", () => {
    const dir = tempDir({
      "t/a.csv": trace("../s/l1.json"),
      "t/b.csv": trace(join(ROOT, "traces/kvm-l1.json")),
      "s/l1.json": L1_PAGE,
    });
    const up = runCli(["validate", "t/a.csv"], { cwd: dir });
    expect(up.status).toBe(1);
    // "bitmap-load,0,,,0x1000," is 23 characters: file starts at column 24.
    expect(up.stderr.trim()).toMatch(/^t\/a\.csv:2:24: column file: .*outside the trace's folder.*--snapshots-dir$/);
    expect(runCli(["validate", "t/a.csv", "--snapshots-dir", "s"], { cwd: dir }).status).toBe(0);
    const absolute = runCli(["compare", "t/b.csv"], { cwd: dir });
    expect(absolute.status).toBe(1);
    expect(absolute.stderr).toContain("outside the trace's folder");
    expect(runCli(["compare", "t/b.csv", "--snapshots-dir", join(ROOT, "traces")], { cwd: dir }).status).toBe(0);
  });

  it("a link inside the folder that points outside is refused", () => {
    const dir = tempDir({ "t/a.csv": trace("l1.json"), "s/l1.json": L1_PAGE });
    symlinkSync(join(dir, "s/l1.json"), join(dir, "t/l1.json"));
    const r = runCli(["validate", "t/a.csv"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("outside the trace's folder");
  });
});

describe("--lenient", () => {
  // Rows 3-5 are bad; rows 2 and 6 are rdmsr 0x10 with use_bitmap 0, so L1 wants
  // both: under merged each is an entry and an exit to L1 (2 l1_exits, 30000 cycles).
  const TRACE = "event,vcpu,msr,value\nrdmsr,0,0x10\nrdmsr,0,0xZZ\nwrmsr,0,0x10\nbogus\nrdmsr,0,0x10\n";

  it("skips bad rows, reports the first ones on stderr and marks the results partial", () => {
    const dir = tempDir({ "t.csv": TRACE });
    const csv = runCli(["compare", "t.csv", "--lenient", "--strategies", "merged", "-f", "csv"], { cwd: dir });
    expect(csv.status, csv.stderr).toBe(0);
    expect(csv.stdout).toBe(`${HEADER},skipped_rows\nmerged,2,2,2,0,0,0,0,0,2,0,0,30000,3\n`);
    expect(csv.stderr).toContain("skipped 3 bad rows (--lenient)");
    expect(csv.stderr).toContain('t.csv:3:9: column msr: "0xZZ"');
    expect(csv.stderr).toContain("t.csv:5:1: column event:");
    const out = JSON.parse(runCli(["compare", "t.csv", "--lenient", "-f", "json"], { cwd: dir }).stdout);
    expect(out.partial).toBe(true);
    expect(out.skipped_rows).toBe(3);
    const table = runCli(["compare", "t.csv", "--lenient"], { cwd: dir }).stdout;
    expect(table).toContain("PARTIAL: 3 bad rows skipped");
  });

  it("without it the first bad row stops the run, and the normal header never has the column", () => {
    const dir = tempDir({ "t.csv": TRACE, "ok.csv": "event,msr\nrdmsr,0x10\n" });
    const r = runCli(["compare", "t.csv"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^t\.csv:3:9: /);
    expect(runCli(["compare", "ok.csv", "-f", "csv"], { cwd: dir }).stdout.split("\n")[0]).toBe(HEADER);
    const clean = runCli(["compare", "ok.csv", "--lenient", "-f", "json"], { cwd: dir });
    expect(JSON.parse(clean.stdout).partial).toBe(false);
    // Nothing skipped: no --lenient warning; ok.csv has no bitmap rows, so only the one that says so.
    expect(clean.stderr).toBe(
      `warning: ok.csv: no access ran with an L1 bitmap (use_bitmap was 0 for all), so every access counts as one L1 wants; give --l1-bitmap FILE or --l1-profile NAME to replay with one\n`,
    );
  });
});

describe("a killed run", () => {
  it("SIGTERM while gen streams leaves the old file as it was and no temporary file", async () => {
    const dir = tempDir({ "out.csv": "old content\n" });
    const child = spawn(
      process.execPath,
      [join(ROOT, "bin/nvmx-replay.js"), "gen", "linux-mixed", "--events", "200M", "-o", "out.csv"],
      {
        cwd: dir,
        stdio: "ignore",
      },
    );
    // Wait for the temporary file to appear, then kill the run.
    for (let i = 0; i < 200 && !readdirSync(dir).some((f) => f.endsWith(".tmp")); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(true);
    child.kill("SIGTERM");
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    expect(code === null ? signal : code).toBe("SIGTERM");
    expect(readFileSync(join(dir, "out.csv"), "utf8")).toBe("old content\n");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("a closed stdout pipe (| head) ends quietly with status 0", () => {
    // Enough output (import writes a row per line) that the pipe closes mid-write.
    const line = " CPU 0/KVM-7289  [003] d..1.  1234.567890: kvm_msr: msr_write c0000100 = 0x7f00\n";
    const dir = tempDir({ "run.txt": line.repeat(100_000) });
    const r = spawnSync(
      "bash",
      [
        "-c",
        `set -o pipefail; "${process.execPath}" "${join(ROOT, "bin/nvmx-replay.js")}" import run.txt 2>err.txt | head -1`,
      ],
      {
        cwd: dir,
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect(readFileSync(join(dir, "err.txt"), "utf8")).not.toMatch(/EPIPE|Error/);
  });
});
