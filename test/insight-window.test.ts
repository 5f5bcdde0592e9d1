/**
 * Issue 12, item 2: `compare --window N|Nk|NM|N{us,ms,s}`, each strategy's
 * counters per window, streamed. Expected numbers are worked by hand below
 * (docs/model.md §6: where each access goes and why).
 *
 * Memory: no test measures it. The engine keeps one set of counters per
 * strategy from the last window end (WindowCounter), and each window's text
 * is written as it comes through a bounded queue that holds the reader back
 * (src/run/windows.ts), so nothing grows with the number of windows; the
 * README says so under "Over time".
 */
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReplayBack } from "../src/engine/back.js";
import { ReplayFront } from "../src/engine/front.js";
import { findL0Profile } from "../src/engine/profiles.js";
import { DEFAULT_COST_MODEL, RESULT_FIELDS, type StrategyResult } from "../src/engine/results.js";
import { strategiesNamed } from "../src/engine/strategies/index.js";
import { WindowCounter, WindowCutter, type WindowRecord, type WindowSpec } from "../src/engine/windows.js";
import { InputError } from "../src/io/errors.js";
import { readTrace } from "../src/io/trace-reader.js";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");

const L0 = (findL0Profile("kvm-2013") as NonNullable<ReturnType<typeof findL0Profile>>).bitmaps();
const STRATEGIES = ["l1-filter", "merged"];

/**
 * Nine events. L0 kvm-2013 passes FS_BASE (0xc0000100) and intercepts
 * TSC_DEADLINE (0x6e0). L1's page 0x1000 is created by the bitmap-set, all
 * zeros but the write bit of 0x6e0: L1 wants only TSC_DEADLINE writes.
 *   1 bitmap-set, 2 bitmap-ptr, 3 use-bitmap: L1 events, L2 not running yet.
 *   4 wrmsr FS_BASE: entry 1. l1-filter: exits, L1 does not want it -> l0.
 *     merged: merge 1 (no shadow yet), shadow bit 0|0 = 0 -> none.
 *   5 wrmsr TSC_DEADLINE: L1 wants it -> l1 under both (merged: L0's bit 1); L2 stops.
 *   6 rdmsr FS_BASE: entry 2 (merged: same page, not stored to: no merge).
 *     l1-filter -> l0; merged -> none.
 *   7 vmexit: other_exits 1, L2 stops.
 *   8 wrmsr FS_BASE: entry 3; l1-filter -> l0; merged -> none.
 *   9 rdmsr TSC_DEADLINE: L1's read bit 0, L0 intercepts: l0 under both.
 */
const ROWS = [
  "bitmap-set,0,0x6e0,1,0x1000,w",
  "bitmap-ptr,0,,,0x1000,",
  "use-bitmap,0,,1,,",
  "wrmsr,0,0xc0000100,5,,",
  "wrmsr,0,0x6e0,7,,",
  "rdmsr,0,0xc0000100,,,",
  "vmexit,0,,,,",
  "wrmsr,0,0xc0000100,9,,",
  "rdmsr,0,0x6e0,,,",
];
const EVENTS_TRACE = `event,vcpu,msr,value,page,dir\n${ROWS.join("\n")}\n`;

/**
 * The same events with a t column, for --window 10ms (t0 = 100.000000):
 *   1-3 at 100.000-100.002 and 4 at 100.009999: window 0 [0, 10 ms).
 *   5 at 100.010000: exactly on the bound, window 1.
 *   6 at 100.015: window 1.
 *   7 at 100.005: backwards (below 6's t): stays in window 1.
 *   8 at 100.035, 9 at 100.036: window 3; window 2 held no event and is not written.
 */
const TIMES = [
  "100.000000",
  "100.001",
  "100.002",
  "100.009999",
  "100.010000",
  "100.015",
  "100.005",
  "100.035",
  "100.036",
];
const TIMED_TRACE = `event,vcpu,msr,value,page,dir,t\n${ROWS.map((r, i) => `${r},${TIMES[i]}`).join("\n")}\n`;

