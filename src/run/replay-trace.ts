/** A whole replay of one trace in this thread: reader, front and back together. */
import type { Readable } from "node:stream";
import { ReplayBack } from "../engine/back.js";
import { ReplayFront } from "../engine/front.js";
import { InexactEstimateError } from "../engine/results.js";
import type { Strategy } from "../engine/strategy.js";
import { WindowCounter, WindowCutter } from "../engine/windows.js";
import { at, InputError } from "../io/errors.js";
import { loadStrategyModules } from "../io/strategy-modules.js";
import { readTrace, shownName } from "../io/trace-reader.js";
import type { ReplaySpec, TraceOutcome } from "./protocol.js";
import { timestampsFor, type WindowListener } from "./windows.js";

/** Events per batch between the front and the back in one thread (as engine/replay.ts's Replay). */
const FRONT_CAPACITY = 4096;

export async function replayHere(
  file: string,
  spec: ReplaySpec,
  options: {
    onProgress?: (bytes: number, events: number) => void;
    windows?: WindowListener;
    /** The library (src/api): strategy objects, which may not be built in, instead of spec.strategies' names. */
    strategies?: readonly Strategy[];
    /** The library: the trace's bytes from a stream; `file` then only names it. */
    input?: Readable;
  } = {},
): Promise<TraceOutcome> {
  // Front and back as engine/replay.ts's Replay joins them, kept apart here
  // so that the outcome can carry what the back found about L1's bitmap.
  const back = new ReplayBack({
    strategies: options.strategies ?? (await loadStrategyModules(spec.strategyModules ?? [])).named(spec.strategies),
    l0: spec.l0,
    l1Bitmap: spec.l1Bitmap,
    breakdown: spec.breakdown,
    by: spec.by ?? null,
    violations: spec.violations === true,
    ...(spec.window && options.windows ? { onWindowEnd: windowEnds(spec, options.windows) } : {}),
  });
  const front = new ReplayFront({
    l0: spec.l0,
    l1Bitmap: spec.l1Bitmap,
    l1Override: spec.l1Override,
    capacity: FRONT_CAPACITY,
    lines: spec.violations === true,
    emit: (batch) => {
      back.consume(batch); // done with it: the front reuses it
      return undefined;
    },
  });
  const cutter = spec.window ? new WindowCutter(front, spec.window) : null;
  const onProgress = options.onProgress;
  const skipped = spec.lenient ? { rows: 0, first: [] } : undefined;
  const stats = await readTrace({
    skipped,
    file,
    ...(options.input ? { input: options.input } : {}),
    onEvent: cutter ? (ev) => cutter.apply(ev) : (ev) => front.apply(ev),
    // A window's cutter looks at every event; without one a packed trace's runs go in whole.
    onColumns: cutter ? undefined : (columns, from, to) => front.queueColumns(columns, from, to),
    timestamps: timestampsFor(spec.window),
    snapshotDirs: spec.snapshotDirs,
    outputs: spec.outputs,
    onBytes: onProgress ? (bytes) => onProgress(bytes, front.events) : undefined,
    pace: options.windows?.pace,
    cache: spec.cache,
  });
  cutter?.finish();
  front.flush();
  return {
    trace: file,
    events: stats.events,
    vcpus: front.machine.seen.length,
    results: resultsOf(back, spec, file),
    ...(spec.breakdown ? { msrs: back.breakdown(0) } : {}),
    ...(spec.by ? { breakdowns: back.breakdowns() } : {}),
    ...(skipped ? { skipped } : {}),
    setupUse: back.setupUse(),
    ...(spec.l1Override ? { overridden: front.overridden } : {}),
    ...(spec.violations ? { violations: back.violations() } : {}),
    ...(stats.cacheNote ? { cacheNote: stats.cacheNote } : {}),
  };
}

/** --window in one thread: each window to the listener as it ends. */
function windowEnds(spec: ReplaySpec, windows: WindowListener) {
  const window = spec.window as NonNullable<ReplaySpec["window"]>;
  return new WindowCounter(window, spec.cost, (record) => windows.onWindows([record])).end;
}

/** The replay's results; costs too big for an exact est_cycles are an input error naming the trace. */
function resultsOf(back: ReplayBack, spec: ReplaySpec, file: string) {
  try {
    return back.results(spec.cost);
  } catch (error) {
    if (error instanceof InexactEstimateError) throw new InputError(`${at(shownName(file))}${error.message}`);
    throw error;
  }
}
