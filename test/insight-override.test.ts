/**
 * Issue 12, item 6: `--l1-override FILE|PROFILE` replaces the content of
 * every bitmap page the trace stores ("what if L1 were Xen?"). Worked by
 * hand per docs/model.md §5 and §6, through the CLI as a user runs it.
 */
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");

const TSC = "0x10";
const FS_BASE = "0xc0000100";
/** L1 intercepts everything (docs/model.md §4's JSON form). */
const INTERCEPT_ALL = '{"default": "intercept"}';
/** L1 intercepts nothing. */
const PASS_ALL = '{"default": "pass"}';

/**
 * vCPU 0: L1 loads an intercept-everything page at 0x2000, points vmcs12 at
 * it, then L2 reads TSC; L1 clears TSC's read bit in place; L2 reads TSC
 * and FS_BASE. L0 is kvm-2013 (intercepts TSC, passes FS_BASE).
 *
 * As recorded, l1-filter: TSC (L1 wants) -> l1; after the bitmap-set L1 no
 * longer wants TSC reads and L0 does -> l0; FS_BASE (L1's bit still 1) -> l1.
 * l1_exits 2, l0_handled 1.
 * merged: entry 1 merges (merges 1) and protects 0x2000; TSC: shadow 1 (L0
 * and L1), L1 wants -> l1, L2 leaves. The bitmap-set hits the protected page
 * (wp_faults 1, shadow stale). Entry 2 re-merges (merges 2): TSC's shadow bit
 * is L0's 1, L1 does not want it -> l0; FS_BASE's is L1's 1 -> l1.
 * l1_exits 2, l0_handled 1, no_exit 0, entries 2, other_exits 0.
 *
 * With --l1-override pass.json (L1 intercepts nothing), both stores write
 * the pass-everything page. l1-filter: L1 wants none of the three; each goes
 * to L0 (l1-filter has no bitmap): l0_handled 3, l1_exits 0; the store makes
 * L2 leave (other_exits 1), so two entries.
 * merged: entry 1 merges (1); TSC: shadow is L0's 1, L1 does not want ->
 * l0, L2 runs on. The store is an L1 event: L2 leaves first (other_exits 1),
 * then it hits the protected page (wp_faults 1, stale). Entry 2 merges (2):
 * TSC -> l0; FS_BASE: shadow 0 -> none. l0_handled 2, no_exit 1.
 */
const TRACE = [
  "event,vcpu,msr,value,page,dir,file",
  "bitmap-load,0,,,0x2000,,l1.json",
  "bitmap-ptr,0,,,0x2000,,",
  "use-bitmap,0,,1,,,",
  `rdmsr,0,${TSC},,,,`,
  `bitmap-set,0,${TSC},0,0x2000,r,`,
  `rdmsr,0,${TSC},,,,`,
  `rdmsr,0,${FS_BASE},,,,`,
  "",
].join("\n");

type Row = Record<string, string>;

function csvRows(stdout: string): Row[] {
  const [header, ...rows] = lines(stdout);
  const names = (header ?? "").split(",");
  return rows.map((row) => Object.fromEntries(row.split(",").map((v, i) => [names[i], v])));
}

function pick(row: Row | undefined, keys: readonly string[]): Row {
  return Object.fromEntries(keys.map((k) => [k, row?.[k] ?? "missing"]));
}

const KEYS = ["strategy", "l1_exits", "l0_handled", "no_exit", "merges", "wp_faults", "entries", "other_exits"];

function compare(dir: string, ...extra: string[]) {
  return runCli(["compare", "t.csv", "-s", "l1-filter,merged", "-f", "csv", ...extra], { cwd: dir });
}

