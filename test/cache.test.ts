/**
 * The cache of packed traces (src/io/trace-cache.ts, issue 15 item 2): a
 * CSV's second replay reads its packed form, with results byte-identical to
 * the CSV's; an edited trace or snapshot is never served stale; --no-cache
 * neither reads nor writes; the bound evicts the least recently used entry;
 * racing runs, damaged entries, --lenient and time windows are handled.
 * Every run has NVMX_REPLAY_CACHE_DIR set to a temp folder of its own (the
 * suite's other tests run with NVMX_REPLAY_NO_CACHE, vitest.config.ts).
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, type CliResult, lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";
import { BUNDLED_TRACES, COSTS_TRACE } from "./helpers/traces.js";

const tempDir = useTempDirs();

/** The CLI with the cache on, in `cache`. */
function cached(cache: string, args: readonly string[], env: Record<string, string> = {}): CliResult {
  return runCli(args, { env: { NVMX_REPLAY_NO_CACHE: undefined, NVMX_REPLAY_CACHE_DIR: cache, ...env } });
}

/**
 * The entries in a cache folder (and, separately, anything else left there
 * but the compile cache's folder, which test/compile-cache.test.ts covers:
 * it holds the program's compiled code, not traces).
 */
function entries(cache: string): { entries: string[]; other: string[] } {
  let names: string[] = [];
  try {
    names = readdirSync(cache);
  } catch {
    // no folder: nothing was written
  }
  const other = names.filter((n) => !n.endsWith(".nvmx") && n !== "compile");
  return { entries: names.filter((n) => n.endsWith(".nvmx")), other };
}

/** One strategy's counters from `compare -f csv` output, by counter name. */
function counters(stdout: string, strategy: string): Record<string, number> {
  const [header, ...rows] = lines(stdout);
  const names = (header ?? "").split(",");
  const row = rows.map((r) => r.split(",")).find((cells) => cells[0] === strategy);
  expect(row, stdout).toBeDefined();
  return Object.fromEntries(names.map((n, i) => [n, Number(row?.[i])]));
}

const WROTE = /^cache: wrote the packed form of /m;
const READ = /^cache: read .*'s packed form \(written \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/m;

