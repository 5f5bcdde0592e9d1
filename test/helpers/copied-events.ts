/**
 * The trace reader hands every event in one shared object, so tests that
 * keep events keep copies: every field, the event's name, and the snapshot
 * bytes as the test wants them kept (a copy, or a digest).
 */
import { EVENT_NAMES, type TraceEvent } from "../../src/engine/events.js";

export interface CopiedEvent<Content> {
  event: string;
  vcpu: number;
  msr: number;
  dir: number;
  flag: number;
  page: number;
  line: number;
  content: Content | null;
}

export function copyEvent<Content>(ev: TraceEvent, keep: (content: Uint8Array) => Content): CopiedEvent<Content> {
  return {
    event: EVENT_NAMES[ev.code],
    vcpu: ev.vcpu,
    msr: ev.msr,
    dir: ev.dir,
    flag: ev.flag,
    page: ev.page,
    line: ev.line,
    content: ev.content === null ? null : keep(ev.content),
  };
}
