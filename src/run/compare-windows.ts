/**
 * `compare --window`: the traces replayed one after another (so the windows
 * stream in order), each on two threads when worth it, their windows turned
 * into text by `text` as they end (windows.ts has the streaming).
 */
import type { WindowSpec } from "../engine/windows.js";
import { shownName } from "../io/trace-reader.js";
import type { ReplaySpec } from "./protocol.js";
import { type TraceProgress, threadedFor, threadsFor } from "./replay-traces.js";
import { streamWindows, type WindowRun, type WindowText } from "./windows.js";

export interface WindowedRun {
  /** How the windows are written (src/render/windows.ts). */
  readonly text: WindowText;
  /** -j: the threads asked for. */
  readonly jobs?: number | undefined;
  readonly progress?: (file: string) => TraceProgress;
}

export function compareWindows(
  traces: readonly string[],
  spec: ReplaySpec & { readonly window: WindowSpec },
  run: WindowedRun,
): WindowRun {
  return streamWindows(traces, spec, {
    text: run.text,
    threaded: threadedFor(run.jobs),
    threads: threadsFor(run.jobs),
    ...(run.progress ? { progress: run.progress } : {}),
    shownName,
  });
}