describe("the cache", () => {
  it.each(BUNDLED_TRACES)(
    "$trace: the second run reads the packed form, byte-identical to the first and to --no-cache",
    ({ trace, options }) => {
      const cache = tempDir();
      const args = ["compare", trace, "-s", "all", "-f", "json", ...options];
      const first = cached(cache, args);
      const second = cached(cache, args);
      const plain = cached(cache, [...args, "--no-cache"]);
      for (const r of [first, second, plain]) expect(r.status, r.stderr).toBe(0);
      expect(first.stderr).toMatch(WROTE);
      expect(second.stderr).toMatch(READ);
      expect(second.stderr).not.toMatch(WROTE);
      expect(plain.stderr).not.toMatch(/cache:/);
      expect(second.stdout).toBe(first.stdout);
      expect(plain.stdout).toBe(first.stdout);
      // gzip traces are cached too, keyed on the compressed file.
      expect(entries(cache).entries).toHaveLength(1);
    },
  );

  it("says nothing with --quiet, and validate reads the entry too", () => {
    const cache = tempDir();
    const quiet = cached(cache, ["compare", "traces/linux-kvm.csv", "-q"]);
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe("");
    expect(entries(cache).entries).toHaveLength(1);
    const validate = cached(cache, ["validate", "traces/linux-kvm.csv"]);
    expect(validate.stderr).toMatch(READ);
    expect(validate.stdout).toBe(runCli(["validate", "traces/linux-kvm.csv"]).stdout);
  });

  /*
   * L0 kvm-2013 passes FS_BASE (0xc0000100); L1's page 0x2000 starts all
   * zeros (passes everything); line 3 sets its write bit of TSC_DEADLINE
   * (0x6e0). Under l1-filter L2 runs with no bitmap, so every access exits
   * to L0, which reflects it only when L1's bit is set (docs/model.md §6):
   *   lines 6, 7 wrmsr FS_BASE: L1's bit 0 -> l0_handled
   *   line 8     rdmsr TSC: L1's bit 0 -> l0_handled
   *   line 9     wrmsr TSC_DEADLINE: L1's bit 1 -> l1_exits
   *   line 10    wrmsr FS_BASE -> l0_handled
   * l1-filter: l0_exits 5, l0_handled 4, l1_exits 1.
   * Edited (same size): line 3's value 1 -> 0, L1 passes TSC_DEADLINE too,
   * so line 9 is l0_handled: l0_exits 5, l0_handled 5, l1_exits 0.
   */
  const TRACE = COSTS_TRACE;
  const EDITED = TRACE.replace("bitmap-set,0,0x6e0,1,", "bitmap-set,0,0x6e0,0,");

  it("does not serve an edited trace (same size, mtime restored) stale", () => {
    const cache = tempDir();
    const dir = tempDir({ "t.csv": TRACE });
    const trace = join(dir, "t.csv");
    const args = ["compare", trace, "-s", "l1-filter", "-f", "csv"];
    const first = cached(cache, args);
    expect(first.stderr).toMatch(WROTE);
    expect(counters(first.stdout, "l1-filter")).toMatchObject({ l0_exits: 5, l0_handled: 4, l1_exits: 1 });
    expect(cached(cache, args).stderr).toMatch(READ);
    // A whole-second mtime, which utimes restores exactly.
    const mtime = new Date(Math.floor(Date.now() / 1000 - 60) * 1000);
    utimesSync(trace, mtime, mtime);
    expect(cached(cache, args).stderr).toMatch(WROTE); // a new ctime (and mtime): a new key
    const before = statSync(trace);
    expect(EDITED.length).toBe(TRACE.length);
    writeFileSync(trace, EDITED);
    utimesSync(trace, mtime, mtime);
    expect(statSync(trace).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(trace).size).toBe(before.size);
    const edited = cached(cache, args);
    expect(edited.status, edited.stderr).toBe(0);
    expect(edited.stderr).not.toMatch(READ);
    expect(edited.stderr).toMatch(WROTE);
    expect(counters(edited.stdout, "l1-filter")).toMatchObject({ l0_exits: 5, l0_handled: 5, l1_exits: 0 });
    // The new entry serves the edited trace.
    const again = cached(cache, args);
    expect(again.stderr).toMatch(READ);
    expect(again.stdout).toBe(edited.stdout);
  });

  /*
   * L1's page 0x1000 is loaded from l1.json; both accesses write FS_BASE,
   * which L0 (kvm-2013) passes. Under l1-filter both exit to L0 (no bitmap
   * for L2) and are reflected when L1's write bit of FS_BASE is set:
   *   l1.json {"default": "pass"}:      l0_exits 2, l0_handled 2, l1_exits 0
   *   l1.json {"default": "intercept"}: l0_exits 2, l0_handled 0, l1_exits 2
   */
  const SNAPSHOT_TRACE = [
    "event,vcpu,msr,value,page,file",
    "bitmap-load,0,,,0x1000,l1.json",
    "bitmap-ptr,0,,,0x1000,",
    "use-bitmap,0,,1,,",
    "wrmsr,0,0xc0000100,0x1,,",
    "wrmsr,0,0xc0000100,0x2,,",
    "",
  ].join("\n");

  it("does not serve a trace stale when a snapshot it loads was edited", () => {
    const cache = tempDir();
    const dir = tempDir({ "t.csv": SNAPSHOT_TRACE, "l1.json": { default: "pass" } });
    const args = ["compare", join(dir, "t.csv"), "-s", "l1-filter", "-f", "csv"];
    const first = cached(cache, args);
    expect(first.stderr).toMatch(WROTE);
    expect(counters(first.stdout, "l1-filter")).toMatchObject({ l0_exits: 2, l0_handled: 2, l1_exits: 0 });
    writeFileSync(join(dir, "l1.json"), `${JSON.stringify({ default: "intercept" })}\n`);
    const edited = cached(cache, args);
    expect(edited.status, edited.stderr).toBe(0);
    expect(edited.stderr).not.toMatch(READ);
    expect(counters(edited.stdout, "l1-filter")).toMatchObject({ l0_exits: 2, l0_handled: 0, l1_exits: 2 });
    const again = cached(cache, args);
    expect(again.stderr).toMatch(READ);
    expect(again.stdout).toBe(edited.stdout);
  });

  it("--no-cache neither reads nor writes", () => {
    const cache = tempDir();
    const args = ["compare", "traces/linux-kvm.csv", "-f", "csv"];
    const none = cached(cache, [...args, "--no-cache"]);
    expect(none.status, none.stderr).toBe(0);
    expect(none.stderr).toBe("");
    expect(entries(cache)).toEqual({ entries: [], other: [] });
    expect(cached(cache, args).stderr).toMatch(WROTE);
    // An entry that a reading run would find damaged and delete: --no-cache leaves it alone.
    const [entry] = entries(cache).entries;
    const path = join(cache, entry as string);
    writeFileSync(path, "not an entry");
    const after = cached(cache, [...args, "--no-cache"]);
    expect(after.stderr).toBe("");
    expect(after.stdout).toBe(none.stdout);
    expect(readFileSync(path, "utf8")).toBe("not an entry");
    // NVMX_REPLAY_NO_CACHE does the same.
    const byEnv = cached(cache, args, { NVMX_REPLAY_NO_CACHE: "1" });
    expect(byEnv.stderr).toBe("");
    expect(readFileSync(path, "utf8")).toBe("not an entry");
  });

  it("evicts the least recently used entry when a write passes the bound", () => {
    const cache = tempDir();
    // Three traces of the same bytes: three files, three keys, entries of (nearly) one size.
    const dir = tempDir({ "a.csv": TRACE, "b.csv": TRACE, "c.csv": TRACE });
    const run = (name: string, env: Record<string, string> = {}) =>
      cached(cache, ["compare", join(dir, name), "-q", "-f", "csv"], env).status;
    const noted = (name: string) => cached(cache, ["compare", join(dir, name), "-f", "csv"]).stderr;
    expect(run("a.csv")).toBe(0);
    const [first] = entries(cache).entries;
    const size = statSync(join(cache, first as string)).size;
    // Room for two entries and a half: the third write must evict one.
    const bound = { NVMX_REPLAY_CACHE_MAX_BYTES: String(Math.floor(size * 2.5)) };
    expect(run("b.csv", bound)).toBe(0);
    expect(run("a.csv", bound)).toBe(0); // a hit: a is now more recently used than b
    expect(entries(cache).entries).toHaveLength(2);
    expect(run("c.csv", bound)).toBe(0);
    expect(entries(cache).entries).toHaveLength(2);
    // b, the least recently used, went; a and c are still read.
    expect(noted("a.csv")).toMatch(READ);
    expect(noted("c.csv")).toMatch(READ);
    expect(noted("b.csv")).toMatch(WROTE);
  });

  it("two racing runs both succeed and leave one valid entry", async () => {
    const cache = tempDir();
    const dir = tempDir();
    const trace = join(dir, "big.csv");
    const gen = runCli(["gen", "linux-mixed", "--events", "200000", "--seed", "3", "-o", trace]);
    expect(gen.status, gen.stderr).toBe(0);
    const args = ["compare", trace, "-f", "json", "-q"];
    const env: NodeJS.ProcessEnv = { ...process.env, NVMX_REPLAY_CACHE_DIR: cache };
    delete env.NVMX_REPLAY_NO_CACHE;
    const start = () =>
      new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
        let stdout = "";
        child.stdout.setEncoding("utf8").on("data", (text: string) => {
          stdout += text;
        });
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout }));
      });
    const [a, b] = await Promise.all([start(), start()]);
    const plain = cached(cache, [...args, "--no-cache"]);
    expect(a.status).toBe(0);
    expect(b.status).toBe(0);
    expect(a.stdout).toBe(plain.stdout);
    expect(b.stdout).toBe(plain.stdout);
    // One entry, no temporary file left, and it is whole: the next run reads it.
    expect(entries(cache)).toMatchObject({ other: [] });
    expect(entries(cache).entries).toHaveLength(1);
    const third = cached(cache, ["compare", trace, "-f", "json"]);
    expect(third.stderr).toMatch(READ);
    expect(third.stdout).toBe(plain.stdout);
  });

  it.each([
    ["a flipped byte in a chunk", (bytes: Buffer) => bytes.fill(0x55, 40, 48)],
    ["a trailer cut off", (bytes: Buffer) => bytes.subarray(0, bytes.length - 3)],
  ])("ignores, deletes and replaces an entry with %s, reading the CSV", (_, damage) => {
    const cache = tempDir();
    const args = ["compare", "traces/multi-vcpu.csv", "-s", "all", "-f", "json"];
    const first = cached(cache, args);
    expect(first.stderr).toMatch(WROTE);
    const [entry] = entries(cache).entries;
    const path = join(cache, entry as string);
    writeFileSync(path, damage(readFileSync(path)));
    const damaged = cached(cache, args);
    expect(damaged.status, damaged.stderr).toBe(0);
    expect(lines(damaged.stderr)).toHaveLength(1);
    expect(damaged.stderr).toMatch(
      /^cache: deleted a damaged entry for traces\/multi-vcpu\.csv \(.+\) and read the CSV; wrote it again$/m,
    );
    expect(damaged.stdout).toBe(first.stdout);
    const again = cached(cache, args);
    expect(again.stderr).toMatch(READ);
    expect(again.stdout).toBe(first.stdout);
  });

  it("writes nothing for a --lenient run that skipped rows", () => {
    const cache = tempDir();
    // Line 8's MSR is not a number: --lenient skips the row.
    const dir = tempDir({ "t.csv": TRACE.replace("rdmsr,0,0x10,,,", "rdmsr,0,0xzz,,,") });
    const args = ["compare", join(dir, "t.csv"), "--lenient", "-s", "l1-filter", "-f", "csv"];
    for (let run = 0; run < 2; run++) {
      const r = cached(cache, args);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/skipped 1 bad row/);
      expect(r.stderr).not.toMatch(/cache:/);
      // Line 8 is gone: lines 6, 7, 10 l0_handled, line 9 l1_exits (as worked above).
      expect(counters(r.stdout, "l1-filter")).toMatchObject({ l0_exits: 4, l0_handled: 3, l1_exits: 1 });
    }
    expect(entries(cache)).toMatchObject({ entries: [] });
    // Without skipped rows, --lenient writes as any run does.
    expect(cached(cache, ["compare", "traces/linux-kvm.csv", "--lenient"]).stderr).toMatch(WROTE);
  });

  /*
   * t every 1 ms; windows of 2 ms hold the events at t 0 and 0.001, then
   * 0.002 and 0.003, then 0.004: three windows. A plain run's entry has no
   * t, so the windowed run must not be served it.
   */
  it("a time-window run after a plain run reads the CSV (the entry has no t), then its own entry", () => {
    const cache = tempDir();
    const rows = ["event,vcpu,msr,value,t", ...[0, 1, 2, 3, 4].map((ms) => `wrmsr,0,0xc0000100,0x1,0.00${ms}`)];
    const dir = tempDir({ "t.csv": `${rows.join("\n")}\n` });
    const trace = join(dir, "t.csv");
    expect(cached(cache, ["compare", trace]).stderr).toMatch(WROTE);
    const args = ["compare", trace, "--window", "2ms", "-s", "merged", "-f", "csv"];
    const plain = cached(cache, [...args, "--no-cache"]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(lines(plain.stdout)).toHaveLength(1 + 3);
    const windowed = cached(cache, args);
    expect(windowed.status, windowed.stderr).toBe(0);
    expect(windowed.stderr).not.toMatch(READ);
    expect(windowed.stdout).toBe(plain.stdout);
    const again = cached(cache, args);
    expect(again.stderr).toMatch(READ);
    expect(again.stdout).toBe(plain.stdout);
    // A plain run is served the entry with t.
    expect(cached(cache, ["compare", trace]).stderr).toMatch(READ);
  });
});
