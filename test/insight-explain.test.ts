/**
 * Issue 12, item 5: why an access went where it did. `explain TRACE --line N`
 * shows one access under every strategy; `compare --violations` lists each
 * strategy's first violations with their lines. Small inline traces, every
 * expected value worked by hand from docs/model.md §6 (the comments walk the
 * events), through the CLI as a user runs it (on the built dist/).
 *
 * L0 is the default profile, kvm-2013: it passes FS_BASE (0xC0000100) in
 * both directions, so L0 never wants an FS_BASE access here; it intercepts
 * TSC (0x10). An MSR outside 0x0-0x1FFF and 0xC0000000-0xC0001FFF (0x2000)
 * has no bit: every access to it exits, and both L1 and L0 want it.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Delivery } from "../src/engine/strategy.js";
import { VIOLATION_LIMIT, violationKind } from "../src/engine/violations.js";
import { lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");

const HEADER = "event,vcpu,msr,value,page,dir";
const FS_BASE = "0xc0000100";

/**
 * Merged and merged-stale part after an in-place edit on the same vCPU.
 *   2: bitmap-set creates page 0x2000 all zeros (FS_BASE's bits stay 0: L1 passes all)
 *   3, 4: vCPU 0 points at it, use_bitmap 1
 *   5: wrmsr FS_BASE: an entry under every strategy; merged and merged-stale
 *      merge: vmcs02 = L0 (FS_BASE 0) OR L1 (0) = 0, so it completes in L2
 *      (none); neither L1 nor L0 wants it: no violation.
 *   6: L1 sets FS_BASE's write bit (an L1 event: L2 leaves vCPU 0 first).
 *      merged: the page was write-protected at its merge, so a fault marks the
 *      shadow stale; merged-stale tracks nothing.
 *   7: wrmsr FS_BASE: an entry. merged re-merges (stale): bit 1, L1 wants it
 *      (its bit is 1): reflected to L1. merged-stale keeps its shadow (same
 *      pointer, mode, L0 overrides): bit 0, none while L1 wants it: a
 *      violation, "L1 wants it, delivered to none". l1-filter: no bitmap,
 *      L1 wants it: l1.
 */
const IN_PLACE = [
  HEADER,
  `bitmap-set,0,${FS_BASE},0,0x2000,rw`,
  "bitmap-ptr,0,,,0x2000,",
  "use-bitmap,0,,1,,",
  `wrmsr,0,${FS_BASE},0x1,,`,
  `bitmap-set,0,${FS_BASE},1,0x2000,w`,
  `wrmsr,0,${FS_BASE},0x2,,`,
  "",
].join("\n");

/**
 * The cross-vCPU rule: vCPU 0's L1 edits the page L2 runs on on vCPU 1.
 *   2-6: page 0x2000 all zeros; vCPUs 0 and 1 point at it, use_bitmap 1
 *   7: vmentry on vCPU 1: L2 runs there; merged's vmcs02 has FS_BASE's bits 0
 *   8: vCPU 0's L1 sets FS_BASE's write bit while L2 runs on vCPU 1 with
 *      bitmap_ptr 0x2000: the SDM leaves that undefined, so until vCPU 1's
 *      next entry accesses to that bit there are not judged.
 *   9: wrmsr FS_BASE on vCPU 1, L2 still running (no entry): merged's vmcs02
 *      still has bit 0, so it completes in L2 (none) while L1 now wants it:
 *      delivered wrongly, but not judged. l1-filter: l1, no violation.
 */
const CROSS_VCPU = [
  HEADER,
  `bitmap-set,0,${FS_BASE},0,0x2000,rw`,
  "bitmap-ptr,0,,,0x2000,",
  "use-bitmap,0,,1,,",
  "bitmap-ptr,1,,,0x2000,",
  "use-bitmap,1,,1,,",
  "vmentry,1,,,,",
  `bitmap-set,0,${FS_BASE},1,0x2000,w`,
  `wrmsr,1,${FS_BASE},0x1,,`,
  "",
].join("\n");

