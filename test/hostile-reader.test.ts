/**
 * Hostile but valid input to the trace reader and the importer (issue 10):
 * after one quoted field the reader still bounds a line and streams comments,
 * reads the rest at the fast scanner's pace (csv-parse decodes only the
 * records that need it), and the importer keeps flat memory whatever the
 * number of threads in the kernel trace.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { MAX_VCPUS } from "../src/engine/machine.js";
import { Importer, MAX_HINTED_THREADS } from "../src/import/importer.js";
import { renderSummary } from "../src/import/summary.js";
import { InputError } from "../src/io/errors.js";
import { MAX_LINE, MAX_ROW, ROW_TOO_LONG, TOO_LONG } from "../src/io/fast-scanner.js";
import { readTrace, type TraceStats } from "../src/io/trace-reader.js";
import { BIN } from "./helpers/cli.js";
import { type CopiedEvent, copyEvent } from "./helpers/copied-events.js";

/**
 * Records csv-parse hands out, through either of its interfaces: the count
 * shows which rows it decoded (the rest went through the fast scanner).
 */
const csvRecords = vi.hoisted(() => ({ count: 0 }));

type CsvOptions = { on_record?: (record: unknown, context: unknown) => unknown };
/** The options with on_record counting the records it is called for. */
function counting<T extends CsvOptions | undefined>(options: T): T {
  const onRecord = options?.on_record;
  if (onRecord === undefined) return options;
  return {
    ...options,
    on_record: (record: unknown, context: unknown) => {
      csvRecords.count++;
      return onRecord(record, context);
    },
  };
}

vi.mock("csv-parse", async (importOriginal) => {
  const real = await importOriginal<typeof import("csv-parse")>();
  return { ...real, parse: (options?: CsvOptions) => real.parse(counting(options) as never) };
});
vi.mock("csv-parse/sync", async (importOriginal) => {
  const real = await importOriginal<typeof import("csv-parse/sync")>();
  return {
    ...real,
    parse: (input: Buffer, options?: CsvOptions) => {
      const records = real.parse(input, counting(options) as never) as unknown[];
      // Records parsed bare (no on_record) are counted as they are returned.
      if (options?.on_record === undefined) csvRecords.count += records.length;
      return records;
    },
  };
});

const MiB = 1 << 20;
const HEADER = "event,vcpu,msr,value,t\n";
const QUOTED = 'rdmsr,0,0x10,,"a quoted, field"\n';

type Outcome = { events: CopiedEvent<never>[]; stats: TraceStats } | { error: string };

/** Reads a trace from chunks with the default (fast) reader or the csv-parse reference. */
async function read(
  chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string>,
  reader: "fast" | "csv-parse" = "fast",
): Promise<Outcome> {
  const events: CopiedEvent<never>[] = [];
  try {
    const stats = await readTrace({
      file: "t.csv",
      reader,
      input: Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 }),
      onEvent: (ev) => events.push(copyEvent(ev, () => undefined as never)),
    });
    return { events, stats };
  } catch (error) {
    if (error instanceof InputError) return { error: error.message };
    throw error;
  }
}

/** `head`, then `body` repeated until `limit` bytes were produced; counts what the reader pulled. */
function endless(head: string, body: Buffer, limit: number): { chunks: Generator<Buffer>; pulled: () => number } {
  let pulled = 0;
  function* chunks(): Generator<Buffer> {
    const first = Buffer.from(head);
    pulled += first.length;
    yield first;
    while (pulled < limit) {
      pulled += body.length;
      yield body;
    }
  }
  return { chunks: chunks(), pulled: () => pulled };
}

