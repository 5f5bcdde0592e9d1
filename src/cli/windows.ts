/**
 * `compare --window`: the wiring between the options, the streamed replay
 * (src/run/windows.ts) and the renderers (src/render/windows.ts). The
 * output is written as the windows come, never held whole.
 */
import { availableParallelism } from "node:os";
import type { WindowSpec } from "../engine/windows.js";
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
import { loadSetup, replaySpec, reportOptions, warnAbout, worthAThread } from "./setup.js";

export async function compareWindows(
  traces: readonly string[],
  options: CompareOptions & { window: WindowSpec },
): Promise<void> {
  if (traces.length > 1 && traces.includes(STDIN)) {
    throw new UsageError("a trace from stdin (-) is replayed on its own, not with other traces");
  }
  const setup = loadSetup(options);
  const out = await destination(options.output, [...traces, ...setup.files]);
  const spec: ReplaySpec = { ...replaySpec(options, setup, options.strategies), window: options.window };
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
  for (const outcome of outcomes) warnAbout(outcome, options);
  const violating = options.failOnViolations ? violators({ traces: outcomes }) : [];
  if (violating.length > 0) throw new ViolationsFound(violating);
}
