/**
 * The CLI as a process: `node bin/nvmx-replay.js …` (the built dist/), its
 * exit statuses, stdout/stderr split, formats, colours and `-o`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");

/** docs/model.md §7, in the order of docs/model.md §7. */
const RESULT_FIELDS = [
  "strategy",
  "accesses",
  "l0_exits",
  "l1_exits",
  "l0_handled",
  "no_exit",
  "merges",
  "wp_faults",
  "dirty_checks",
  "entries",
  "other_exits",
  "violations",
  "est_cycles",
];
const CSV_HEADER = RESULT_FIELDS.join(",");
/** docs/model.md §8: every strategy, in the order `strategies` lists them and `all` runs them. */
const ALL_STRATEGIES = [
  "no-bitmap",
  "l1-filter",
  "merged",
  "merged-eager",
  "merged-stale",
  "sparse",
  "sparse-clean",
  "merged-dirty",
  "merged-eager-x2apic",
];
const ALL_PROFILES = ["kvm-2013", "kvm-modern", "intercept-all", "pass-all"];
const ESC = "\u001b[";
const RED = "\u001b[31m";

/**
 * L1 edits its bitmap page in place (default profile kvm-2013, which passes
 * FS_BASE 0xc0000100 through in long mode).
 *
 *   line 2  bitmap-set: page 0x2000 is first touched, so it is all zeros (L1
 *           passes every MSR); clearing FS_BASE leaves it so. No vCPU runs L2,
 *           no page is protected yet.
 *   line 3  bitmap-ptr 0x2000, line 4 use-bitmap 1.
 *   line 5  rdmsr FS_BASE: entry #1. L1's bit 0, L0's bit 0: neither wants it.
 *           - no-bitmap: l1 (L1 wants everything), L2 stops.
 *           - l1-filter: L1 does not want it -> l0 (l0_handled), L2 goes on.
 *           - merged family: merge #1, shadow = 0 OR 0 = 0 -> none. merged
 *             write-protects 0x2000.
 *   line 6  bitmap-set FS_BASE read = 1 (L1 now wants RDMSR of FS_BASE).
 *           L1 event: every strategy whose L2 still runs records an exit
 *           (other_exits: l1-filter and the merged family, not no-bitmap).
 *           merged: the page is protected -> wp_faults 1, shadow marked stale.
 *   line 7  rdmsr FS_BASE: entry #2. L1 wants it now.
 *           - no-bitmap: l1.  l1-filter: l1.
 *           - merged: stale -> merge #2, shadow bit 1 -> l1.
 *           - merged-eager: merge #2 (every entry), shadow bit 1 -> l1.
 *           - merged-stale: pointer, mode, L0 unchanged -> no merge, old shadow
 *             bit 0 -> none while L1 wants it: a violation.
 *
 * The four of docs/model.md §8 (nothing write-protected, wp_faults 0):
 *   line 5  entry #1, merge #1 under each (no shadow yet, so merged-dirty
 *           checks nothing). FS_BASE read is on the sparse allow-list and
 *           outside the x2APIC range: vmcs02's bit = L0 0 OR L1 0 = 0 -> none.
 *   line 6  L1 event: other_exits 1 under each. The store makes the page
 *           dirty (L1 stored to it since the shadows were built).
 *   line 7  entry #2. sparse and merged-eager-x2apic rebuild (merge #2) as on
 *           every entry; sparse-clean rebuilds because L1 stored to the page
 *           (merge #2); merged-dirty's shadow matches GPA, mode and L0, so it
 *           checks the dirty bit (dirty_checks 1), finds it set, merge #2.
 *           Bit 1 -> exit, L1 wants it -> l1 under each.
 *
 * est_cycles = 1500 l0_handled + 15000 l1_exits + 1000 merges (700 for
 * sparse and sparse-clean) + 3000 wp_faults + 300 dirty_checks:
 *   no-bitmap 2*15000 = 30000; l1-filter 1500+15000 = 16500;
 *   merged 15000+2000+3000 = 20000; merged-eager 15000+2000 = 17000;
 *   merged-stale 1000; sparse and sparse-clean 15000+2*700 = 16400;
 *   merged-dirty 15000+2000+300 = 17300; merged-eager-x2apic 17000.
 */
