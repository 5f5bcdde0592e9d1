/**
 * The trace reader's two paths (docs/model.md §3) give the same result: the
 * fast byte scanner (which hands the rest of the input to csv-parse at the
 * first line it cannot take) and csv-parse alone, the reference. Same events
 * (every field, the line included), same stats, or the same one-line
 * InputError, whatever the chunking of the input and whether it is gzipped.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../src/engine/events.js";
import { InputError } from "../src/io/errors.js";
import { readTrace, type TraceStats } from "../src/io/trace-reader.js";
import { useTempDirs } from "./helpers/cli.js";
import { type CopiedEvent, copyEvent } from "./helpers/copied-events.js";
import { chunkPlan, cut, SNAPSHOT_FILES, traceText } from "./helpers/trace-gen.js";

const tempDir = useTempDirs("all");

type Reader = "fast" | "csv-parse";

/** The events as read, snapshot bytes as a digest. */
type Copied = CopiedEvent<string>;
const copy = (ev: TraceEvent): Copied => copyEvent(ev, (content) => createHash("sha1").update(content).digest("hex"));

type Outcome = { events: Copied[]; stats: TraceStats } | { error: string };

/**
 * Reads a trace with one reader: from `chunks` (an input stream), or from the
 * file itself when chunks is omitted. An error that is not an InputError is
 * recorded as such, so it never equals a proper one.
 */
async function read(reader: Reader, file: string, chunks?: readonly Buffer[]): Promise<Outcome> {
  const events: Copied[] = [];
  try {
    const stats = await readTrace({
      file,
      reader,
      onEvent: (ev) => events.push(copy(ev)),
      ...(chunks ? { input: Readable.from(chunks) } : {}),
    });
    return { events, stats };
  } catch (error) {
    if (error instanceof InputError) return { error: error.message };
    return { error: `not an InputError: ${String(error)}` };
  }
}

const bytesOf = (text: string | Buffer): Buffer => (typeof text === "string" ? Buffer.from(text, "utf8") : text);

/** Both readers on the same bytes, each cut its own way. */
async function both(
  text: string | Buffer,
  fastPlan: readonly number[] = [Infinity],
  refPlan: readonly number[] = [Infinity],
  file = "t.csv",
) {
  const bytes = bytesOf(text);
  const fast = await read("fast", file, cut(bytes, fastPlan));
  const ref = await read("csv-parse", file, cut(bytes, refPlan));
  return { fast, ref };
}

/** Both readers agree under several chunkings (whole, single bytes, odd sizes); returns the reference result. */
async function agree(
  text: string | Buffer,
  plans: readonly (readonly number[])[] = [[Infinity], [1], [3, 7, 2]],
): Promise<Outcome> {
  const reference = await read("csv-parse", "t.csv", [bytesOf(text)]);
  for (const fastPlan of plans) {
    for (const refPlan of [[Infinity], fastPlan]) {
      const { fast, ref } = await both(text, fastPlan, refPlan);
      expect(ref, `csv-parse cut ${JSON.stringify(refPlan)}`).toEqual(reference);
      expect(fast, `fast cut ${JSON.stringify(fastPlan)}`).toEqual(reference);
    }
  }
  return reference;
}

function eventsOf(outcome: Outcome): Copied[] {
  if ("error" in outcome) throw new Error(`expected events, got the error ${outcome.error}`);
  return outcome.events;
}

function errorOf(outcome: Outcome): string {
  if (!("error" in outcome)) throw new Error(`expected an error, got ${outcome.events.length} events`);
  expect(outcome.error).not.toContain("\n");
  return outcome.error;
}

/** Now and then the same trace gzipped (both readers get the same compressed bytes). */
const gzipped = fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

describe("fast scanner and csv-parse agree on random traces", () => {
  it("same events, stats and errors, however the input is cut", async () => {
    const dir = tempDir(SNAPSHOT_FILES);
    const file = join(dir, "t.csv");
    await fc.assert(
      fc.asyncProperty(traceText(), chunkPlan, chunkPlan, gzipped, async (text, fastPlan, refPlan, gzip) => {
        const bytes = gzip ? gzipSync(text) : Buffer.from(text, "utf8");
        const fast = await read("fast", file, cut(bytes, fastPlan));
        const ref = await read("csv-parse", file, cut(bytes, refPlan));
        expect(fast).toEqual(ref);
        if ("error" in ref) expect(ref.error).not.toContain("\n");
      }),
      // The time limit bounds a long shrink (or a slow machine); it never fails a run by itself.
      { numRuns: 300, interruptAfterTimeLimit: 5_000 },
    );
  });
});

