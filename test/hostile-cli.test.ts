/**
 * Hostile but valid command lines and results (issue: "bounded, exact, never
 * destructive"): worker counts, exact est_cycles, file names that would
 * reach a terminal or a spreadsheet raw, several traces with bad ones among
 * them, and --snapshots-dir naming nothing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MsrCounts } from "../src/engine/msr-counts.js";
import { estimateCycles, InexactEstimateError, zeroCounters } from "../src/engine/results.js";
import { Delivery } from "../src/engine/strategy.js";
import { renderJson } from "../src/render/json.js";
import { plain } from "../src/render/style.js";
import { renderReplayTable } from "../src/render/table.js";
import type { Report } from "../src/report.js";
import { lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";
import { plainOptions } from "./helpers/report.js";

const tempDir = useTempDirs("each");

/** Two accesses with "use MSR bitmaps" 0: every strategy reflects both (2 × 15000 cycles by default). */
const GOOD = "event,vcpu,msr,value\nrdmsr,0,0x10,\nwrmsr,0,0x10,5\n";
/** An error on line 3. */
const BAD = "event,vcpu,msr\nrdmsr,0,0x10\nrdmsr,0,0xZZ\n";

describe("--jobs far above the core count", () => {
  it("starts no more workers than there are cores", () => {
    // 40 traces with --jobs 256: one worker each would be 40 V8 isolates (each
    // some 10-20 MB), hundreds of MB in all; capped at the core count, the
    // process stays near its one-worker size (about 90 MB). The bound is loose
    // on purpose; the old behaviour is far above it.
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`t${i}.csv`, GOOD]));
    const dir = tempDir(files);
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "scripts", "bench", "cli-rss.mjs"), "compare", ...Object.keys(files), "--jobs", "256", "-f", "csv"],
      { cwd: dir, encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout)).toHaveLength(1 + 40 * 5);
    const kib = Number(/maxrss_kib=(\d+)/.exec(r.stderr)?.[1]);
    expect(kib * 1024).toBeLessThan(250e6);
  });
});