describe("after a quoted field, a line is still bounded at once (1 MiB)", () => {
  // The reader used to hand the rest of the input to csv-parse at a quoted
  // field, and buffer a line until its end: these inputs were read whole
  // (the old code pulls all 16 MiB here, or never ends on an endless stdin).
  const LIMIT = 16 * MiB;
  const X = Buffer.alloc(64 * 1024, "x");

  it("a plain line that never ends fails on its line before 4 MiB were read", async () => {
    const input = endless(`${HEADER}${QUOTED}rdmsr,0,0x10,,`, X, LIMIT);
    expect(await read(input.chunks)).toEqual({ error: `t.csv:3: ${TOO_LONG}` });
    expect(input.pulled()).toBeLessThan(4 * MiB);
  });

  it("a quoted field that never ends on its line fails the same way", async () => {
    const input = endless(`${HEADER}${QUOTED}# a comment\nrdmsr,0,0x10,,"`, X, LIMIT);
    expect(await read(input.chunks)).toEqual({ error: `t.csv:4: ${TOO_LONG}` });
    expect(input.pulled()).toBeLessThan(4 * MiB);
  });

  it("inside quotes the limit is the line's bytes, as on plain lines: MAX_LINE passes, one more fails", async () => {
    // `rdmsr,0,0x10,,"` (15 bytes), the y's, the closing quote: exactly MAX_LINE bytes.
    const atLimit = `${HEADER}${QUOTED}rdmsr,0,0x10,,"${"y".repeat(MAX_LINE - 16)}"\n`;
    const fast = await read([atLimit]);
    expect(fast).toEqual(await read([atLimit], "csv-parse"));
    expect("stats" in fast && fast.stats).toEqual({ events: 2, lines: 3 });
    expect(await read([atLimit.replace('"y', '"yy')])).toEqual({ error: `t.csv:3: ${TOO_LONG}` });
  });

  it("a quoted field left open over short lines stops at 2 MiB, on the line of the byte past the limit", async () => {
    // `vmentry,"` then `\n","` over and over: fields of one line end each, never a row's end.
    // csv-parse counts one character per field here, far below its own limit, so the
    // row limit speaks. Record bytes 0-8 are `vmentry,"`, and a "\n" is at 9 + 4k:
    // the line ends before byte MAX_ROW are k = 0 … floor((MAX_ROW - 10) / 4), and the
    // record starts on line 3.
    const lineEndsBefore = Math.floor((MAX_ROW - 10) / 4) + 1;
    const input = endless(`${HEADER}${QUOTED}vmentry,"`, Buffer.from('\n","'.repeat(16 * 1024)), LIMIT);
    expect(await read(input.chunks)).toEqual({ error: `t.csv:${3 + lineEndsBefore}: ${ROW_TOO_LONG}` });
    expect(input.pulled()).toBeLessThan(4 * MiB);
  });

  it("a quoted field left open over ordinary text gets csv-parse's own limit, as on the reference path", async () => {
    // 1 MiB of field text over lines of 16 bytes: csv-parse's limit (MAX_LINE characters
    // in a row) is passed before the row limit, on the same line for both readers.
    const text = `${HEADER}${QUOTED}vmentry,"${"0123456789abcde\n".repeat(MAX_LINE / 16 + 8)}"\n`;
    const reference = await read([text], "csv-parse");
    expect(reference).toEqual({ error: expect.stringMatching(/^t\.csv:\d+: a line longer than 1 MiB/) });
    expect(await read([text])).toEqual(reference);
  });
});

describe("after a quoted field, comments stream in flat memory", () => {
  it("300 MB of # comments through stdin: exit 0, peak RSS well under what keeping them takes", async () => {
    if (!existsSync("/usr/bin/time"))
      return void console.warn("skipped: /usr/bin/time is needed to measure the child's peak RSS");
    // The old fallback kept every chunk after the quoted field (over 300 MB); the fast
    // scanner skips comments without keeping them: the process stays near its ~70 MB.
    const TOTAL = 300 * 1000 * 1000;
    const comments = Buffer.from("# a comment line of some length, as a generator writes them\n".repeat(16 * 1024));
    const child = spawn("/usr/bin/time", ["-f", "maxrss_kb=%M", process.execPath, BIN, "validate", "-"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const write = (chunk: string | Buffer) =>
      new Promise<void>((resolve, reject) => child.stdin.write(chunk, (e) => (e ? reject(e) : resolve())));
    await write(`${HEADER}${QUOTED}`);
    for (let sent = 0; sent < TOTAL; sent += comments.length) await write(comments);
    await write("vmentry,1,,,\n");
    child.stdin.end();
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain("2 events");
    const rss = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1]);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(200 * 1024);
  }, 60_000);
});

