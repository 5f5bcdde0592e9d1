/**
 * What the front of a replay hands its back: the L2 events and vmentries it
 * queued (their entries already checked), and the events that change the
 * machine, each placed after a number of queued ones. Typed arrays and plain
 * objects only, so a batch can cross to a worker thread as it is.
 */
import { Ev, type EventCode, type TraceEvent } from "./events.js";

/** An event that changes the machine (an L1 event other than vmentry, or l0-set). */
export interface MachineEvent {
  readonly code: EventCode;
  readonly vcpu: number;
  readonly msr: number;
  readonly dir: number;
  readonly flag: number;
  readonly page: number;
  readonly content: Uint8Array | null;
}

export interface Batch {
  /** Queued rdmsr, wrmsr, vmexit and vmentry events. */
  count: number;
  readonly code: Uint8Array;
  readonly vcpu: Uint16Array;
  /** The access's MSR (32 bits). */
  readonly msr: Uint32Array;
  /**
   * The access's trace line (TraceEvent.line), only when asked for
   * (`compare --violations`): null otherwise, so a replay that does not need
   * lines neither stores nor sends them. Its own buffer (BATCH_LINE_BYTES per
   * event), shared with a worker like the rest.
   */
  readonly line: Float64Array | null;
  /**
   * The oracle's answer per queued event (oracle.ts), when the front judged
   * them: a packed read whose strategies go event by event in two threads or
   * more, which the reading thread judges once for all. Null: the back judges.
   */
  readonly judged: Int32Array | null;
  /** machineEvents[k] happens after the first marks[k] queued events. */
  readonly marks: number[];
  readonly machineEvents: MachineEvent[];
}

/** Bytes a batch needs per queued event: msr (4), vcpu (2), code (1). */
export const BATCH_BYTES_PER_EVENT = 7;
/** Bytes of the optional line column per queued event: a double holds any line number exactly. */
export const BATCH_LINE_BYTES = Float64Array.BYTES_PER_ELEMENT;
/** Bytes of the optional judgement column per queued event. */
export const BATCH_JUDGED_BYTES = Int32Array.BYTES_PER_ELEMENT;

/**
 * An empty batch. Its arrays are views of one buffer, which may be shared
 * with another thread: a batch then crosses threads without its buffer being
 * copied or transferred. (Transferring detaches the buffer, and once a
 * process has detached any buffer V8 checks for detachment on every
 * typed-array access: the hot loops run about 15% slower.)
 */
export function newBatch(
  capacity: number,
  memory?: ArrayBufferLike,
  lines?: ArrayBufferLike | boolean,
  judged?: ArrayBufferLike,
): Batch {
  const buffer = memory ?? new ArrayBuffer(capacity * BATCH_BYTES_PER_EVENT);
  // `lines`: true for a line column in a buffer of its own, or that buffer (a shared one).
  const lineBuffer = lines === true ? new ArrayBuffer(capacity * BATCH_LINE_BYTES) : lines || null;
  return {
    count: 0,
    code: new Uint8Array(buffer, capacity * 6, capacity),
    vcpu: new Uint16Array(buffer, capacity * 4, capacity),
    msr: new Uint32Array(buffer, 0, capacity),
    line: lineBuffer ? new Float64Array(lineBuffer, 0, capacity) : null,
    judged: judged ? new Int32Array(judged, 0, capacity) : null,
    marks: [],
    machineEvents: [],
  };
}

/** Empties a batch for refilling (a batch that came back from a worker too). */
export function clearBatch(batch: Batch): void {
  batch.count = 0;
  batch.marks.length = 0;
  batch.machineEvents.length = 0;
}

/** A copy of the event's fields: the reader reuses its event object. */
export function machineEvent(ev: TraceEvent): MachineEvent {
  return {
    code: ev.code,
    vcpu: ev.vcpu,
    msr: ev.msr,
    dir: ev.dir,
    flag: ev.flag,
    page: ev.page,
    content: ev.code === Ev.bitmapLoad ? ev.content : null,
  };
}