/** Counters of a window, only the ones that are not 0 (the rest must be 0). */
function counters(strategy: string, nonZero: Partial<StrategyResult>): StrategyResult {
  const zero = Object.fromEntries(RESULT_FIELDS.map((f) => [f, 0])) as unknown as StrategyResult;
  return { ...zero, ...nonZero, strategy };
}

const EVENTS: WindowSpec = { unit: "events", size: 4, text: "4" };
const TEN_MS: WindowSpec = { unit: "seconds", size: 10_000_000, text: "10ms" };

/** Reader, front, cutter, back and counter as the CLI joins them, in one thread. */
async function windowsOf(text: string, spec: WindowSpec, capacity = 4096) {
  const records: WindowRecord[] = [];
  const back = new ReplayBack({
    strategies: strategiesNamed(STRATEGIES),
    l0: L0,
    onWindowEnd: new WindowCounter(spec, DEFAULT_COST_MODEL, (r) => records.push(r)).end,
  });
  const front = new ReplayFront({
    l0: L0,
    capacity,
    emit: (batch) => {
      back.consume(batch);
      return undefined;
    },
  });
  const cutter = new WindowCutter(front, spec);
  await readTrace({
    file: "t.csv",
    input: Readable.from([Buffer.from(text)]),
    onEvent: (ev) => cutter.apply(ev),
    ...(spec.unit === "seconds" ? { timestamps: `--window ${spec.text}` } : {}),
  });
  cutter.finish();
  front.flush();
  return { records, totals: back.results(DEFAULT_COST_MODEL) };
}

describe("event windows (engine)", () => {
  // Windows of 4 events: events 1-4, 5-8, 9.
  const expected = [
    {
      window: 0,
      from: 1,
      to: 4,
      events: 4,
      results: [
        // 4: l0. est = 1500.
        counters("l1-filter", { accesses: 1, l0_exits: 1, l0_handled: 1, entries: 1, est_cycles: 1500 }),
        // 4: none, after merge 1. est = 1000.
        counters("merged", { accesses: 1, no_exit: 1, merges: 1, entries: 1, est_cycles: 1000 }),
      ],
    },
    {
      window: 1,
      from: 5,
      to: 8,
      events: 4,
      results: [
        // 5: l1; 6: entry, l0; 7: vmexit; 8: entry, l0. est = 2*1500 + 15000 = 18000.
        counters("l1-filter", {
          accesses: 3,
          l0_exits: 3,
          l1_exits: 1,
          l0_handled: 2,
          entries: 2,
          other_exits: 1,
          est_cycles: 18_000,
        }),
        // 5: l1; 6: entry, none; 7: vmexit; 8: entry, none. est = 15000.
        counters("merged", {
          accesses: 3,
          l0_exits: 1,
          l1_exits: 1,
          no_exit: 2,
          entries: 2,
          other_exits: 1,
          est_cycles: 15_000,
        }),
      ],
    },
    {
      window: 2,
      from: 9,
      to: 9,
      events: 1,
      results: [
        // 9: l0 under both. est = 1500.
        counters("l1-filter", { accesses: 1, l0_exits: 1, l0_handled: 1, est_cycles: 1500 }),
        counters("merged", { accesses: 1, l0_exits: 1, l0_handled: 1, est_cycles: 1500 }),
      ],
    },
  ];

  it("9 events in windows of 4: 4, 4 and 1 events, counted by hand", async () => {
    const { records } = await windowsOf(EVENTS_TRACE, EVENTS);
    expect(records).toEqual(expected);
  });

  it("the same whatever the batch size (window ends cross batches with the events)", async () => {
    for (const capacity of [1, 2, 3, 5]) {
      expect((await windowsOf(EVENTS_TRACE, EVENTS, capacity)).records, `capacity ${capacity}`).toEqual(expected);
    }
  });

  it("the windows add up to the whole trace's counters, every one", async () => {
    const { records, totals } = await windowsOf(EVENTS_TRACE, EVENTS);
    for (const [s, total] of totals.entries()) {
      for (const field of RESULT_FIELDS.filter((f) => f !== "strategy")) {
        const sum = records.reduce((n, r) => n + (r.results[s]?.[field] as number), 0);
        expect(sum, `${total.strategy} ${field}`).toBe(total[field]);
      }
    }
    // By hand: l1-filter 1+3+1 = 5 accesses, est 1500+18000+1500 = 21000; merged 1000+15000+1500 = 17500.
    expect(totals.map((t) => [t.accesses, t.est_cycles])).toEqual([
      [5, 21_000],
      [5, 17_500],
    ]);
  });

  it("a window of 1 event, and one bigger than the trace", async () => {
    const one = (await windowsOf(EVENTS_TRACE, { unit: "events", size: 1, text: "1" })).records;
    expect(one.map((r) => [r.window, r.from, r.to])).toEqual(ROWS.map((_, i) => [i, i + 1, i + 1]));
    const all = (await windowsOf(EVENTS_TRACE, { unit: "events", size: 1000, text: "1k" })).records;
    expect(all.map((r) => [r.window, r.from, r.to, r.events])).toEqual([[0, 1, 9, 9]]);
  });
});

