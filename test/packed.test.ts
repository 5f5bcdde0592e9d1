/**
 * Packed traces (src/io/packed, `nvmx-replay pack`): the same results as the
 * CSV they came from, and a clean one-line error for every way a file can be
 * damaged.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHUNK_HEADER_BYTES, crc32, FILE_HEADER_BYTES } from "../src/io/packed/format.js";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";
import { BUNDLED_TRACES } from "./helpers/traces.js";

const tempDir = useTempDirs();

/** The JSON results without the trace's name (which differs: the CSV's, the packed file's). */
function results(stdout: string): unknown {
  const json = JSON.parse(stdout) as Record<string, unknown>;
  delete json.trace;
  return json;
}

describe("pack", () => {
  it.each(BUNDLED_TRACES)("$trace: compare -s all -f json gives the same on the packed file", ({ trace, options }) => {
    const packed = join(tempDir(), "t.nvmx");
    const p = runCli(["pack", trace, "-o", packed]);
    expect(p.status, p.stderr).toBe(0);
    const csv = runCli(["compare", trace, "-s", "all", "-f", "json", ...options]);
    const bin = runCli(["compare", packed, "-s", "all", "-f", "json", ...options]);
    expect(csv.status, csv.stderr).toBe(0);
    expect(bin.status, bin.stderr).toBe(0);
    expect(results(bin.stdout)).toEqual(results(csv.stdout));
  });

  it("keeps each access's line: --violations names the CSV's lines", () => {
    const packed = join(tempDir(), "m.nvmx");
    expect(runCli(["pack", "traces/multi-vcpu.csv", "-o", packed]).status).toBe(0);
    const args = ["-s", "merged-stale", "--violations", "-f", "csv"];
    const csv = runCli(["compare", "traces/multi-vcpu.csv", ...args]);
    const bin = runCli(["compare", packed, ...args]);
    // README: merged-stale's first violation on this trace is line 177 (vCPU 1, KERNEL_GS_BASE write).
    expect(lines(bin.stdout)[1]).toMatch(/^merged-stale,177,1,0xc0000102,/);
    expect(bin.stdout).toBe(csv.stdout);
  });

  it("is read by validate, explain and report; a time window reads its t", () => {
    const dir = tempDir();
    const packed = join(dir, "any-name.dat");
    expect(runCli(["pack", "traces/real/ipi.csv.gz", "-o", packed]).status).toBe(0);
    expect(runCli(["validate", packed]).stdout).toMatch(/valid, 22,213 events/);
    const csvWindows = runCli(["compare", "traces/real/ipi.csv.gz", "--window", "100ms", "-f", "csv"]);
    const binWindows = runCli(["compare", packed, "--window", "100ms", "-f", "csv"]);
    expect(binWindows.stdout).toBe(csvWindows.stdout);
    const m = join(dir, "m.nvmx");
    expect(runCli(["pack", "traces/multi-vcpu.csv", "-o", m]).status).toBe(0);
    const explain = runCli(["explain", m, "--line", "177", "-s", "merged,merged-stale"]);
    expect(explain.stdout).toMatch(/line 177: wrmsr on vCPU 1, MSR 0xc0000102/);
    expect(runCli(["explain", m, "--line", "170"]).stderr).toBe(
      `${m}:170: line 170 is a bitmap-set row, not an access (rdmsr or wrmsr)\n`,
    );
    expect(runCli(["explain", m, "--line", "33"]).stderr).toMatch(/:33: line 33 is the header/);
    const report = runCli(["report", m, "-o", "-"]);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/^<!DOCTYPE html>/i);
  });

  it("a trace without t: a time window on the packed file fails as on the CSV, naming the header line", () => {
    const dir = tempDir({ "t.csv": "# no t\nevent,vcpu,msr\nvmentry,0,\nrdmsr,0,0x10\n" });
    expect(runCli(["pack", join(dir, "t.csv"), "-o", join(dir, "k.nvmx")]).status).toBe(0);
    const csv = runCli(["compare", join(dir, "t.csv"), "--window", "1ms"]);
    const bin = runCli(["compare", join(dir, "k.nvmx"), "--window", "1ms"]);
    expect(bin.status).toBe(1);
    // The header is line 2 (after the comment), as the CSV's error says.
    expect(bin.stderr).toMatch(
      /k\.nvmx:2: --window 1ms needs a timestamp on every row, but the header has no t column/,
    );
    expect(bin.stderr).toBe(csv.stderr.replace("t.csv", "k.nvmx"));
  });
});

/**
 * A three-event trace worked by hand (format.ts):
 *   line 1 header; line 2 vmentry; line 3 rdmsr 0x10; line 4 wrmsr 0x6e0.
 * File header 16 bytes. The header has no t column, so a TERR chunk comes
 * first, at byte 16: a 16-byte header and the JSON {"line":1,"column":0,
 * "message":…} of what a time window says (177 bytes, padded to 184): 200.
 * EVTS chunk at byte 216: a 16-byte header, then a 72-byte payload: the
 * 32-byte block header, code (3 bytes, padded to 8), vcpu (6, to 8), msr
 * (2 accesses x 4 = 8), lineStep (3, to 8), one line escape (the first
 * event's line 2: 8); no t, no L1/L0 event. END chunk at byte 304: 16 + 32.
 * 352 bytes in all.
 */
