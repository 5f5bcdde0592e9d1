/**
 * traceEvents(): a trace's rows as an async iterator of plain objects. The
 * reader (src/io/trace-reader.ts) pushes one reused event object into a
 * callback; here each event is copied into a fresh object, queued, and the
 * reader is held back (its `pace` hook) until the consumer has taken them,
 * so a trace larger than memory can be iterated.
 */
import { type TraceEvent as EngineEvent, EVENT_NAMES } from "../engine/events.js";
import { readTrace } from "../io/trace-reader.js";
import { checkSnapshotDirs } from "../run/setup.js";
import { parseApiOptions, TraceEventsOptionsSchema } from "./options.js";
import { openInput, type TraceInput } from "./source.js";
import type { TraceEvent, TraceEventsOptions } from "./types.js";

const FN = "traceEvents";

/**
 * Yields every event of the trace, in order, with its line. Checks every row
 * as `validate` reads it (docs/model.md §3), but not the nested entries: that
 * takes the machine, which compareTrace() runs. Breaking out of the loop
 * stops the reading and closes the file.
 */
export async function* traceEvents(trace: TraceInput, options: TraceEventsOptions = {}): AsyncGenerator<TraceEvent> {
  const o = parseApiOptions(TraceEventsOptionsSchema, options, FN);
  checkSnapshotDirs(o.snapshotDirs, "snapshotDirs");
  const source = openInput(trace, o.name, FN);
  // Events read and not yet taken: queue[head..]; emptied whole when taken (no shift() per event).
  const queue: TraceEvent[] = [];
  let head = 0;
  let wake: (() => void) | null = null;
  let resume: (() => void) | null = null;
  let stopped = false;
  const signal = () => {
    wake?.();
    wake = null;
  };
  const reading = readTrace({
    file: source.file,
    ...(source.input ? { input: source.input } : {}),
    onEvent: (ev) => {
      queue.push(copy(ev));
    },
    snapshotDirs: o.snapshotDirs,
    ...(o.lenient ? { skipped: { rows: 0, first: [] } } : {}),
    ...(o.timestamps ? { timestamps: "timestamps: true" } : {}),
    // Before each chunk: wait while the consumer has events to take (or has stopped).
    pace: () => {
      signal();
      if (stopped) return Promise.reject(new Stopped());
      if (head === queue.length) return undefined;
      return new Promise<void>((resolve) => {
        resume = resolve;
      });
    },
  });
  let done = false;
  let failure: unknown;
  reading.then(
    () => {
      done = true;
      signal();
    },
    (error: unknown) => {
      done = true;
      failure = error;
      signal();
    },
  );
  try {
    for (;;) {
      while (head < queue.length) yield queue[head++] as TraceEvent;
      queue.length = 0;
      head = 0;
      if (done) break;
      const waiting = new Promise<void>((resolve) => {
        wake = resolve;
      });
      (resume as (() => void) | null)?.();
      resume = null;
      await waiting;
    }
    if (failure !== undefined) throw failure;
  } finally {
    if (!done) {
      // The consumer stopped early: the reader's next pace() rejects, and it closes the input.
      stopped = true;
      (resume as (() => void) | null)?.();
      await reading.catch(() => undefined);
    }
  }
}

/** Thrown into the reader when the consumer stops iterating; never seen outside. */
class Stopped extends Error {}

function copy(ev: EngineEvent): TraceEvent {
  return {
    event: EVENT_NAMES[ev.code],
    line: ev.line,
    vcpu: ev.vcpu,
    msr: ev.msr,
    dir: ev.dir,
    flag: ev.flag,
    page: ev.page,
    content: ev.content === null ? null : new Uint8Array(ev.content),
    t: ev.t,
  };
}
