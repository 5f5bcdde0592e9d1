/**
 * The options of the commands that replay, validated with zod after
 * commander has parsed them (they are untrusted input like any other). Each
 * command's object is built from the table of options (option-table.ts); the
 * rules between options are here.
 */

import { BUILT_IN_REGISTRY, type StrategyRegistry } from "../engine/strategies/index.js";
import * as z from "../zod.js";
import { UsageError } from "./errors.js";
import { type CommandName, optionsShape } from "./option-table.js";
import { withStrategies } from "./option-values.js";

/** The zod object of a command's options, from the table. */
function objectOf<C extends CommandName>(command: C) {
  return z.object(optionsShape(command));
}

/** --l1-bitmap and --l1-profile both name L1's bitmap: one at most. */
const oneL1Bitmap = (o: { l1Bitmap?: string | undefined; l1Profile?: string | undefined }) =>
  !(o.l1Bitmap !== undefined && o.l1Profile !== undefined);
const oneL1BitmapError = { error: "give --l1-bitmap or --l1-profile, not both", path: ["l1Profile"] };

/**
 * --l1-override replaces the pages a trace stores; --l1-bitmap/--l1-profile
 * give L1 a page for a trace that stores none. Together the page at 0x1000
 * would be the option's until the trace's first store, then the override's:
 * two answers to one question, so one at most.
 */
const l1OverrideAlone = (o: { l1Bitmap?: string | undefined; l1Profile?: string | undefined; l1Override?: string }) =>
  o.l1Override === undefined || (o.l1Bitmap === undefined && o.l1Profile === undefined);
const l1OverrideAloneError = {
  error:
    "give --l1-override (replaces the bitmap pages the trace stores) or --l1-bitmap/--l1-profile (L1's page for a trace that stores none), not both",
  path: ["l1Override"],
};

/** The options that only mean something with --by. */
const BY_ONLY = ["sort", "top", "vcpu", "msr"] as const;
/** Views of their own: a breakdown is per MSR or vCPU, these per strategy. */
const NOT_WITH_BY = [
  ["sweep", (o: { sweep: readonly unknown[] }) => o.sweep.length > 0],
  ["breakeven", (o: { breakeven: readonly unknown[] }) => o.breakeven.length > 0],
  ["cycles", (o: { cycles: boolean }) => o.cycles],
  ["violations", (o: { violations: boolean }) => o.violations],
] as const;

/** The usage error of an option --window cannot go with, naming both. */
function notWithWindow(option: string, why: string) {
  return { error: `--window cannot be combined with ${option} (${why})`, path: ["window"] };
}

export const CompareOptions = objectOf("compare")
  .superRefine((o, ctx) => {
    // compare --by: its own options need it, and it is a view of its own (src/analysis/breakdown.ts).
    if (o.by === undefined) {
      const alone = BY_ONLY.find((key) => o[key] !== undefined);
      if (alone) ctx.addIssue({ code: "custom", message: "needs --by msr or --by vcpu", path: [alone] });
      return;
    }
    const other = NOT_WITH_BY.find(([, given]) => given(o));
    if (other) {
      ctx.addIssue({
        code: "custom",
        message: `--by and --${other[0]} cannot be combined (a breakdown per ${o.by} is a view of its own); give one`,
        path: ["by"],
      });
    }
  })
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(l1OverrideAlone, l1OverrideAloneError)
  .refine(
    (o) => o.format !== "csv" || [o.cycles, o.sweep.length > 0, o.breakeven.length > 0].filter(Boolean).length <= 1,
    {
      error: "with --format csv give one of --cycles, --sweep, --breakeven (each is a CSV of its own columns)",
      path: ["format"],
    },
  )
  .refine((o) => o.format !== "csv" || !o.violations || !(o.cycles || o.sweep.length > 0 || o.breakeven.length > 0), {
    error: "with --format csv, --violations is a CSV of its own: give it without --cycles, --sweep, --breakeven",
    path: ["format"],
  })
  .refine(
    (o) => o.window === undefined || o.sweep.length === 0,
    notWithWindow("--sweep", "a sweep is of the whole trace"),
  )
  .refine(
    (o) => o.window === undefined || o.breakeven.length === 0,
    notWithWindow("--breakeven", "a break-even is of the whole trace"),
  )
  .refine(
    (o) => o.window === undefined || !o.cycles,
    notWithWindow("--cycles", "each window has its est_cycles; --cycles splits the whole trace's"),
  )
  .refine(
    (o) => o.window === undefined || o.by === undefined,
    notWithWindow("--by", "a breakdown is of the whole trace; give --msr or --vcpu filters with --by instead"),
  )
  .refine(
    (o) => o.window === undefined || !o.violations,
    notWithWindow("--violations", "the windows count violations; --violations lists the whole trace's"),
  )
  .refine(
    (o) => o.window === undefined || !o.keepGoing,
    notWithWindow("--keep-going", "windows are written as they come, so a trace failing midway cannot be left out"),
  );
export type CompareOptions = z.infer<typeof CompareOptions>;

export const ReplayOptions = objectOf("replay")
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(l1OverrideAlone, l1OverrideAloneError);
export type ReplayOptions = z.infer<typeof ReplayOptions>;

export const ValidateOptions = objectOf("validate").refine(oneL1Bitmap, oneL1BitmapError);
export type ValidateOptions = z.infer<typeof ValidateOptions>;

/** `explain`: the set-up options of compare, the line, and table or JSON (one access has no CSV form). */
export const ExplainOptions = objectOf("explain")
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(l1OverrideAlone, l1OverrideAloneError);
export type ExplainOptions = z.infer<typeof ExplainOptions>;

/** `report`: compare's set-up options and strategies; it writes one HTML page. */
export const HtmlReportOptions = objectOf("report")
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(l1OverrideAlone, l1OverrideAloneError);
export type HtmlReportOptions = z.infer<typeof HtmlReportOptions>;

/** Parses commander's option object; a bad value is a usage error naming its flag. */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  raw: unknown,
  strategies: StrategyRegistry = BUILT_IN_REGISTRY,
): z.infer<T> {
  const parsed = withStrategies(strategies, () => schema.safeParse(raw));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? "");
  const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new UsageError(`option ${flag}: ${issue?.message ?? "invalid value"}`);
}

/**
 * `--strategy-module FILE` (repeatable), read before the other options: its
 * strategies are names those may use. The table's entry, which `strategies`
 * takes alone.
 */
export const StrategyModuleOptions = z.object({ strategyModule: optionsShape("strategies").strategyModule });

/** `pack TRACE -o FILE`: where the snapshots may be, the output, no progress line. */
export const PackOptions = objectOf("pack");
export type PackOptions = z.infer<typeof PackOptions>;