describe("est_cycles is exact or refused", () => {
  it("sums in integers: exact up to 2^53 - 1, where a double would round", () => {
    // 999,999,999 × 9,007,199 = 9,007,198,990,992,801 (by hand: 9,007,199 × 10^9
    // - 9,007,199), below 2^53 - 1 = 9,007,199,254,740,991, and odd: a double
    // holds it. Adding 263,748,190 reflected exits at 1 cycle each gives exactly
    // 2^53 - 1 (9,007,199,254,740,991 - 9,007,198,990,992,801 = 263,748,190).
    const c = { ...zeroCounters(), l0_handled: 9_007_199, l1_exits: 263_748_190 };
    const cost = { l0_exit: 999_999_999, l1_exit: 1, merge: 0, merge_sparse: 0, wp_fault: 0, dirty_check: 0 };
    expect(estimateCycles(c, cost)).toBe(Number.MAX_SAFE_INTEGER);
    // One more cycle is 2^53, which a double holds, but the next (2^53 + 1) it
    // does not: the estimate is refused from 2^53 on, never rounded.
    expect(() => estimateCycles({ ...c, l1_exits: c.l1_exits + 1 }, cost, "merge", "sparse")).toThrow(
      InexactEstimateError,
    );
    expect(() => estimateCycles({ ...c, l1_exits: c.l1_exits + 2 }, cost, "merge", "sparse")).toThrow(
      /^est_cycles of sparse would be 9007199254740993 cycles, above 2\^53/,
    );
  });

  it.each([
    [{ merge: 1e308 }, /merge: a cost is at most 1,000,000,000 cycles/],
    [{ l1_exit: 2 ** 53 + 2 }, /l1_exit: a cost is at most 1,000,000,000 cycles/],
    [{ wp_fault: 1000.5 }, /wp_fault: a cost is a whole number of cycles/],
    [{ dirty_check: -1 }, /dirty_check: a cost is a number of cycles, 0 or more/],
  ])("refuses the cost model %j in one line, exit 1", (model, why) => {
    const dir = tempDir({ "t.csv": GOOD, "cost.json": model });
    const r = runCli(["compare", "t.csv", "--cost-model", "cost.json"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(why);
  });

  it("takes the biggest cost and gives the exact product", () => {
    // l1_exit 1,000,000,000 × 2 reflected accesses = 2,000,000,000 under every strategy.
    const dir = tempDir({ "t.csv": GOOD, "cost.json": { l1_exit: 1_000_000_000 } });
    const r = runCli(["compare", "t.csv", "--cost-model", "cost.json", "-f", "csv", "-s", "merged,sparse"], {
      cwd: dir,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(
      lines(r.stdout)
        .slice(1)
        .map((l) => l.split(",").at(-1)),
    ).toEqual(["2000000000", "2000000000"]);
  });
});

describe("file names never reach a terminal or a spreadsheet raw", () => {
  it("CSV: a trace name starting with = + - or @ does not start a cell as a formula", () => {
    const names = ['=HYPERLINK("http:x").csv', "+1.csv", "-2.csv", "@3.csv", "plain.csv"];
    const dir = tempDir(Object.fromEntries(names.map((n) => [n, GOOD])));
    // "./-2.csv": a name starting with - would be taken for an option.
    const args = names.map((n) => (n.startsWith("-") ? `./${n}` : n));
    const r = runCli(["compare", ...args, "-f", "csv", "-s", "merged"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const cells = lines(r.stdout)
      .slice(1)
      .map((l) => l.replace(/^"((?:[^"]|"")*)",.*$/, "$1").replace(/^([^,]*),.*$/, "$1"));
    expect(cells).toEqual([`'=HYPERLINK(""http:x"").csv`, "'+1.csv", "./-2.csv", "'@3.csv", "plain.csv"]);
  });

  it("CSV: a name that is only -something (from a glob) gets the quote too", () => {
    const dir = tempDir({ "-x.csv": GOOD, "y.csv": GOOD });
    const r = runCli(["compare", "-f", "csv", "-s", "merged", "--", "-x.csv", "y.csv"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout)[1]).toMatch(/^'-x\.csv,merged,/);
  });

  it("the table title escapes control characters in a trace's name", () => {
    const name = "evil\u001b]0;pwned\u0007\nforged line.csv";
    const dir = tempDir({ [name]: GOOD });
    const r = runCli(["compare", name, "-s", "merged"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("\u001b");
    expect(r.stdout).not.toContain("\u0007");
    expect(lines(r.stdout)[0]).toBe("evil\\x1b]0;pwned\\x07\\nforged line.csv: 2 events, 1 vCPU, L0 profile kvm-2013");
  });
});

describe("several traces, one bad", () => {
  /** good.csv, bad-late.csv (fails on its last line, after 200k rows), bad-early.csv (fails on line 3). */
  function batch(): string {
    const rows = Array.from({ length: 200_000 }, () => "rdmsr,0,0x10").join("\n");
    return tempDir({
      "good.csv": GOOD,
      "bad-late.csv": `event,vcpu,msr\n${rows}\nrdmsr,0,0xZZ\n`,
      "bad-early.csv": BAD,
    });
  }

  it("by default fails the whole run with the first bad trace in the order given, whatever --jobs", () => {
    // With two workers, bad-early.csv fails long before bad-late.csv reaches its
    // last line; the error shown is still bad-late.csv's, the first bad one given.
    const dir = batch();
    for (const jobs of ["1", "2"]) {
      const r = runCli(["compare", "good.csv", "bad-late.csv", "bad-early.csv", "--jobs", jobs, "-o", "out.csv"], {
        cwd: dir,
      });
      expect(r.status, jobs).toBe(1);
      expect(lines(r.stderr), jobs).toEqual([
        `bad-late.csv:200002:9: column msr: "0xZZ" is not an MSR index (32 bits, hex 0x… or decimal)`,
      ]);
      expect(existsSync(join(dir, "out.csv"))).toBe(false);
    }
  });

  it("--keep-going writes the good traces' results, names the bad ones on stderr and exits 3", () => {
    const dir = batch();
    for (const jobs of ["1", "2"]) {
      const r = runCli(
        [
          "compare",
          "good.csv",
          "bad-late.csv",
          "bad-early.csv",
          "--keep-going",
          "-f",
          "csv",
          "-s",
          "merged",
          "--jobs",
          jobs,
        ],
        {
          cwd: dir,
        },
      );
      expect(r.status, jobs).toBe(3);
      // good.csv: use_bitmap 0, so both accesses are reflected: 2 l1 exits, 2 entries, 30000 cycles.
      expect(lines(r.stdout)).toEqual([
        "trace,strategy,accesses,l0_exits,l1_exits,l0_handled,no_exit,merges,wp_faults,dirty_checks,entries,other_exits,violations,est_cycles",
        "good.csv,merged,2,2,2,0,0,0,0,0,2,0,0,30000",
      ]);
      expect(lines(r.stderr)).toEqual([
        // good.csv has no bitmap rows, which is said first, with the good traces' other warnings.
        "warning: good.csv: no access ran with an L1 bitmap (use_bitmap was 0 for all), so every access counts as one L1 wants; give --l1-bitmap FILE or --l1-profile NAME to replay with one",
        `bad-late.csv:200002:9: column msr: "0xZZ" is not an MSR index (32 bits, hex 0x… or decimal)`,
        `bad-early.csv:3:9: column msr: "0xZZ" is not an MSR index (32 bits, hex 0x… or decimal)`,
        "nvmx-replay: 2 of 3 traces could not be replayed (--keep-going); the others' results were written",
      ]);
    }
  });

  it("--keep-going JSON records each failed trace with its error", () => {
    const dir = tempDir({ "good.csv": GOOD, "missing-is-next.csv": BAD });
    const r = runCli(["compare", "good.csv", "missing-is-next.csv", "nope.csv", "-k", "-f", "json", "-s", "merged"], {
      cwd: dir,
    });
    expect(r.status).toBe(3);
    const out = JSON.parse(r.stdout) as { traces: { trace: string }[]; failed: { trace: string; error: string }[] };
    expect(out.traces.map((t) => t.trace)).toEqual(["good.csv"]);
    expect(out.failed).toEqual([
      {
        trace: "missing-is-next.csv",
        error: `missing-is-next.csv:3:9: column msr: "0xZZ" is not an MSR index (32 bits, hex 0x… or decimal)`,
      },
      { trace: "nope.csv", error: "nope.csv: no such file" },
    ]);
  });
});

describe("--snapshots-dir", () => {
  it("naming a missing folder is an error, before anything is read", () => {
    const dir = tempDir({ "t.csv": GOOD });
    const r = runCli(["compare", "t.csv", "--snapshots-dir", "no-such-dir"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("no-such-dir: --snapshots-dir: no such folder\n");
  });

  it("naming a file is an error too", () => {
    const dir = tempDir({ "t.csv": GOOD });
    writeFileSync(join(dir, "afile"), "x");
    const r = runCli(["compare", "t.csv", "--snapshots-dir", "afile"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("afile: --snapshots-dir: not a folder\n");
  });
});

describe("a per-MSR breakdown of any size is written in pieces", () => {
  // 50,000 MSRs x 2 directions: the whole JSON is some 17 MB, the table some
  // 7 MB; each piece written stays near 64 KiB, so a breakdown of millions of
  // MSRs never becomes one string (V8 caps a string at 2^29 - 24 characters).
  const PIECE = 1 << 16;
  const MSRS = 50_000;

  function report(): Report {
    const counts = new MsrCounts();
    // MSR 0x40000000 + i: read i % 3 + 1 times, reflected (no bit: L1 wants it); written once, handled by L0.
    for (let i = 0; i < MSRS; i++) {
      for (let k = 0; k <= i % 3; k++) counts.add(0x4000_0000 + i, false, Delivery.l1);
      counts.add(0x4000_0000 + i, true, Delivery.l0);
    }
    const result = { strategy: "merged", ...zeroCounters(), est_cycles: 0 };
    return {
      options: plainOptions(["merged"]),
      traces: [{ trace: "t.csv", events: 0, vcpus: 1, results: [result], msrs: counts.breakdown() }],
    };
  }

  it("JSON: pieces of about 64 KiB that add up to the one JSON text", () => {
    const pieces = [...renderJson(report())];
    // Some 17 MB in pieces of about 64 KiB: a few hundred of them (one string
    // spread into characters, or one huge piece, would fail one bound or the other).
    expect(pieces.length).toBeGreaterThan(100);
    expect(pieces.length).toBeLessThan(400);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(PIECE + 1000);
    const out = JSON.parse(pieces.join("")) as { msrs: { msr: string; dir: string; accesses: number }[] };
    expect(out.msrs).toHaveLength(2 * MSRS);
    // Busiest first: the reads of MSRs with i % 3 == 2 (3 accesses), lowest MSR first.
    expect(out.msrs[0]).toMatchObject({ msr: "0x40000002", dir: "r", accesses: 3 });
    expect(out.msrs.at(-1)).toMatchObject({ msr: `0x${(0x4000_0000 + MSRS - 1).toString(16)}`, dir: "w", accesses: 1 });
    // The same text as JSON.stringify of the whole would give.
    expect(pieces.join("")).toBe(`${JSON.stringify(out, null, 2)}\n`);
  });

  it("table: pieces of about 64 KiB, a line per MSR and direction", () => {
    const pieces = [...renderReplayTable(report(), plain)];
    expect(pieces.length).toBeGreaterThan(50);
    expect(pieces.length).toBeLessThan(200);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(PIECE + 1000);
    const text = pieces.join("");
    const rows = lines(text).filter((l) => /^0x4/.test(l));
    expect(rows).toHaveLength(2 * MSRS);
    expect(rows[0]).toMatch(/^0x40000002 +HV_X64_VP_INDEX +r +3 +3 +3 +0$/);
  });
});

describe("-o never replaces a file the run reads", () => {
  // A trace that loads its L1 bitmap from l1.json.
  const TRACE =
    "event,vcpu,msr,value,page,file\nbitmap-load,0,,,0x1000,l1.json\nbitmap-ptr,0,,,0x1000,\nuse-bitmap,0,,1,,\nrdmsr,0,0x10,,,\n";
  const L1 = { default: "intercept" };

  it.each([["compare"], ["replay"], ["validate"]])(
    "%s -o onto a snapshot the trace loads is refused, the snapshot intact",
    (command) => {
      const dir = tempDir({ "t.csv": TRACE, "l1.json": L1 });
      const before = readFileSync(join(dir, "l1.json"), "utf8");
      const r = runCli([command, "t.csv", "-o", "l1.json"], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        "t.csv:2:24: column file: l1.json: is the output file (-o): refusing to write the output over a file the run reads\n",
      );
      expect(readFileSync(join(dir, "l1.json"), "utf8")).toBe(before);
      expect(readdirSync(dir).sort()).toEqual(["l1.json", "t.csv"]);
    },
  );

  it("a snapshot reached by another spelling of the same path is refused too", () => {
    const dir = tempDir({ "sub/t.csv": TRACE, "sub/l1.json": L1 });
    const r = runCli(["compare", "sub/t.csv", "-o", "./sub/../sub/l1.json"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^sub\/t\.csv:2:24: column file: sub\/l1\.json: is the output file \(-o\)/);
  });
});

describe("validate --snapshots-dir", () => {
  it("naming a missing folder is an error", () => {
    const dir = tempDir({ "t.csv": GOOD });
    const r = runCli(["validate", "t.csv", "--snapshots-dir", "nope"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("nope: --snapshots-dir: no such folder\n");
  });
});

describe("gen -o", () => {
  it("onto /dev/null is refused: its snapshots would land in /dev", () => {
    const r = runCli(["gen", "linux-idle", "--events", "10", "-o", "/dev/null"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "/dev/null: gen writes a trace and its snapshots beside it: -o names a regular file, not a character device\n",
    );
    expect(existsSync("/dev/null.l1.json")).toBe(false);
  });
});

describe("-o - is stdout", () => {
  it.each([["compare"], ["replay"], ["validate"]])("%s -o - writes to stdout and makes no file named -", (command) => {
    const dir = tempDir({ "t.csv": GOOD });
    const r = runCli([command, "t.csv", "-o", "-", "-f", "json"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { schema: number }).schema).toBe(2);
    expect(readdirSync(dir)).toEqual(["t.csv"]);
  });

  it("import -o - writes the trace to stdout", () => {
    const dir = tempDir({ "k.txt": "      CPU 0/KVM-1    [002] d..1.  5.000001: kvm_msr: msr_read 10 = 0x5\n" });
    const r = runCli(["import", "k.txt", "-o", "-"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout).filter((l) => !l.startsWith("#"))).toEqual([
      "event,vcpu,msr,value,t",
      "rdmsr,0,0x10,0x5,5.000001",
    ]);
    expect(readdirSync(dir)).toEqual(["k.txt"]);
  });

  it("bitmap profile -o - prints the description", () => {
    const dir = tempDir({});
    const r = runCli(["bitmap", "profile", "kvm", "-o", "-"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { default: string }).default).toBe("intercept");
    expect(readdirSync(dir)).toEqual([]);
  });

  // gen -o - (writes to stdout, snapshots in the current folder): test/gen-stdout.test.ts.
});
