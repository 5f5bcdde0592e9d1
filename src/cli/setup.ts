/** Turns the shared options into what the engine needs, reading the files they name. */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { findL1Profile } from "../bitmaps/l1-profiles.js";
import type { BreakdownBy } from "../engine/by.js";
import type { L0Bitmaps } from "../engine/machine.js";
import { findL0Profile } from "../engine/profiles.js";
import { type CostModel, DEFAULT_COST_MODEL } from "../engine/results.js";
import { isInlineCostModel, readCostModel } from "../io/cost-model.js";
import { at, InputError, reason } from "../io/errors.js";
import { outputFile } from "../io/output.js";
import { printable } from "../io/printable.js";
import { readSnapshot } from "../io/snapshot.js";
import { shownName } from "../io/trace-reader.js";
import { isGzip, STDIN } from "../io/trace-source.js";
import type { Report, ReportOptions } from "../report.js";
import { replayPipelined } from "../run/pipeline.js";
import { replayMany } from "../run/pool.js";
import type { ReplaySpec, TraceFailure, TraceOutcome } from "../run/protocol.js";
import { replayHere } from "../run/replay-trace.js";
import { type Destination, destination } from "./emit.js";
import { UsageError } from "./errors.js";
import type { OutputOptions, SetupOptions } from "./options.js";
import { progressFor } from "./progress.js";

export interface Setup {
  readonly l0: L0Bitmaps;
  readonly l1Bitmap: Uint8Array | null;
  /** --l1-override's page: what every store to a bitmap page writes instead. */
  readonly l1Override: Uint8Array | null;
  readonly cost: CostModel;
  /** Every file the setup read, so `-o` can refuse to overwrite one. */
  readonly files: readonly string[];
}

export function loadSetup(options: SetupOptions): Setup {
  checkSnapshotDirs(options.snapshotsDir);
  const profile = findL0Profile(options.l0Profile);
  if (!profile) throw new Error(`internal: profile ${options.l0Profile} validated but not found`);
  let { longmode, legacy } = profile.bitmaps();
  if (options.l0Bitmap) longmode = legacy = readSnapshot(options.l0Bitmap);
  if (options.l0BitmapLegacy) legacy = readSnapshot(options.l0BitmapLegacy);
  return {
    l0: { longmode, legacy },
    l1Bitmap: l1Bitmap(options),
    l1Override: l1Override(options.l1Override),
    cost: options.costModel ? readCostModel(options.costModel) : DEFAULT_COST_MODEL,
    files: [
      options.l1Bitmap,
      l1OverrideFile(options.l1Override),
      options.l0Bitmap,
      options.l0BitmapLegacy,
      costModelFile(options.costModel),
      ...options.strategyModule,
    ].filter((f): f is string => f !== undefined),
  };
}

/**
 * --l1-override NAME|FILE: an L1 profile when NAME is one (a file of that
 * name is then given as ./NAME), else a snapshot file like --l1-bitmap's.
 */
function l1Override(value: string | undefined): Uint8Array | null {
  if (value === undefined) return null;
  return findL1Profile(value)?.bitmap() ?? readSnapshot(value);
}

/** The file --l1-override names, if it names one (not a profile). */
function l1OverrideFile(value: string | undefined): string | undefined {
  return value === undefined || findL1Profile(value) !== undefined ? undefined : value;
}

/** The file --cost-model names, if it names one (not inline JSON). */
function costModelFile(value: string | undefined): string | undefined {
  return value === undefined || isInlineCostModel(value) ? undefined : value;
}

/**
 * --snapshots-dir names folders a trace may load snapshots from: one that is
 * missing (a typo, most likely) is an error now, not a puzzling "outside the
 * trace's folder" later.
 */
export function checkSnapshotDirs(dirs: readonly string[]): void {
  for (const dir of dirs) {
    let isFolder: boolean;
    try {
      isFolder = statSync(dir).isDirectory();
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      throw new InputError(`${at(dir)}--snapshots-dir: ${missing ? "no such folder" : reason(error)}`);
    }
    if (!isFolder) throw new InputError(`${at(dir)}--snapshots-dir: not a folder`);
  }
}

