/**
 * `report`: the traces replayed once each, in order, with everything the
 * page draws counted in that one replay: the counters, every strategy's
 * per-MSR breakdown, its first violations and its windows. The windows go
 * through compare --window's streaming replay (windows.ts) into a bounded
 * collector instead of into text, so the page's memory does not grow with
 * the trace.
 */
import { WindowSeriesCollector } from "../analysis/report-extras.js";
import type { WindowSeries } from "../analysis/report-page.js";
import type { WindowSpec } from "../engine/windows.js";
import type { ReplaySpec, TraceOutcome } from "./protocol.js";
import { streamWindows, type WindowRunOptions, type WindowText } from "./windows.js";

export interface ReportReplay {
  readonly outcomes: readonly TraceOutcome[];
  /** Per trace, in the order of `outcomes`: its windows, already summed down to a bounded number of points. */
  readonly windows: readonly WindowSeries[];
}

export async function replayForReport(
  files: readonly string[],
  spec: ReplaySpec & { readonly window: WindowSpec },
  options: Omit<WindowRunOptions, "text">,
): Promise<ReportReplay> {
  const windows: WindowSeries[] = [];
  let current: WindowSeriesCollector | null = null;
  const collect = (): WindowSeriesCollector => {
    current ??= new WindowSeriesCollector(spec.window.unit);
    return current;
  };
  // Text of nothing: the windows are kept, not written.
  const text: WindowText = {
    start: () => "",
    trace: () => "",
    windows: (records) => {
      collect().add(records);
      return "";
    },
    traceEnd: () => {
      windows.push(collect().series());
      current = null;
      return "";
    },
    end: () => "",
  };
  const run = streamWindows(
    files,
    { ...spec, by: { by: "msr", vcpus: null, msrs: null }, violations: true },
    {
      ...options,
      text,
    },
  );
  for await (const _ of run.chunks) {
    // Every chunk is empty: iterating only runs the replay to its end (or its error).
  }
  return { outcomes: await run.outcomes, windows };
}