describe("fast scanner and csv-parse agree on chosen traces", () => {
  /** A plain trace of `lines` lines (header included), every hot event and spelling. */
  function plainTrace(lines: number, lineAt: (n: number) => string | undefined = () => undefined): string {
    const out = ["event,vcpu,msr,value,t"];
    const rows = [
      "rdmsr,1,0x10,,t1",
      "wrmsr,2,0XC0000080,0x500,",
      "vmexit,3,,HLT,",
      "vmentry,3,,,",
      "rdmsr,0,000027,,",
      "wrmsr,4095,0x1b,18446744073709551615,x",
    ];
    for (let n = 2; n <= lines; n++) out.push(lineAt(n) ?? (rows[n % rows.length] as string));
    return `${out.join("\n")}\n`;
  }

  it("a quote first seen on line 5000: the handover mid-file keeps the line numbers", async () => {
    const text = plainTrace(5010, (n) =>
      n === 5000 ? 'rdmsr,7,0x11,,"quoted, with a comma"' : n === 5004 ? "# a comment" : n === 5005 ? "" : undefined,
    );
    const reference = await read("csv-parse", "t.csv", [Buffer.from(text)]);
    const events = eventsOf(reference);
    expect(events).toHaveLength(5010 - 1 - 2);
    expect(events.find((e) => e.line === 5000)).toMatchObject({ event: "rdmsr", vcpu: 7, msr: 0x11 });
    expect(events.at(-1)?.line).toBe(5010);
    expect(events.map((e) => e.line)).not.toContain(5004);
    for (const plan of [[Infinity], [4096], [65_536, 13]]) {
      expect(await read("fast", "t.csv", cut(Buffer.from(text), plan)), `fast cut ${JSON.stringify(plan)}`).toEqual(
        reference,
      );
    }
  });

  it("an error after the handover on line 5000 names the same line and column", async () => {
    const text = plainTrace(5010, (n) => (n === 5000 ? 'vmentry,1,,,"q"' : n === 5003 ? "rdmsr,1,0xZZ,," : undefined));
    const expected = { error: 't.csv:5003:9: column msr: "0xZZ" is not an MSR index (32 bits, hex 0x… or decimal)' };
    expect(await read("csv-parse", "t.csv", [Buffer.from(text)])).toEqual(expected);
    for (const plan of [[Infinity], [4096]]) {
      expect(await read("fast", "t.csv", cut(Buffer.from(text), plan)), `fast cut ${JSON.stringify(plan)}`).toEqual(
        expected,
      );
    }
  });

  it("a UTF-8 BOM is skipped, also when it arrives a byte at a time", async () => {
    const events = eventsOf(await agree("\ufeffevent,msr\nrdmsr,0x10\n"));
    expect(events.map((e) => [e.event, e.msr, e.line])).toEqual([["rdmsr", 0x10, 1 + 1]]);
    // Columns are counted after the BOM.
    expect(errorOf(await agree("\ufeffevent,bogus\nvmentry,1\n"))).toMatch(/^t\.csv:1:7: unknown column "bogus"/);
    // A BOM before a quoted header, and before a comment.
    expect(eventsOf(await agree('\ufeff"event",msr\nrdmsr,0x10\n'))).toHaveLength(1);
    expect(eventsOf(await agree("\ufeff# c\nevent,msr\nrdmsr,0x10\n"))[0]?.line).toBe(3);
  });

  it("CRLF everywhere, in a quoted field too", async () => {
    const text =
      'event,vcpu,msr,value,t\r\n# c\r\n\r\nrdmsr,1,0x10,,\r\nwrmsr,1,0x10,5,"two\r\nlines"\r\nvmexit,1,,,\r\n';
    const events = eventsOf(await agree(text));
    expect(events.map((e) => [e.event, e.line])).toEqual([
      ["rdmsr", 4],
      ["wrmsr", 5],
      ["vmexit", 7],
    ]);
    expect(errorOf(await agree("event,msr\r\nrdmsr,0x10\r\nrdmsr,4294967296\r\n"))).toMatch(
      /^t\.csv:3:7: column msr: /,
    );
  });

  it("a line of spaces among the rows is skipped", async () => {
    const events = eventsOf(await agree("event,vcpu,msr\nrdmsr,1,0x10\n   \n \r\nrdmsr,2,0x11\n"));
    expect(events.map((e) => [e.vcpu, e.line])).toEqual([
      [1, 2],
      [2, 5],
    ]);
  });

  it("a header followed only by comments and blank lines", async () => {
    expect(errorOf(await agree("event,msr\n# a\n\n# b\n"))).toBe("t.csv:1: the trace has a header but no events");
    expect(errorOf(await agree("# first\nevent,msr\r\n# a\r\n"))).toBe("t.csv:2: the trace has a header but no events");
  });

  it("the last line without a newline", async () => {
    expect(eventsOf(await agree("event,msr\nrdmsr,0x10\nrdmsr,0x11")).map((e) => [e.msr, e.line])).toEqual([
      [0x10, 2],
      [0x11, 3],
    ]);
    expect(eventsOf(await agree('event,msr\nrdmsr,0x10\n"rdmsr",0x11')).at(-1)?.line).toBe(3);
    expect(errorOf(await agree("event,msr\nrdmsr,0x10\nrdmsr,0x"))).toMatch(/^t\.csv:3:7: column msr: /);
    expect(errorOf(await agree("event,msr\r\nrdmsr,0x10\r\nrdmsr,1,2"))).toBe(
      "t.csv:3:9: 3 fields, but the header (line 1) names 2 columns",
    );
  });

  it("a row with more fields than the header", async () => {
    expect(errorOf(await agree("event,msr\nrdmsr,0x10\nrdmsr,0x10,\nrdmsr,0x10\n"))).toBe(
      "t.csv:3:12: 3 fields, but the header (line 1) names 2 columns",
    );
    expect(errorOf(await agree("event,vcpu,msr,value\nwrmsr,0,0x10,1,extra\n"))).toBe(
      "t.csv:2:16: 5 fields, but the header (line 1) names 4 columns",
    );
    // After the handover too.
    expect(errorOf(await agree('event,msr\n"rdmsr",0x10\nrdmsr,0x10,1\n'))).toBe(
      "t.csv:3:12: 3 fields, but the header (line 1) names 2 columns",
    );
  });
});