/** One explain run as JSON. */
interface ExplainJson {
  trace: string;
  line: number;
  access: { event: string; vcpu: number; msr: string; name: string | null; dir: string };
  vmcs12: { use_bitmap: number; bitmap_ptr: string | null; mode: string };
  l1: { bit: number | null; wants: boolean; why: string };
  l0: { bit: number | null; overrides: number; wants: boolean; why: string };
  strategies: {
    strategy: string;
    entry: boolean;
    merge: boolean;
    vmcs02: string;
    vmcs02_bit: number | null;
    delivered: string;
    rule: string;
    verdict: string;
    what: string | null;
  }[];
}

function explainJson(dir: string, trace: string, line: number, strategies: string): ExplainJson {
  const r = runCli(["explain", trace, "--line", String(line), "-s", strategies, "-f", "json"], { cwd: dir });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as ExplainJson;
}

function byStrategy(json: ExplainJson) {
  return Object.fromEntries(json.strategies.map((s) => [s.strategy, s]));
}

describe("explain", () => {
  it("shows merged re-merging and merged-stale's violation after an in-place edit (table)", () => {
    const dir = tempDir({ "t.csv": IN_PLACE });
    const r = runCli(["explain", "t.csv", "--line", "7", "-s", "l1-filter,merged,merged-stale"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe("t.csv line 7: wrmsr on vCPU 0, MSR 0xc0000100 (FS_BASE), write");
    expect(out[1]).toBe("L0 profile kvm-2013");
    // The facts: vmcs12 as lines 3-4 left it; L1's bit set at line 6; kvm-2013 passes FS_BASE.
    expect(r.stdout).toMatch(/vmcs12 \(vCPU 0\) +use_bitmap 1, bitmap_ptr 0x2000, mode longmode/);
    expect(r.stdout).toMatch(/L1's bit +1 \(intercept\) in the page at 0x2000: L1 wants it/);
    expect(r.stdout).toMatch(
      /L0's bit +0 \(pass\) in profile kvm-2013's long-mode bitmap, no l0-set on vCPU 0: L0 does not want it/,
    );
    const row = (name: string) => out.find((l) => l.startsWith(`${name} `))?.replace(/ {2,}/g, " | ");
    expect(row("l1-filter")).toBe("l1-filter | yes, no merge | no bitmap | l1 | l1-filter: L1 wants it | no violation");
    expect(row("merged")).toBe(
      "merged | yes, merges | 1 | l1 | vmcs02's bit is 1, L1 wants it: reflected to L1 | no violation",
    );
    expect(row("merged-stale")).toBe(
      "merged-stale | yes, no merge | 0 | none | use_bitmap = 1 and vmcs02's bit is 0: completes in L2 | " +
        "violation: L1 wants it, delivered to none",
    );
  });

  it("gives the same in JSON, and the first access (line 5) goes nowhere under both", () => {
    const dir = tempDir({ "t.csv": IN_PLACE });
    const seven = explainJson(dir, "t.csv", 7, "merged,merged-stale");
    expect(seven.access).toEqual({ event: "wrmsr", vcpu: 0, msr: "0xc0000100", name: "FS_BASE", dir: "w" });
    expect(seven.vmcs12).toEqual({ use_bitmap: 1, bitmap_ptr: "0x2000", mode: "longmode" });
    expect(seven.l1).toMatchObject({ bit: 1, wants: true });
    expect(seven.l0).toMatchObject({ bit: 0, overrides: 0, wants: false });
    const s7 = byStrategy(seven);
    expect(s7.merged).toMatchObject({
      entry: true,
      merge: true,
      vmcs02_bit: 1,
      delivered: "l1",
      verdict: "no violation",
    });
    expect(s7["merged-stale"]).toMatchObject({
      entry: true,
      merge: false,
      vmcs02_bit: 0,
      delivered: "none",
      verdict: "violation",
      what: "L1 wants it, delivered to none",
    });
    // Line 5: the first entry merges under both; L1's bit and L0's are 0: none, and rightly so.
    const five = byStrategy(explainJson(dir, "t.csv", 5, "merged,merged-stale"));
    for (const name of ["merged", "merged-stale"]) {
      expect(five[name]).toMatchObject({
        entry: true,
        merge: true,
        vmcs02_bit: 0,
        delivered: "none",
        verdict: "no violation",
        what: null,
      });
    }
  });

  it("does not judge an access to a bit another vCPU's L1 changed while L2 ran here", () => {
    const dir = tempDir({ "t.csv": CROSS_VCPU });
    const json = explainJson(dir, "t.csv", 9, "l1-filter,merged,merged-stale");
    expect(json.l1).toMatchObject({ bit: 1, wants: true });
    const s = byStrategy(json);
    for (const name of ["merged", "merged-stale"]) {
      expect(s[name]).toMatchObject({
        entry: false, // L2 runs on vCPU 1 since line 7
        vmcs02_bit: 0,
        delivered: "none",
        verdict: "not judged",
        what: "L1 wants it, delivered to none",
      });
    }
    expect(s["l1-filter"]).toMatchObject({
      entry: false,
      vmcs02: "no bitmap",
      delivered: "l1",
      verdict: "no violation",
    });
    // And compare counts no violation for it.
    const v = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "--violations"], { cwd: dir });
    expect(v.status).toBe(0);
    expect(r(v.stdout)).toContain("no violations: merged, merged-stale");
  });

  it("use_bitmap 0: L2 runs with no bitmap, every access exits and L1 wants it", () => {
    // Line 2: no bitmap event, so use_bitmap is still 0 (docs/model.md §5): L1 wants every access; an
    // entry under both, which merges nothing; vmcs02 has no bitmap: exits, reflected to L1.
    const dir = tempDir({ "t.csv": `${HEADER}\nrdmsr,0,${FS_BASE},,,\n` });
    const json = explainJson(dir, "t.csv", 2, "l1-filter,merged");
    expect(json.vmcs12).toEqual({ use_bitmap: 0, bitmap_ptr: null, mode: "longmode" });
    expect(json.l1).toMatchObject({ bit: null, wants: true });
    expect(json.l1.why).toBe("not consulted: use_bitmap = 0, L1 runs L2 with no bitmap: L1 wants it");
    expect(byStrategy(json).merged).toMatchObject({
      entry: true,
      merge: false,
      vmcs02: "no bitmap",
      vmcs02_bit: null,
      delivered: "l1",
      rule: "use_bitmap = 0 (L2 runs with no bitmap): exits, L1 wants it: reflected to L1",
      verdict: "no violation",
    });
  });

  it("an MSR with no bit always exits, even through a merged bitmap of zeros", () => {
    // Page 0x2000 all zeros, use_bitmap 1; MSR 0x2000 has no bit: L1 and L0 both want it.
    // merged: an entry that merges, then the access exits (no bit) and is reflected.
    const trace = [
      HEADER,
      `bitmap-set,0,${FS_BASE},0,0x2000,rw`,
      "bitmap-ptr,0,,,0x2000,",
      "use-bitmap,0,,1,,",
      "rdmsr,0,0x2000,,,",
      "",
    ].join("\n");
    const dir = tempDir({ "t.csv": trace });
    const json = explainJson(dir, "t.csv", 5, "merged,sparse");
    expect(json.l1).toMatchObject({ bit: null, wants: true });
    expect(json.l0).toMatchObject({ bit: null, wants: true });
    for (const s of json.strategies) {
      expect(s).toMatchObject({
        entry: true,
        merge: true,
        vmcs02: "bitmap",
        vmcs02_bit: null,
        delivered: "l1",
        rule: "the MSR has no bit: exits, L1 wants it: reflected to L1",
        verdict: "no violation",
      });
    }
  });

  it("says what a line is when it is not an access, in one line (exit 1)", () => {
    const trace = ["# a comment", HEADER, "", `bitmap-set,0,${FS_BASE},0,0x2000,rw`, `rdmsr,0,${FS_BASE},,,`, ""].join(
      "\n",
    );
    const dir = tempDir({ "t.csv": trace });
    const cases: [number, string][] = [
      [1, "t.csv:1: line 1 is a comment, not an access (rdmsr or wrmsr)"],
      [2, "t.csv:2: line 2 is the header (it names the columns), not an access (rdmsr or wrmsr)"],
      [3, "t.csv:3: line 3 is blank, not an access (rdmsr or wrmsr)"],
      [4, "t.csv:4: line 4 is a bitmap-set row, not an access (rdmsr or wrmsr)"],
      // 5 lines, each ended by a newline.
      [6, "t.csv: line 6 is past the end: the trace has 5 lines"],
    ];
    for (const [line, message] of cases) {
      const r = runCli(["explain", "t.csv", "--line", String(line)], { cwd: dir });
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`${message}\n`);
      expect(r.status).toBe(1);
    }
    // A line number that is none, and CSV: usage errors (exit 2).
    const zero = runCli(["explain", "t.csv", "--line", "0"], { cwd: dir });
    expect(zero.stderr).toBe("error: option --line: expected a line number of the trace (1 or more)\n");
    expect(zero.status).toBe(2);
    const csv = runCli(["explain", "t.csv", "--line", "5", "-f", "csv"], { cwd: dir });
    expect(csv.status).toBe(2);
  });
});