describe("--l1-override", () => {
  it("replaces what every store writes: the hand-worked counters", () => {
    const dir = tempDir({ "t.csv": TRACE, "l1.json": INTERCEPT_ALL, "pass.json": PASS_ALL });
    const recorded = compare(dir);
    expect(recorded.status).toBe(0);
    expect(csvRows(recorded.stdout).map((r) => pick(r, KEYS))).toEqual([
      pick(
        {
          strategy: "l1-filter",
          l1_exits: "2",
          l0_handled: "1",
          no_exit: "0",
          merges: "0",
          wp_faults: "0",
          entries: "2",
          other_exits: "0",
        },
        KEYS,
      ),
      pick(
        {
          strategy: "merged",
          l1_exits: "2",
          l0_handled: "1",
          no_exit: "0",
          merges: "2",
          wp_faults: "1",
          entries: "2",
          other_exits: "0",
        },
        KEYS,
      ),
    ]);
    const overridden = compare(dir, "--l1-override", "pass.json");
    expect(overridden.stderr).toBe("");
    expect(overridden.status).toBe(0);
    expect(csvRows(overridden.stdout).map((r) => pick(r, KEYS))).toEqual([
      // l1-filter: the store still makes L2 leave (other_exits 1), so 2 entries.
      pick(
        {
          strategy: "l1-filter",
          l1_exits: "0",
          l0_handled: "3",
          no_exit: "0",
          merges: "0",
          wp_faults: "0",
          entries: "2",
          other_exits: "1",
        },
        KEYS,
      ),
      pick(
        {
          strategy: "merged",
          l1_exits: "0",
          l0_handled: "2",
          no_exit: "1",
          merges: "2",
          wp_faults: "1",
          entries: "2",
          other_exits: "1",
        },
        KEYS,
      ),
    ]);
  });

  it("takes an L1 profile by name, the same page as its snapshot file", () => {
    const dir = tempDir({ "t.csv": TRACE, "l1.json": INTERCEPT_ALL });
    const written = runCli(["bitmap", "profile", "xen", "-o", "xen.bin"], { cwd: dir });
    expect(written.status).toBe(0);
    const byName = compare(dir, "--l1-override", "xen");
    const byFile = compare(dir, "--l1-override", "xen.bin");
    expect(byName.status).toBe(0);
    expect(byName.stdout).toBe(byFile.stdout);
    // Xen's L1 passes FS_BASE (and intercepts TSC): under merged the last read completes in L2.
    expect(csvRows(byName.stdout)[1]?.no_exit).toBe("1");
    expect(byName.stdout).not.toBe(compare(dir).stdout);
  });

  it("is named in the table's title and the JSON options", () => {
    const dir = tempDir({ "t.csv": TRACE, "l1.json": INTERCEPT_ALL });
    const table = runCli(["compare", "t.csv", "--l1-override", "xen"], { cwd: dir });
    expect(table.status).toBe(0);
    expect(table.stdout).toContain("L1 pages overridden by xen");
    const json = runCli(["compare", "t.csv", "--l1-override", "xen", "-f", "json"], { cwd: dir });
    expect(JSON.parse(json.stdout).options.l1_override).toBe("xen");
  });

  it("warns when the trace stores no bitmap page (it changed nothing)", () => {
    const dir = tempDir({ "t.csv": ["event,vcpu,msr", `rdmsr,0,${FS_BASE}`, ""].join("\n") });
    const run = runCli(["compare", "t.csv", "--l1-override", "xen", "-s", "l1-filter"], { cwd: dir });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("warning: t.csv: --l1-override xen changed nothing: the trace stores no bitmap page");
  });

  it("warns the same when the trace is read on a second thread (gzip)", () => {
    const trace = ["event,vcpu,msr", `rdmsr,0,${FS_BASE}`, ""].join("\n");
    const dir = tempDir({ "t.csv.gz": gzipSync(trace) });
    const run = runCli(["compare", "t.csv.gz", "--l1-override", "xen", "-s", "l1-filter", "-j", "2"], { cwd: dir });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("--l1-override xen changed nothing");
    // And a gzip trace that does store still gets the override (no warning, the worked counters).
    const stores = runCli(
      ["compare", "t.csv.gz", "-s", "l1-filter", "-f", "csv", "-j", "2", "--l1-override", "pass.json"],
      {
        cwd: tempDir({ "t.csv.gz": gzipSync(TRACE), "l1.json": INTERCEPT_ALL, "pass.json": PASS_ALL }),
      },
    );
    expect(stores.stderr).toBe("");
    expect(csvRows(stores.stdout)[0]?.l0_handled).toBe("3");
  });

  it("refuses to be given with --l1-bitmap or --l1-profile, and names a missing file", () => {
    const dir = tempDir({ "t.csv": TRACE, "l1.json": INTERCEPT_ALL });
    const both = runCli(["compare", "t.csv", "--l1-override", "xen", "--l1-profile", "kvm"], { cwd: dir });
    expect(both.status).toBe(2);
    expect(lines(both.stderr)).toEqual([
      "error: option --l1-override: give --l1-override (replaces the bitmap pages the trace stores) or " +
        "--l1-bitmap/--l1-profile (L1's page for a trace that stores none), not both",
    ]);
    const missing = runCli(["compare", "t.csv", "--l1-override", "nope.bin"], { cwd: dir });
    expect(missing.status).toBe(1);
    expect(lines(missing.stderr)).toHaveLength(1);
    expect(missing.stderr).toBe("nope.bin: no such file\n");
  });
});