const SMALL = "event,vcpu,msr,value\nvmentry,0,,\nrdmsr,0,0x10,\nwrmsr,0,0x6e0,0x1\n";
const TERR_BYTES = CHUNK_HEADER_BYTES + 184;
const EVTS_AT = FILE_HEADER_BYTES + TERR_BYTES;
const EVTS_PAYLOAD = EVTS_AT + CHUNK_HEADER_BYTES;
const END_AT = EVTS_PAYLOAD + 72;
const TOTAL = END_AT + CHUNK_HEADER_BYTES + 32;

function packSmall(): { dir: string; bytes: Buffer } {
  const dir = tempDir({ "t.csv": SMALL });
  const r = runCli(["pack", join(dir, "t.csv"), "-o", join(dir, "t.nvmx")]);
  expect(r.status, r.stderr).toBe(0);
  return { dir, bytes: readFileSync(join(dir, "t.nvmx")) };
}

/** A chunk's CRC made right again after an edit (so only the edit itself is wrong). */
function fixCrc(bytes: Buffer, at: number): void {
  const length = bytes.readUInt32LE(at + 4);
  const payload = bytes.subarray(at + CHUNK_HEADER_BYTES, at + CHUNK_HEADER_BYTES + length);
  bytes.writeUInt32LE(crc32(payload, crc32(bytes.subarray(at, at + 8))), at + 8);
}

/** A damage done in place, as a function returning the bytes. */
function edited(edit: (b: Buffer) => unknown): (b: Buffer) => Buffer {
  return (b) => {
    edit(b);
    return b;
  };
}

describe("a damaged packed file is one line naming it and what is wrong", () => {
  it("the hand-worked layout: 352 bytes, replayed as the CSV", () => {
    const { dir, bytes } = packSmall();
    expect(TOTAL).toBe(352);
    expect(bytes.length).toBe(TOTAL);
    expect(bytes.subarray(END_AT + 4, END_AT + 8).readUInt32LE()).toBe(32);
    const r = runCli(["compare", join(dir, "t.nvmx"), "-s", "no-bitmap", "-f", "csv"]);
    // no-bitmap (docs/model.md §6): the vmentry is entry 1; the rdmsr is delivered to l1, which leaves L2, so the
    // wrmsr needs entry 2 and is delivered to l1 too: 2 accesses, 2 l0_exits, 2 l1_exits, 2 entries,
    // est_cycles = 2 x l1_exit (15000).
    expect(lines(r.stdout)[1]).toBe("no-bitmap,2,2,2,0,0,0,0,0,2,0,0,30000");
  });

  const cases: [string, (b: Buffer) => Buffer, string][] = [
    ["bad magic", edited((b) => b.writeUInt8(0x4f, 1)), "not a valid packed trace: bad magic bytes"],
    [
      "an unknown version",
      edited((b) => b.writeUInt32LE(2, 8)),
      "a packed trace of format version 2, which this nvmx-replay does not read (it reads version 1)",
    ],
    [
      "a bad checksum",
      edited((b) => b.writeUInt8(7, EVTS_PAYLOAD + 32)),
      `chunk EVTS at byte ${EVTS_AT} fails its CRC-32 check`,
    ],
    [
      "a cut inside a chunk",
      (b) => b.subarray(0, END_AT - 4),
      `truncated: it ends at byte ${END_AT - 4}, inside chunk EVTS at byte ${EVTS_AT}`,
    ],
    ["a cut before END", (b) => b.subarray(0, END_AT), `truncated: it ends at byte ${END_AT} without its END chunk`],
    [
      "counts that do not add up",
      edited((b) => {
        b.writeDoubleLE(4, END_AT + CHUNK_HEADER_BYTES);
        fixCrc(b, END_AT);
      }),
      "its END chunk counts 4 events, but the file holds 3",
    ],
    [
      "an index out of range",
      edited((b) => {
        b.writeUInt16LE(5000, EVTS_PAYLOAD + 40);
        fixCrc(b, EVTS_AT);
      }),
      "event 0 is on vCPU 5000, beyond 4095",
    ],
    ["bytes after END", (b) => Buffer.concat([b, Buffer.from([0])]), `bytes after the END chunk (at byte ${TOTAL})`],
  ];
  it.each(cases)("%s", (_what, damage, message) => {
    const { dir, bytes } = packSmall();
    const file = join(dir, "bad.nvmx");
    writeFileSync(file, damage(Buffer.from(bytes)));
    for (const command of [["compare"], ["validate"]]) {
      const r = runCli([...command, file]);
      expect(r.status).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`${file}: `);
      expect(r.stderr).toContain(message);
    }
  });
});