const STALE_TRACE = [
  "event,vcpu,msr,value,page,dir",
  "bitmap-set,0,0xc0000100,0,0x2000,rw",
  "bitmap-ptr,0,,,0x2000,",
  "use-bitmap,0,,1,,",
  "rdmsr,0,0xc0000100,,,",
  "bitmap-set,0,0xc0000100,1,0x2000,r",
  "rdmsr,0,0xc0000100,,,",
  "",
].join("\n");

const STALE_ROWS: Record<string, string> = {
  //            accesses,l0_exits,l1_exits,l0_handled,no_exit,merges,wp_faults,dirty_checks,entries,other_exits,violations,est_cycles
  "no-bitmap": "no-bitmap,2,2,2,0,0,0,0,0,2,0,0,30000",
  "l1-filter": "l1-filter,2,2,1,1,0,0,0,0,2,1,0,16500",
  merged: "merged,2,1,1,0,1,2,1,0,2,1,0,20000",
  "merged-eager": "merged-eager,2,1,1,0,1,2,0,0,2,1,0,17000",
  "merged-stale": "merged-stale,2,0,0,0,2,1,0,0,2,1,1,1000",
  sparse: "sparse,2,1,1,0,1,2,0,0,2,1,0,16400",
  "sparse-clean": "sparse-clean,2,1,1,0,1,2,0,0,2,1,0,16400",
  "merged-dirty": "merged-dirty,2,1,1,0,1,2,0,1,2,1,0,17300",
  "merged-eager-x2apic": "merged-eager-x2apic,2,1,1,0,1,2,0,0,2,1,0,17000",
};

/**
 * Two vCPUs, "use MSR bitmaps" left at 0, so L1 wants every access and every
 * strategy reflects both accesses to L1:
 *   rdmsr v0 -> entry 1, l1 (L2 stops on v0)
 *   wrmsr v1 -> entry 2, l1
 *   vmexit v0 -> not running: entry 3, then other_exits 1
 *   vmentry v0 -> entry 4
 * Every strategy: accesses 2, l0_exits 2, l1_exits 2, entries 4,
 * other_exits 1, est_cycles 2*15000 = 30000, the rest 0.
 */
const BASIC_TRACE = [
  "event,vcpu,msr,value",
  "rdmsr,0,0x10,",
  "wrmsr,1,0xc0000100,0x1234",
  "vmexit,0,,HLT",
  "vmentry,0,,",
  "",
].join("\n");

/**
 * Under `merged` with kvm-2013 (which intercepts TSC 0x10 and passes FS_BASE):
 *   line 2-4: L1's page 0x3000 all zeros (passes everything), in use.
 *   rdmsr TSC        -> entry 1, merge 1; shadow = L0 1 OR L1 0 = 1: exits,
 *                       L1 does not want it -> l0
 *   wrmsr FS_BASE    -> shadow 0 OR 0 = 0 -> none
 *   rdmsr TSC        -> l0
 *   rdmsr 0x40000000 -> no bit: exits, L1 wants it -> l1
 * accesses 4, l0_exits 3, l1_exits 1, l0_handled 2, no_exit 1, merges 1,
 * wp_faults 0, entries 1, other_exits 0, violations 0,
 * est_cycles = 2*1500 + 15000 + 1000 = 19000.
 * Per MSR: 0x10 r: 2 accesses, 2 l0_exits; 0x40000000 r: 1, 1 l0_exit,
 * 1 l1_exit; 0xc0000100 w: 1, 1 no_exit.
 */
const REPLAY_TRACE = [
  "event,msr,value,page,dir",
  "bitmap-set,0x10,0,0x3000,rw",
  "bitmap-ptr,,,0x3000,",
  "use-bitmap,,1,,",
  "rdmsr,0x10,,,",
  "wrmsr,0xc0000100,5,,",
  "rdmsr,0x10,,,",
  "rdmsr,0x40000000,,,",
  "",
].join("\n");

/** A bad MSR on line 4, column 7 (after a comment line). */
const BAD_TRACE = ["event,msr", "rdmsr,0x10", "# a comment still counts as a line", "rdmsr,0xZZ", ""].join("\n");

function expectOneLine(stderr: string): void {
  expect(stderr.endsWith("\n")).toBe(true);
  expect(lines(stderr)).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
}

