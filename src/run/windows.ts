/**
 * `compare --window`: the traces replayed one after another, each on two
 * threads when worth it (pipeline.ts) or in this one (replay-trace.ts), their
 * windows turned into text as they end and handed on as a stream of chunks,
 * so that the output is written while the replay goes on.
 *
 * Memory stays flat however long the trace: a window is a record per
 * strategy, rendered at once and dropped; the text waits in a queue of at
 * most QUEUE_HIGH_WATER characters, and while the output is behind (a slow
 * disk, a pipe nobody drains) the reader waits before its next chunk (its
 * `pace`), so the replay never runs ahead of the output by more than that
 * and the batches in flight. Several traces are replayed in the order given,
 * one at a time, so their windows come out in that order with no trace held
 * back in memory.
 */
import type { WindowRecord, WindowSpec } from "../engine/windows.js";
import { readTrace } from "../io/trace-reader.js";
import { STDIN } from "../io/trace-source.js";
import type { ReplaySpec, TraceOutcome } from "./protocol.js";
import { replayHere } from "./replay-trace.js";

/** What a replay tells about its windows (pipeline.ts, replay-trace.ts). */
export interface WindowListener {
  /** Windows that ended, in order. */
  onWindows(records: readonly WindowRecord[]): void;
  /** Awaited by the reader before each chunk: holds it back while the output is behind. */
  readonly pace: () => Promise<void> | undefined;
}

/** The reader option that decodes `t`: only a time window needs it. */
export function timestampsFor(window: WindowSpec | undefined): string | undefined {
  return window?.unit === "seconds" ? `--window ${window.text}` : undefined;
}

/** The text of a windowed output, piece by piece, in the order written (src/render/windows.ts). */
export interface WindowText {
  /** Before anything else (written with the first trace's first windows). */
  start(): string;
  /** Before a trace's windows (written with its first ones). */
  trace(trace: string): string;
  windows(records: readonly WindowRecord[]): string;
  /** After a trace's windows, with its totals. */
  traceEnd(outcome: TraceOutcome): string;
  /** After the last trace. */
  end(): string;
}

export interface WindowRunOptions {
  readonly text: WindowText;
  /** Whether a trace is worth a worker thread (then the pipeline replays it). */
  readonly threaded: (file: string) => boolean;
  /** A progress line per trace. */
  readonly progress?: (file: string) => { update(bytes: number, events: number): void; done(): void };
  /** How a trace is named in the output (and the outcome). */
  readonly shownName: (file: string) => string;
  /** Threads for a threaded trace, the reading one included (pipeline.ts PipelineOptions.threads). */
  readonly threads?: number;
}

export interface WindowRun {
  /** The output, as chunks to write in order; throws the replay's error, if any. */
  readonly chunks: AsyncIterable<string>;
  /** Each trace's outcome, once every chunk was taken (or the reader of the chunks stopped). */
  readonly outcomes: Promise<TraceOutcome[]>;
}

/** Characters of text queued before the reader waits for the output. */
const QUEUE_HIGH_WATER = 1 << 20;

/**
 * Replays `files` one after another with spec.window set, and streams the
 * text of their windows. Every trace is first checked up to its first event
 * (that it opens, has a header with `t` when the window is in time, and a
 * first row that decodes), so a trace that cannot be windowed fails the run
 * before anything is written, not after the traces before it.
 */
export function streamWindows(files: readonly string[], spec: ReplaySpec, options: WindowRunOptions): WindowRun {
  const queue = new ChunkQueue();
  const text = options.text;
  const outcomes = (async () => {
    const done: TraceOutcome[] = [];
    try {
      if (files.length > 1) for (const file of files) await checkStart(file, spec);
      let first = true;
      for (const file of files) {
        const name = options.shownName(file);
        let opened = false;
        const windows: WindowListener = {
          onWindows: (records) => {
            if (records.length === 0) return;
            // The start only with the first window: an error before it leaves the output empty.
            const head = opened ? "" : `${first ? text.start() : ""}${text.trace(name)}`;
            opened = true;
            first = false;
            queue.push(head + text.windows(records));
          },
          pace: () => queue.pace(),
        };
        const progress = options.progress?.(file);
        try {
          const onProgress = progress?.update;
          const outcome = options.threaded(file)
            ? await (await import("./pipeline.js")).replayPipelined(file, spec, {
                onProgress,
                windows,
                ...(options.threads !== undefined ? { threads: options.threads } : {}),
              })
            : await replayHere(file, spec, { onProgress, windows });
          const shown = { ...outcome, trace: name };
          queue.push(text.traceEnd(shown));
          done.push(shown);
        } finally {
          progress?.done();
        }
      }
      queue.push(text.end());
      queue.end();
    } catch (error) {
      queue.fail(error);
    }
    return done;
  })();
  return { chunks: queue, outcomes };
}

/**
 * Reads `file` up to its first event, as the replay will: an error there
 * (no such file, no `t` column for a time window, a bad first row) is the
 * one the replay would give. Stdin cannot be read twice, but it is never
 * one of several traces.
 */
async function checkStart(file: string, spec: ReplaySpec): Promise<void> {
  if (file === STDIN) return;
  let reached = false;
  try {
    await readTrace({
      file,
      onEvent: () => {
        reached = true;
        throw new Error("stop at the first event");
      },
      timestamps: timestampsFor(spec.window),
      snapshotDirs: spec.snapshotDirs,
      outputs: spec.outputs,
      ...(spec.lenient ? { skipped: { rows: 0, first: [] } } : {}),
    });
  } catch (error) {
    if (!reached) throw error;
  }
}

/** The consumer of the chunks stopped taking them (a closed pipe): the replay stops quietly. */
class OutputGone extends Error {
  constructor() {
    super("the output was closed");
    this.name = "OutputGone";
  }
}

/**
 * Text between the replay (which pushes) and the output (which iterates).
 * Pushes never wait; pace() tells the reader to wait while QUEUE_HIGH_WATER
 * characters are queued, and fails once the consumer has gone.
 */
class ChunkQueue implements AsyncIterable<string> {
  private chunks: string[] = [];
  private size = 0;
  private ended = false;
  private failure: { error: unknown } | null = null;
  private gone = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  push(chunk: string): void {
    if (this.gone || chunk === "") return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(error: unknown): void {
    if (!this.gone) this.failure = { error };
    this.wake();
  }

  pace(): Promise<void> | undefined {
    if (this.gone) return Promise.reject(new OutputGone());
    if (this.size < QUEUE_HIGH_WATER) return undefined;
    return new Promise<void>((resolve) => {
      this.wakeProducer = resolve;
    }).then(() => {
      if (this.gone) throw new OutputGone();
    });
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          const chunk = this.chunks.join("");
          this.chunks = [];
          this.size = 0;
          this.release();
          yield chunk;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wakeConsumer = resolve;
        });
      }
    } finally {
      // Finished, failed, or the consumer stopped: a producer still running stops at its next pace.
      this.gone = true;
      this.release();
    }
  }

  private release(): void {
    const wake = this.wakeProducer;
    this.wakeProducer = null;
    wake?.();
  }
}
