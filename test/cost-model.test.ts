/**
 * The cost model (docs/model.md §7): the keys `--cost-model` takes, their
 * validation, and est_cycles charging `merge_sparse` to the sparse strategies
 * and `dirty_check` to dirty-bit checks, through the CLI as a user runs it.
 */
import { describe, expect, it } from "vitest";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");

/**
 * L0 kvm-2013 (passes FS_BASE 0xc0000100 and SYSENTER_CS 0x174 both ways).
 * L1's page 0x2000 is all zeros: it passes everything.
 *   line 2-4  page created by bitmap-set (one store), pointer, use 1.
 *   line 5    rdmsr FS_BASE: entry 1, a merge under each strategy (no shadow
 *             yet, so no dirty check). FS_BASE read is allow-listed: vmcs02's
 *             bit = 0 OR 0 -> none everywhere.
 *   line 6    vmexit: other_exits 1, L2 leaves.
 *   line 7    rdmsr SYSENTER_CS: entry 2, no store since line 2.
 *             - sparse rebuilds (merge 2). SYSENTER_CS is not on the
 *               allow-list, so its bit is 1: exit, L1 does not want it -> l0.
 *             - sparse-clean: same pointer, mode and L0, nothing stored: no
 *               rebuild (merges 1); same sparse bitmap -> l0.
 *             - merged-dirty: the shadow matches, so a dirty check (1),
 *               clean: no rebuild (merges 1). Full OR: 0 OR 0 -> none.
 *             - merged: current, no merge (merges 1) -> none.
 * Counters: sparse l0_handled 1, no_exit 1, merges 2; sparse-clean
 * l0_handled 1, no_exit 1, merges 1; merged-dirty no_exit 2, merges 1,
 * dirty_checks 1; merged no_exit 2, merges 1. Each: 2 accesses, 2 entries,
 * 1 other exit.
 */
const TRACE = [
  "event,vcpu,msr,value,page,dir",
  "bitmap-set,0,0xc0000100,0,0x2000,rw",
  "bitmap-ptr,0,,,0x2000,",
  "use-bitmap,0,,1,,",
  "rdmsr,0,0xc0000100,,,",
  "vmexit,0,,,,",
  "rdmsr,0,0x174,,,",
  "",
].join("\n");

const STRATEGIES = "sparse,sparse-clean,merged-dirty,merged";

/** est_cycles per strategy from `compare --format csv` (the last column). */
function estCycles(stdout: string): Record<string, number> {
  const [header, ...rows] = lines(stdout);
  expect(header?.split(",").at(-1)).toBe("est_cycles");
  return Object.fromEntries(rows.map((r) => [r.split(",")[0], Number(r.split(",").at(-1))]));
}

describe("est_cycles (docs/model.md §7)", () => {
  it("charges merge_sparse to the sparse strategies and dirty_check to dirty checks, by default", () => {
    // sparse: 1500 x 1 l0_handled + 700 x 2 merges = 2900.
    // sparse-clean: 1500 x 1 + 700 x 1 = 2200.
    // merged-dirty: 1000 x 1 merge + 300 x 1 dirty check = 1300.
    // merged: 1000 x 1 merge = 1000.
    const dir = tempDir({ "t.csv": TRACE });
    const r = runCli(["compare", "t.csv", "-s", STRATEGIES, "-f", "csv"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(estCycles(r.stdout)).toEqual({ sparse: 2900, "sparse-clean": 2200, "merged-dirty": 1300, merged: 1000 });
  });

  it("takes merge_sparse and dirty_check from --cost-model, leaving merge to the other strategies", () => {
    // l0_exit 2000, merge_sparse 50, dirty_check 1000; merge stays 1000.
    // sparse: 2000 + 2 x 50 = 2100. sparse-clean: 2000 + 50 = 2050.
    // merged-dirty: 1000 + 1000 = 2000. merged: 1000 (merge_sparse not its cost).
    const dir = tempDir({ "t.csv": TRACE, "cost.json": { l0_exit: 2000, merge_sparse: 50, dirty_check: 1000 } });
    const r = runCli(["compare", "t.csv", "-s", STRATEGIES, "-f", "csv", "--cost-model", "cost.json"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(estCycles(r.stdout)).toEqual({ sparse: 2100, "sparse-clean": 2050, "merged-dirty": 2000, merged: 1000 });
  });

  it("echoes every cost, the new keys included, in JSON options", () => {
    const dir = tempDir({ "t.csv": TRACE, "cost.json": { dirty_check: 0 } });
    const r = runCli(["compare", "t.csv", "-f", "json", "--cost-model", "cost.json"], { cwd: dir });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { options: { cost_model: Record<string, number> } };
    expect(out.options.cost_model).toEqual({
      l0_exit: 1500,
      l1_exit: 15000,
      merge: 1000,
      merge_sparse: 700,
      wp_fault: 3000,
      dirty_check: 0,
    });
  });
});

describe("--cost-model validation", () => {
  it.each([
    [{ merge_sparse: -1 }, /merge_sparse/],
    [{ dirty_check: "300" }, /dirty_check/],
    [{ dirty_check: null }, /dirty_check/],
    [{ dirty_checks: 300 }, /dirty_checks/], // the counter's name, not the cost's: a typo
    [{ merge_sprase: 700 }, /merge_sprase/],
  ])("refuses %j in one line, exit 1", (model, mentions) => {
    const dir = tempDir({ "t.csv": TRACE, "cost.json": model });
    const r = runCli(["compare", "t.csv", "--cost-model", "cost.json"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^cost\.json: not a cost model: /);
    expect(r.stderr).toMatch(mentions);
  });
});

describe("help", () => {
  it("compare --help gives every cost's default and where it comes from", () => {
    const r = runCli(["compare", "--help"]);
    expect(r.status).toBe(0);
    const help = r.stdout;
    // docs/model.md §7's defaults.
    for (const [key, cycles] of [
      ["l0_exit", 1500],
      ["l1_exit", 15000],
      ["merge", 1000],
      ["merge_sparse", 700],
      ["wp_fault", 3000],
      ["dirty_check", 300],
    ] as const) {
      expect(help).toMatch(new RegExp(`^  ${key} +${cycles}  \\S`, "m"));
    }
    expect(help).toContain("shaves off around 700 CPU cycles");
    expect(help).toMatch(/dirty_check .*no published figure/);
  });

  it("compare's default strategies are docs/model.md §8's five", () => {
    const r = runCli(["compare", "--help"]);
    expect(r.stdout.replace(/\s+/g, " ")).toContain('(default: "no-bitmap,l1-filter,merged,merged-eager,sparse")');
  });
});
