/**
 * Reads a packed trace (format.ts) into the same callback as the CSV reader,
 * one shared event object at a time, with the fields and line numbers the CSV
 * gave; or, for a replay (onColumns), its runs of L2 events in columns, the
 * rest one at a time (docs/packed.md, "How a replay reads it"). Each chunk is checked (its CRC-32, its counts, every index it holds)
 * before any of its events is handed on, and the file's totals at the end:
 * a truncated or corrupt file is one InputError naming the file and what is
 * wrong, never a crash or a shorter replay. Nothing is allocated per event.
 */
import { hasBit, PAGE_SIZE } from "../../engine/bitmap.js";
import { blankEvent, Ev, type EventCode, MODE_LEGACY, type TraceEvent } from "../../engine/events.js";
import type { EventColumns } from "../../engine/front.js";
import { MAX_VCPUS } from "../../engine/machine.js";
import { at, InputError } from "../errors.js";
import {
  BLOCK,
  BLOCK_EVENTS,
  BLOCK_HAS_T,
  BLOCK_HEADER_BYTES,
  blockLayout,
  CHUNK,
  CHUNK_HEADER_BYTES,
  END_BYTES,
  FILE_HEADER_BYTES,
  MAX_PAYLOAD,
  OPTION_PLACEHOLDER,
  type TimestampProblem,
  tagName,
  VERSION,
} from "./format.js";
import { MAGIC } from "./magic.js";
import { chunkCrc } from "./writer.js";

/** Guest-physical addresses are at most 52 bits (SDM: MAXPHYADDR <= 52), as trace-rows.ts checks them. */
const MAX_GPA = 2 ** 52 - 1;
const EVENT_CODES = 10;
const DIR_MAX = 3;

export interface PackedTotals {
  readonly events: number;
  /** Lines of the CSV it was packed from (comments and blank lines included). */
  readonly lines: number;
  readonly headerLine: number;
  /** Every block carried `t`. */
  readonly timestamps: boolean;
}

export interface ReadPackedOptions {
  /** The trace as messages name it. */
  readonly file: string;
  readonly onEvent: (ev: TraceEvent) => void;
  /**
   * Takes each run of L2 events and vmentries [from, to) in columns, instead
   * of onEvent one by one (the rest still go to onEvent, in order). Not used
   * when `timestamps` is asked for: a time window looks at every event.
   */
  readonly onColumns?: ((columns: EventColumns, from: number, to: number) => void) | undefined;
  /** The option that needs each event's `t` (as ReadTraceOptions.timestamps). */
  readonly timestamps?: string | undefined;
  /** Awaited before each chunk is read (as ReadTraceOptions.pace). */
  readonly pace?: (() => Promise<void> | undefined) | undefined;
  /** Stop after the END chunk is checked, before any event is read: only the totals are wanted. */
  readonly totalsOnly?: boolean;
}

