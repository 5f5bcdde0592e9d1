/**
 * A packed trace read in columns (src/io/packed/reader.ts blockInColumns,
 * src/engine/front.ts queueColumns) gives what the CSV it was packed from
 * gives, byte for byte, over several blocks: the results, the violations and
 * the lines they name, a failing entry's error, --lenient's skipped rows and
 * --window's windows. The trace is made here by a small seeded generator
 * that knows, from the way it builds the trace, which line holds which event
 * and which accesses merged-stale must get wrong (docs/model.md §6): those
 * expectations come from the generator, not from the tool.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { BLOCK_EVENTS } from "../src/io/packed/format.js";
import { type CliResult, lines, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("all");

const FS_BASE = 0xc000_0100;
const TSC = 0x10;
const SYSENTER_CS = 0x174;
const TSC_DEADLINE = 0x6e0;
/**
 * MSRs the random accesses use: both range ends, a neighbour past each
 * (no bit), paravirtual MSRs with no bit, and MSRs L0 (kvm-2013) passes
 * (GS_BASE, KERNEL_GS_BASE, SYSENTER_CS) or intercepts. FS_BASE writes are
 * left to the planned ones on vCPU 3 (VICTIM), so that merged-stale's
 * violations are known in advance.
 */
const POOL = [
  0x0,
  0x1,
  TSC,
  0x48,
  SYSENTER_CS,
  TSC_DEADLINE,
  0x80b,
  0x830,
  0x1fff,
  0x2000,
  0x4000_0000,
  0x4b56_4d01,
  0xc000_0000,
  0xc000_0080,
  0xc000_0101,
  0xc000_0102,
  0xc000_1fff,
  0xc000_2000,
  0xffff_ffff,
];
/** vCPUs 0-2 get L1 and L0 events at random; vCPU 3 only the planned ones. */
const VICTIM = 3;
/** vCPU 5: use-bitmap 1 without a valid page (the failing traces only). */
const BROKEN = 5;
/** Pages of vCPUs 0-2 (two each, A and B, for bitmap-ptr to switch between) and vCPU 3's. */
const pageA = (v: number) => 0x10_0000 + v * 0x1000;
const pageB = (v: number) => 0x20_0000 + v * 0x1000;
const VICTIM_PAGE = 0x30_0000;
/** Where vCPU 5 points in the failing trace whose page nothing wrote. */
const UNWRITTEN_PAGE = 0x77_7000;

const hex = (n: number) => `0x${n.toString(16)}`;

/** mulberry32: a small seeded generator, so that every run makes the same trace. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b_79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Shape {
  readonly events: number;
  /** A failing vCPU 5: "no-ptr" (no bitmap-ptr at all) or "unwritten" (a pointer to a page nothing wrote). */
  readonly broken?: "no-ptr" | "unwritten";
  /** The event index of vCPU 5's set-up (use-bitmap 1), BROKEN_SETUP_AT unless given. */
  readonly setupAt?: number;
}

interface Made {
  readonly text: string;
  /** The CSV's lines: lines[n - 1] is line n. */
  readonly lines: readonly string[];
  readonly events: number;
  /** The lines of the FS_BASE writes on vCPU 3 after L1 armed their interception: merged-stale's violations. */
  readonly staleLines: readonly number[];
  /** The lines of vCPU 5's accesses, each of which fails its nested entry. */
  readonly brokenLines: readonly number[];
}

const B = BLOCK_EVENTS;

/**
 * Event indexes (from 0) of the planned FS_BASE writes on vCPU 3. The first
 * comes before L1 arms the intercept (at ARM_AT): L1 does not want it and L0
 * passes it, so it completes in L2 under every strategy, rightly. The rest
 * come after: in block 2, at the last event of block 2 and the first of
 * block 3, before and after block 3's first escape, at the last event of
 * block 3 and in block 4; 21 of them, one more than the 20 violations
 * --violations lists.
 */
