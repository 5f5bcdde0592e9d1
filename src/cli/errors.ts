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