describe("time windows (engine)", () => {
  it("windows of 10 ms from t: a t on a bound, a backwards t, a gap", async () => {
    const { records } = await windowsOf(TIMED_TRACE, TEN_MS);
    expect(records.map((r) => [r.window, r.from, r.to, r.events])).toEqual([
      [0, 0, 0.01, 4],
      [1, 0.01, 0.02, 3],
      // Window 2 had no event: not written, its number skipped.
      [3, 0.03, 0.04, 2],
    ]);
    expect(records.map((r) => r.results)).toEqual([
      // Events 1-4: as the first event window.
      [
        counters("l1-filter", { accesses: 1, l0_exits: 1, l0_handled: 1, entries: 1, est_cycles: 1500 }),
        counters("merged", { accesses: 1, no_exit: 1, merges: 1, entries: 1, est_cycles: 1000 }),
      ],
      // Events 5-7: 5 l1; 6 entry + (l1-filter l0 | merged none); 7 vmexit.
      // l1-filter est = 15000 + 1500 = 16500; merged 15000.
      [
        counters("l1-filter", {
          accesses: 2,
          l0_exits: 2,
          l1_exits: 1,
          l0_handled: 1,
          entries: 1,
          other_exits: 1,
          est_cycles: 16_500,
        }),
        counters("merged", {
          accesses: 2,
          l0_exits: 1,
          l1_exits: 1,
          no_exit: 1,
          entries: 1,
          other_exits: 1,
          est_cycles: 15_000,
        }),
      ],
      // Events 8-9: 8 entry + (l0 | none); 9 l0 under both.
      // l1-filter est = 2*1500 = 3000; merged 1500.
      [
        counters("l1-filter", { accesses: 2, l0_exits: 2, l0_handled: 2, entries: 1, est_cycles: 3000 }),
        counters("merged", { accesses: 2, l0_exits: 1, l0_handled: 1, no_exit: 1, entries: 1, est_cycles: 1500 }),
      ],
    ]);
  });
});

/** Reads a trace with `timestamps` on, by one reader; the events' t and lines, or the error. */
async function times(reader: "fast" | "csv-parse", text: string): Promise<[number, number][] | string> {
  const out: [number, number][] = [];
  try {
    await readTrace({
      file: "t.csv",
      reader,
      input: Readable.from([Buffer.from(text)]),
      timestamps: "--window 10ms",
      onEvent: (ev) => out.push([ev.line, ev.t]),
    });
    return out;
  } catch (error) {
    return error instanceof InputError ? error.message : `not an InputError: ${String(error)}`;
  }
}