const ARM_AT = B + 500;
const FS_WRITES = [
  500,
  ...[4000, 14_000, 24_000, 34_000, 44_000, 54_000].map((k) => B + k),
  2 * B - 1,
  2 * B,
  2 * B + 1000,
  2 * B + 2000,
  2 * B + 30_000,
  2 * B + 40_000,
  3 * B - 1,
  3 * B,
  3 * B + 1000,
  3 * B + 5000,
  3 * B + 10_000,
  3 * B + 12_000,
  3 * B + 14_000,
  3 * B + 16_000,
  3 * B + 18_000,
];
/** Event indexes of vCPU 5's accesses (failing traces): the first in the middle of block 2, in a long run of L2 events. */
const BROKEN_AT = [B + 30_000, B + 40_000, 2 * B + 6000];
/** Where vCPU 5's vmcs12 gets its use_bitmap = 1 (block 1). */
const BROKEN_SETUP_AT = 30_000;
/** No random L1 or L0 event this close to a planned event: each sits inside a run of L2 events. */
const QUIET = 2000;

/**
 * Comment or blank lines to write before the event of an index, so that
 * each way a block's lines are worked out carries on into the next block:
 * block 1 has escapes (runs longer than a line step's 255 lines; beside
 * them a run of exactly 254, a step of 255, the largest that is no escape)
 * and its last 999 events come after its last one; block 2 has no comment or blank
 * line at all, so no escape (its last line is block 1's plus its steps);
 * block 3 has escapes, the last on its last event, and block 4 goes on from
 * there by steps alone. Blocks 1 and 3 also get small random gaps.
 */
const GAPS = new Map<number, { count: number; kind: "comment" | "blank" }>([
  [1000, { count: 300, kind: "comment" }],
  [5000, { count: 254, kind: "blank" }],
  [5001, { count: 255, kind: "comment" }],
  [B - 1000, { count: 300, kind: "blank" }],
  [2 * B + 30_000, { count: 300, kind: "comment" }],
  [3 * B - 1, { count: 256, kind: "comment" }],
]);
/** The blocks (from 0) that get small random gaps too. */
const GAPPY = new Set([0, 2]);

/**
 * A trace of `events` events over vCPUs 0-3 (and 5 when broken), L0
 * kvm-2013 (the default profile). Every L1 page starts as zeros with the
 * write of TSC_DEADLINE intercepted; the random L1 events of vCPUs 0-2 only
 * ever change bits L0 intercepts anyway (TSC) and L0's own SYSENTER_CS, so no
 * stale shadow of theirs lets an access through. On vCPU 3, L1 arms the
 * interception of FS_BASE writes (which L0 passes) once, after leaving L2:
 * merged-stale, which does not track L1's stores, keeps its first merge and
 * lets every later FS_BASE write complete in L2, a violation each (and no
 * other strategy has any).
 */