/** A packed trace's bytes, from chunks that may be cut anywhere (a file, stdin, gunzip). */
export async function readPacked(chunks: AsyncIterator<Buffer>, options: ReadPackedOptions): Promise<PackedTotals> {
  const bytes = new ByteSource(chunks, options.file);
  const head = new Uint8Array(FILE_HEADER_BYTES);
  const got = await bytes.read(head, FILE_HEADER_BYTES);
  const file = options.file;
  const corrupt = (what: string) => new InputError(`${at(file)}not a valid packed trace: ${what}`);
  for (let i = 0; i < Math.min(got, MAGIC.length); i++) {
    if (head[i] !== MAGIC[i]) throw corrupt("bad magic bytes (a damaged file, or one changed by a text transfer)");
  }
  if (got < FILE_HEADER_BYTES)
    throw corrupt(`truncated: it ends at byte ${got}, inside its ${FILE_HEADER_BYTES}-byte header`);
  const version = new DataView(head.buffer).getUint32(MAGIC.length, true);
  if (version !== VERSION) {
    throw new InputError(
      `${at(file)}a packed trace of format version ${version}, which this nvmx-replay does not read (it reads version ${VERSION}); pack the CSV again`,
    );
  }
  const decoder = new BlockDecoder(options, corrupt);
  const chunkHead = new Uint8Array(CHUNK_HEADER_BYTES);
  const headView = new DataView(chunkHead.buffer);
  // 8-aligned: the sections of a block are viewed in place as typed arrays.
  let payload = new Uint8Array(new ArrayBuffer(1 << 20));
  for (;;) {
    const offset = bytes.offset;
    const wait = options.pace?.();
    if (wait) await wait;
    const n = await bytes.read(chunkHead, CHUNK_HEADER_BYTES);
    if (n === 0) throw corrupt(`truncated: it ends at byte ${offset} without its END chunk (the totals)`);
    if (n < CHUNK_HEADER_BYTES) throw corrupt(`truncated: it ends at byte ${offset + n}, inside a chunk header`);
    const type = headView.getUint32(0, true);
    const length = headView.getUint32(4, true);
    const where = `chunk ${tagName(type)} at byte ${offset}`;
    if (type !== CHUNK.events && type !== CHUNK.snapshot && type !== CHUNK.timestamps && type !== CHUNK.end) {
      throw corrupt(`${where}: unknown chunk type`);
    }
    if (length > MAX_PAYLOAD)
      throw corrupt(`${where}: a payload of ${length} bytes, more than the ${MAX_PAYLOAD} allowed`);
    const padded = (length + 7) & ~7;
    if (padded > payload.length) payload = new Uint8Array(new ArrayBuffer(padded));
    const read = await bytes.read(payload, padded);
    if (read < padded) throw corrupt(`truncated: it ends at byte ${bytes.offset}, inside ${where}`);
    const body = payload.subarray(0, length);
    if (chunkCrc(chunkHead, body) !== headView.getUint32(8, true)) {
      throw corrupt(`${where} fails its CRC-32 check (the file is damaged)`);
    }
    if (type === CHUNK.end) {
      const totals = decoder.end(body, where);
      const extra = await bytes.read(chunkHead, 1);
      if (extra > 0) throw corrupt(`bytes after the END chunk (at byte ${bytes.offset - extra})`);
      return totals;
    }
    if (options.totalsOnly) continue;
    if (type === CHUNK.snapshot) decoder.snapshot(body, where);
    else if (type === CHUNK.timestamps) decoder.timestampProblem(body, where);
    else decoder.block(body, where);
  }
}

/** Reads exact byte counts from chunks cut anywhere, copying (a file's chunks are reused buffers). */
class ByteSource {
  private chunk: Buffer | null = null;
  private at = 0;
  private done = false;
  /** Bytes read so far. */
  offset = 0;

  constructor(
    private readonly chunks: AsyncIterator<Buffer>,
    readonly file: string,
  ) {}

  /** Copies up to n bytes into target; fewer only at the end of the input. */
  async read(target: Uint8Array, n: number): Promise<number> {
    let filled = 0;
    while (filled < n) {
      if (this.chunk === null || this.at >= this.chunk.length) {
        if (this.done) break;
        const next = await this.chunks.next();
        if (next.done) {
          this.done = true;
          break;
        }
        this.chunk = next.value;
        this.at = 0;
        continue;
      }
      const take = Math.min(n - filled, this.chunk.length - this.at);
      target.set(this.chunk.subarray(this.at, this.at + take), filled);
      this.at += take;
      filled += take;
    }
    this.offset += filled;
    return filled;
  }
}

class BlockDecoder {
  private readonly ev: TraceEvent = blankEvent();
  private readonly snapshots: Uint8Array[] = [];
  private events = 0;
  private blocks = 0;
  private lastLine = 0;
  private allTimestamps = true;
  private problem: TimestampProblem | null = null;
  private readonly needsT: boolean;
  /** tallyEvents()'s answer for the block being read. */
  private readonly tally = new Int32Array(Tally.SIZE);
  /**
   * onColumns' columns for a block: its MSRs, and its lines when asked for,
   * one slot per event; and the indexes of its L1/L0 events, in order.
   */
  private readonly spread: Spread = {
    msr: new Uint32Array(BLOCK_EVENTS),
    line: new Float64Array(BLOCK_EVENTS),
    machineAt: new Int32Array(BLOCK_EVENTS),
  };

  constructor(
    private readonly options: ReadPackedOptions,
    private readonly corrupt: (what: string) => InputError,
  ) {
    this.needsT = options.timestamps !== undefined;
  }

