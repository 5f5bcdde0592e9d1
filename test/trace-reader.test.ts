/**
 * The trace reader in-process: CSV syntax (docs/model.md §3), the decoded
 * events, snapshots (docs/model.md §4) and every input error with its exact
 * file:line:column.
 */
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DIR_R, DIR_RW, DIR_W, filledPage } from "../src/engine/bitmap.js";
import { MODE_LEGACY, MODE_LONGMODE, type TraceEvent } from "../src/engine/events.js";
import { Replay } from "../src/engine/replay.js";
import { InputError } from "../src/io/errors.js";
import { readSnapshot } from "../src/io/snapshot.js";
import { readTrace } from "../src/io/trace-reader.js";
import { useTempDirs, writeFiles } from "./helpers/cli.js";
import { type CopiedEvent, copyEvent } from "./helpers/copied-events.js";

const tempDir = useTempDirs("each");

/** The events as read, snapshot bytes copied. */
type Decoded = CopiedEvent<Uint8Array>;
const decoded = (ev: TraceEvent): Decoded => copyEvent(ev, (content) => content.slice());

type Chunks = string | Buffer | readonly (string | Buffer)[];

function stream(text: Chunks): Readable {
  return Readable.from(typeof text === "string" || Buffer.isBuffer(text) ? [text] : [...text]);
}

/** Reads a trace given as text; `file` names it (and its folder, for snapshots). */
async function read(text: Chunks, file = "t.csv") {
  const events: Decoded[] = [];
  const stats = await readTrace({ file, input: stream(text), onEvent: (ev) => events.push(decoded(ev)) });
  return { events, stats };
}

/**
 * Reads a trace that must fail with an InputError; returns its message
 * (checked to be one line). With `replay`, events go through a Replay with
 * no strategies, as `validate` does, so failing nested entries show.
 */
async function failure(text: Chunks, file = "t.csv", replay = false): Promise<string> {
  const l0 = filledPage(true);
  const machine = new Replay({ strategies: [], l0: { longmode: l0, legacy: l0 } });
  let caught: unknown;
  try {
    await readTrace({ file, input: stream(text), onEvent: replay ? (ev) => machine.apply(ev) : () => {} });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputError);
  const message = (caught as InputError).message;
  expect(message).not.toContain("\n");
  return message;
}

/** Expects a failure whose message starts exactly with `prefix` and names `column`. */
async function expectError(text: Chunks, prefix: string, column: string, file = "t.csv"): Promise<string> {
  const message = await failure(text, file);
  expect(message.startsWith(prefix), `"${message}" should start with "${prefix}"`).toBe(true);
  expect(message).toContain(column);
  return message;
}