/** L1's bitmap from --l1-bitmap FILE or --l1-profile NAME (the options allow one at most). */
export function l1Bitmap(options: {
  l1Bitmap?: string | undefined;
  l1Profile?: string | undefined;
}): Uint8Array | null {
  if (options.l1Bitmap) return readSnapshot(options.l1Bitmap);
  if (options.l1Profile) return findL1Profile(options.l1Profile)?.bitmap() ?? null;
  return null;
}

export function reportOptions(options: SetupOptions, strategies: readonly string[], setup: Setup): ReportOptions {
  return {
    strategies,
    l0_profile: options.l0Profile,
    l0_bitmap: options.l0Bitmap ?? null,
    l0_bitmap_legacy: options.l0BitmapLegacy ?? null,
    l1_bitmap: options.l1Bitmap ?? null,
    l1_profile: options.l1Profile ?? null,
    l1_override: options.l1Override ?? null,
    cost_model: setup.cost,
  };
}

/** What every replay of these options needs, whatever it is asked to count besides (the caller adds that). */
export function replaySpec(
  options: SetupOptions & Pick<OutputOptions, "output">,
  setup: Setup,
  names: readonly string[],
): ReplaySpec {
  return {
    strategies: names,
    l0: setup.l0,
    l1Bitmap: setup.l1Bitmap,
    l1Override: setup.l1Override,
    cost: setup.cost,
    breakdown: false,
    snapshotDirs: options.snapshotsDir,
    outputs: [outputFile(options.output)].filter((f): f is string => f !== undefined),
    lenient: options.lenient,
    strategyModules: options.strategyModule,
  };
}

/** Below this a trace replays faster in one thread than a worker starts. */
const THREAD_WORTHY_BYTES = 8 << 20;

/** Stdin, gzip (size unknown) or a big file: worth a worker thread. */
export function worthAThread(file: string): boolean {
  if (file === STDIN) return true;
  try {
    return statSync(file).size >= THREAD_WORTHY_BYTES || isGzipFile(file);
  } catch {
    return false; // the reader reports it
  }
}

function isGzipFile(file: string): boolean {
  const head = Buffer.alloc(2);
  const fd = openSync(file, "r");
  try {
    return readSync(fd, head, 0, 2, 0) === 2 && isGzip(head);
  } finally {
    closeSync(fd);
  }
}

/**
 * What `compare` and `replay` share: read the setup, check the output path,
 * replay the traces, collect the report. One trace is read here while a
 * worker runs the strategies; several are replayed a worker per core (never
 * more workers than cores: more only compete for them, and each costs memory).
 * A bad trace fails the whole run, the first bad one in the order given,
 * unless `keepGoing`, which records it and replays the rest.
 */
export async function replayReport(
  traces: readonly string[],
  options: SetupOptions & OutputOptions & { quiet?: boolean; jobs?: number; keepGoing?: boolean; violations?: boolean },
  names: readonly string[],
  breakdown: boolean,
  by: BreakdownBy | null = null,
): Promise<{ report: Report; out: Destination }> {
  if (traces.length > 1 && traces.includes(STDIN)) {
    throw new UsageError("a trace from stdin (-) is replayed on its own, not with other traces");
  }
  const setup = loadSetup(options);
  const out = await destination(options.output, [...traces, ...setup.files]);
  const spec: ReplaySpec = {
    ...replaySpec(options, setup, names),
    breakdown,
    by,
    violations: options.violations === true,
  };
  const quiet = options.quiet === true;
  const keepGoing = options.keepGoing === true;
  const cores = availableParallelism();
  const jobs = Math.min(options.jobs ?? cores, cores);
  let ended: (TraceOutcome | TraceFailure)[];
  if (traces.length === 1 || jobs === 1) {
    ended = [];
    for (const file of traces) {
      const progress = progressFor(file, quiet);
      try {
        const onProgress = progress.update;
        const outcome =
          jobs > 1 && worthAThread(file)
            ? await replayPipelined(file, spec, { onProgress })
            : await replayHere(file, spec, { onProgress });
        ended.push({ ...outcome, trace: shownName(file) });
      } catch (error) {
        if (!(keepGoing && error instanceof InputError)) throw error;
        ended.push({ trace: shownName(file), error: error.message });
      } finally {
        progress.done();
      }
    }
  } else {
    const tell = !quiet && process.stderr.isTTY === true;
    ended = await replayMany(traces, spec, jobs, {
      keepGoing,
      onDone: (trace, done) => {
        if (tell) process.stderr.write(`\r\u001b[Kreplayed ${done} of ${traces.length} traces (${printable(trace)})`);
      },
    });
    if (tell) process.stderr.write("\r\u001b[K");
  }
  const outcomes = ended.filter((e): e is TraceOutcome => !("error" in e));
  const failed = ended.filter((e): e is TraceFailure => "error" in e);
  for (const outcome of outcomes) warnAbout(outcome, options);
  for (const failure of failed) process.stderr.write(`${failure.error}\n`);
  const report: Report = {
    options: reportOptions(options, names, setup),
    traces: outcomes,
    lenient: options.lenient,
    ...(keepGoing ? { failed } : {}),
  };
  return { report, out };
}