function parseJson(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

describe("help and version", () => {
  it("--help exits 0 and shows example lines", () => {
    const r = runCli(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\s+\$ nvmx-replay \S+/m);
  });

  it.each(["compare", "replay", "validate", "strategies", "profiles"])(
    "%s --help exits 0 and shows an example of itself",
    (command) => {
      const r = runCli([command, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain(`Usage: nvmx-replay ${command}`);
      expect(r.stdout).toMatch(new RegExp(`^\\s+\\$ nvmx-replay ${command}\\b`, "m"));
    },
  );

  it.each(["--version", "-V"])("%s prints the package version", (flag) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const r = runCli([flag]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.stderr).toBe("");
  });
});

describe("usage errors exit 2", () => {
  it.each(["compare", "replay", "validate"])("%s: an unknown option", (command) => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const r = runCli([command, "t.csv", "--bogus"], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("--bogus");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it.each(["compare", "replay", "validate"])("%s: a missing trace argument", (command) => {
    const r = runCli([command]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/trace/);
  });

  it.each([
    [["compare", "t.csv", "--format", "xml"], "--format"],
    [["replay", "t.csv", "--format", "xml"], "--format"],
    [["validate", "t.csv", "--format", "csv"], "--format"],
    [["compare", "t.csv", "--strategies", "merged,bogus"], "--strategies"],
    [["replay", "t.csv", "--strategy", "bogus"], "--strategy"],
    [["compare", "t.csv", "--l0-profile", "bogus"], "--l0-profile"],
  ])("%j names the option %s", (args, option) => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const r = runCli(args, { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(option);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("an unknown command and an extra argument", () => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const unknown = runCli(["frobnicate", "t.csv"], { cwd: dir });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("frobnicate");
    // replay takes one trace (compare takes several).
    const extra = runCli(["replay", "t.csv", "t.csv"], { cwd: dir });
    expect(extra.status).toBe(2);
    expect(extra.stdout).toBe("");
  });

  it("--strategies merged,bogus names the bad strategy", () => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const r = runCli(["compare", "t.csv", "--strategies", "merged,bogus"], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("bogus");
  });

  // Contract: "Errors are ONE line on stderr, no stack trace" -- usage errors included.
  it("a usage error is one line on stderr", () => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    for (const args of [
      ["compare", "t.csv", "--bogus"],
      ["compare"],
      ["compare", "t.csv", "--format", "xml"],
      ["compare", "t.csv", "--strategies", "merged,bogus"],
    ]) {
      const r = runCli(args, { cwd: dir });
      expect(r.status, args.join(" ")).toBe(2);
      expect(lines(r.stderr), args.join(" ")).toHaveLength(1);
    }
  });
});

describe("input errors exit 1 with one line", () => {
  it("a missing trace file is named", () => {
    const dir = tempDir();
    const missing = join(dir, "nope.csv");
    const r = runCli(["compare", missing]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expectOneLine(r.stderr);
    expect(r.stderr.startsWith(`${missing}:`)).toBe(true);
  });

  it("a missing --l1-bitmap file is named", () => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const r = runCli(["compare", "t.csv", "--l1-bitmap", "nope.bin"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expectOneLine(r.stderr);
    expect(r.stderr.startsWith("nope.bin:")).toBe(true);
  });

  it.each(["compare", "replay", "validate"])("%s: a bad MSR names file:line:column and the column", (command) => {
    const dir = tempDir({ "bad.csv": BAD_TRACE });
    const path = join(dir, "bad.csv");
    const r = runCli([command, path]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expectOneLine(r.stderr);
    // "rdmsr,0xZZ": the msr field starts at column 7 of line 4.
    expect(r.stderr.startsWith(`${path}:4:7: `)).toBe(true);
    expect(r.stderr).toContain("column msr");
    expect(r.stderr).toContain("0xZZ");
  });

  it("the path is shown as the user wrote it", () => {
    const dir = tempDir({ "bad.csv": BAD_TRACE });
    const r = runCli(["compare", "bad.csv"], { cwd: dir });
    expect(r.status).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/^bad\.csv:4:7: column msr: /);
  });

  it("a failing nested entry names the line of the event that needed it", () => {
    // use-bitmap 1 with no bitmap-ptr: the rdmsr on line 4 needs an entry, which fails.
    const dir = tempDir({ "t.csv": "event,msr,value\nuse-bitmap,,1\n# nothing points at a page\nrdmsr,0x10,\n" });
    for (const command of ["compare", "validate"]) {
      const r = runCli([command, "t.csv"], { cwd: dir });
      expect(r.status).toBe(1);
      expectOneLine(r.stderr);
      expect(r.stderr).toMatch(/^t\.csv:4:/);
    }
  });
});

describe("CSV output", () => {
  it("has the exact header and one row per strategy, in the order asked", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "--strategies", "merged,no-bitmap", "--format", "csv"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual([CSV_HEADER, STALE_ROWS.merged, STALE_ROWS["no-bitmap"]]);
  });

  it("--strategies all gives all nine in the order of docs/model.md §8, with the counters worked out by hand", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "--strategies", "all", "--format", "csv"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([CSV_HEADER, ...ALL_STRATEGIES.map((s) => STALE_ROWS[s])]);
  });

  it("without --strategies, compare runs docs/model.md §8's default five, in order", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "--format", "csv"], { cwd: dir });
    expect(r.status).toBe(0);
    const defaults = ["no-bitmap", "l1-filter", "merged", "merged-eager", "sparse"];
    expect(lines(r.stdout)).toEqual([CSV_HEADER, ...defaults.map((s) => STALE_ROWS[s])]);
  });

  it("replay --format csv has the same header and its one strategy", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["replay", "t.csv", "--strategy", "merged-stale", "--format", "csv"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([CSV_HEADER, STALE_ROWS["merged-stale"]]);
  });

  it("the basic two-vCPU trace: every strategy reflects both accesses", () => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const r = runCli(["compare", "t.csv", "-s", "all", "-f", "csv"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([CSV_HEADER, ...ALL_STRATEGIES.map((s) => `${s},2,2,2,0,0,0,0,0,4,1,0,30000`)]);
  });
});

describe("JSON output", () => {
  it("compare: schema 2, trace, options.strategies, results with the 13 fields of docs/model.md §7 in order", () => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const r = runCli(["compare", "t.csv", "--strategies", "merged,no-bitmap", "--format", "json"], { cwd: dir });
    expect(r.status).toBe(0);
    // BASIC_TRACE never sets use-bitmap: stderr says every access counts as one L1 wants, and nothing else.
    expect(r.stderr).toBe(
      `warning: t.csv: no access ran with an L1 bitmap (use_bitmap was 0 for all), so every access counts as one L1 wants; give --l1-bitmap FILE or --l1-profile NAME to replay with one\n`,
    );
    const out = parseJson(r.stdout);
    expect(out.schema).toBe(2);
    expect(out.trace).toBe("t.csv");
    expect(out.events).toBe(4);
    expect(out.vcpus).toBe(2);
    const options = out.options as Record<string, unknown>;
    expect(options.strategies).toEqual(["merged", "no-bitmap"]);
    const results = out.results as Record<string, unknown>[];
    expect(results).toHaveLength(2);
    for (const result of results) {
      expect(Object.keys(result)).toEqual(RESULT_FIELDS);
      for (const field of RESULT_FIELDS.slice(1)) expect(typeof result[field]).toBe("number");
    }
    expect(results.map((x) => x.strategy)).toEqual(["merged", "no-bitmap"]);
    // See BASIC_TRACE.
    expect(results[0]).toEqual({
      strategy: "merged",
      accesses: 2,
      l0_exits: 2,
      l1_exits: 2,
      l0_handled: 0,
      no_exit: 0,
      merges: 0,
      wp_faults: 0,
      dirty_checks: 0,
      entries: 4,
      other_exits: 1,
      violations: 0,
      est_cycles: 30000,
    });
  });

  it("replay: results and an msrs breakdown with msr, name, dir and counts", () => {
    const dir = tempDir({ "t.csv": REPLAY_TRACE });
    const r = runCli(["replay", "t.csv", "--format", "json"], { cwd: dir });
    expect(r.status).toBe(0);
    const out = parseJson(r.stdout);
    expect(out.schema).toBe(2);
    expect(out.trace).toBe("t.csv");
    expect((out.options as Record<string, unknown>).strategies).toEqual(["merged"]);
    const results = out.results as Record<string, unknown>[];
    expect(results).toHaveLength(1);
    expect(Object.keys(results[0] ?? {})).toEqual(RESULT_FIELDS);
    // See REPLAY_TRACE.
    expect(results[0]).toEqual({
      strategy: "merged",
      accesses: 4,
      l0_exits: 3,
      l1_exits: 1,
      l0_handled: 2,
      no_exit: 1,
      merges: 1,
      wp_faults: 0,
      dirty_checks: 0,
      entries: 1,
      other_exits: 0,
      violations: 0,
      est_cycles: 19000,
    });
    const msrs = out.msrs as Record<string, unknown>[];
    expect(Array.isArray(msrs)).toBe(true);
    expect(msrs).toHaveLength(3);
    for (const m of msrs) {
      expect(Object.keys(m)).toEqual(
        expect.arrayContaining(["msr", "name", "dir", "accesses", "l0_exits", "l1_exits", "no_exit"]),
      );
      expect(m.name === null || typeof m.name === "string").toBe(true);
    }
    const find = (msr: string, dirName: string) => msrs.find((m) => m.msr === msr && m.dir === dirName);
    expect(find("0x10", "r")).toMatchObject({ name: "TSC", accesses: 2, l0_exits: 2, l1_exits: 0, no_exit: 0 });
    expect(find("0x40000000", "r")).toMatchObject({ accesses: 1, l0_exits: 1, l1_exits: 1, no_exit: 0 });
    expect(find("0xc0000100", "w")).toMatchObject({
      name: "FS_BASE",
      accesses: 1,
      l0_exits: 0,
      l1_exits: 0,
      no_exit: 1,
    });
    // Busiest first.
    expect(msrs[0]).toMatchObject({ msr: "0x10", dir: "r" });
  });

  it("compare JSON has no msrs array", () => {
    const dir = tempDir({ "t.csv": BASIC_TRACE });
    const out = parseJson(runCli(["compare", "t.csv", "-f", "json"], { cwd: dir }).stdout);
    expect(out).not.toHaveProperty("msrs");
  });
});

describe("colour", () => {
  const violationsLine = (stdout: string) =>
    // biome-ignore lint/suspicious/noControlCharactersInRegex: an ANSI colour sequence starts with ESC
    lines(stdout).find((l) => l.replace(/\u001b\[[0-9;]*m/g, "").startsWith("violations "));

  it("FORCE_COLOR=1 colours merged-stale's violations red", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "--strategies", "merged,merged-stale"], {
      cwd: dir,
      env: { FORCE_COLOR: "1" },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(ESC);
    expect(violationsLine(r.stdout)).toContain(RED);
  });

  it("FORCE_COLOR=1 on replay colours the violations red", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["replay", "t.csv", "--strategy", "merged-stale"], { cwd: dir, env: { FORCE_COLOR: "1" } });
    expect(r.status).toBe(0);
    expect(violationsLine(r.stdout)).toContain(RED);
  });

  it("no red on the violations row when there are none", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "--strategies", "merged,merged-eager"], {
      cwd: dir,
      env: { FORCE_COLOR: "1" },
    });
    expect(r.status).toBe(0);
    expect(violationsLine(r.stdout)).toBeDefined();
    expect(violationsLine(r.stdout)).not.toContain(RED);
  });

  it("NO_COLOR=1 wins over FORCE_COLOR=1", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    for (const command of [
      ["compare", "t.csv", "-s", "all"],
      ["replay", "t.csv", "-s", "merged-stale"],
    ]) {
      const r = runCli(command, { cwd: dir, env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("merged-stale");
      expect(r.stdout).not.toContain("\u001b");
    }
  });

  it("an empty NO_COLOR does not disable colour", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "-s", "merged-stale"], { cwd: dir, env: { FORCE_COLOR: "1", NO_COLOR: "" } });
    expect(r.status).toBe(0);
    expect(violationsLine(r.stdout)).toContain(RED);
  });

  it("no colour on a pipe without FORCE_COLOR", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "-s", "all"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("merged-stale");
    expect(r.stdout).not.toContain("\u001b");
  });

  it.each([
    ["compare", "csv"],
    ["compare", "json"],
    ["replay", "csv"],
    ["replay", "json"],
  ])("%s --format %s never contains escapes, even with FORCE_COLOR=1", (command, format) => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const strategyFlag = command === "compare" ? ["--strategies", "all"] : ["--strategy", "merged-stale"];
    const r = runCli([command, "t.csv", ...strategyFlag, "--format", format], { cwd: dir, env: { FORCE_COLOR: "1" } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("merged-stale");
    expect(r.stdout).not.toContain("\u001b");
  });
});