describe("a quoted field costs its own record, not the rest of the trace", () => {
  /** 10,000 plain rows of every hot event, after `first`. */
  function trace(first: string): string {
    const rows = ["rdmsr,1,0x10,,t", "wrmsr,2,0xc0000100,0x7f00,", "vmexit,3,,HLT,", "vmentry,3,,,"];
    let text = `${HEADER}${first}`;
    for (let i = 0; i < 10_000; i++) text += `${rows[i % rows.length]}\n`;
    return text;
  }

  it("csv-parse decodes the one quoted record; the 10,000 rows after it go through the fast scanner", async () => {
    // Before, csv-parse read every row from the quoted one on (10,001 records here):
    // 40 times slower on a long trace.
    csvRecords.count = 0;
    const quoted = await read([trace(QUOTED)]);
    expect(csvRecords.count).toBe(1);
    expect("stats" in quoted && quoted.stats).toEqual({ events: 10_001, lines: 10_002 });
  });

  it("quoted and plain spellings of the same rows give the same events, lines included, and so does csv-parse alone", async () => {
    const plain = ["rdmsr,1,0x10,,t1", "wrmsr,2,0xc0000100,0x7f00,", "vmexit,3,,HLT,", "vmentry,3,,,"];
    const quoted = [
      '"rdmsr",1,"0x10",,"t1"',
      'wrmsr,"2",0xc0000100,"0x7f00",""',
      'vmexit,3,,"HLT",',
      '"vmentry","3","","",""',
    ];
    const body = (rows: string[]) => `${HEADER}${rows.join("\n")}\n${rows.join("\r\n")}\r\n# end\n`;
    const fromPlain = await read([body(plain)]);
    expect("stats" in fromPlain && fromPlain.stats).toEqual({ events: 8, lines: 10 });
    // Cut into 3-byte chunks too: records and quotes then span chunks.
    const text = Buffer.from(body(quoted));
    const small: Buffer[] = [];
    for (let i = 0; i < text.length; i += 3) small.push(text.subarray(i, i + 3));
    for (const chunks of [[text], small]) {
      expect(await read(chunks)).toEqual(fromPlain);
      expect(await read(chunks, "csv-parse")).toEqual(fromPlain);
    }
  });

  it("a quoted field holding line ends and commas keeps the line numbers of the rows after it", async () => {
    const text = `${HEADER}rdmsr,0,0x10,,"one\ntwo, three\r\nfour"\nwrmsr,1,0x10,5,\n"vmentry",1\nvmexit,1\n`;
    const outcome = await read([text]);
    expect(outcome).toEqual(await read([text], "csv-parse"));
    if (!("events" in outcome)) throw new Error(outcome.error);
    expect(outcome.events.map((e) => [e.event, e.line])).toEqual([
      ["rdmsr", 2],
      ["wrmsr", 5],
      ["vmentry", 6],
      ["vmexit", 7],
    ]);
  });
});

describe("a trace quoted throughout: csv-parse decodes runs of records, with the reference's errors", () => {
  it("an error in a later quoted record names the same line and column as csv-parse alone", async () => {
    const rows = ['"rdmsr","0","0x10","","a\nb"', '"wrmsr","1","0x10","5","c, ""d"""', '"rdmsr","2","0xZZ","",""'];
    const text = `${HEADER}${rows.join("\n")}\n"vmentry","1"\n`;
    const reference = await read([text], "csv-parse");
    // Line 5: the third record starts on line 5 (the first holds a line end); column 13 is its msr.
    expect(reference).toEqual({ error: expect.stringMatching(/^t\.csv:5:13: column msr: "0xZZ" is not an MSR index/) });
    expect(await read([text])).toEqual(reference);
  });
});

describe("import: memory stays flat whatever the number of threads", () => {
  // kvm_exit's payload: "vcpu %u reason %s …"
  const exit = (pid: number, vcpu: number) =>
    `  qemu-kvm-${pid}    [000] d..1. 1.000001: kvm_exit: vcpu ${vcpu} reason HLT rip 0xffffffff81a0b1c2 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000`;
  const msr = (pid: number) => `  qemu-kvm-${pid}    [000] d..1. 1.000002: kvm_msr: msr_read 10 = 0x5a3c1e2f00`;

  it("threads beyond the cap are forgotten, least recently seen first, and counted in the summary", () => {
    const importer = new Importer("trace.txt", false);
    const vcpuOf = (line: string) => importer.line(line)?.split(",")[1];
    // A vCPU thread that keeps running stays remembered throughout.
    const LIVE = 1;
    expect(vcpuOf(exit(LIVE, 9))).toBeUndefined();
    const threads = MAX_HINTED_THREADS + 10_000;
    let kept = 0;
    for (let i = 0; i < threads; i++) {
      const pid = 100 + i;
      importer.line(exit(pid, 3));
      expect(vcpuOf(msr(pid))).toBe("3");
      if (i % 1000 === 0) expect(vcpuOf(msr(LIVE))).toBe("9");
      kept = Math.max(kept, importer.threadsKept);
    }
    // The old maps held every thread twice (hundreds of thousands of entries here,
    // 17M in the trace, past a Map's limit).
    expect(kept).toBeLessThanOrEqual(MAX_VCPUS + MAX_HINTED_THREADS);
    expect(importer.stats.forgottenThreads).toBe(threads + 1 - MAX_HINTED_THREADS);
    // Thread 100 (the second seen) was forgotten: numbered by its rank of first appearance again.
    expect(vcpuOf(msr(100))).toBe("1");
    // A forgotten thread first seen after MAX_VCPUS others has no rank in range, as before: skipped.
    expect(importer.line(msr(100 + MAX_VCPUS + 5))).toBeNull();
    expect(importer.stats.skipped.vcpuRange).toBe(1);
    expect(renderSummary("trace.txt", null, importer.stats)).toMatch(
      new RegExp(
        `threads forgotten +${(threads + 1 - MAX_HINTED_THREADS).toLocaleString("en-US")} +\\(their last vcpu N`,
      ),
    );
  });
});
