/**
 * Writes a packed trace (format.ts) from the events a reader decodes, a
 * block at a time: memory holds one block, whatever the trace's length.
 * The caller drains the finished bytes (take()) and writes them where it
 * wants (a file, stdout, a cache entry).
 */
import { PAGE_SIZE } from "../../engine/bitmap.js";
import { Ev, type TraceEvent } from "../../engine/events.js";
import {
  ALIGN,
  BLOCK,
  BLOCK_EVENTS,
  BLOCK_HAS_T,
  blockLayout,
  CHUNK,
  CHUNK_HEADER_BYTES,
  crc32,
  END_BYTES,
  FILE_HEADER_BYTES,
  MAX_LINE_STEP,
  type TimestampProblem,
  VERSION,
} from "./format.js";
import { MAGIC } from "./magic.js";

export interface PackWriterOptions {
  /** Store each event's `t` (the reader was asked to decode it). */
  readonly timestamps: boolean;
  /** What a time window must report, when the CSV cannot give every row's `t`. */
  readonly timestampProblem?: TimestampProblem | null;
}

export class PackWriter {
  private readonly hasT: boolean;
  private readonly out: Uint8Array[] = [];
  /** Snapshot contents already written, by identity (the reader hands each file's page out once) and by index. */
  private readonly snapshots = new Map<Uint8Array, number>();
  // The block being filled.
  private count = 0;
  private accesses = 0;
  private readonly code = new Uint8Array(BLOCK_EVENTS);
  private readonly vcpu = new Uint16Array(BLOCK_EVENTS);
  private readonly msr = new Uint32Array(BLOCK_EVENTS);
  private readonly lineStep = new Uint8Array(BLOCK_EVENTS);
  private readonly lineEscape: number[] = [];
  private readonly t: Float64Array;
  private readonly machine: { page: number; msr: number; snapshot: number; dir: number; flag: number }[] = [];
  private baseLine = 0;
  private lastLine = 0;
  private blocks = 0;
  /** Events written so far. */
  events = 0;

  constructor(options: PackWriterOptions) {
    this.hasT = options.timestamps;
    this.t = new Float64Array(this.hasT ? BLOCK_EVENTS : 0);
    const head = new Uint8Array(FILE_HEADER_BYTES);
    head.set(MAGIC, 0);
    new DataView(head.buffer).setUint32(MAGIC.length, VERSION, true);
    this.out.push(head);
    if (options.timestampProblem) this.timestampProblem(options.timestampProblem);
  }

  /** One event, as the reader decoded it (its object is reused: only values are kept). */
  add(ev: TraceEvent): void {
    const n = this.count;
    const code = ev.code;
    this.code[n] = code;
    this.vcpu[n] = ev.vcpu;
    if (code <= Ev.wrmsr) this.msr[this.accesses++] = ev.msr;
    else if (code >= Ev.bitmapLoad) {
      this.machine.push({
        page: ev.page,
        msr: code === Ev.bitmapSet || code === Ev.l0Set ? ev.msr : 0,
        snapshot: code === Ev.bitmapLoad && ev.content !== null ? this.snapshot(ev.content) + 1 : 0,
        dir: ev.dir,
        flag: ev.flag,
      });
    }
    const step = ev.line - this.lastLine;
    if (step >= 1 && step <= MAX_LINE_STEP && this.events > 0) this.lineStep[n] = step;
    else {
      this.lineStep[n] = 0;
      this.lineEscape.push(ev.line);
    }
    this.lastLine = ev.line;
    if (this.hasT) this.t[n] = ev.t;
    this.count = n + 1;
    this.events++;
    if (this.count === BLOCK_EVENTS) this.flushBlock();
  }

  /**
   * A row whose `t` a time window could not read: its error, kept before
   * the block that holds the row (only the first matters: it stops the read).
   */
  timestampProblem(problem: TimestampProblem): void {
    // The block being filled is written later, so this comes before it.
    this.chunk(CHUNK.timestamps, new TextEncoder().encode(JSON.stringify(problem)));
  }

