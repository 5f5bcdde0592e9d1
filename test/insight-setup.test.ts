/**
 * Issue 12, item 6: the set-up is visible. Table titles name what was used
 * (L0 profile or the bitmaps that replaced it, L1's bitmap or profile, costs
 * that differ from the defaults); `--cost-model` takes inline JSON; stderr
 * warns when L1's bitmap played no part. Through the CLI, as a user runs it.
 */
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";
import { plainOptions } from "./helpers/report.js";

const tempDir = useTempDirs("each");

const PAGE = 4096;
/** A bitmap page that passes everything (L1 wants no access). */
const ZEROS = new Uint8Array(PAGE);
/** A bitmap page that intercepts everything (L1 wants every access). */
const ONES = new Uint8Array(PAGE).fill(0xff);

const HEADER = "event,vcpu,msr,value,page,dir";
const FS_BASE = "0xc0000100";

/**
 * No bitmap events: vCPU 0 reads and writes FS_BASE. Without --l1-bitmap
 * use_bitmap stays 0 (docs/model.md §5), so L1 wants both accesses: under
 * l1-filter each exits to L0 and is reflected (l1_exits 2, l0_handled 0),
 * each reflected exit leaves L2, so 2 entries. With an L1 page that passes
 * everything, L1 wants neither, and kvm-2013 passes FS_BASE: l0_handled 2,
 * l1_exits 0, one entry (L2 never leaves).
 */
const NO_BITMAP_EVENTS = [HEADER, `rdmsr,0,${FS_BASE},,,`, `wrmsr,0,${FS_BASE},0x1,,`, ""].join("\n");

/**
 * The trace sets vmcs12 up itself: page 0x2000 created all zeros by a
 * bitmap-set that clears FS_BASE's bits, pointer and use_bitmap 1, then one
 * read. L1 (page 0x2000) passes FS_BASE, so l1-filter handles it in L0
 * (l0_handled 1), whatever --l1-bitmap says: the option's page at 0x1000 is
 * never pointed at.
 */
const OWN_PAGES = [
  HEADER,
  `bitmap-set,0,${FS_BASE},0,0x2000,rw`,
  "bitmap-ptr,0,,,0x2000,",
  "use-bitmap,0,,1,,",
  `rdmsr,0,${FS_BASE},,,`,
  "",
].join("\n");

/** CSV rows by strategy: counter name -> number. */
function csvRows(stdout: string): Record<string, Record<string, number>> {
  const [header = "", ...rows] = lines(stdout);
  const names = header.split(",");
  return Object.fromEntries(
    rows.map((row) => {
      const cells = row.split(",");
      return [cells[0], Object.fromEntries(names.slice(1).map((n, i) => [n, Number(cells[i + 1])]))];
    }),
  );
}

/** The first line of a table: the title. */
function titleOf(stdout: string): string {
  return lines(stdout)[0] ?? "";
}