describe("-o FILE", () => {
  const expectedCsv = `${[CSV_HEADER, STALE_ROWS.merged, STALE_ROWS["merged-stale"]].join("\n")}\n`;

  it("writes the file and prints nothing on stdout", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "-f", "csv", "-o", "out.csv"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("");
    expect(readFileSync(join(dir, "out.csv"), "utf8")).toBe(expectedCsv);
    expect(readdirSync(dir).sort()).toEqual(["out.csv", "t.csv"]);
  });

  it("replaces an existing file on success", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE, "out.csv": "old content\n" });
    const r = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "-f", "csv", "--output", "out.csv"], {
      cwd: dir,
    });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, "out.csv"), "utf8")).toBe(expectedCsv);
  });

  it("on an error leaves the old file untouched and no temp file behind", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE, "bad.csv": BAD_TRACE });
    const good = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "-f", "csv", "-o", "out.csv"], { cwd: dir });
    expect(good.status).toBe(0);
    const before = readFileSync(join(dir, "out.csv"), "utf8");
    expect(before).toBe(expectedCsv);

    const bad = runCli(["compare", "bad.csv", "-f", "csv", "-o", "out.csv"], { cwd: dir });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
    expectOneLine(bad.stderr);
    expect(bad.stderr).toMatch(/^bad\.csv:4:7: /);
    expect(readFileSync(join(dir, "out.csv"), "utf8")).toBe(before);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["bad.csv", "out.csv", "t.csv"]);
  });

  it("on an error creates no file where there was none", () => {
    const dir = tempDir({ "bad.csv": BAD_TRACE });
    const r = runCli(["replay", "bad.csv", "-f", "json", "-o", "out.json"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(existsSync(join(dir, "out.json"))).toBe(false);
    expect(readdirSync(dir)).toEqual(["bad.csv"]);
  });

  it("into a folder that does not exist: exit 1, one line naming it, nothing left", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "-f", "csv", "-o", "missing/out.csv"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expectOneLine(r.stderr);
    expect(r.stderr).toContain("missing/out.csv");
    expect(readdirSync(dir)).toEqual(["t.csv"]);
  });

  it.each(["t.csv", "./t.csv"])("-o %s, the trace itself, is refused and the trace is unchanged", (target) => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    for (const command of ["compare", "replay", "validate"]) {
      const r = runCli([command, "t.csv", "-o", target], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expectOneLine(r.stderr);
      expect(readFileSync(join(dir, "t.csv"), "utf8")).toBe(STALE_TRACE);
      expect(readdirSync(dir)).toEqual(["t.csv"]);
    }
  });

  it("the trace named by an absolute path is refused too", () => {
    const dir = tempDir({ "t.csv": STALE_TRACE });
    const r = runCli(["compare", "t.csv", "-f", "csv", "-o", join(dir, "t.csv")], { cwd: dir });
    expect(r.status).toBe(1);
    expect(readFileSync(join(dir, "t.csv"), "utf8")).toBe(STALE_TRACE);
  });
});