describe("gzip", () => {
  /** CRLF line ends and a quoted field on line 900: the fast path hands over mid-file. */
  const rows = ["event,vcpu,msr,value,t"];
  for (let i = 0; i < 1000; i++) {
    rows.push(
      i === 898
        ? 'rdmsr,1,0x10,,"a ""quoted"" t"'
        : `${i % 2 ? "rdmsr" : "wrmsr"},${i % 4},0x${(i % 0x1fff).toString(16)},${i},`,
    );
  }
  const text = `${rows.join("\r\n")}\r\n`;
  const gz = gzipSync(Buffer.from(text));

  it("a gzipped trace gives the same events as the plain one, from a stream or a file not named .gz", async () => {
    const plain = await read("csv-parse", "t.csv", [Buffer.from(text)]);
    expect(eventsOf(plain)).toHaveLength(1000);
    expect(await read("fast", "t.csv", [Buffer.from(text)])).toEqual(plain);
    const dir = tempDir({ "trace.csv": gz });
    for (const reader of ["fast", "csv-parse"] as const) {
      for (const plan of [[Infinity], [1, 100], [4096]]) {
        expect(
          await read(reader, "t.csv", cut(gz, plan)),
          `${reader} from a stream cut ${JSON.stringify(plan)}`,
        ).toEqual(plain);
      }
      expect(await read(reader, join(dir, "trace.csv")), `${reader} from the file`).toEqual(plain);
    }
  });

  // The time limit only turns a hang into a failure.
  it("a truncated gzip stream is a one-line InputError naming the file, not a hang", { timeout: 10_000 }, async () => {
    const truncated = {
      "half.csv": gz.subarray(0, Math.floor(gz.length / 2)),
      "head.csv": gz.subarray(0, 12),
      "no-trailer.csv": gz.subarray(0, gz.length - 4),
    };
    const dir = tempDir(truncated);
    for (const reader of ["fast", "csv-parse"] as const) {
      for (const [name, bytes] of Object.entries(truncated)) {
        for (const plan of [[Infinity], [1, 50]]) {
          const error = errorOf(await read(reader, name, cut(bytes, plan)));
          expect(error.startsWith(`${name}: `), `${reader} ${name} cut ${JSON.stringify(plan)}: ${error}`).toBe(true);
        }
        const path = join(dir, name);
        const error = errorOf(await read(reader, path));
        expect(error.startsWith(`${path}: `), `${reader} ${path}: ${error}`).toBe(true);
      }
    }
  });
});

/**
 * Inputs on which the two paths were found to disagree. Each states what both
 * must give (the documented behaviour); they fail until the readers agree.
 */