  /** The bytes finished so far, in order; the caller writes them. */
  take(): Uint8Array[] {
    return this.out.splice(0);
  }

  /** Ends the file: the last block and the totals. take() then returns the rest. */
  end(totals: { lines: number; headerLine: number }): void {
    this.flushBlock();
    const payload = new Uint8Array(END_BYTES);
    const view = new DataView(payload.buffer);
    view.setFloat64(0, this.events, true);
    view.setFloat64(8, totals.lines, true);
    view.setFloat64(16, totals.headerLine, true);
    view.setUint32(24, this.blocks, true);
    view.setUint32(28, this.snapshots.size, true);
    this.chunk(CHUNK.end, payload);
  }

  private snapshot(content: Uint8Array): number {
    let index = this.snapshots.get(content);
    if (index === undefined) {
      index = this.snapshots.size;
      this.snapshots.set(content, index);
      if (content.length !== PAGE_SIZE) throw new Error(`internal: a snapshot of ${content.length} bytes`);
      // Before the block that loads it, which is still being filled.
      this.chunk(CHUNK.snapshot, content);
    }
    return index;
  }

  private flushBlock(): void {
    const count = this.count;
    if (count === 0) return;
    const machine = this.machine;
    const escapes = this.lineEscape.length;
    const layout = blockLayout(count, this.accesses, machine.length, escapes, this.hasT);
    const payload = new Uint8Array(layout.bytes);
    const buffer = payload.buffer;
    const head = new DataView(buffer);
    head.setUint32(BLOCK.count, count, true);
    head.setUint32(BLOCK.accesses, this.accesses, true);
    head.setUint32(BLOCK.machine, machine.length, true);
    head.setUint32(BLOCK.escapes, escapes, true);
    head.setFloat64(BLOCK.baseLine, this.baseLine, true);
    head.setUint32(BLOCK.flags, this.hasT ? BLOCK_HAS_T : 0, true);
    payload.set(this.code.subarray(0, count), layout.code);
    new Uint16Array(buffer, layout.vcpu, count).set(this.vcpu.subarray(0, count));
    new Uint32Array(buffer, layout.msr, this.accesses).set(this.msr.subarray(0, this.accesses));
    payload.set(this.lineStep.subarray(0, count), layout.lineStep);
    new Float64Array(buffer, layout.lineEscape, escapes).set(this.lineEscape);
    if (this.hasT) new Float64Array(buffer, layout.t, count).set(this.t.subarray(0, count));
    const page = new Float64Array(buffer, layout.page, machine.length);
    const msr = new Uint32Array(buffer, layout.machineMsr, machine.length);
    const snapshot = new Uint32Array(buffer, layout.snapshot, machine.length);
    machine.forEach((m, i) => {
      page[i] = m.page;
      msr[i] = m.msr;
      snapshot[i] = m.snapshot;
      payload[layout.dir + i] = m.dir;
      payload[layout.flag + i] = m.flag;
    });
    this.chunk(CHUNK.events, payload);
    this.blocks++;
    this.baseLine = this.lastLine;
    this.count = 0;
    this.accesses = 0;
    this.machine.length = 0;
    this.lineEscape.length = 0;
  }

  private chunk(type: number, payload: Uint8Array): void {
    const head = new Uint8Array(CHUNK_HEADER_BYTES);
    const view = new DataView(head.buffer);
    view.setUint32(0, type, true);
    view.setUint32(4, payload.length, true);
    view.setUint32(8, chunkCrc(head, payload), true);
    this.out.push(head, payload);
    const pad = (ALIGN - (payload.length % ALIGN)) % ALIGN;
    if (pad > 0) this.out.push(new Uint8Array(pad));
  }
}

/** The CRC-32 of a chunk's type and length (its header's first 8 bytes) and payload. */
export function chunkCrc(head: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(head.subarray(0, 8)));
}
