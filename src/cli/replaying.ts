/**
 * The command line's side of a replay: the usage checks, the output opened
 * before any work, the progress lines and warnings on stderr. What is
 * replayed and how (threads, files) is src/run's.
 */

import type { BreakdownBy } from "../engine/by.js";
import { printable } from "../io/printable.js";
import { STDIN } from "../io/trace-source.js";
import type { Report } from "../report.js";
import type { ReplaySpec, TraceOutcome } from "../run/protocol.js";
import { replayTraces } from "../run/replay-traces.js";
import { loadSetup, replaySpec, reportOptions, type SetupChoices } from "../run/setup.js";
import { type WarnedOptions, warningsFor } from "../run/warnings.js";
import { type Destination, destination } from "./emit.js";
import { UsageError } from "./errors.js";
import { progressFor } from "./progress.js";

/** A worker thread cannot read the process's stdin: `-` is replayed on its own. */
export function checkStdinAlone(traces: readonly string[]): void {
  if (traces.length > 1 && traces.includes(STDIN)) {
    throw new UsageError("a trace from stdin (-) is replayed on its own, not with other traces");
  }
}

/** On stderr, what the results of a trace should be read with (src/run/warnings.ts). */
export function printWarnings(outcome: TraceOutcome, options: WarnedOptions): void {
  for (const line of warningsFor(outcome, options)) process.stderr.write(`${line}\n`);
}

/** The options of a command that replays, as the table gives them (options.ts). */
export interface ReplayingOptions extends SetupChoices {
  readonly output?: string | undefined;
  readonly quiet: boolean;
  readonly jobs?: number | undefined;
  readonly keepGoing?: boolean;
  readonly violations?: boolean;
}

/**
 * What `compare` and `replay` share: read the setup, open the output, replay
 * the traces (src/run/replay-traces.ts), say on stderr what to read the
 * results with and which traces failed, and collect the report.
 */
export async function replayReport(
  traces: readonly string[],
  options: ReplayingOptions,
  names: readonly string[],
  breakdown: boolean,
  by: BreakdownBy | null = null,
): Promise<{ report: Report; out: Destination }> {
  checkStdinAlone(traces);
  const setup = loadSetup(options);
  const out = await destination(options.output, [...traces, ...setup.files]);
  const spec: ReplaySpec = {
    ...replaySpec(options, setup, names),
    breakdown,
    by,
    violations: options.violations === true,
  };
  const keepGoing = options.keepGoing === true;
  const tell = !options.quiet && process.stderr.isTTY === true;
  let told = false;
  const { outcomes, failed } = await replayTraces(traces, spec, {
    jobs: options.jobs,
    keepGoing,
    progress: (file) => progressFor(file, options.quiet),
    onTraceDone: (trace, done) => {
      if (!tell) return;
      process.stderr.write(`\r\u001b[Kreplayed ${done} of ${traces.length} traces (${printable(trace)})`);
      told = true;
    },
  });
  if (told) process.stderr.write("\r\u001b[K");
  for (const outcome of outcomes) printWarnings(outcome, options);
  for (const failure of failed) process.stderr.write(`${failure.error}\n`);
  const report: Report = {
    options: reportOptions(options, names, setup),
    traces: outcomes,
    lenient: options.lenient,
    ...(keepGoing ? { failed } : {}),
  };
  return { report, out };
}