function makeTrace(seed: number, shape: Shape): Made {
  const rand = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const out: string[] = [];
  let events = 0;
  const row = (text: string): number => {
    out.push(text);
    events++;
    return out.length;
  };
  const staleLines: number[] = [];
  const brokenLines: number[] = [];
  const setupAt = shape.setupAt ?? BROKEN_SETUP_AT;
  const planned = new Set([...FS_WRITES, ARM_AT, ...(shape.broken ? [...BROKEN_AT, setupAt] : [])]);
  const quiet = (i: number) => [...planned].some((p) => Math.abs(p - i) <= QUIET);

  out.push("# made by test/packed-columns.test.ts", "", "event,vcpu,msr,value,page,dir");
  for (let v = 0; v < VICTIM; v++) {
    for (const page of [pageA(v), pageB(v)]) row(`bitmap-set,${v},${hex(TSC_DEADLINE)},1,${hex(page)},w`);
    row(`bitmap-ptr,${v},,,${hex(pageA(v))},`);
    row(`use-bitmap,${v},,1,,`);
  }
  row(`bitmap-set,${VICTIM},${hex(TSC_DEADLINE)},1,${hex(VICTIM_PAGE)},w`);
  row(`bitmap-ptr,${VICTIM},,,${hex(VICTIM_PAGE)},`);
  row(`use-bitmap,${VICTIM},,1,,`);

  while (events < shape.events) {
    const i = events;
    const gap = GAPS.get(i);
    if (gap) for (let k = 0; k < gap.count; k++) out.push(gap.kind === "comment" ? `# gap ${k}` : "");
    else if (GAPPY.has(Math.floor(i / B)) && rand() < 1 / 300) {
      // A few comment or blank lines: line steps of 2 to 5.
      const n = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < n; k++) out.push(rand() < 0.5 ? "#" : "");
    }
    if (FS_WRITES.includes(i)) {
      const line = row(`wrmsr,${VICTIM},${hex(FS_BASE)},${hex(i)},,`);
      if (i > ARM_AT) staleLines.push(line);
    } else if (i === ARM_AT) {
      // L1 takes an exit from L2 on vCPU 3, arms the intercept on its page, re-enters.
      row(`vmexit,${VICTIM},,,,`);
      row(`bitmap-set,${VICTIM},${hex(FS_BASE)},1,${hex(VICTIM_PAGE)},w`);
      row(`vmentry,${VICTIM},,,,`);
    } else if (shape.broken && i === setupAt) {
      if (shape.broken === "unwritten") row(`bitmap-ptr,${BROKEN},,,${hex(UNWRITTEN_PAGE)},`);
      row(`use-bitmap,${BROKEN},,1,,`);
    } else if (shape.broken && BROKEN_AT.includes(i)) {
      brokenLines.push(row(`rdmsr,${BROKEN},${hex(TSC)},,,`));
    } else if (!quiet(i) && rand() < 1 / 400) {
      // An L1 or L0 event on vCPU 0-2 (see above for why only these).
      const v = Math.floor(rand() * VICTIM);
      const r = rand();
      if (r < 0.3) row(`bitmap-set,${v},${hex(TSC)},${rand() < 0.5 ? 1 : 0},${hex(pick([pageA(v), pageB(v)]))},rw`);
      else if (r < 0.55) row(`l0-set,${v},${hex(SYSENTER_CS)},${rand() < 0.5 ? 1 : 0},,${pick(["r", "w", "rw"])}`);
      else if (r < 0.8) row(`use-bitmap,${v},,${rand() < 0.3 ? 0 : 1},,`);
      else row(`bitmap-ptr,${v},,,${hex(pick([pageA(v), pageB(v)]))},`);
    } else {
      const v = Math.floor(rand() * (VICTIM + 1));
      const r = rand();
      const msr = pick(POOL);
      if (r < 0.4) row(`rdmsr,${v},${hex(msr)},,,`);
      else if (r < 0.75) row(`wrmsr,${v},${hex(msr)},${hex(Math.floor(rand() * 2 ** 32))},,`);
      else if (r < 0.88) row(`vmexit,${v},,${pick(["HLT", "EXTERNAL_INTERRUPT", ""])},,`);
      else row(`vmentry,${v},,,,`);
    }
  }
  for (let k = 0; k < 10; k++) out.push(`# trailing ${k}`);
  return { text: `${out.join("\n")}\n`, lines: out, events, staleLines, brokenLines };
}

/**
 * A trace written as CSV and packed, each as a file named `trace` in a
 * folder of its own (the CLI is run from that folder, so every output names
 * the same file), plain and gzipped: a gzip trace is read in the main
 * thread and replayed by a worker (src/run/replay-traces.ts worthAThread,
 * when the machine has 2 cores or more), a plain one this size in one thread.
 */
interface Written {
  readonly made: Made;
  /** Folder per form: csv, packed, csv-gz, packed-gz. */
  readonly dirs: Readonly<Record<Form, string>>;
}

type Form = "csv" | "packed" | "csv-gz" | "packed-gz";
const FORMS: readonly Form[] = ["csv", "packed", "csv-gz", "packed-gz"];