describe("CSV syntax", () => {
  it("skips comments, blank lines and lines of spaces, and still counts them as lines", async () => {
    const text = [
      "# a comment before the header", // 1
      "", // 2
      "event,vcpu,msr", // 3
      "# a comment between rows", // 4
      "   ", // 5
      "rdmsr,1,0x10", // 6
      "", // 7
      "rdmsr,2,0x11", // 8
      "",
    ].join("\n");
    const { events, stats } = await read(text);
    expect(events.map((e) => [e.event, e.vcpu, e.msr, e.line])).toEqual([
      ["rdmsr", 1, 0x10, 6],
      ["rdmsr", 2, 0x11, 8],
    ]);
    expect(stats.events).toBe(2);
  });

  it("a # inside a field is not a comment", async () => {
    // Were "a#b,0x10" cut at the #, the msr column would be missing: an error.
    const { events } = await read("event,t,msr\nrdmsr,a#b,0x10\n");
    expect(events.map((e) => [e.event, e.msr])).toEqual([["rdmsr", 0x10]]);
  });

  it("reads CRLF line ends", async () => {
    const { events } = await read("event,msr,value\r\nrdmsr,0x10,\r\n\r\nwrmsr,0x11,1\r\n");
    expect(events.map((e) => [e.event, e.msr, e.line])).toEqual([
      ["rdmsr", 0x10, 2],
      ["wrmsr", 0x11, 4],
    ]);
  });

  it("reads mixed LF and CRLF line ends, and a last line without one", async () => {
    const { events } = await read("event,msr\r\nrdmsr,0x10\nrdmsr,0x11\r\nrdmsr,0x12");
    expect(events.map((e) => [e.msr, e.line])).toEqual([
      [0x10, 2],
      [0x11, 3],
      [0x12, 4],
    ]);
  });

  it("reads a CRLF split between two chunks", async () => {
    const { events } = await read(["event,msr\r", "\nrdmsr,0x10\r", "\nrdmsr,0x11\r\n"]);
    expect(events.map((e) => [e.msr, e.line])).toEqual([
      [0x10, 2],
      [0x11, 3],
    ]);
  });

  it("reads RFC 4180 quoting: quoted fields, doubled quotes, a quoted comma", async () => {
    const text = [
      '"event","msr","value","t"',
      '"rdmsr","0x10",,"say ""hi"", then go"',
      'rdmsr,"0x11","","a,b"',
      '"wrmsr",0x12,"0x5",""',
      "",
    ].join("\n");
    const { events } = await read(text);
    expect(events.map((e) => [e.event, e.msr, e.line])).toEqual([
      ["rdmsr", 0x10, 2],
      ["rdmsr", 0x11, 3],
      ["wrmsr", 0x12, 4],
    ]);
  });

  it("a quoted field may span lines; later lines keep their numbers", async () => {
    const text = ["event,t,msr", 'rdmsr,"two', 'lines",0x10', "rdmsr,x,0x11", ""].join("\n");
    const { events } = await read(text);
    expect(events.map((e) => [e.msr, e.line])).toEqual([
      [0x10, 2],
      [0x11, 4],
    ]);
  });

  it("skips a UTF-8 BOM", async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("event,msr\nrdmsr,0x10\n")]);
    const { events } = await read(bytes);
    expect(events.map((e) => [e.event, e.msr])).toEqual([["rdmsr", 0x10]]);
  });

  it("finds columns by name, in any order", async () => {
    const { events } = await read("value,msr,vcpu,event\n7,0x10,3,wrmsr\n,0xc0000100,5,rdmsr\n");
    expect(events.map((e) => [e.event, e.vcpu, e.msr])).toEqual([
      ["wrmsr", 3, 0x10],
      ["rdmsr", 5, 0xc0000100],
    ]);
  });

  it("needs only the event column: vmentry and vmexit rows", async () => {
    const { events, stats } = await read("event\nvmentry\nvmexit\nvmentry\n");
    expect(events.map((e) => [e.event, e.vcpu])).toEqual([
      ["vmentry", 0],
      ["vmexit", 0],
      ["vmentry", 0],
    ]);
    expect(stats).toEqual({ events: 3, lines: 4 });
  });

  it("defaults vcpu to 0, when the column is absent or the field empty", async () => {
    const { events } = await read("event,vcpu,msr\nrdmsr,,0x10\nrdmsr,7,0x10\n");
    expect(events.map((e) => e.vcpu)).toEqual([0, 7]);
    const absent = await read("event,msr\nrdmsr,0x10\n");
    expect(absent.events[0]?.vcpu).toBe(0);
  });

  it("ignores the t column (carried, never interpreted)", async () => {
    const { events } = await read("event,t,msr\nrdmsr,not a number,0x10\nrdmsr,,0x10\n");
    expect(events).toHaveLength(2);
  });

  it("reads a trace from its file when no input stream is given", async () => {
    const dir = tempDir({ "t.csv": "event,msr\nrdmsr,0x10\n" });
    const events: Decoded[] = [];
    const stats = await readTrace({ file: join(dir, "t.csv"), onEvent: (ev) => events.push(decoded(ev)) });
    expect(stats.events).toBe(1);
    expect(events[0]?.msr).toBe(0x10);
  });
});