describe("table titles name the set-up", () => {
  it("names the L0 bitmap files that replaced the profile, not the profile", () => {
    const dir = tempDir({ "t.csv": NO_BITMAP_EVENTS, "l0.bin": ZEROS, "legacy.bin": ONES });
    // With none of the set-up options, the title is what it always was (README quotes one).
    const plain = runCli(["compare", "t.csv", "-s", "l1-filter"], { cwd: dir });
    expect(plain.status).toBe(0);
    expect(titleOf(plain.stdout)).toBe("t.csv: 2 events, 1 vCPU, L0 profile kvm-2013");
    const both = runCli(["compare", "t.csv", "-s", "l1-filter", "--l0-bitmap", "l0.bin"], { cwd: dir });
    expect(both.status).toBe(0);
    expect(titleOf(both.stdout)).toBe("t.csv: 2 events, 1 vCPU, L0 bitmap l0.bin");
    const legacy = runCli(["compare", "t.csv", "-s", "l1-filter", "--l0-bitmap-legacy", "legacy.bin"], { cwd: dir });
    expect(legacy.status).toBe(0);
    expect(titleOf(legacy.stdout)).toBe(
      "t.csv: 2 events, 1 vCPU, L0 profile kvm-2013 (legacy mode: L0 bitmap legacy.bin)",
    );
    const two = runCli(
      ["compare", "t.csv", "-s", "l1-filter", "--l0-bitmap", "l0.bin", "--l0-bitmap-legacy", "legacy.bin"],
      { cwd: dir },
    );
    expect(two.status).toBe(0);
    expect(titleOf(two.stdout)).toBe("t.csv: 2 events, 1 vCPU, L0 bitmap l0.bin (long mode), legacy.bin (legacy)");
  });

  it("names L1's bitmap file or profile, in compare and replay", () => {
    const dir = tempDir({ "t.csv": NO_BITMAP_EVENTS, "l1.bin": ZEROS });
    const file = runCli(["compare", "t.csv", "-s", "l1-filter", "--l1-bitmap", "l1.bin"], { cwd: dir });
    expect(file.status).toBe(0);
    expect(titleOf(file.stdout)).toBe("t.csv: 2 events, 1 vCPU, L0 profile kvm-2013, L1 bitmap l1.bin");
    const profile = runCli(["replay", "t.csv", "--l1-profile", "xen", "--l0-profile", "kvm-modern"], { cwd: dir });
    expect(profile.status).toBe(0);
    expect(titleOf(profile.stdout)).toBe("t.csv: 2 events, 1 vCPU, L0 profile kvm-modern, L1 profile xen");
  });

  it("lists the costs that differ from the defaults, in the cost model's key order", () => {
    // l0_exit 1500 is the default, so it is not listed; the others are, in COST_KEYS order.
    const dir = tempDir({
      "t.csv": NO_BITMAP_EVENTS,
      "costs.json": { dirty_check: 450, l0_exit: 1500, merge: 600, l1_exit: 12000 },
    });
    const r = runCli(["compare", "t.csv", "-s", "l1-filter", "--cost-model", "costs.json"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(titleOf(r.stdout)).toBe(
      "t.csv: 2 events, 1 vCPU, L0 profile kvm-2013; costs: l1_exit 12,000, merge 600, dirty_check 450",
    );
    const defaults = runCli(["compare", "t.csv", "-s", "l1-filter", "--cost-model", '{"merge": 1000}'], {
      cwd: dir,
    });
    expect(defaults.status).toBe(0);
    expect(titleOf(defaults.stdout)).toBe("t.csv: 2 events, 1 vCPU, L0 profile kvm-2013");
  });
});

describe("--cost-model takes inline JSON", () => {
  it("parses a value that starts with { as the cost model, the same as a file", () => {
    // No L1 bitmap: both accesses reflected (l1_exits 2), so est_cycles = 2 x l1_exit:
    // 2 x 15,000 = 30,000 by default, 2 x 10,000 = 20,000 with l1_exit 10,000.
    const dir = tempDir({ "t.csv": NO_BITMAP_EVENTS, "c.json": { l1_exit: 10000 } });
    const base = csvRows(runCli(["compare", "t.csv", "-s", "l1-filter", "-f", "csv"], { cwd: dir }).stdout);
    expect(base["l1-filter"]?.est_cycles).toBe(30000);
    const inline = runCli(["compare", "t.csv", "-s", "l1-filter", "-f", "csv", "--cost-model", ' {"l1_exit": 10000}'], {
      cwd: dir,
    });
    expect(inline.status).toBe(0);
    expect(csvRows(inline.stdout)["l1-filter"]?.est_cycles).toBe(20000);
    const file = runCli(["compare", "t.csv", "-s", "l1-filter", "-f", "csv", "--cost-model", "c.json"], { cwd: dir });
    expect(file.stdout).toBe(inline.stdout);
    // JSON echoes the whole model the inline value made.
    const json = runCli(["compare", "t.csv", "-s", "l1-filter", "-f", "json", "--cost-model", '{"l1_exit": 10000}'], {
      cwd: dir,
    });
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).options).toEqual({
      ...plainOptions(["l1-filter"]),
      cost_model: { l0_exit: 1500, l1_exit: 10000, merge: 1000, merge_sparse: 700, wp_fault: 3000, dirty_check: 300 },
    });
  });

  it("names --cost-model in its errors, one line, exit 1", () => {
    const dir = tempDir({ "t.csv": NO_BITMAP_EVENTS });
    // `{"merge": 6x}`: the x is the 12th character, on line 1.
    const syntax = runCli(["compare", "t.csv", "--cost-model", '{"merge": 6x}'], { cwd: dir });
    expect(syntax.status).toBe(1);
    expect(syntax.stdout).toBe("");
    expect(lines(syntax.stderr)).toHaveLength(1);
    expect(syntax.stderr).toMatch(/^--cost-model:1:12: invalid JSON: /);
    const key = runCli(["compare", "t.csv", "--cost-model", '{"merg": 600}'], { cwd: dir });
    expect(key.status).toBe(1);
    expect(key.stderr).toBe('--cost-model: not a cost model: unknown key "merg"\n');
    const value = runCli(["compare", "t.csv", "--cost-model", '{"merge": -1}'], { cwd: dir });
    expect(value.status).toBe(1);
    expect(value.stderr).toBe("--cost-model: not a cost model: at merge: a cost is a number of cycles, 0 or more\n");
  });
});