describe("the t column, read only when a time window needs it", () => {
  it("both readers give the same seconds", async () => {
    const text = `event,vcpu,msr,value,t\nrdmsr,0,0x10,,5348.808119\nvmexit,0,,,0.5\n"rdmsr",1,0x10,,7\nrdmsr,0,0x10,,000012.250000000\n`;
    const expected: [number, number][] = [
      [2, 5348.808119],
      [3, 0.5],
      [4, 7],
      [5, 12.25],
    ];
    expect(await times("csv-parse", text)).toEqual(expected);
    expect(await times("fast", text)).toEqual(expected);
  });

  it("an empty, a non-numeric or a missing t is an error naming the line and column, on both paths", async () => {
    const cases: [string, string][] = [
      [
        "event,vcpu,msr,value,t\nrdmsr,0,0x10,,1\nrdmsr,0,0x10,,\n",
        "t.csv:3:15: column t: --window 10ms needs a timestamp in column t (seconds, e.g. 5348.808119)",
      ],
      [
        "event,vcpu,msr,value,t\nrdmsr,0,0x10,,12:30\n",
        't.csv:2:15: column t: "12:30" is not a timestamp (seconds, a decimal number such as 5348.808119), which --window 10ms needs',
      ],
      // Fewer fields than the header: t is empty.
      [
        "event,t,msr\nvmexit\n",
        "t.csv:2:8: column t: --window 10ms needs a timestamp in column t (seconds, e.g. 5348.808119)",
      ],
      [
        "event,vcpu,msr,value\nrdmsr,0,0x10,\n",
        "t.csv:1: --window 10ms needs a timestamp on every row, but the header has no t column (give a window in events instead, e.g. --window 10k)",
      ],
    ];
    for (const [text, error] of cases) {
      expect(await times("csv-parse", text), text).toBe(error);
      expect(await times("fast", text), text).toBe(error);
    }
  });

  it("random t fields: the fast scanner and csv-parse agree", async () => {
    const tField = fc.oneof(
      fc.stringMatching(/^[0-9]{1,20}(\.[0-9]{0,12})?$/),
      fc.stringMatching(/^[ 0-9.e+x-]{0,8}$/),
      fc.double({ min: 0, max: 1e7, noNaN: true }).map(String),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(tField, { minLength: 1, maxLength: 5 }), async (ts) => {
        const text = `event,vcpu,msr,value,t\n${ts.map((t) => `rdmsr,0,0x10,,${t}`).join("\n")}\n`;
        expect(await times("fast", text)).toEqual(await times("csv-parse", text));
      }),
      { numRuns: 300, interruptAfterTimeLimit: 5_000 },
    );
  });

  it("without a time window t is not read: any text passes, as before", async () => {
    let seen = 0;
    await readTrace({
      file: "t.csv",
      input: Readable.from([Buffer.from("event,msr,t\nrdmsr,0x10,not a time\n")]),
      onEvent: () => seen++,
    });
    expect(seen).toBe(1);
  });
});

/** CSV text -> rows of cells (no quoting in these outputs). */
const csv = (text: string) => lines(text).map((l) => l.split(","));