describe("numbers and fields", () => {
  it("reads MSRs in hex (either case of x) and decimal", async () => {
    const { events } = await read(
      "event,msr\nrdmsr,0x1b\nrdmsr,27\nrdmsr,0XC0000080\nrdmsr,0xffffffff\nrdmsr,4294967295\nrdmsr,0\n",
    );
    expect(events.map((e) => e.msr)).toEqual([0x1b, 27, 0xc0000080, 0xffffffff, 0xffffffff, 0]);
  });

  it("accepts wrmsr values up to 64 bits", async () => {
    const { events } = await read(
      "event,msr,value\nwrmsr,0x10,0xffffffffffffffff\nwrmsr,0x10,18446744073709551615\nwrmsr,0x10,0\nwrmsr,0x10,0x00000000000000000001\n",
    );
    expect(events).toHaveLength(4);
  });

  it("accepts vCPU 4095", async () => {
    const { events } = await read("event,vcpu\nvmentry,4095\n");
    expect(events[0]?.vcpu).toBe(4095);
  });

  it("reads pages in hex and decimal, up to the last page below 2^52", async () => {
    const { events } = await read("event,page\nbitmap-ptr,0x1000\nbitmap-ptr,8192\nbitmap-ptr,0xffffffffff000\n");
    expect(events.map((e) => e.page)).toEqual([0x1000, 8192, 2 ** 52 - 4096]);
  });

  it("decodes bitmap-set, l0-set, use-bitmap and l1-mode", async () => {
    const text = [
      "event,vcpu,msr,value,page,dir",
      "bitmap-set,1,0x10,1,0x2000,r",
      "bitmap-set,1,0xc0001fff,0,0x2000,w",
      "bitmap-set,1,0x1fff,1,0x2000,rw",
      "l0-set,2,0xc0000000,0,,rw",
      "use-bitmap,3,,1,,",
      "use-bitmap,3,,0,,",
      "l1-mode,4,,legacy,,",
      "l1-mode,4,,longmode,,",
      "bitmap-ptr,5,,,0x3000,",
      "",
    ].join("\n");
    const { events } = await read(text);
    expect(events.map((e) => e.event)).toEqual([
      "bitmap-set",
      "bitmap-set",
      "bitmap-set",
      "l0-set",
      "use-bitmap",
      "use-bitmap",
      "l1-mode",
      "l1-mode",
      "bitmap-ptr",
    ]);
    expect(events[0]).toMatchObject({ vcpu: 1, msr: 0x10, flag: 1, page: 0x2000, dir: DIR_R });
    expect(events[1]).toMatchObject({ msr: 0xc0001fff, flag: 0, dir: DIR_W });
    expect(events[2]).toMatchObject({ msr: 0x1fff, flag: 1, dir: DIR_RW });
    expect(events[3]).toMatchObject({ vcpu: 2, msr: 0xc0000000, flag: 0, dir: DIR_RW });
    expect(events[4]).toMatchObject({ vcpu: 3, flag: 1 });
    expect(events[5]).toMatchObject({ vcpu: 3, flag: 0 });
    expect(events[6]).toMatchObject({ vcpu: 4, flag: MODE_LEGACY });
    expect(events[7]).toMatchObject({ vcpu: 4, flag: MODE_LONGMODE });
    expect(events[8]).toMatchObject({ vcpu: 5, page: 0x3000 });
  });
});

describe("errors in the header and the file", () => {
  it("an empty file", async () => {
    await expectError("", "t.csv: ", "empty");
  });

  it("a file of comments and blank lines only", async () => {
    await expectError("# nothing\n\n   \n", "t.csv: ", "empty");
  });

  it("a header and no events names the header line", async () => {
    await expectError("event,msr\n", "t.csv:1: ", "no events");
    await expectError("# c\nevent,msr\n# only comments after it\n", "t.csv:2: ", "no events");
  });

  it("a header without an event column", async () => {
    await expectError("vcpu,msr\n0,0x10\n", "t.csv:1: ", '"event"');
  });

  it("an unknown column points at the header line and its position", async () => {
    // "event,msr,valu": valu starts at column 11.
    await expectError("event,msr,valu\nrdmsr,0x10,1\n", "t.csv:1:11: ", '"valu"');
    // After a comment and a blank line, the header is line 3; "bogus" starts at column 7.
    await expectError("# c\n\nevent,bogus\nvmentry,x\n", "t.csv:3:7: ", '"bogus"');
  });

  it("an unknown column after a BOM: the BOM is not a column", async () => {
    await expectError(Buffer.from("\ufeffevent,msr,bogus\n"), "t.csv:1:11: ", '"bogus"');
  });

  it("a duplicate column points at the second one", async () => {
    await expectError("event,msr,msr\nrdmsr,1,1\n", "t.csv:1:11: ", "msr");
  });

  it("a missing trace file", async () => {
    const dir = tempDir();
    const file = join(dir, "nope.csv");
    let caught: unknown;
    try {
      await readTrace({ file, onEvent: () => {} });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message.startsWith(`${file}: `)).toBe(true);
  });
});

