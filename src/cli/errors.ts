/** Exit statuses (README "Exit status"). */
export const EXIT_OK = 0;
export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;
/** --keep-going: some traces failed; the others' results were written. */
export const EXIT_SOME_FAILED = 3;

/** A bad command line found after commander parsed it (a bad option value). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Thrown after the output was written, when --keep-going replayed the good
 * traces but some failed (each already named on stderr).
 */
export class SomeTracesFailed extends Error {
  constructor(
    readonly failed: number,
    readonly of: number,
  ) {
    super(`${failed} of ${of} traces could not be replayed (--keep-going); the others' results were written`);
    this.name = "SomeTracesFailed";
  }
}

/** --fail-on-violations: a strategy other than merged-stale had violations; the output was written. */
export const EXIT_VIOLATIONS = 4;

/**
 * Thrown after the output was written, under --fail-on-violations, when a
 * strategy other than merged-stale (unsafe on purpose) let an access past a
 * hypervisor that wanted it. `message` names each such strategy.
 */
export class ViolationsFound extends Error {
  constructor(readonly found: readonly { trace: string; strategy: string; violations: number }[]) {
    super(
      `--fail-on-violations: ${found
        .map(
          (v) => `${v.strategy} has ${v.violations} ${v.violations === 1 ? "violation" : "violations"} in ${v.trace}`,
        )
        .join("; ")}`,
    );
    this.name = "ViolationsFound";
  }
}