describe("compare --window (CLI)", () => {
  it("CSV: the fixed header and a row per window and strategy, by hand", () => {
    const dir = tempDir({ "t.csv": EVENTS_TRACE });
    const r = runCli(["compare", "t.csv", "-s", "l1-filter,merged", "--window", "4", "-f", "csv"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const rows = csv(r.stdout);
    expect(rows[0]?.join(",")).toBe(
      "window,from,to,strategy,accesses,l0_exits,l1_exits,l0_handled,no_exit,merges,wp_faults,dirty_checks,entries,other_exits,violations,est_cycles",
    );
    // The engine test's windows: 0 (events 1-4), 1 (5-8), 2 (9).
    expect(rows.slice(1).map((row) => row.join(","))).toEqual([
      "0,1,4,l1-filter,1,1,0,1,0,0,0,0,1,0,0,1500",
      "0,1,4,merged,1,0,0,0,1,1,0,0,1,0,0,1000",
      "1,5,8,l1-filter,3,3,1,2,0,0,0,0,2,1,0,18000",
      "1,5,8,merged,3,1,1,0,2,0,0,0,2,1,0,15000",
      "2,9,9,l1-filter,1,1,0,1,0,0,0,0,0,0,0,1500",
      "2,9,9,merged,1,1,0,1,0,0,0,0,0,0,0,1500",
    ]);
  });

  it("CSV of time windows: from and to in seconds since the first t, 6 decimals; several traces lead with trace", () => {
    const dir = tempDir({ "a.csv": TIMED_TRACE, "b.csv": TIMED_TRACE });
    const r = runCli(["compare", "a.csv", "b.csv", "-s", "merged", "--window", "10ms", "-f", "csv"], { cwd: dir });
    expect(r.status).toBe(0);
    const rows = csv(r.stdout);
    expect(rows[0]?.slice(0, 5)).toEqual(["trace", "window", "from", "to", "strategy"]);
    expect(rows.slice(1).map((row) => row.slice(0, 5).join(","))).toEqual([
      "a.csv,0,0.000000,0.010000,merged",
      "a.csv,1,0.010000,0.020000,merged",
      "a.csv,3,0.030000,0.040000,merged",
      "b.csv,0,0.000000,0.010000,merged",
      "b.csv,1,0.010000,0.020000,merged",
      "b.csv,3,0.030000,0.040000,merged",
    ]);
  });

  it("JSON: window, options and per trace its windows and totals", () => {
    const dir = tempDir({ "t.csv": TIMED_TRACE });
    const r = runCli(["compare", "t.csv", "-s", "l1-filter,merged", "--window", "10ms", "-f", "json"], { cwd: dir });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(["schema", "window", "options", "traces"]);
    expect(out.schema).toBe(2);
    expect(out.window).toEqual({ unit: "seconds", size: 0.01, text: "10ms" });
    expect(out.options.strategies).toEqual(["l1-filter", "merged"]);
    expect(out.traces).toHaveLength(1);
    const [trace] = out.traces;
    expect(Object.keys(trace)).toEqual(["trace", "windows", "events", "vcpus", "results"]);
    expect(trace.windows.map((w: WindowRecord) => [w.window, w.from, w.to, w.events])).toEqual([
      [0, 0, 0.01, 4],
      [1, 0.01, 0.02, 3],
      [3, 0.03, 0.04, 2],
    ]);
    // Totals as compare gives them: l1-filter 21000, merged 17500 (engine test above).
    expect(trace.results.map((x: StrategyResult) => [x.strategy, x.est_cycles])).toEqual([
      ["l1-filter", 21_000],
      ["merged", 17_500],
    ]);
    expect(trace.events).toBe(9);
  });

  it("table: a header naming the columns, a line per window, a totals line", () => {
    const dir = tempDir({ "t.csv": EVENTS_TRACE });
    const r = runCli(["compare", "t.csv", "-s", "l1-filter,merged", "--window", "4"], { cwd: dir });
    expect(r.status).toBe(0);
    const out = lines(r.stdout).map((l) => l.trim().split(/\s+/));
    expect(lines(r.stdout)[0]).toBe(
      "t.csv: windows of 4 events (from, to: the first and last event, numbered from 1), L0 profile kvm-2013",
    );
    expect(out[2]).toEqual(["window", "from", "to", "accesses", "l1-filter", "merged"]);
    expect(out[3]).toEqual(["exits", "→L1", "exits", "→L1"]);
    // window, from, to, accesses, l1-filter exits and →L1, merged exits and →L1.
    expect(out.slice(4)).toEqual([
      ["0", "1", "4", "1", "1", "0", "0", "0"],
      ["1", "5", "8", "3", "3", "1", "1", "1"],
      ["2", "9", "9", "1", "1", "0", "1", "0"],
      ["total", "5", "5", "1", "2", "1"],
      ["9", "events,", "1", "vCPU"],
    ]);
  });

  it("per-window counters add up to compare's totals, every counter, on a bundled trace", () => {
    const trace = "traces/bitmap-churn.csv";
    const whole = JSON.parse(runCli(["compare", trace, "-s", "all", "-f", "json"]).stdout);
    const windowed = runCli(["compare", trace, "-s", "all", "-f", "json", "--window", "100"]);
    expect(windowed.status).toBe(0);
    const [t] = JSON.parse(windowed.stdout).traces;
    expect(t.windows.length).toBeGreaterThan(10);
    for (const [s, total] of (whole.results as StrategyResult[]).entries()) {
      for (const field of RESULT_FIELDS.filter((f) => f !== "strategy")) {
        const sum = t.windows.reduce((n: number, w: WindowRecord) => n + (w.results[s]?.[field] as number), 0);
        expect(sum, `${total.strategy} ${field}`).toBe(total[field]);
      }
    }
    // Every event is in exactly one window, numbered in order.
    expect(t.windows.at(-1).to).toBe(whole.events);
  });

  it("one thread and two (reader here, strategies in a worker) write the same", () => {
    // A gzip trace is replayed on two threads when there are two cores (--jobs 2);
    // --jobs 1 keeps it in this one. With one core both runs are one thread.
    const dir = tempDir({ "t.csv.gz": gzipSync(Buffer.from(TIMED_TRACE)) });
    for (const format of ["csv", "json", "table"]) {
      const args = ["compare", "t.csv.gz", "-s", "all", "--window", "10ms", "-f", format];
      const one = runCli([...args, "--jobs", "1"], { cwd: dir });
      const two = runCli([...args, "--jobs", "2"], { cwd: dir });
      expect(one.status).toBe(0);
      expect(two.stdout, format).toBe(one.stdout);
    }
    const real = ["compare", "traces/real/ipi.csv.gz", "--l1-profile", "kvm", "--window", "50ms", "-f", "csv"];
    expect(runCli([...real, "--jobs", "2"]).stdout).toBe(runCli([...real, "--jobs", "1"]).stdout);
  });

  it("a trace without t: one line naming it, nothing written, even when it is the second trace", () => {
    const dir = tempDir({ "a.csv": TIMED_TRACE, "b.csv": EVENTS_TRACE });
    const r = runCli(["compare", "a.csv", "b.csv", "--window", "50ms"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toEqual([
      "b.csv:1: --window 50ms needs a timestamp on every row, but the header has no t column (give a window in events instead, e.g. --window 10k)",
    ]);
  });

  it("an empty t: file:line:column", () => {
    const dir = tempDir({ "t.csv": TIMED_TRACE.replace(",100.015\n", ",\n") });
    const r = runCli(["compare", "t.csv", "--window", "1s"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toEqual([
      "t.csv:7:23: column t: --window 1s needs a timestamp in column t (seconds, e.g. 5348.808119)",
    ]);
  });

  it("bad --window values and options it cannot go with are usage errors (exit 2)", () => {
    const dir = tempDir({ "t.csv": EVENTS_TRACE });
    for (const value of ["0", "10x", "1.5ms", "-5", "", "10 k", "1m", "0ms", "9007199254740992"]) {
      const r = runCli(["compare", "t.csv", "--window", value], { cwd: dir });
      expect(r.status, value).toBe(2);
      expect(r.stderr, value).toContain(`error: option --window: "${value}" is not a window (N events`);
    }
    for (const [option, ...rest] of [
      ["--sweep", "merge=0:10:5"],
      ["--breakeven", "merge"],
      ["--cycles"],
      ["--keep-going"],
    ]) {
      const r = runCli(["compare", "t.csv", "--window", "10k", option as string, ...rest], { cwd: dir });
      expect(r.status, option).toBe(2);
      expect(r.stderr, option).toContain(`error: option --window: --window cannot be combined with ${option} (`);
    }
    // The suffixes that are allowed: 10k = 10,000 events, 1M, 100us.
    for (const value of ["10k", "1M", "100us", "2s"]) {
      expect(runCli(["compare", "t.csv", "--window", value, "-f", "csv"], { cwd: dir }).status, value).toBe(
        value.endsWith("s") ? 1 : 0, // t.csv has no t column: the time windows fail on it
      );
    }
  });
});
