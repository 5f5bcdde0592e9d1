/**
 * One trace on several threads: this thread reads the trace and runs the
 * front of the replay (the machine, the entry checks); workers run the
 * oracle and the strategies over the batches the front fills. Reading and
 * the strategies overlap, so adding strategies costs little wall time. A
 * packed read whose strategies go event by event leaves this thread time to
 * judge every access once for all and to run a share of them itself
 * (back-workers.ts). Batches live in shared memory and are reused: only
 * their counts and machine events cross in messages.
 */

import { countsPerEvent } from "../engine/back.js";
import {
  BATCH_BYTES_PER_EVENT,
  BATCH_JUDGED_BYTES,
  BATCH_LINE_BYTES,
  type Batch,
  clearBatch,
  newBatch,
} from "../engine/batch.js";
import { ReplayFront } from "../engine/front.js";
import { WindowCutter } from "../engine/windows.js";
import { at, InputError } from "../io/errors.js";
import { readTrace, shownName } from "../io/trace-reader.js";
import { BackWorkers, mainThreadShare } from "./back-workers.js";
import { batchMessage, type FromWorker, type ReplaySpec, type ToWorker, type TraceOutcome } from "./protocol.js";
import { timestampsFor, type WindowListener } from "./windows.js";

/** Events per batch: big enough to make a message cheap per event. */
const CAPACITY = 1 << 15;
/**
 * Batches on their way to or in the worker before the reader waits. (32
 * measured no faster, and takes 5 MiB more.)
 */
const IN_FLIGHT = 8;

export const WORKER_URL = new URL("./worker.js", import.meta.url);

export interface PipelineOptions {
  /** Told the bytes read and the events taken so far, once per chunk. */
  readonly onProgress?: (bytes: number, events: number) => void;
  /** --window (spec.window): told the windows as the worker reports them. */
  readonly windows?: WindowListener;
  /**
   * Threads for this trace, this one included (2 by default): the
   * strategies run on the other threads, workers, each a share of them
   * (back-workers.ts). A packed form (a packed file, or the cache's) costs
   * this thread less than parsing a CSV, so when the strategies go event by
   * event (countsPerEvent) it runs a share of them too (mainThreadShare).
   */
  readonly threads?: number;
}

