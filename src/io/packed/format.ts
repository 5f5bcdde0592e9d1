/**
 * The packed trace format (`nvmx-replay pack`, and the cache's entries): a
 * trace's events in the engine's own column layout (src/engine/batch.ts),
 * so that reading one is a copy into typed arrays instead of a CSV parse.
 * docs/packed.md has the layout, the measurements and why not Arrow IPC.
 *
 * A file is MAGIC (magic.ts), then VERSION and a reserved word (u32 each), then chunks,
 * each a CHUNK_HEADER_BYTES header (type, payload length, CRC-32 of the
 * type, length and payload) and its payload, padded to 8 bytes. Chunks come
 * in the order a reader needs them: a snapshot before the first block that
 * loads it, a timestamp problem before the block whose event it stops, and
 * END last, which holds the totals the reader checks the rest against (a
 * truncated file has no END: an error, never a shorter replay). All numbers
 * are little-endian; doubles hold integers up to 2^53 exactly.
 */
import { crc32 as zlibCrc32 } from "node:zlib";

/** Bumped on any change a reader of the old layout would misread. */
export const VERSION = 1;
/** MAGIC, VERSION (u32), a reserved u32 (0). */
export const FILE_HEADER_BYTES = 16;
/** type (u32), payload length (u32), CRC-32 (u32), reserved (u32). */
export const CHUNK_HEADER_BYTES = 16;
/** Payloads, and the sections within a block, start on 8-byte boundaries, so a Float64Array can view them in place. */
export const ALIGN = 8;

/** Chunk types: four ASCII letters read as a little-endian u32. */
export const CHUNK = {
  /** A bitmap snapshot's 4096 bytes, numbered from 0 in the order they come. */
  snapshot: tag("SNAP"),
  /** A block of events (BLOCK_* below). */
  events: tag("EVTS"),
  /** What a time window (`--window 50ms`) must report on this trace: UTF-8 JSON, TimestampProblem. */
  timestamps: tag("TERR"),
  /** The totals: END_BYTES. */
  end: tag("END "),
} as const;

/** Events per block a writer puts in one EVTS chunk: 64 Ki events, under 1 MiB each. */
export const BLOCK_EVENTS = 1 << 16;
/**
 * The largest payload a reader accepts: a full block with timestamps is
 * under 1.3 MiB. A corrupt length cannot make it allocate more.
 */
export const MAX_PAYLOAD = 4 << 20;

/**
 * A block's fixed header, then its sections, each padded to ALIGN:
 * code u8[count], vcpu u16[count], msr u32[accesses] (the MSR of each rdmsr
 * and wrmsr, in order), lineStep u8[count] (the line minus the previous
 * event's, 0 for "the next entry of lineEscape"), lineEscape f64[escapes],
 * t f64[count] (when BLOCK_HAS_T), then per machine event (bitmap-load and
 * later codes, in order) page f64, msr u32, snapshot u32 (index + 1, 0 for
 * none), dir u8, flag u8.
 */
export const BLOCK_HEADER_BYTES = 32;
/** Offsets in a block's header. */
export const BLOCK = {
  count: 0,
  accesses: 4,
  machine: 8,
  escapes: 12,
  /** The line of the event before the block's first (the header's line for the first block). */
  baseLine: 16,
  flags: 24,
} as const;
/** The block carries each event's `t` (seconds), as decoded from the CSV. */
export const BLOCK_HAS_T = 1;
/** The largest line step a u8 holds; larger ones (and the first line of a file) are escapes. */
export const MAX_LINE_STEP = 255;

/** END's payload: events f64, lines f64, headerLine f64, blocks u32, snapshots u32. */
export const END_BYTES = 32;

/**
 * A packed trace whose CSV could not give every row's `t`: the error a
 * time window reports on the CSV, word for word once OPTION_PLACEHOLDER
 * is replaced by the option and the file named, raised before the first
 * event on `line` or later (the header's line when the header has no t
 * column). `column` is 0 when the message names none.
 */
export interface TimestampProblem {
  readonly line: number;
  readonly column: number;
  /** The message after its `file:line:column: ` prefix. */
  readonly message: string;
}
/**
 * Stands for the option (e.g. "--window 50ms") in TimestampProblem.message:
 * printable, since messages escape control characters.
 */
export const OPTION_PLACEHOLDER = "<<nvmx-replay:time-option>>";

/** Rounds up to ALIGN. */
export function aligned(bytes: number): number {
  return (bytes + ALIGN - 1) & ~(ALIGN - 1);
}

/** Where each section of a block starts, from its counts; `bytes` is the whole payload. */
export interface BlockLayout {
  readonly code: number;
  readonly vcpu: number;
  readonly msr: number;
  readonly lineStep: number;
  readonly lineEscape: number;
  readonly t: number;
  readonly page: number;
  readonly machineMsr: number;
  readonly snapshot: number;
  readonly dir: number;
  readonly flag: number;
  readonly bytes: number;
}

export function blockLayout(
  count: number,
  accesses: number,
  machine: number,
  escapes: number,
  hasT: boolean,
): BlockLayout {
  let at = BLOCK_HEADER_BYTES;
  const take = (bytes: number) => {
    const start = at;
    at += aligned(bytes);
    return start;
  };
  const code = take(count);
  const vcpu = take(count * 2);
  const msr = take(accesses * 4);
  const lineStep = take(count);
  const lineEscape = take(escapes * 8);
  const t = take(hasT ? count * 8 : 0);
  const page = take(machine * 8);
  const machineMsr = take(machine * 4);
  const snapshot = take(machine * 4);
  const dir = take(machine);
  const flag = take(machine);
  return { code, vcpu, msr, lineStep, lineEscape, t, page, machineMsr, snapshot, dir, flag, bytes: at };
}

function tag(name: string): number {
  return (
    (name.charCodeAt(0) | (name.charCodeAt(1) << 8) | (name.charCodeAt(2) << 16) | (name.charCodeAt(3) << 24)) >>> 0
  );
}

/** A chunk type as its four letters, for messages. */
export function tagName(type: number): string {
  const letters = [0, 8, 16, 24].map((shift) => (type >>> shift) & 0xff);
  return letters.every((c) => c >= 0x20 && c < 0x7f) ? String.fromCharCode(...letters) : `0x${type.toString(16)}`;
}

/**
 * CRC-32 (the zlib/PNG polynomial). node:zlib has it since Node 20.15; on
 * an older Node 20 a table-driven one gives the same values, slower.
 */
export const crc32: (data: Uint8Array, value?: number) => number =
  typeof zlibCrc32 === "function" ? (data, value = 0) => zlibCrc32(data, value) : tableCrc32;

/** The reflected CRC-32 polynomial (IEEE 802.3, as zlib). */
const CRC_POLYNOMIAL = 0xedb88320;
let table: Uint32Array | null = null;

function tableCrc32(data: Uint8Array, value = 0): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? CRC_POLYNOMIAL ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = (table[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