describe("warnings when L1's bitmap played no part", () => {
  it("says --l1-bitmap changed nothing when the trace pointed vmcs12 at its own pages", () => {
    // The option's page intercepts everything; had it been used, l1_exits would be 1.
    const dir = tempDir({ "t.csv": OWN_PAGES, "l1.bin": ONES });
    const without = runCli(["compare", "t.csv", "-s", "l1-filter", "-f", "csv"], { cwd: dir });
    expect(without.status).toBe(0);
    expect(without.stderr).toBe("");
    expect(csvRows(without.stdout)["l1-filter"]).toMatchObject({ l0_handled: 1, l1_exits: 0 });
    const withIt = runCli(["compare", "t.csv", "-s", "l1-filter", "-f", "csv", "--l1-bitmap", "l1.bin"], { cwd: dir });
    expect(withIt.status).toBe(0);
    expect(withIt.stdout).toBe(without.stdout);
    expect(withIt.stderr).toBe(
      "warning: t.csv: --l1-bitmap l1.bin changed nothing: on every vCPU that ran L2 the trace pointed vmcs12 at " +
        "bitmap pages of its own (bitmap-ptr, use-bitmap) first\n",
    );
    const profile = runCli(["compare", "t.csv", "-s", "l1-filter", "--l1-profile", "kvm"], { cwd: dir });
    expect(profile.status).toBe(0);
    expect(profile.stderr).toMatch(/^warning: t\.csv: --l1-profile kvm changed nothing: /);
  });

  it("says so when the trace set use-bitmap 0 itself, and not when the option's use_bitmap 1 mattered", () => {
    // use-bitmap 0 before the read: L1 wants it whatever the option says (l1_exits 1).
    const off = [HEADER, "use-bitmap,0,,0,,", `rdmsr,0,${FS_BASE},,,`, ""].join("\n");
    // A pointer but no use-bitmap: only the option turns use_bitmap on, so page
    // 0x2000 (all zeros: passes FS_BASE) is consulted: l0_handled 1, not l1_exits 1.
    const noUse = [
      HEADER,
      `bitmap-set,0,${FS_BASE},0,0x2000,rw`,
      "bitmap-ptr,0,,,0x2000,",
      `rdmsr,0,${FS_BASE},,,`,
      "",
    ];
    const dir = tempDir({ "t.csv": off, "u.csv": noUse.join("\n"), "l1.bin": ONES });
    const r = runCli(["compare", "t.csv", "-s", "l1-filter", "-f", "csv", "--l1-bitmap", "l1.bin"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(csvRows(r.stdout)["l1-filter"]).toMatchObject({ l1_exits: 1, l0_handled: 0 });
    expect(r.stderr).toBe(
      "warning: t.csv: --l1-bitmap l1.bin changed nothing: the trace set vmcs12 up itself and every access ran " +
        "with use_bitmap 0, so every access counts as one L1 wants\n",
    );
    const used = runCli(["compare", "u.csv", "-s", "l1-filter", "-f", "csv", "--l1-bitmap", "l1.bin"], { cwd: dir });
    expect(used.status).toBe(0);
    expect(csvRows(used.stdout)["l1-filter"]).toMatchObject({ l1_exits: 0, l0_handled: 1 });
    expect(used.stderr).toBe("");
    // Without the option use_bitmap stays 0: L1 wants the read.
    const bare = runCli(["compare", "u.csv", "-s", "l1-filter", "-f", "csv"], { cwd: dir });
    expect(csvRows(bare.stdout)["l1-filter"]).toMatchObject({ l1_exits: 1, l0_handled: 0 });
  });

  it("counts the option's page as the trace's once a bitmap-load replaced it", () => {
    // The trace points at 0x1000 itself. A bitmap-set there edits the option's
    // page (which intercepts everything), so the option still matters; a
    // bitmap-load of an all-zeros page replaces it wholly.
    const edit = [HEADER, "bitmap-set,0,0x10,1,0x1000,r", "bitmap-ptr,0,,,0x1000,", "use-bitmap,0,,1,,"];
    const load = [`${HEADER},file`, "bitmap-load,0,,,0x1000,,zeros.bin", "bitmap-ptr,0,,,0x1000", "use-bitmap,0,,1"];
    const dir = tempDir({
      "edit.csv": [...edit, `rdmsr,0,${FS_BASE},,,`, ""].join("\n"),
      "load.csv": [...load, `rdmsr,0,${FS_BASE}`, ""].join("\n"),
      "zeros.bin": ZEROS,
      "l1.bin": ONES,
    });
    const edited = runCli(["compare", "edit.csv", "-s", "l1-filter", "-f", "csv", "--l1-bitmap", "l1.bin"], {
      cwd: dir,
    });
    expect(edited.status).toBe(0);
    expect(csvRows(edited.stdout)["l1-filter"]).toMatchObject({ l1_exits: 1 });
    expect(edited.stderr).toBe("");
    const loaded = runCli(["compare", "load.csv", "-s", "l1-filter", "-f", "csv", "--l1-bitmap", "l1.bin"], {
      cwd: dir,
    });
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(csvRows(loaded.stdout)["l1-filter"]).toMatchObject({ l1_exits: 0, l0_handled: 1 });
    expect(loaded.stderr).toMatch(/^warning: load\.csv: --l1-bitmap l1\.bin changed nothing: on every vCPU /);
  });

  it("warns per trace whichever thread replayed it (several traces, a gzip trace)", () => {
    const dir = tempDir({
      "a.csv": NO_BITMAP_EVENTS,
      "b.csv": OWN_PAGES,
      "c.csv.gz": gzipSync(Buffer.from(OWN_PAGES)),
      "l1.bin": ONES,
    });
    const changedNothing = (trace: string) =>
      `warning: ${trace}: --l1-bitmap l1.bin changed nothing: on every vCPU that ran L2 the trace pointed vmcs12 at ` +
      "bitmap pages of its own (bitmap-ptr, use-bitmap) first\n";
    // Several traces go to a worker each (one per core), a gzip trace to the
    // pipeline (a reader here, the strategies in a worker); with one core, all
    // here. a.csv sets nothing up, so the option is what it runs with: no warning.
    const args = ["-s", "l1-filter", "-f", "csv", "--l1-bitmap", "l1.bin"];
    const several = runCli(["compare", "a.csv", "b.csv", ...args], { cwd: dir });
    expect(several.status).toBe(0);
    expect(several.stderr).toBe(changedNothing("b.csv"));
    const gz = runCli(["compare", "c.csv.gz", ...args], { cwd: dir });
    expect(gz.status).toBe(0);
    expect(gz.stderr).toBe(changedNothing("c.csv.gz"));
    expect(csvRows(gz.stdout)["l1-filter"]).toMatchObject({ l0_handled: 1, l1_exits: 0 });
  });
});
