/**
 * The traces of one `compare` or `replay`, replayed: one trace is read in
 * this thread while a worker runs the strategies (pipeline.ts) when it is
 * worth a thread, or replayed here (replay-trace.ts); several are replayed a
 * worker per core (pool.ts), never more workers than cores (more only
 * compete for them, and each costs memory). A bad trace fails the whole
 * run, the first bad one in the order given, unless `keepGoing`, which
 * records it and replays the rest.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { InputError } from "../io/errors.js";
import { shownName } from "../io/trace-reader.js";
import { isGzip, STDIN } from "../io/trace-source.js";
import type { ReplaySpec, TraceFailure, TraceOutcome } from "./protocol.js";
import { replayHere } from "./replay-trace.js";

/** Below this a trace replays faster in one thread than a worker starts. */
const THREAD_WORTHY_BYTES = 8 << 20;

/** The bytes that tell gzip (RFC 1952's ID1, ID2). */
const GZIP_MAGIC_BYTES = 2;

/** Stdin, gzip (size unknown) or a big file: worth a worker thread. */
function worthAThread(file: string): boolean {
  if (file === STDIN) return true;
  try {
    return statSync(file).size >= THREAD_WORTHY_BYTES || isGzipFile(file);
  } catch {
    return false; // the reader reports it
  }
}

function isGzipFile(file: string): boolean {
  const head = Buffer.alloc(GZIP_MAGIC_BYTES);
  const fd = openSync(file, "r");
  try {
    return readSync(fd, head, 0, GZIP_MAGIC_BYTES, 0) === GZIP_MAGIC_BYTES && isGzip(head);
  } finally {
    closeSync(fd);
  }
}

/** The threads to use: as asked (-j), one per core by default, never more than the cores. */
export function threadsFor(asked: number | undefined): number {
  const cores = availableParallelism();
  return Math.min(asked ?? cores, cores);
}

/** A progress line for one trace (the CLI's is on stderr, on a terminal only). */
export interface TraceProgress {
  update(bytes: number, events: number): void;
  done(): void;
}

export interface ReplayRun {
  /** -j: the threads asked for (threadsFor). */
  readonly jobs?: number | undefined;
  /** --keep-going: record a trace's input error and replay the others. */
  readonly keepGoing?: boolean;
  /** One trace at a time: its progress. */
  readonly progress?: (file: string) => TraceProgress;
  /** Several traces at once: told as each ends, and how many have. */
  readonly onTraceDone?: (trace: string, done: number) => void;
}

export interface ReplayedTraces {
  /** The traces replayed, in the order given. */
  readonly outcomes: TraceOutcome[];
  /** --keep-going: the traces that failed, in the order given, with their one-line errors. */
  readonly failed: TraceFailure[];
}

export async function replayTraces(
  traces: readonly string[],
  spec: ReplaySpec,
  run: ReplayRun = {},
): Promise<ReplayedTraces> {
  const jobs = threadsFor(run.jobs);
  const keepGoing = run.keepGoing === true;
  let ended: (TraceOutcome | TraceFailure)[];
  if (traces.length === 1 || jobs === 1) {
    ended = [];
    for (const file of traces) {
      const progress = run.progress?.(file);
      try {
        const onProgress = progress?.update.bind(progress);
        const outcome =
          jobs > 1 && worthAThread(file)
            ? await (await import("./pipeline.js")).replayPipelined(file, spec, {
                onProgress,
                threads: threadsFor(run.jobs),
              })
            : await replayHere(file, spec, { onProgress });
        ended.push({ ...outcome, trace: shownName(file) });
      } catch (error) {
        if (!(keepGoing && error instanceof InputError)) throw error;
        ended.push({ trace: shownName(file), error: error.message });
      } finally {
        progress?.done();
      }
    }
  } else {
    // Worker threads (pipeline.ts, pool.ts) are loaded when used: a small trace replays in this thread.
    const { replayMany } = await import("./pool.js");
    ended = await replayMany(traces, spec, jobs, {
      keepGoing,
      ...(run.onTraceDone ? { onDone: run.onTraceDone } : {}),
    });
  }
  return {
    outcomes: ended.filter((e): e is TraceOutcome => !("error" in e)),
    failed: ended.filter((e): e is TraceFailure => "error" in e),
  };
}

/** Whether a trace gets a worker thread, with these threads: when there are two or more and it is worth one. */
export function threadedFor(asked: number | undefined): (file: string) => boolean {
  const jobs = threadsFor(asked);
  return (file) => jobs > 1 && worthAThread(file);
}