function write(made: Made): Written {
  const root = tempDir();
  const dirs = Object.fromEntries(FORMS.map((f) => [f, join(root, f)])) as Record<Form, string>;
  for (const d of Object.values(dirs)) mkdirSync(d);
  writeFileSync(join(dirs.csv, "trace"), made.text);
  const packed = runCli(["pack", "trace", "-o", join(dirs.packed, "trace")], { cwd: dirs.csv });
  expect(packed.status, packed.stderr).toBe(0);
  writeFileSync(join(dirs["csv-gz"], "trace"), gzipSync(made.text));
  writeFileSync(join(dirs["packed-gz"], "trace"), gzipSync(readFileSync(join(dirs.packed, "trace"))));
  return { made, dirs };
}

/** The CLI on the file `trace` of one form, run from its folder; never the cache (the CSV must be read as CSV). */
function runOn(w: Written, form: Form, args: readonly string[]): CliResult {
  return runCli([...args, "--no-cache"], { cwd: w.dirs[form] });
}

/**
 * The packed file's blocks, walked from format.ts's layout (a 16-byte file
 * header, then chunks of a 16-byte header: type, length, CRC, reserved, and
 * a payload padded to 8 bytes): each EVTS block's event count and number of
 * line escapes (its header's words at 0 and 12).
 */
function blocksOf(bytes: Buffer): { count: number; escapes: number }[] {
  const blocks: { count: number; escapes: number }[] = [];
  for (let at = 16; at < bytes.length; ) {
    const type = bytes.toString("latin1", at, at + 4);
    const length = bytes.readUInt32LE(at + 4);
    if (type === "EVTS") blocks.push({ count: bytes.readUInt32LE(at + 16), escapes: bytes.readUInt32LE(at + 16 + 12) });
    at += 16 + ((length + 7) & ~7);
  }
  return blocks;
}

/** The form pairs each output is compared across: the CSV's and the packed file's, plain and gzipped. */
const PAIRS: readonly { name: string; csv: Form; packed: Form; jobs: readonly string[] }[] = [
  { name: "one thread (-j 1)", csv: "csv", packed: "packed", jobs: ["-j", "1"] },
  { name: "default jobs, plain files", csv: "csv", packed: "packed", jobs: [] },
  { name: "default jobs, gzip (the worker pipeline)", csv: "csv-gz", packed: "packed-gz", jobs: [] },
];

/**
 * The command on the CSV and on the packed file under every pair: each
 * pair's two outputs (stdout and stderr, and the status) byte for byte the
 * same, and the same under every pair. Returns the one result.
 */
function sameEverywhere(w: Written, args: readonly string[]): CliResult {
  const seen: CliResult[] = [];
  for (const { name, csv, packed, jobs } of PAIRS) {
    const fromCsv = runOn(w, csv, [...args, ...jobs]);
    const fromPacked = runOn(w, packed, [...args, ...jobs]);
    expect(fromPacked, `${name}: the packed file as the CSV`).toEqual(fromCsv);
    seen.push(fromCsv);
  }
  for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
  return seen[0] as CliResult;
}

/** L2 events (and vmentries): the events a packed block hands on in runs of columns. */
const L2_ROW = /^(rdmsr|wrmsr|vmexit|vmentry),/;

/**
 * The L2 events right before and right after line `line` (comment and blank
 * lines passed over), up to the nearest L1 or L0 event or the header: the
 * run of columns the event on that line is read in.
 */
function l2RunAround(made: Made, line: number): [before: number, after: number] {
  const count = (from: number, step: number) => {
    let n = 0;
    for (let i = from; i >= 0 && i < made.lines.length; i += step) {
      const text = made.lines[i] as string;
      if (text === "" || text.startsWith("#")) continue;
      if (!L2_ROW.test(text)) break;
      n++;
    }
    return n;
  };
  return [count(line - 2, -1), count(line, 1)];
}