describe("disagreements found", () => {
  it("stats.lines counts comment and blank lines after the last row (TraceStats: comments and blank lines included)", async () => {
    const { fast, ref } = await both("event\nvmentry\n\n");
    expect(fast).toEqual({
      events: [expect.objectContaining({ event: "vmentry", line: 2 })],
      stats: { events: 1, lines: 3 },
    });
    expect(ref).toEqual(fast);
  });

  it("a line of spaces before the header is skipped, as blank lines are (docs/model.md §3: the first other line is the header)", async () => {
    const { fast, ref } = await both(" \nevent,t\nvmentry\n");
    expect(fast).toEqual({
      events: [expect.objectContaining({ event: "vmentry", line: 3 })],
      stats: { events: 1, lines: 3 },
    });
    expect(ref).toEqual(fast);
  });

  it("an input shorter than 3 bytes that the scanner hands over keeps its line numbers", async () => {
    const { fast, ref } = await both('\n"');
    expect(ref).toEqual({
      error: "t.csv:2: not valid CSV: Quote Not Closed: the parsing is finished with an opening quote",
    });
    expect(fast).toEqual(ref);
  });

  it("the first error in the file is the one reported, even when a later line is not valid CSV", async () => {
    // Line 2 has an unknown event; line 3 has more fields than the header.
    const { fast, ref } = await both("event\nx\n,\n");
    expect(errorOf(fast)).toMatch(/^t\.csv:2:1: column event: "x" is not an event/);
    expect(ref).toEqual(fast);
  });

  it("a CSV error after a CRLF inside quotes names its line whatever the chunking", async () => {
    const text = [
      'event,file,page,vcpu,msr,value,"t"',
      'vmentry,"\r\n"', // lines 2-3
      'vmentry,""',
      "vmentry",
      "vmentry",
      "vmentry",
      "vmentry",
      "vmentry",
      " ", // line 10
      'vmentry,""',
      "vmentry",
      'vmentry,""',
      "vmentry",
      "l1-mode,,,,,longmode", // line 15
      'vmentry,""',
      "vmentry",
      ",,,,,,,", // line 18: eight fields under seven columns
      "0,",
      "",
    ].join("\n");
    const expected = { error: "t.csv:18:8: 8 fields, but the header (line 1) names 7 columns" };
    for (const plan of [[Infinity], [1]]) {
      const { fast, ref } = await both(text, plan, plan);
      expect(ref, `csv-parse cut ${JSON.stringify(plan)}`).toEqual(expected);
      expect(fast, `fast cut ${JSON.stringify(plan)}`).toEqual(expected);
    }
  });

  it("a UTF-8 BOM that does not start the file is a character, also after the handover", async () => {
    // Line 2 starts with EF BB BF: U+FEFF is column 1, so "gile" starts in column 8.
    const text = Buffer.concat([
      Buffer.from("\n"),
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from("event,gile\nvmentry\n"),
    ]);
    for (const plan of [[Infinity], [1]]) {
      const { fast, ref } = await both(text, plan);
      expect(errorOf(ref)).toMatch(/^t\.csv:2:8: unknown column "gile"/);
      expect(fast, `fast cut ${JSON.stringify(plan)}`).toEqual(ref);
    }
  });

  it("a second BOM after the file's own is a character for the text check too, after the handover", async () => {
    // The first BOM is dropped; the second is U+FEFF in column 1, so 0xFF is in column 9.
    const text = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]),
      Buffer.from("event,t\xff\n", "latin1"),
    ]);
    const { fast, ref } = await both(text);
    expect(errorOf(ref)).toMatch(/^t\.csv:1:9: invalid UTF-8/);
    expect(fast).toEqual(ref);
  });

  it("a quote closed on the next line and followed by a character: the error is on the line of that character", async () => {
    // The quoted field opens on line 2 and closes on line 3, where "w" follows the closing quote.
    for (const header of ["event,t\r\n", "event,t\n", "\r\nevent,t\r\n"]) {
      const line = header.startsWith("\r") ? 4 : 3;
      const { fast, ref } = await both(`${header}"w\n"w\n`);
      expect(errorOf(ref), JSON.stringify(header)).toMatch(
        new RegExp(`^t\\.csv:${line}: not valid CSV: Invalid Closing Quote`),
      );
      expect(fast).toEqual(ref);
    }
  });

  it("a quote inside an unquoted header field after a blank CRLF line is on line 2", async () => {
    const { fast, ref } = await both('\r\net","0"\n');
    expect(errorOf(ref)).toMatch(/^t\.csv:2: not valid CSV: Invalid Opening Quote/);
    expect(fast).toEqual(ref);
  });

  it("an opening quote inside a field after the handover names the line of the file", async () => {
    // The fast path takes lines 1-2 and hands line 3 to csv-parse.
    const { fast, ref } = await both('event\nvmentry\nx"\n');
    expect(fast).toEqual(ref);
    expect(errorOf(ref)).toMatch(/^t\.csv:3(:\d+)?: /);
  });
});