describe("errors in rows name file:line:column and the column", () => {
  it("an unknown event", async () => {
    await expectError("event,msr\nrdmsr,1\nfoo,1\n", "t.csv:3:1: column event: ", '"foo"');
  });

  it("an empty event", async () => {
    await expectError("event,msr\n,0x10\n", "t.csv:2:1: column event: ", "event");
  });

  it("a missing msr: an empty field", async () => {
    await expectError("event,msr\nrdmsr,\n", "t.csv:2:7: column msr: ", "msr");
    await expectError("event,msr,value\nwrmsr,,1\n", "t.csv:2:7: column msr: ", "msr");
  });

  it("a missing msr: no msr column in the header", async () => {
    await expectError("event,vcpu\nrdmsr,0\n", "t.csv:2: ", "column msr");
  });

  it.each(["0x100000000", "4294967296", "0xffffffffffffffff"])("an MSR above 32 bits: %s", async (msr) => {
    await expectError(`event,msr\nrdmsr,${msr}\n`, "t.csv:2:7: column msr: ", msr);
  });

  it.each(["-1", "abc", "0xZZ", "1.5", "0x", "1e3"])("an MSR that is not a number: %s", async (msr) => {
    await expectError(`event,msr\nrdmsr,${msr}\n`, "t.csv:2:7: column msr: ", `"${msr}"`);
  });

  it.each(["0x10000000000000000", "0x1_0000_0000_0000_0000", "18446744073709551616", "-1", "ten"])(
    "a wrmsr value that is not 64 bits: %s",
    async (value) => {
      // "wrmsr,0x10,": value starts at column 12.
      await expectError(`event,msr,value\nwrmsr,0x10,${value}\n`, "t.csv:2:12: column value: ", value);
    },
  );

  it("a wrmsr without a value", async () => {
    await expectError("event,msr,value\nwrmsr,0x10,\n", "t.csv:2:12: column value: ", "value");
    await expectError("event,msr\nwrmsr,0x10\n", "t.csv:2: ", "column value");
  });

  it.each(["4096", "-1", "x", "99999"])("vCPU %s is out", async (vcpu) => {
    // "vmentry,": vcpu starts at column 9.
    await expectError(`event,vcpu\nvmentry,${vcpu}\n`, "t.csv:2:9: column vcpu: ", vcpu);
  });

  it.each(["0x1001", "0x1800", "4097", "1"])("an unaligned page: %s", async (page) => {
    // "bitmap-ptr,": page starts at column 12.
    await expectError(`event,page\nbitmap-ptr,${page}\n`, "t.csv:2:12: column page: ", "page");
  });

  it.each(["0x10000000000000", "4503599627370496", "0xfffffffffffff000", "-4096", "page"])(
    "a page at or above 2^52, or not a number: %s",
    async (page) => {
      await expectError(`event,page\nbitmap-ptr,${page}\n`, "t.csv:2:12: column page: ", "page");
    },
  );

  it("bitmap-ptr without a page", async () => {
    await expectError("event,page\nbitmap-ptr,\n", "t.csv:2:12: column page: ", "page");
    await expectError("event\nbitmap-ptr\n", "t.csv:2: ", "column page");
  });

  it.each(["0x2000", "0xbfffffff", "0xc0002000", "0xffffffff"])(
    "bitmap-set on MSR %s, which has no bit",
    async (msr) => {
      // "bitmap-set,0x1000,": msr starts at column 19.
      await expectError(
        `event,page,msr,dir,value\nbitmap-set,0x1000,${msr},rw,1\n`,
        "t.csv:2:19: column msr: ",
        "no bit",
      );
    },
  );

  it("l0-set on MSR 0x2000, which has no bit", async () => {
    // "l0-set,": msr starts at column 8.
    await expectError("event,msr,dir,value\nl0-set,0x2000,rw,1\n", "t.csv:2:8: column msr: ", "0x2000");
  });

  it.each(["x", "wr", "rww", "read", ""])("a dir other than r, w or rw: %j", async (dir) => {
    // "bitmap-set,0x1000,0x10,": dir starts at column 24.
    await expectError(`event,page,msr,dir,value\nbitmap-set,0x1000,0x10,${dir},1\n`, "t.csv:2:24: column dir: ", "dir");
    // "l0-set,0x10,": dir starts at column 13.
    await expectError(`event,msr,dir,value\nl0-set,0x10,${dir},1\n`, "t.csv:2:13: column dir: ", "dir");
  });

  it.each(["2", "yes", "true", "-1", ""])("use-bitmap with a value other than 0/1: %j", async (value) => {
    // "use-bitmap,": value starts at column 12.
    await expectError(`event,value\nuse-bitmap,${value}\n`, "t.csv:2:12: column value: ", "value");
  });

  it("bitmap-set and l0-set with a value other than 0/1", async () => {
    // "bitmap-set,0x1000,0x10,rw,": value at column 27; "l0-set,0x10,rw,": column 16.
    await expectError("event,page,msr,dir,value\nbitmap-set,0x1000,0x10,rw,2\n", "t.csv:2:27: column value: ", '"2"');
    await expectError("event,msr,dir,value\nl0-set,0x10,rw,2\n", "t.csv:2:16: column value: ", '"2"');
  });

  it.each(["long", "64", "LEGACY-ish", ""])("l1-mode with a value other than longmode/legacy: %j", async (value) => {
    // "l1-mode,": value starts at column 9.
    await expectError(`event,value\nl1-mode,${value}\n`, "t.csv:2:9: column value: ", "value");
  });

  it("a line number after a quoted field spanning two lines", async () => {
    // Line 2-3 hold one record; the bad MSR is on line 4, "rdmsr,"x",": column 11.
    await expectError('event,t,msr\nrdmsr,"a\nb",0x10\nrdmsr,"x",0xZZ\n', "t.csv:4:11: column msr: ", "0xZZ");
    // The bad MSR on the second line of the record itself: 'b",' puts it at column 4.
    await expectError('event,t,msr\nrdmsr,"a\nb",0xZZ\n', "t.csv:3:4: column msr: ", "0xZZ");
  });

  it("a quoted field holding a CRLF line end spans two lines, not three", async () => {
    // docs/model.md §3: \r\n is a line end, so '"a\r\nb"' spans lines 2-3 and 'b",' puts msr at 3:4.
    await expectError('event,t,msr\r\nrdmsr,"a\r\nb",0xZZ\r\n', "t.csv:3:4: column msr: ", "0xZZ");
    // The next record is on line 4; "rdmsr,x," puts msr at column 9.
    await expectError('event,t,msr\r\nrdmsr,"a\r\nb",0x10\r\nrdmsr,x,0xZZ\r\n', "t.csv:4:9: column msr: ", "0xZZ");
  });

  it("columns after quoted fields: a quoted comma, doubled quotes", async () => {
    // '"a,b"' spans columns 7-11, so msr starts at 13.
    await expectError('event,t,msr\nrdmsr,"a,b",0xZZ\n', "t.csv:2:13: column msr: ", "0xZZ");
    // '"x ""y"""' is 9 characters (columns 7-15), so msr starts at 17.
    await expectError('event,t,msr\nrdmsr,"x ""y""",0xZZ\n', "t.csv:2:17: column msr: ", "0xZZ");
  });

  it("line numbers count CRLF lines, blank lines and comments", async () => {
    await expectError("event,msr\r\nrdmsr,0x10\r\n\r\nrdmsr,0xZZ\r\n", "t.csv:4:7: column msr: ", "0xZZ");
    await expectError("# c\r\nevent,msr\r\n# c\r\nrdmsr,0xZZ\r\n", "t.csv:4:7: column msr: ", "0xZZ");
  });

  it("errors name the trace as given, with its folder", async () => {
    await expectError("event,msr\nrdmsr,0xZZ\n", "some/dir/trace.csv:2:7: column msr: ", "0xZZ", "some/dir/trace.csv");
  });
});