/** The CSV's access rows, counted from its text. */
const accessRows = (made: Made) => made.lines.filter((l) => /^(rdmsr|wrmsr),/.test(l)).length;

interface Violation {
  line: number;
  vcpu: number;
  msr: string;
  dir: "r" | "w";
  what: string;
}

describe("a packed trace of several blocks gives what its CSV gives", () => {
  let w: Written;
  beforeAll(() => {
    w = write(makeTrace(0x5eed, { events: 3 * B + 20_000 }));
  });

  it("the trace is as meant: four blocks, escapes where GAPS puts them", () => {
    const blocks = blocksOf(readFileSync(join(w.dirs.packed, "trace")));
    expect(blocks.map((b) => b.count)).toEqual([B, B, B, w.made.events - 3 * B]);
    // Block 1: its first event (the file's first is always one), and the runs of 300 (before events
    // 1000 and B - 1000) and 255 (before 5001) lines; the 254 blank lines before 5000 are a step of 255.
    // Block 3: the runs of 300 and 256 lines. The small random gaps are steps of 2 to 5.
    expect(blocks.map((b) => b.escapes)).toEqual([4, 0, 2, 0]);
    // The planned violations: FS_BASE writes on vCPU 3, the lines merged-stale must name.
    expect(w.made.staleLines).toHaveLength(21);
    for (const line of w.made.staleLines) expect(w.made.lines[line - 1]).toMatch(/^wrmsr,3,0xc0000100,/);
  });

  it("compare -s all -f json --violations: the same results, and violations on the accesses the generator planned", () => {
    const r = sameEverywhere(w, ["compare", "trace", "-s", "all", "-f", "json", "--violations"]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as {
      events: number;
      results: { strategy: string; accesses: number; violations: number }[];
      violations: Record<string, { total: number; first: Violation[] }>;
    };
    expect(json.events).toBe(w.made.events);
    const accesses = accessRows(w.made);
    for (const result of json.results) {
      expect(result.accesses, result.strategy).toBe(accesses);
      expect(result.violations, result.strategy).toBe(result.strategy === "merged-stale" ? 21 : 0);
    }
    const stale = json.violations["merged-stale"];
    expect(stale?.total).toBe(21);
    // The first 20 (VIOLATION_LIMIT, README), in trace order, from blocks 2, 3 and 4: lines
    // worked out from the block before's last line, by escapes and by steps.
    expect(stale?.first.map((v) => v.line)).toEqual(w.made.staleLines.slice(0, 20));
    // Each line named is a real access row of the CSV, with the vCPU, MSR and direction said.
    for (const v of stale?.first ?? []) {
      const [event, vcpu, msr] = (w.made.lines[v.line - 1] as string).split(",");
      expect({ event, vcpu: Number(vcpu), msr }).toEqual({
        event: v.dir === "w" ? "wrmsr" : "rdmsr",
        vcpu: v.vcpu,
        msr: v.msr,
      });
      expect(v.what).toBe("L1 wants it, delivered to none");
    }
  });

  it("a cached CSV: the second run, which reads the cache's packed form in columns, gives the first's stdout", () => {
    const args = ["compare", "trace", "-s", "all", "-f", "json", "--violations"];
    const reference = runOn(w, "csv", args);
    // A cache folder of this test's own (vitest.config.ts turns the cache off for the rest).
    const env = { NVMX_REPLAY_NO_CACHE: undefined, NVMX_REPLAY_CACHE_DIR: tempDir() };
    const first = runCli(args, { cwd: w.dirs.csv, env });
    const second = runCli(args, { cwd: w.dirs.csv, env });
    expect(first.stderr).toBe("cache: wrote the packed form of trace\n");
    expect(second.stderr).toMatch(/^cache: read trace's packed form \(written [^)]+\)\n$/);
    expect(first.stdout).toBe(reference.stdout);
    expect(second.stdout).toBe(reference.stdout);
  });

  it("compare --by msr -f json: the same rows; merged-stale's violations all on FS_BASE writes", () => {
    const r = sameEverywhere(w, ["compare", "trace", "-s", "all", "--by", "msr", "-f", "json"]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as {
      traces: {
        strategies: { strategy: string; rows: { msr: string; dir: string; accesses: number; violations: number }[] }[];
      }[];
    };
    const stale = json.traces[0]?.strategies.find((s) => s.strategy === "merged-stale");
    const violating = stale?.rows.filter((row) => row.violations > 0);
    expect(violating?.map(({ msr, dir, violations }) => ({ msr, dir, violations }))).toEqual([
      { msr: "0xc0000100", dir: "w", violations: 21 },
    ]);
    // FS_BASE is written only where the generator planned it: 22 writes, one before L1 armed the intercept.
    expect(violating?.[0]?.accesses).toBe(22);
  });

  it("replay -s merged: the same counters and per-MSR breakdown", () => {
    const r = sameEverywhere(w, ["replay", "trace", "-s", "merged"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^accesses +${accessRows(w.made).toLocaleString("en-US")}$`, "m"));
    // FS_BASE writes under merged (docs/model.md §6): the one before L1 arms the intercept completes in
    // L2 (L1 passes it, L0 too); L1's store faults and marks vCPU 3's shadow stale, so the entry after
    // it merges again and the 21 later ones exit and go to L1. Columns: accesses, l0_exits, l1_exits, no_exit.
    expect(r.stdout).toMatch(/^0xc0000100 +FS_BASE +w +22 +21 +21 +1$/m);
  });

  it("compare --window 10k -f csv: the same windows, every event counted once", () => {
    const r = sameEverywhere(w, ["compare", "trace", "--window", "10k", "-f", "csv"]);
    expect(r.status, r.stderr).toBe(0);
    const rows = lines(r.stdout).slice(1);
    // README: window k holds events 10000k + 1 to 10000(k + 1), one row per strategy (the default 5).
    const windows = Math.ceil(w.made.events / 10_000);
    expect(rows).toHaveLength(windows * 5);
    const last = (rows[rows.length - 1] as string).split(",");
    expect(last.slice(0, 3)).toEqual([String(windows - 1), String((windows - 1) * 10_000 + 1), String(w.made.events)]);
  });
});

describe("a nested entry that fails inside a long run of L2 events in block 2", () => {
  const made = {
    "no-ptr": makeTrace(0xbad, { events: 2 * B + 10_000, broken: "no-ptr" }),
    unwritten: makeTrace(0xbad, { events: 2 * B + 10_000, broken: "unwritten" }),
    // The L1 event that breaks vCPU 5 just before its first access: the access opens a run.
    "no-ptr, the access first of its run": makeTrace(0xbad, {
      events: 2 * B + 10_000,
      broken: "no-ptr",
      setupAt: (BROKEN_AT[0] as number) - 1,
    }),
  };
  const written: Partial<Record<keyof typeof made, Written>> = {};
  beforeAll(() => {
    for (const key of Object.keys(made) as (keyof typeof made)[]) written[key] = write(made[key]);
  });

  // The words of README's example (Exit status) for a vCPU with no bitmap-ptr; front.ts's for a page nothing wrote.
  const why = {
    "no-ptr": "no MSR-bitmap address (no bitmap-ptr)",
    "no-ptr, the access first of its run": "no MSR-bitmap address (no bitmap-ptr)",
    unwritten: `MSR-bitmap address ${hex(UNWRITTEN_PAGE)}, a page nothing has written (no bitmap-load or bitmap-set)`,
  };

  it.each(Object.keys(made) as (keyof typeof made)[])("%s: one line naming the access's line, exit 1", (key) => {
    const w = written[key] as Written;
    const line = w.made.brokenLines[0] as number;
    // The first of vCPU 5's accesses, in block 2, inside a run of L2 events (no L1 or L0
    // event for a thousand events either side, a whole batch's worth of them), or
    // opening one, right after the L1 event that broke the vCPU.
    expect(line).toBeGreaterThan(B);
    expect(w.made.lines[line - 1]).toBe(`rdmsr,${BROKEN},0x10,,,`);
    const [before, after] = l2RunAround(w.made, line);
    if (key === "no-ptr, the access first of its run") {
      expect(before).toBe(0);
      const rows = w.made.lines.slice(0, line - 1).filter((l) => l !== "" && !l.startsWith("#"));
      expect(rows[rows.length - 1]).toBe(`use-bitmap,${BROKEN},,1,,`);
      expect(after).toBeGreaterThanOrEqual(1000);
    } else expect(Math.min(before, after)).toBeGreaterThanOrEqual(1000);
    const r = sameEverywhere(w, ["compare", "trace", "-s", "all", "-f", "json", "--violations"]);
    expect(r).toEqual({
      status: 1,
      stdout: "",
      stderr: `trace:${line}: rdmsr on vCPU ${BROKEN} needs a nested entry, but vmcs12 has "use MSR bitmaps" = 1 and ${why[key]}; on hardware VM entry fails\n`,
    });
  });

  it("--lenient: the same stdout and stderr; every access of vCPU 5 skipped, each named by its line", () => {
    const w = written["no-ptr"] as Written;
    const r = sameEverywhere(w, ["compare", "trace", "-s", "all", "-f", "json", "--lenient"]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { skipped_rows: number; partial: boolean; events: number };
    expect(w.made.brokenLines).toHaveLength(3);
    // Each of vCPU 5's accesses fails its entry in turn: a failed check leaves the vCPU unchecked.
    // A skipped row is no event of the replay: the trace's events less those three.
    expect(json).toMatchObject({ partial: true, skipped_rows: 3, events: w.made.events - 3 });
    for (const line of w.made.brokenLines) {
      expect(r.stderr).toContain(`trace:${line}: rdmsr on vCPU ${BROKEN} needs a nested entry`);
    }
  });
});

describe("a vCPU that passed its entry checks, broken later in its block by an L1 event", () => {
  // vCPUs 0 and 1 enter once each (their checks pass), then L1 points vCPU 0's vmcs12 at a
  // page nothing wrote. Every vCPU of the block was checked before that L1 event, so a
  // run only skips its checks while none is pending: vCPU 0's next access must fail its
  // entry, on line 13, packed or not.
  const rows = [
    "event,vcpu,msr,value,page,dir",
    "bitmap-set,0,0x6e0,1,0x1000,w",
    "bitmap-ptr,0,,,0x1000,",
    "use-bitmap,0,,1,,",
    "bitmap-set,1,0x6e0,1,0x2000,w",
    "bitmap-ptr,1,,,0x2000,",
    "use-bitmap,1,,1,,",
    "rdmsr,0,0x10,,,",
    "rdmsr,1,0x10,,,",
    "rdmsr,0,0x10,,,",
    "bitmap-ptr,0,,,0x5000,",
    "rdmsr,1,0x10,,,",
    "rdmsr,0,0x10,,,",
    "rdmsr,1,0x10,,,",
  ];
  const error =
    'trace:13: rdmsr on vCPU 0 needs a nested entry, but vmcs12 has "use MSR bitmaps" = 1 and MSR-bitmap address 0x5000, a page nothing has written (no bitmap-load or bitmap-set); on hardware VM entry fails\n';

  it("fails that access's entry, on its line, CSV or packed", () => {
    const csv = tempDir({ trace: `${rows.join("\n")}\n` });
    const packed = tempDir();
    const pack = runCli(["pack", "trace", "-o", join(packed, "trace")], { cwd: csv });
    expect(pack.status, pack.stderr).toBe(0);
    for (const cwd of [csv, packed]) {
      const r = runCli(["compare", "trace", "--no-cache"], { cwd });
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
        status: 1,
        stdout: "",
        stderr: error,
      });
    }
  });
});