export async function replayPipelined(
  file: string,
  spec: ReplaySpec,
  options: PipelineOptions = {},
): Promise<TraceOutcome> {
  // Batches over shared memory, by slot; `free` holds the slots not in use.
  const batches: Batch[] = [];
  const free: number[] = [];
  /** The front judges the accesses (ReplayFront.judgeHere), into a column of each batch. */
  let judging = false;
  const judgedColumn = () => (judging ? new SharedArrayBuffer(CAPACITY * BATCH_JUDGED_BYTES) : undefined);
  const newSlot = (): number => {
    // compare --violations: the access lines in shared memory of their own, beside the batch's.
    const lines = spec.violations ? new SharedArrayBuffer(CAPACITY * BATCH_LINE_BYTES) : undefined;
    batches.push(newBatch(CAPACITY, new SharedArrayBuffer(CAPACITY * BATCH_BYTES_PER_EVENT), lines, judgedColumn()));
    return batches.length - 1;
  };
  const batchIn = (slot: number) => batches[slot] as Batch;
  let filling = newSlot();
  let inFlight = 0;
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let finished: ((message: FromWorker) => void) | null = null;

  const threads = options.threads ?? 2;
  let begun = false;
  const post = (message: Exclude<ToWorker, { type: "back" | "trace" }>) => worker.postMessage(message);
  const onMessage = (message: FromWorker) => {
    if (message.type === "batch") {
      clearBatch(batchIn(message.slot));
      free.push(message.slot);
      inFlight--;
    } else if (message.type === "error") {
      // The back reads no file: its only input error is about the results (est_cycles), named by the trace.
      failure = message.input ? new InputError(`${at(shownName(file))}${message.message}`) : new Error(message.message);
    } else if (message.type === "windows") options.windows?.onWindows(message.records);
    else finished?.(message);
    wake?.();
  };
  const front = new ReplayFront({
    l0: spec.l0,
    l1Bitmap: spec.l1Bitmap,
    l1Override: spec.l1Override,
    batch: batchIn(filling),
    emit: (batch) => {
      inFlight++;
      post(batchMessage(filling, batch));
      filling = free.pop() ?? newSlot();
      return batchIn(filling);
    },
  });
  // The workers get their strategies once the reader knows what it reads, before its first event.
  const begin = (packed: boolean) => {
    if (begun) return;
    begun = true;
    // Strategies that go event by event cost more than a packed read costs this thread.
    const share = packed && countsPerEvent(spec) ? mainThreadShare(spec.strategies.length, threads) : 0;
    if (share > 0) {
      // This thread then judges every access once, for its share and the workers'
      // (the slot being filled, the only one so far, gets its judgement column).
      judging = true;
      const first = batchIn(filling);
      batches[filling] = newBatch(CAPACITY, first.msr.buffer, first.line?.buffer, judgedColumn());
      front.judgeHere(batchIn(filling));
    }
    worker.begin(spec, share);
  };

  // The workers start now, to load while the trace is opened: one per thread but this one,
  // which reads (and may run a share of the strategies too: begin() above).
  const worker = new BackWorkers(WORKER_URL, Math.min(threads - 1, spec.strategies.length));
  worker.on("message", onMessage);
  worker.on("error", (error) => {
    failure = error;
    wake?.();
  });
  try {
    const cutter = spec.window ? new WindowCutter(front, spec.window) : null;
    const waitForWorker = () => new Promise<void>((resolve) => (wake = resolve));
    // A chunk can fill more than one batch: wait until few enough are out, not for one.
    const backOff = async () => {
      while (inFlight > IN_FLIGHT && !failure) await waitForWorker();
      if (failure) throw failure;
    };
    const skipped = spec.lenient ? { rows: 0, first: [] } : undefined;
    const stats = await readTrace({
      skipped,
      file,
      onEvent: cutter ? (ev) => cutter.apply(ev) : (ev) => front.apply(ev),
      // A window's cutter looks at every event; without one a packed trace's runs go in whole.
      onColumns: cutter ? undefined : (columns, from, to) => front.queueColumns(columns, from, to),
      onFormat: begin,
      timestamps: timestampsFor(spec.window),
      snapshotDirs: spec.snapshotDirs,
      outputs: spec.outputs,
      onBytes: options.onProgress ? (bytes) => options.onProgress?.(bytes, front.events) : undefined,
      pace: () => {
        if (failure) throw failure;
        return inFlight > IN_FLIGHT ? backOff() : options.windows?.pace();
      },
      cache: spec.cache,
    });
    // readTrace says what it reads before its first event; should a read end without having
    // said, the end of the replay still needs the workers set up to answer it.
    begin(false);
    cutter?.finish();
    front.flush();
    const done = new Promise<FromWorker>((resolve) => (finished = resolve));
    post({ type: "end" });
    while (!failure) {
      const message = await Promise.race([done, waitForWorker().then(() => null)]);
      if (message?.type === "results") {
        return {
          trace: file,
          events: stats.events,
          vcpus: front.machine.seen.length,
          results: message.results,
          ...(message.msrs ? { msrs: message.msrs } : {}),
          ...(message.breakdowns ? { breakdowns: message.breakdowns } : {}),
          ...(skipped ? { skipped } : {}),
          setupUse: message.setupUse,
          ...(spec.l1Override ? { overridden: front.overridden } : {}),
          ...(message.violations ? { violations: message.violations } : {}),
          ...(stats.cacheNote ? { cacheNote: stats.cacheNote } : {}),
        };
      }
    }
    throw failure;
  } finally {
    await worker.terminate();
  }
}