describe("strategies and profiles", () => {
  it("strategies lists one line per strategy, with the names of docs/model.md", () => {
    const r = runCli(["strategies"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const names = lines(r.stdout).map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(ALL_STRATEGIES);
    for (const l of lines(r.stdout)) expect(l.trim().split(/\s+/).length).toBeGreaterThan(1);
  });

  it("each strategy's line says who does it today and what it models (docs/model.md §8)", () => {
    const byName = new Map(lines(runCli(["strategies"]).stdout).map((l) => [l.split(/\s+/)[0], l]));
    expect(byName.get("sparse")).toMatch(/KVM since 2021.*nested_vmx_prepare_msr_bitmap\(\)/);
    expect(byName.get("sparse-clean")).toMatch(/enlightened L1.*clean field/);
    expect(byName.get("merged-dirty")).toMatch(/53761.*dirty bits/);
    expect(byName.get("merged-eager-x2apic")).toMatch(/Xen.*vvmx\.c/);
    expect(byName.get("merged-eager")).toMatch(/VirtualBox/);
    expect(byName.get("l1-filter")).toMatch(/KVM before 2015.*nested_vmx_exit_handled_msr\(\)/);
    expect(byName.get("merged")).toMatch(/53761/);
  });

  it("profiles lists one line per profile, with the names of docs/model.md", () => {
    const r = runCli(["profiles"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const rows = lines(r.stdout).map((l) => l.split(/\s+/));
    // The L0 profiles of docs/model.md §5, then the L1 profiles (issue 4), each marked.
    expect(
      rows
        .filter((w) => w[1] === "L0")
        .map((w) => w[0])
        .sort(),
    ).toEqual([...ALL_PROFILES].sort());
    expect(rows.filter((w) => w[1] === "L1").map((w) => w[0])).toEqual(["kvm", "xen", "virtualbox"]);
    expect(rows).toHaveLength(ALL_PROFILES.length + 3);
  });

  it("the lists print no escapes when NO_COLOR=1", () => {
    for (const command of ["strategies", "profiles"]) {
      const r = runCli([command], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
      expect(r.status).toBe(0);
      expect(r.stdout).not.toContain("\u001b");
    }
  });
});

describe("validate", () => {
  /**
   * Event counts by hand: bitmap-set 1, bitmap-ptr 1, use-bitmap 1,
   * l1-mode 1, rdmsr 3, wrmsr 1, vmexit 1, vmentry 1, l0-set 1,
   * bitmap-load 1: 12 events on vCPUs 0 and 1, pages 0x3000 and 0x4000.
   * Entries are fine: vCPU 0 points at 0x3000, which bitmap-set wrote;
   * vCPU 1 keeps use_bitmap 0.
   */
  const VALIDATE_TRACE = [
    "event,vcpu,msr,value,page,dir,file",
    "bitmap-set,0,0x10,0,0x3000,rw,",
    "bitmap-ptr,0,,,0x3000,,",
    "use-bitmap,0,,1,,,",
    "l1-mode,0,,legacy,,,",
    "rdmsr,0,0x10,,,,",
    "wrmsr,0,0x10,7,,,",
    "vmexit,0,,,,,",
    "vmentry,0,,,,,",
    "l0-set,0,0x10,0,,r,",
    "rdmsr,1,0x10,,,,",
    "bitmap-load,1,,,0x4000,,l1.json",
    "rdmsr,1,0x10,,,,",
    "",
  ].join("\n");
  const COUNTS: Record<string, number> = {
    rdmsr: 3,
    wrmsr: 1,
    vmexit: 1,
    vmentry: 1,
    "bitmap-load": 1,
    "bitmap-set": 1,
    "bitmap-ptr": 1,
    "use-bitmap": 1,
    "l1-mode": 1,
    "l0-set": 1,
  };

  it("a good trace exits 0 and reports its event counts (table)", () => {
    const dir = tempDir({ "t.csv": VALIDATE_TRACE, "l1.json": { default: "intercept" } });
    const r = runCli(["validate", "t.csv"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/\b12 events\b/);
    const table = new Map<string, number>();
    for (const l of lines(r.stdout)) {
      const m = /^([a-z0-9-]+)\s+([\d,]+)$/.exec(l);
      if (m) table.set(m[1] as string, Number((m[2] as string).replaceAll(",", "")));
    }
    for (const [event, n] of Object.entries(COUNTS)) expect(table.get(event), event).toBe(n);
  });

  it("a good trace exits 0 and reports its event counts (json)", () => {
    const dir = tempDir({ "t.csv": VALIDATE_TRACE, "l1.json": { default: "intercept" } });
    const r = runCli(["validate", "t.csv", "--format", "json"], { cwd: dir });
    expect(r.status).toBe(0);
    const out = parseJson(r.stdout);
    expect(out.schema).toBe(2);
    expect(out.events).toBe(12);
    expect(out.by_event).toEqual(COUNTS);
    expect(out.vcpus).toEqual([0, 1]);
    expect(out.pages).toEqual(["0x3000", "0x4000"]);
  });

  it("a bad trace exits 1 with one line", () => {
    const dir = tempDir({ "bad.csv": BAD_TRACE });
    const r = runCli(["validate", "bad.csv"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/^bad\.csv:4:7: column msr/);
  });

  it("a snapshot the trace names but that is missing is an error", () => {
    const dir = tempDir({ "t.csv": VALIDATE_TRACE });
    const r = runCli(["validate", "t.csv"], { cwd: dir });
    expect(r.status).toBe(1);
    expectOneLine(r.stderr);
    // bitmap-load is on line 12; "bitmap-load,1,,,0x4000,," puts file at column 25.
    expect(r.stderr).toMatch(/^t\.csv:12:25: column file: /);
    expect(r.stderr).toContain("l1.json");
  });
});