describe("snapshots", () => {
  // "bitmap-load,0x1000,": file starts at column 20.
  const load = (name: string) => `event,page,file\nbitmap-load,0x1000,${name}\n`;

  async function loaded(dir: string, name: string): Promise<Uint8Array> {
    const { events } = await read(load(name), join(dir, "t.csv"));
    const content = events[0]?.content;
    expect(content).toBeInstanceOf(Uint8Array);
    return content as Uint8Array;
  }

  it('.json {"default":"pass","intercept":["0x10:w"]} intercepts only WRMSR of 0x10', async () => {
    const dir = tempDir({ "s.json": { default: "pass", intercept: ["0x10:w"] } });
    const page = await loaded(dir, "s.json");
    expect(page).toHaveLength(4096);
    // Write-low area starts at 0x800; bit n = 0x10 is bit 0 (0x10 & 7) of byte 0x800 + (0x10 >> 3) = 0x802.
    expect(page[0x802]).toBe(0x01);
    // The read bit of 0x10 (byte 0x002, bit 0) stays clear: pass.
    expect(page[0x002]).toBe(0x00);
    expect(page.filter((b) => b !== 0).length).toBe(1);
  });

  it(".json: a default intercept page with a read pass range", async () => {
    const dir = tempDir({ "s.json": { default: "intercept", pass: ["0xc0000100-0xc0000102:r"] } });
    const page = await loaded(dir, "s.json");
    // Read-high area starts at 0x400; n = 0x100..0x102 -> byte 0x400 + 0x20 = 0x420, bits 0-2 clear.
    expect(page[0x420]).toBe(0xf8);
    // Writes of those MSRs (write-high area 0xc00, byte 0xc20) stay intercepted.
    expect(page[0xc20]).toBe(0xff);
    expect(page.filter((b) => b !== 0xff).length).toBe(1);
  });

  it(".json: intercept applies after pass", async () => {
    const dir = tempDir({ "s.json": { default: "pass", pass: ["0x174-0x176"], intercept: ["0x175:r"] } });
    const page = await loaded(dir, "s.json");
    // 0x175: byte 0x175 >> 3 = 0x2e, bit 0x175 & 7 = 5 -> read byte 0x2e = 0x20.
    expect(page[0x2e]).toBe(0x20);
    expect(page.filter((b) => b !== 0).length).toBe(1);
  });

  it(".bin is read byte for byte", async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
    const dir = tempDir({ "s.bin": bytes });
    const page = await loaded(dir, "s.bin");
    expect(Array.from(page)).toEqual(Array.from(bytes));
  });

  it("snapshot names resolve against the trace's folder", async () => {
    const bytes = new Uint8Array(4096).fill(0x5a);
    const dir = tempDir();
    writeFiles(dir, { "snaps/s.bin": bytes });
    const page = await loaded(dir, "snaps/s.bin");
    expect(page.every((b) => b === 0x5a)).toBe(true);
  });

  it("readSnapshot and the trace's bitmap-load give the page worked by hand", async () => {
    // (The trace's loader calls readSnapshot: comparing the two alone would prove nothing.)
    // A write of 0x10: write low area, byte 0x800 + (0x10 >> 3) = 0x802, bit 0x10 & 7 = 0.
    const dir = tempDir({ "s.json": { default: "pass", intercept: ["0x10:w"] } });
    const expected = new Array<number>(4096).fill(0);
    expected[0x802] = 1;
    expect(Array.from(readSnapshot(join(dir, "s.json")))).toEqual(expected);
    expect(Array.from(await loaded(dir, "s.json"))).toEqual(expected);
  });

  it("a snapshot that is missing", async () => {
    const dir = tempDir();
    const file = join(dir, "t.csv");
    await expectError(load("nope.json"), `${file}:2:20: column file: `, "nope.json", file);
    await expectError(load("nope.bin"), `${file}:2:20: column file: `, "nope.bin", file);
  });

  it.each([0, 4095, 4097, 8192])("a .bin of %i bytes", async (size) => {
    const dir = tempDir({ "s.bin": new Uint8Array(size) });
    const file = join(dir, "t.csv");
    const message = await expectError(load("s.bin"), `${file}:2:20: column file: `, "s.bin", file);
    expect(message).toContain("4096");
  });

  it("an invalid JSON snapshot", async () => {
    // Line 2 is ` "intercept": [0x10]}`: the parser stops at the x, column 17.
    const dir = tempDir({ "bad.json": '{"default": "pass",\n "intercept": [0x10]}' });
    const file = join(dir, "t.csv");
    const message = await expectError(load("bad.json"), `${file}:2:20: column file: `, "bad.json", file);
    expect(message).toContain("bad.json:2:17: invalid JSON");
  });

  it("a JSON snapshot naming an MSR with no bit", async () => {
    const dir = tempDir({ "nobit.json": { default: "pass", intercept: ["0x2000"] } });
    const file = join(dir, "t.csv");
    const message = await expectError(load("nobit.json"), `${file}:2:20: column file: `, "nobit.json", file);
    expect(message).toContain("0x2000");
  });

  it("a JSON snapshot naming a range through MSRs with no bit", async () => {
    const dir = tempDir({ "range.json": { pass: ["0x1ff0-0x2010"] } });
    const file = join(dir, "t.csv");
    await expectError(load("range.json"), `${file}:2:20: column file: `, "range.json", file);
  });

  it("bitmap-load without a file", async () => {
    await expectError("event,page,file\nbitmap-load,0x1000,\n", "t.csv:2:20: column file: ", "file");
    await expectError("event,page\nbitmap-load,0x1000\n", "t.csv:2: ", "column file");
  });
});