  snapshot(body: Uint8Array, where: string): void {
    if (body.length !== PAGE_SIZE) throw this.corrupt(`${where}: a snapshot of ${body.length} bytes, not ${PAGE_SIZE}`);
    // Its own copy: the payload buffer is reused, and the engine keeps pages.
    this.snapshots.push(new Uint8Array(body));
  }

  timestampProblem(body: Uint8Array, where: string): void {
    let problem: unknown;
    try {
      problem = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch {
      throw this.corrupt(`${where}: not UTF-8 JSON`);
    }
    const p = problem as TimestampProblem | null;
    if (
      p === null ||
      typeof p !== "object" ||
      !Number.isInteger(p.line) ||
      !Number.isInteger(p.column) ||
      typeof p.message !== "string"
    ) {
      throw this.corrupt(`${where}: not a timestamp problem ({"line", "column", "message"})`);
    }
    this.problem = { line: p.line, column: p.column, message: p.message };
  }

  end(body: Uint8Array, where: string): PackedTotals {
    if (body.length !== END_BYTES) throw this.corrupt(`${where}: ${body.length} bytes, not ${END_BYTES}`);
    const view = new DataView(body.buffer, body.byteOffset, body.length);
    const events = view.getFloat64(0, true);
    const lines = view.getFloat64(8, true);
    const headerLine = view.getFloat64(16, true);
    const blocks = view.getUint32(24, true);
    const snapshots = view.getUint32(28, true);
    if (this.options.totalsOnly) return { events, lines, headerLine, timestamps: false };
    const counts: [string, number, number][] = [
      ["events", events, this.events],
      ["blocks", blocks, this.blocks],
      ["snapshots", snapshots, this.snapshots.length],
    ];
    for (const [what, said, found] of counts) {
      if (said !== found) throw this.corrupt(`its END chunk counts ${said} ${what}, but the file holds ${found}`);
    }
    if (!Number.isInteger(lines) || lines < this.lastLine || !Number.isInteger(headerLine) || headerLine < 1) {
      throw this.corrupt(
        `its END chunk gives ${lines} lines and the header on line ${headerLine}, which the events contradict`,
      );
    }
    if (events === 0) throw new InputError(`${at(this.options.file, headerLine)}the trace has a header but no events`);
    return { events, lines, headerLine, timestamps: this.allTimestamps && this.problem === null };
  }

  block(body: Uint8Array, where: string): void {
    const corrupt = (what: string) => this.corrupt(`${where}: ${what}`);
    if (body.length < BLOCK_HEADER_BYTES) throw corrupt("shorter than a block header");
    const buffer = body.buffer;
    const base = body.byteOffset;
    const head = new DataView(buffer, base, BLOCK_HEADER_BYTES);
    const count = head.getUint32(BLOCK.count, true);
    const accesses = head.getUint32(BLOCK.accesses, true);
    const machine = head.getUint32(BLOCK.machine, true);
    const escapes = head.getUint32(BLOCK.escapes, true);
    const baseLine = head.getFloat64(BLOCK.baseLine, true);
    const hasT = (head.getUint32(BLOCK.flags, true) & BLOCK_HAS_T) !== 0;
    if (count === 0 || accesses > count || machine > count || escapes > count) {
      throw corrupt(`counts that do not add up (${count} events, ${accesses} accesses, ${machine} L1/L0 events)`);
    }
    const layout = blockLayout(count, accesses, machine, escapes, hasT);
    if (layout.bytes !== body.length) throw corrupt(`${body.length} bytes where its counts need ${layout.bytes}`);
    if (baseLine !== this.lastLine)
      throw corrupt(`it goes on from line ${baseLine}, but the last event was on line ${this.lastLine}`);
    const code = new Uint8Array(buffer, base + layout.code, count);
    const vcpu = new Uint16Array(buffer, base + layout.vcpu, count);
    const msr = new Uint32Array(buffer, base + layout.msr, accesses);
    const lineStep = new Uint8Array(buffer, base + layout.lineStep, count);
    const lineEscape = new Float64Array(buffer, base + layout.lineEscape, escapes);
    const t = hasT ? new Float64Array(buffer, base + layout.t, count) : null;
    const l1l0: MachineColumns = {
      page: new Float64Array(buffer, base + layout.page, machine),
      msr: new Uint32Array(buffer, base + layout.machineMsr, machine),
      snapshot: new Uint32Array(buffer, base + layout.snapshot, machine),
      dir: new Uint8Array(buffer, base + layout.dir, machine),
      flag: new Uint8Array(buffer, base + layout.flag, machine),
    };

    // Checked whole before any event is handed on: every count and index in range.
    // The same pass spreads the MSRs out per event and notes where the L1/L0 events
    // are, for a read in columns (blockInColumns).
    if (count > this.spread.msr.length) {
      this.spread.msr = new Uint32Array(count);
      this.spread.line = new Float64Array(count);
      this.spread.machineAt = new Int32Array(count);
    }
    const tally = this.tally;
    tallyEvents(code, vcpu, lineStep, count, msr, this.spread, tally);
    const bad = tally[Tally.BAD] as number;
    if (bad >= 0) {
      if ((code[bad] as number) >= EVENT_CODES) throw corrupt(`event ${bad} has code ${code[bad]}, which is no event`);
      throw corrupt(`event ${bad} is on vCPU ${vcpu[bad]}, beyond ${MAX_VCPUS - 1}`);
    }
    const seenAccesses = tally[Tally.ACCESSES] as number;
    const seenMachine = tally[Tally.MACHINE] as number;
    const seenEscapes = tally[Tally.ESCAPES] as number;
    if (seenAccesses !== accesses || seenMachine !== machine || seenEscapes !== escapes) {
      throw corrupt(
        `counts that do not add up (the header says ${accesses} accesses, ${machine} L1/L0 events and ${escapes} ` +
          `line escapes; the events hold ${seenAccesses}, ${seenMachine} and ${seenEscapes})`,
      );
    }
    for (let i = 0, m = 0; m < machine; i++) {
      const c = code[i] as number;
      if (c >= Ev.bitmapLoad) this.checkMachine(c, m++, l1l0, corrupt);
    }
    for (let e = 0; e < escapes; e++) {
      const line = lineEscape[e] as number;
      if (!Number.isInteger(line) || line < 1) throw corrupt(`a line number ${line}, which is none`);
    }
    if (!hasT) this.allTimestamps = false;
    // A time window on a trace whose CSV had no valid t everywhere: its error, at its place.
    const stopAt = this.needsT ? this.stopLine(hasT, corrupt) : Number.POSITIVE_INFINITY;
    // A time window reads every t before that place: each must be one (a file could hold NaN).
    const checkT = this.needsT && t !== null;

    const onColumns = this.options.onColumns;
    if (onColumns !== undefined && !this.needsT) {
      const tally = this.tally;
      const after = tally[Tally.STEPS_AFTER_ESCAPE] as number;
      const endLine = (escapes > 0 ? (lineEscape[escapes - 1] as number) : this.lastLine) + after;
      this.blockInColumns(onColumns, endLine, count, code, vcpu, lineStep, lineEscape, l1l0);
      return;
    }
    const ev = this.ev;
    const onEvent = this.options.onEvent;
    let line = this.lastLine;
    let a = 0;
    let m = 0;
    let e = 0;
    for (let i = 0; i < count; i++) {
      const c = code[i] as EventCode;
      const step = lineStep[i] as number;
      line = step === 0 ? (lineEscape[e++] as number) : line + step;
      if (line >= stopAt) this.failTimestamps();
      ev.code = c;
      ev.vcpu = vcpu[i] as number;
      ev.line = line;
      ev.t = t === null ? Number.NaN : (t[i] as number);
      if (checkT && !(ev.t >= 0 && ev.t < Number.POSITIVE_INFINITY))
        throw corrupt(`event ${i} has t = ${ev.t}, no timestamp`);
      if (c <= Ev.wrmsr) {
        ev.msr = msr[a++] as number;
        ev.content = null;
      } else if (c >= Ev.bitmapLoad) this.machineFields(ev, m++, l1l0);
      else ev.content = null;
      onEvent(ev);
    }
    this.lastLine = line;
    this.events += count;
    this.blocks++;
  }

  /**
   * block()'s events handed on in runs: each run of L2 events and vmentries
   * to onColumns, each event between them to onEvent. The MSR column holds
   * accesses only, so it is spread out to one slot per event; the lines are
   * worked out only if something asks for them (EventColumns.lines), and
   * the block's last line comes from tallyEvents().
   */
  private blockInColumns(
    onColumns: (columns: EventColumns, from: number, to: number) => void,
    endLine: number,
    count: number,
    code: Uint8Array,
    vcpu: Uint16Array,
    lineStep: Uint8Array,
    lineEscape: Float64Array,
    l1l0: MachineColumns,
  ): void {
    const { msr: msrs, line: lines, machineAt } = this.spread;
    const firstLine = this.lastLine;
    let linesDone = false;
    const columns: EventColumns = {
      code,
      vcpu,
      msr: msrs,
      maxVcpu: this.tally[Tally.MAX_VCPU] as number,
      lines: () => {
        if (!linesDone) spreadLines(lineStep, lineEscape, firstLine, count, lines);
        linesDone = true;
        return lines;
      },
    };
    const ev = this.ev;
    const onEvent = this.options.onEvent;
    const machine = this.tally[Tally.MACHINE] as number;
    let m = 0;
    for (let i = 0; i < count; ) {
      const j = m < machine ? (machineAt[m] as number) : count;
      if (j > i) onColumns(columns, i, j);
      if (j === count) break;
      // A machine event (nothing else is above vmentry).
      ev.code = code[j] as EventCode;
      ev.vcpu = vcpu[j] as number;
      ev.line = columns.lines()[j] as number;
      ev.t = Number.NaN;
      this.machineFields(ev, m++, l1l0);
      onEvent(ev);
      i = j + 1;
    }
    this.lastLine = endLine;
    this.events += count;
    this.blocks++;
  }

  /** The fields of the m-th L1/L0 event of a block, into `ev` (its code, vCPU, line and t are the caller's). */
  private machineFields(ev: TraceEvent, m: number, l1l0: MachineColumns): void {
    ev.page = l1l0.page[m] as number;
    ev.msr = l1l0.msr[m] as number;
    ev.dir = l1l0.dir[m] as number;
    ev.flag = l1l0.flag[m] as number;
    const s = l1l0.snapshot[m] as number;
    ev.content = s === 0 ? null : (this.snapshots[s - 1] as Uint8Array);
  }

  /** A machine event's fields as the CSV reader would have let them through (trace-rows.ts). */
  private checkMachine(
    c: number,
    m: number,
    { page, msr, snapshot, dir, flag }: MachineColumns,
    corrupt: (what: string) => InputError,
  ): void {
    const p = page[m] as number;
    if (c === Ev.bitmapLoad || c === Ev.bitmapSet || c === Ev.bitmapPtr) {
      if (!Number.isInteger(p) || p < 0 || p > MAX_GPA || p % PAGE_SIZE !== 0) {
        throw corrupt(`L1/L0 event ${m} names page ${p}, which is no 4 KiB-aligned guest-physical address`);
      }
    }
    const s = snapshot[m] as number;
    if (c === Ev.bitmapLoad ? s < 1 || s > this.snapshots.length : s !== 0) {
      throw corrupt(`L1/L0 event ${m} names snapshot ${s - 1}, but ${this.snapshots.length} came before it`);
    }
    if (c === Ev.bitmapSet || c === Ev.l0Set) {
      if (!hasBit(msr[m] as number)) throw corrupt(`L1/L0 event ${m} changes MSR ${msr[m]}, which has no bit`);
      const d = dir[m] as number;
      if (d < 1 || d > DIR_MAX) throw corrupt(`L1/L0 event ${m} has direction ${d}, which is none`);
    }
    const f = flag[m] as number;
    if (f > (c === Ev.l1Mode ? MODE_LEGACY : 1)) throw corrupt(`L1/L0 event ${m} has flag ${f}, out of range`);
  }

  /**
   * Where a time window must stop: at the recorded problem's line. A block
   * without t and no problem recorded is a file written without timestamps
   * (a cache entry), which no time window can use.
   */
  private stopLine(hasT: boolean, corrupt: (what: string) => InputError): number {
    if (this.problem !== null) return this.problem.line;
    if (!hasT) throw corrupt("it holds no timestamps (t), and no record of why");
    return Number.POSITIVE_INFINITY;
  }

  private failTimestamps(): never {
    const problem = this.problem as TimestampProblem;
    const where = at(this.options.file, problem.line, problem.column === 0 ? undefined : problem.column);
    throw new InputError(`${where}${problem.message.replaceAll(OPTION_PLACEHOLDER, this.options.timestamps ?? "")}`);
  }
}

/**
 * Where tallyEvents() leaves its counts. The hot loops of a block are
 * functions of their own, each one loop: V8 then optimizes them whole, where
 * a loop in a longer method is compiled on its own (on-stack replacement)
 * and left again for code after it with no type feedback, once per block.
 */
enum Tally {
  ACCESSES = 0,
  MACHINE = 1,
  ESCAPES = 2,
  /** The first event with a code or vCPU out of range, or -1. */
  BAD = 3,
  /** The line steps after the last escape (or from the block's start): its last line is that escape's, or the base line, plus these. */
  STEPS_AFTER_ESCAPE = 4,
  /** The highest vCPU among the block's events (EventColumns.maxVcpu). */
  MAX_VCPU = 5,
  SIZE = 6,
}

/** A block's columns of L1/L0 events (format.ts BLOCK): one entry per such event, in order. */
interface MachineColumns {
  readonly page: Float64Array;
  readonly msr: Uint32Array;
  /** The snapshot's index + 1, 0 for none. */
  readonly snapshot: Uint32Array;
  readonly dir: Uint8Array;
  readonly flag: Uint8Array;
}

/** Per event of a block, as a read in columns needs them (BlockDecoder.spread). */
interface Spread {
  msr: Uint32Array;
  line: Float64Array;
  machineAt: Int32Array;
}

/**
 * A block's accesses, machine events and line escapes, its highest vCPU and
 * its first event out of range, into `tally`; on the way, each access's MSR into
 * spread.msr at its event's place (a vmexit's or vmentry's slot is left as it
 * was) and each L1/L0 event's index into spread.machineAt. One pass: a read
 * in columns needs both, and a corrupt block is refused before either is used.
 */
function tallyEvents(
  code: Uint8Array,
  vcpu: Uint16Array,
  lineStep: Uint8Array,
  count: number,
  msr: Uint32Array,
  spread: Spread,
  tally: Int32Array,
) {
  const { msr: msrs, machineAt } = spread;
  // The header's access count sizes msr: a corrupt block may hold more, whose MSRs read as 0.
  const lastAccess = msr.length - 1;
  let accesses = 0;
  let machine = 0;
  let escapes = 0;
  let bad = -1;
  let steps = 0;
  let maxVcpu = 0;
  for (let i = 0; i < count; i++) {
    const c = code[i] as number;
    const v = vcpu[i] as number;
    if (c >= EVENT_CODES || v >= MAX_VCPUS) {
      bad = i;
      break;
    }
    maxVcpu = v > maxVcpu ? v : maxVcpu;
    if (c <= Ev.wrmsr) {
      msrs[i] = accesses <= lastAccess ? (msr[accesses] as number) : 0;
      accesses++;
    } else if (c >= Ev.bitmapLoad) machineAt[machine++] = i;
    const step = lineStep[i] as number;
    if (step === 0) {
      escapes++;
      steps = 0;
    } else steps += step;
  }
  tally[Tally.ACCESSES] = accesses;
  tally[Tally.MACHINE] = machine;
  tally[Tally.ESCAPES] = escapes;
  tally[Tally.BAD] = bad;
  tally[Tally.STEPS_AFTER_ESCAPE] = steps;
  tally[Tally.MAX_VCPU] = maxVcpu;
}

/** A block's lines, one per event, into `lines`, from the line before its first event. */
function spreadLines(
  lineStep: Uint8Array,
  lineEscape: Float64Array,
  lastLine: number,
  count: number,
  lines: Float64Array,
): void {
  let line = lastLine;
  let e = 0;
  for (let i = 0; i < count; i++) {
    const step = lineStep[i] as number;
    line = step === 0 ? (lineEscape[e++] as number) : line + step;
    lines[i] = line;
  }
}
