/**
 * What the results of a trace should be read with: rows skipped, set-up
 * options that changed nothing. Computed here, as lines of text; the CLI
 * prints them on stderr (they are warnings: the results stand and the exit
 * status is unchanged).
 */
import { printable } from "../io/printable.js";
import type { TraceOutcome } from "./protocol.js";

/** The set-up options the warnings name. */
export interface WarnedOptions {
  readonly l1Bitmap?: string | undefined;
  readonly l1Profile?: string | undefined;
  readonly l1Override?: string | undefined;
  /** -q: no cache note either. */
  readonly quiet?: boolean;
}

/** The warnings about one trace's outcome, each a line (the skipped rows' list follows its line). */
export function warningsFor(outcome: TraceOutcome, options: WarnedOptions): string[] {
  return [
    ...skippedWarning(outcome),
    ...l1BitmapWarning(outcome, options),
    ...l1OverrideWarning(outcome, options),
    ...(outcome.cacheNote && options.quiet !== true ? [outcome.cacheNote] : []),
  ];
}

/**
 * When --l1-bitmap/--l1-profile played no part: no L2 event ran in a vmcs12
 * state the option set up (the trace set use_bitmap and bitmap_ptr itself,
 * at pages of its own, on every vCPU before L2 ran), so the option changed
 * nothing. A trace with no access gets no warning.
 */
function l1BitmapWarning(outcome: TraceOutcome, options: WarnedOptions): string[] {
  const use = outcome.setupUse;
  if (!use || (outcome.results[0]?.accesses ?? 0) === 0) return [];
  if (use.l1OptionUsed) return [];
  const option =
    options.l1Bitmap !== undefined
      ? `--l1-bitmap ${printable(options.l1Bitmap)}`
      : options.l1Profile !== undefined
        ? `--l1-profile ${options.l1Profile}`
        : undefined;
  if (option === undefined) {
    // No L1 bitmap at all: every access is one L1 wants, which makes the strategies alike.
    if (use.ranWithL1Bitmap) return [];
    return [
      `warning: ${printable(outcome.trace)}: no access ran with an L1 bitmap (use_bitmap was 0 for all), so every ` +
        "access counts as one L1 wants; give --l1-bitmap FILE or --l1-profile NAME to replay with one",
    ];
  }
  const why = use.ranWithL1Bitmap
    ? "on every vCPU that ran L2 the trace pointed vmcs12 at bitmap pages of its own (bitmap-ptr, use-bitmap) first"
    : "the trace set vmcs12 up itself and every access ran with use_bitmap 0, so every access counts as one L1 wants";
  return [`warning: ${printable(outcome.trace)}: ${option} changed nothing: ${why}`];
}

/**
 * --l1-override on a trace that stores no bitmap page (an L2-view recording,
 * say) replaced nothing: say so, and what does that job.
 */
function l1OverrideWarning(outcome: TraceOutcome, options: WarnedOptions): string[] {
  if (options.l1Override === undefined || outcome.overridden !== 0) return [];
  return [
    `warning: ${printable(outcome.trace)}: --l1-override ${printable(options.l1Override)} changed nothing: the trace ` +
      "stores no bitmap page (no bitmap-load or bitmap-set); --l1-bitmap or --l1-profile gives L1 a page instead",
  ];
}

/** --lenient: what was skipped, so the results are not taken for whole ones. */
function skippedWarning(outcome: TraceOutcome): string[] {
  const skipped = outcome.skipped;
  if (!skipped || skipped.rows === 0) return [];
  const rows = skipped.rows === 1 ? "1 bad row" : `${skipped.rows} bad rows`;
  const lines = [`warning: ${printable(outcome.trace)}: skipped ${rows} (--lenient); results are partial`];
  if (skipped.first.length > 0) lines.push(`the first ${skipped.first.length}:`, ...skipped.first.map((m) => `  ${m}`));
  return lines;
}