describe("nested entries that fail", () => {
  it("use-bitmap 1 and no bitmap-ptr: names the line of the event that triggered the entry", async () => {
    const text = ["event,msr,value", "use-bitmap,,1", "# no bitmap-ptr", "vmentry,,", ""].join("\n");
    const message = await failure(text, "t.csv", true);
    expect(message).toMatch(/^t\.csv:4:(\d+:)? /);
    expect(message).toContain("bitmap-ptr");
  });

  it("an L2 access triggers the entry: its line is named", async () => {
    const text = ["event,msr,value", "use-bitmap,,1", "", "rdmsr,0x10,", ""].join("\n");
    const message = await failure(text, "t.csv", true);
    expect(message).toMatch(/^t\.csv:4:(\d+:)? /);
  });

  it("bitmap-ptr to a page nothing wrote", async () => {
    const text = ["event,msr,value,page", "bitmap-ptr,,,0x3000", "use-bitmap,,1,", "wrmsr,0x10,1,", ""].join("\n");
    const message = await failure(text, "t.csv", true);
    expect(message).toMatch(/^t\.csv:4:(\d+:)? /);
    expect(message).toContain("0x3000");
  });

  it("a page written by bitmap-set or bitmap-load makes the entry succeed", async () => {
    const dir = tempDir({ "s.json": { default: "pass" } });
    const l0 = filledPage(true);
    const machine = new Replay({ strategies: [], l0: { longmode: l0, legacy: l0 } });
    const text = [
      "event,vcpu,msr,value,page,dir,file",
      "bitmap-set,0,0x10,1,0x3000,r,",
      "bitmap-ptr,0,,,0x3000,,",
      "use-bitmap,0,,1,,,",
      "rdmsr,0,0x10,,,,",
      "bitmap-load,1,,,0x4000,,s.json",
      "bitmap-ptr,1,,,0x4000,,",
      "use-bitmap,1,,1,,,",
      "vmentry,1,,,,,",
      "",
    ].join("\n");
    const stats = await readTrace({
      file: join(dir, "t.csv"),
      input: stream(text),
      onEvent: (ev) => machine.apply(ev),
    });
    expect(stats.events).toBe(8);
  });
});
