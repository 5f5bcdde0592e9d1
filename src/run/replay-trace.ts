/** A whole replay of one trace in this thread: reader, front and back together. */
import { Replay } from "../engine/replay.js";
import { InexactEstimateError } from "../engine/results.js";
import { strategiesNamed } from "../engine/strategies/index.js";
import { at, InputError } from "../io/errors.js";
import { readTrace, shownName } from "../io/trace-reader.js";
import type { ReplaySpec, TraceOutcome } from "./protocol.js";

export async function replayHere(
  file: string,
  spec: ReplaySpec,
  options: { onProgress?: (bytes: number, events: number) => void } = {},
): Promise<TraceOutcome> {
  const replay = new Replay({
    strategies: strategiesNamed(spec.strategies),
    l0: spec.l0,
    l1Bitmap: spec.l1Bitmap,
    breakdown: spec.breakdown,
  });
  const onProgress = options.onProgress;
  const skipped = spec.lenient ? { rows: 0, first: [] } : undefined;
  const stats = await readTrace({
    skipped,
    file,
    onEvent: (ev) => replay.apply(ev),
    snapshotDirs: spec.snapshotDirs,
    outputs: spec.outputs,
    onBytes: onProgress ? (bytes) => onProgress(bytes, replay.eventCount) : undefined,
  });
  return {
    trace: file,
    events: stats.events,
    vcpus: replay.machine.seen.length,
    results: resultsOf(replay, spec, file),
    ...(spec.breakdown ? { msrs: replay.breakdown(0) } : {}),
    ...(skipped ? { skipped } : {}),
  };
}

/** The replay's results; costs too big for an exact est_cycles are an input error naming the trace. */
function resultsOf(replay: Replay, spec: ReplaySpec, file: string) {
  try {
    return replay.results(spec.cost);
  } catch (error) {
    if (error instanceof InexactEstimateError) throw new InputError(`${at(shownName(file))}${error.message}`);
    throw error;
  }
}