/** The table's violations section, from its heading on. */
function r(stdout: string): string {
  const at = stdout.indexOf("violations (the first");
  return at < 0 ? "" : stdout.slice(at);
}

describe("compare --violations", () => {
  it("names the line, vCPU, MSR and what went wrong, in table, CSV and JSON", () => {
    const dir = tempDir({ "t.csv": IN_PLACE });
    // Worked above: merged-stale's one violation is line 7's write to FS_BASE on vCPU 0.
    const table = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "--violations"], { cwd: dir });
    expect(table.status).toBe(0);
    expect(lines(r(table.stdout))).toEqual([
      `violations (the first ${VIOLATION_LIMIT} per strategy, in trace order):`,
      "merged-stale: 1 violation",
      "  line  vcpu  msr         name     dir  what",
      "     7     0  0xc0000100  FS_BASE  w    L1 wants it, delivered to none",
      "no violations: merged",
    ]);
    const csv = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "--violations", "-f", "csv"], { cwd: dir });
    expect(csv.status).toBe(0);
    expect(lines(csv.stdout)).toEqual([
      "strategy,line,vcpu,msr,name,dir,what",
      'merged-stale,7,0,0xc0000100,FS_BASE,w,"L1 wants it, delivered to none"',
    ]);
    const json = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "--violations", "-f", "json"], { cwd: dir });
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).violations).toEqual({
      merged: { total: 0, first: [] },
      "merged-stale": {
        total: 1,
        first: [
          { line: 7, vcpu: 0, msr: "0xc0000100", name: "FS_BASE", dir: "w", what: "L1 wants it, delivered to none" },
        ],
      },
    });
    // Without --violations nothing changes: no section, no key.
    const plain = runCli(["compare", "t.csv", "-s", "merged,merged-stale", "-f", "json"], { cwd: dir });
    expect(JSON.parse(plain.stdout).violations).toBeUndefined();
  });

  it("lists at most 20 per strategy, in trace order, the same from a worker (multi-vcpu.csv)", () => {
    // traces/multi-vcpu.csv: line 170, vCPU 0's L1 sets KERNEL_GS_BASE's write bit on the page all
    // four vCPUs share, while L2 runs on vCPUs 1-3 (entered at lines 159, 164, 167). Lines 172-174
    // (their writes before re-entry) are not judged. merged-stale never re-merges (same pointer,
    // mode, L0 overrides), so the writes after each vCPU's next entry complete in L2 while L1 wants
    // them: line 177 (vCPU 1, entered at 176), 180 (vCPU 2, 179), 183 (vCPU 3, 182), 184 (vCPU 0,
    // entered at 171). The counter has 97 in all.
    const expected = [
      "merged-stale,177,1,0xc0000102,KERNEL_GS_BASE,w",
      "merged-stale,180,2,0xc0000102,KERNEL_GS_BASE,w",
      "merged-stale,183,3,0xc0000102,KERNEL_GS_BASE,w",
      "merged-stale,184,0,0xc0000102,KERNEL_GS_BASE,w",
    ];
    const args = ["-s", "merged,merged-stale", "--violations", "-f", "csv"];
    const here = runCli(["compare", "traces/multi-vcpu.csv", ...args]);
    expect(here.status).toBe(0);
    const rows = lines(here.stdout);
    expect(rows[0]).toBe("strategy,line,vcpu,msr,name,dir,what");
    expect(rows.slice(1, 5).map((row) => row.split(",").slice(0, 6).join(","))).toEqual(expected);
    expect(rows.length - 1).toBe(VIOLATION_LIMIT);
    const numbers = rows.slice(1).map((row) => Number(row.split(",")[1]));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    const json = runCli(["compare", "traces/multi-vcpu.csv", "-s", "merged-stale", "--violations", "-f", "json"]);
    expect(JSON.parse(json.stdout).violations["merged-stale"].total).toBe(97);
    // Gzip is replayed on two threads (the batches, with their lines, in shared memory): the same rows.
    const dir = tempDir({});
    copyFileSync(join(ROOT, "traces/multi-vcpu-l1.json"), join(dir, "multi-vcpu-l1.json"));
    writeFileSync(join(dir, "multi-vcpu.csv.gz"), gzipSync(readFileSync(join(ROOT, "traces/multi-vcpu.csv"))));
    const piped = runCli(["compare", "multi-vcpu.csv.gz", ...args, "-j", "2"], { cwd: dir });
    expect(piped.status).toBe(0);
    expect(piped.stdout).toBe(here.stdout);
  });

  it("CSV: a leading trace column with several traces; refused with --cycles", () => {
    const dir = tempDir({ "a.csv": IN_PLACE, "b.csv": CROSS_VCPU });
    const csv = runCli(["compare", "a.csv", "b.csv", "-s", "merged-stale", "--violations", "-f", "csv"], { cwd: dir });
    expect(csv.status).toBe(0);
    expect(lines(csv.stdout)).toEqual([
      "trace,strategy,line,vcpu,msr,name,dir,what",
      'a.csv,merged-stale,7,0,0xc0000100,FS_BASE,w,"L1 wants it, delivered to none"',
    ]);
    const both = runCli(["compare", "a.csv", "--violations", "--cycles", "-f", "csv"], { cwd: dir });
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/^error: option --format: with --format csv, --violations is a CSV of its own/);
  });
});

describe("violationKind", () => {
  it("names the first way that applies, in docs/model.md §6's order", () => {
    // L1 and L0 both want it and it completed in L2: L1's wish comes first.
    expect(violationKind(true, true, Delivery.none)).toBe("L1 wants it, delivered to none");
    expect(violationKind(true, false, Delivery.l0)).toBe("L1 wants it, delivered to l0");
    expect(violationKind(false, true, Delivery.l1)).toBe("L1 does not want it, delivered to l1");
    expect(violationKind(false, true, Delivery.none)).toBe("L0 wants it, delivered to none");
    // Delivered as wanted: nothing went wrong.
    expect(violationKind(true, true, Delivery.l1)).toBeNull();
    expect(violationKind(false, true, Delivery.l0)).toBeNull();
    expect(violationKind(false, false, Delivery.none)).toBeNull();
  });
});
