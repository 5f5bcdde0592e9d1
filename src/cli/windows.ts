/**
 * `compare --window`: the wiring between the options, the streamed replay
 * (src/run/windows.ts) and the renderers (src/render/windows.ts). The
 * output is written as the windows come, never held whole.
 */
import { availableParallelism } from "node:os";
import type { WindowSpec } from "../engine/windows.js";
import { outputFile } from "../io/output.js";
import { shownName } from "../io/trace-reader.js";
import { STDIN } from "../io/trace-source.js";
import { windowText } from "../render/windows.js";
import { violators } from "../report.js";
import type { ReplaySpec } from "../run/protocol.js";
import { streamWindows } from "../run/windows.js";
import { destination } from "./emit.js";
import { UsageError, ViolationsFound } from "./errors.js";
import type { CompareOptions } from "./options.js";
import { progressFor } from "./progress.js";
import { loadSetup, reportOptions, warnL1Bitmap, warnSkipped, worthAThread } from "./setup.js";

export async function compareWindows(
  traces: readonly string[],
  options: CompareOptions & { window: WindowSpec },
): Promise<void> {
  if (traces.length > 1 && traces.includes(STDIN)) {
    throw new UsageError("a trace from stdin (-) is replayed on its own, not with other traces");
  }
  const setup = loadSetup(options);
  const out = await destination(options.output, [...traces, ...setup.files]);
  const spec: ReplaySpec = {
    strategies: options.strategies,
    l0: setup.l0,
    l1Bitmap: setup.l1Bitmap,
    cost: setup.cost,
    breakdown: false,
    snapshotDirs: options.snapshotsDir,
    outputs: [outputFile(options.output)].filter((f): f is string => f !== undefined),
    lenient: options.lenient,
    window: options.window,
  };
  const text = await windowText(options.format, {
    window: options.window,
    options: reportOptions(options, options.strategies, setup),
    several: traces.length > 1,
  });
  // Traces one after another, so the windows stream in order; each on two threads when worth it.
  const jobs = Math.min(options.jobs ?? availableParallelism(), availableParallelism());
  const run = streamWindows(traces, spec, {
    text,
    threaded: (file) => jobs > 1 && worthAThread(file),
    progress: (file) => progressFor(file, options.quiet),
    shownName,
  });
  await out.write(run.chunks);
  const outcomes = await run.outcomes;
  for (const outcome of outcomes) {
    warnSkipped(outcome);
    warnL1Bitmap(outcome, options);
  }
  const violating = options.failOnViolations ? violators({ traces: outcomes }) : [];
  if (violating.length > 0) throw new ViolationsFound(violating);
}