/** On stderr, what the results of a trace should be read with: rows skipped, set-up options that changed nothing. */
export function warnAbout(outcome: TraceOutcome, options: SetupOptions): void {
  warnSkipped(outcome);
  warnL1Bitmap(outcome, options);
  warnL1Override(outcome, options);
}

/**
 * When --l1-bitmap/--l1-profile played no part, say so on stderr (a
 * warning: the results stand and the exit status is unchanged): no L2 event
 * ran in a vmcs12 state the option set up (the trace set use_bitmap and
 * bitmap_ptr itself, at pages of its own, on every vCPU before L2 ran), so
 * the option changed nothing. A trace with no access gets no warning.
 */
function warnL1Bitmap(outcome: TraceOutcome, options: SetupOptions): void {
  const use = outcome.setupUse;
  if (!use || (outcome.results[0]?.accesses ?? 0) === 0) return;
  if (use.l1OptionUsed) return;
  const option =
    options.l1Bitmap !== undefined
      ? `--l1-bitmap ${printable(options.l1Bitmap)}`
      : options.l1Profile !== undefined
        ? `--l1-profile ${options.l1Profile}`
        : undefined;
  if (option === undefined) {
    // No L1 bitmap at all: every access is one L1 wants, which makes the strategies alike.
    if (!use.ranWithL1Bitmap) {
      process.stderr.write(
        `warning: ${printable(outcome.trace)}: no access ran with an L1 bitmap (use_bitmap was 0 for all), so every ` +
          "access counts as one L1 wants; give --l1-bitmap FILE or --l1-profile NAME to replay with one\n",
      );
    }
    return;
  }
  const why = use.ranWithL1Bitmap
    ? "on every vCPU that ran L2 the trace pointed vmcs12 at bitmap pages of its own (bitmap-ptr, use-bitmap) first"
    : "the trace set vmcs12 up itself and every access ran with use_bitmap 0, so every access counts as one L1 wants";
  process.stderr.write(`warning: ${printable(outcome.trace)}: ${option} changed nothing: ${why}\n`);
}

/**
 * --l1-override on a trace that stores no bitmap page (an L2-view recording,
 * say) replaced nothing: say so, and what does that job.
 */
function warnL1Override(outcome: TraceOutcome, options: SetupOptions): void {
  if (options.l1Override === undefined || outcome.overridden !== 0) return;
  process.stderr.write(
    `warning: ${printable(outcome.trace)}: --l1-override ${printable(options.l1Override)} changed nothing: the trace ` +
      "stores no bitmap page (no bitmap-load or bitmap-set); --l1-bitmap or --l1-profile gives L1 a page instead\n",
  );
}

/** --lenient: what was skipped, on stderr, so the results are not taken for whole ones. */
function warnSkipped(outcome: TraceOutcome): void {
  const skipped = outcome.skipped;
  if (!skipped || skipped.rows === 0) return;
  const rows = skipped.rows === 1 ? "1 bad row" : `${skipped.rows} bad rows`;
  const lines = [`warning: ${printable(outcome.trace)}: skipped ${rows} (--lenient); results are partial`];
  if (skipped.first.length > 0) lines.push(`the first ${skipped.first.length}:`, ...skipped.first.map((m) => `  ${m}`));
  process.stderr.write(`${lines.join("\n")}\n`);
}
