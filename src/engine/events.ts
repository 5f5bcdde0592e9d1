/**
 * Trace events as the engine sees them. Readers decode rows into one reused
 * `TraceEvent` object, so a replay allocates nothing per event.
 */

/** Event codes; the names are the trace's `event` column (docs/model.md §3). */
export const Ev = {
  rdmsr: 0,
  wrmsr: 1,
  vmexit: 2,
  vmentry: 3,
  bitmapLoad: 4,
  bitmapSet: 5,
  bitmapPtr: 6,
  useBitmap: 7,
  l1Mode: 8,
  l0Set: 9,
} as const;

export type EventCode = (typeof Ev)[keyof typeof Ev];

/** Event names in code order: EVENT_NAMES[Ev.bitmapLoad] === "bitmap-load". */
export const EVENT_NAMES = [
  "rdmsr",
  "wrmsr",
  "vmexit",
  "vmentry",
  "bitmap-load",
  "bitmap-set",
  "bitmap-ptr",
  "use-bitmap",
  "l1-mode",
  "l0-set",
] as const;

export type EventName = (typeof EVENT_NAMES)[number];

/** L1's long-mode state, which picks vmcs01's bitmap. */
export const MODE_LONGMODE = 0;
export const MODE_LEGACY = 1;
export type Mode = typeof MODE_LONGMODE | typeof MODE_LEGACY;

export interface TraceEvent {
  code: EventCode;
  vcpu: number;
  /** rdmsr, wrmsr, bitmap-set, l0-set. */
  msr: number;
  /** bitmap-set, l0-set: DIR_R | DIR_W. */
  dir: number;
  /** bitmap-set, l0-set: 1 intercept, 0 pass; use-bitmap: 0/1; l1-mode: a Mode. */
  flag: number;
  /** bitmap-load, bitmap-set, bitmap-ptr: guest-physical address. */
  page: number;
  /** bitmap-load: the page's new content (4096 bytes). */
  content: Uint8Array | null;
  /** Where the event came from, for error messages; opaque to the engine. */
  line: number;
  /**
   * The `t` column in seconds, decoded only when the reader is asked for
   * timestamps (`--window` with a time unit); NaN otherwise.
   */
  t: number;
}

export function blankEvent(): TraceEvent {
  return { code: Ev.vmentry, vcpu: 0, msr: 0, dir: 0, flag: 0, page: 0, content: null, line: 0, t: Number.NaN };
}
