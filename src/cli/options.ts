/**
 * Options shared by the commands that replay, validated with zod after
 * commander has parsed them (they are untrusted input like any other).
 */
import { z } from "zod";
import { type SweepSpec, sweepPoints } from "../analysis/costs.js";
import { L1_PROFILES } from "../bitmaps/l1-profiles.js";
import { L0_PROFILES } from "../engine/profiles.js";
import { COST_KEYS, type CostKey } from "../engine/results.js";
import { DEFAULT_COMPARE, STRATEGIES } from "../engine/strategies/index.js";
import { MAX_COST } from "../io/cost-model.js";
import { count } from "../render/text-table.js";
import { UsageError } from "./errors.js";

export const FORMATS = ["table", "csv", "json"] as const;
export const PROFILE_NAMES = L0_PROFILES.map((p) => p.name) as [string, ...string[]];
const STRATEGY_NAMES = STRATEGIES.map((s) => s.name);

const strategyName = z.string().refine((name) => STRATEGY_NAMES.includes(name), {
  error: (issue) => `unknown strategy "${String(issue.input)}" (expected one of ${STRATEGY_NAMES.join(", ")})`,
});

/** `--strategies LIST|all`: comma-separated names, in the order asked. */
export const StrategyList = z
  .string()
  .transform((list) => (list.trim() === "all" ? STRATEGY_NAMES : list.split(",").map((s) => s.trim())))
  .pipe(
    z
      .array(strategyName)
      .min(1, { error: "name at least one strategy" })
      .refine((names) => new Set(names).size === names.length, { error: "a strategy is named twice" }),
  );

export const L1_PROFILE_NAMES = L1_PROFILES.map((p) => p.name) as [string, ...string[]];

const l1Profile = z.enum(L1_PROFILE_NAMES, { error: `expected one of ${L1_PROFILE_NAMES.join(", ")}` }).optional();

/** --l1-bitmap and --l1-profile both name L1's bitmap: one at most. */
const oneL1Bitmap = (o: { l1Bitmap?: string | undefined; l1Profile?: string | undefined }) =>
  !(o.l1Bitmap !== undefined && o.l1Profile !== undefined);
const oneL1BitmapError = { error: "give --l1-bitmap or --l1-profile, not both", path: ["l1Profile"] };

export const SetupOptions = z.object({
  l1Bitmap: z.string().optional(),
  l1Profile,
  snapshotsDir: z.array(z.string()).default([]),
  lenient: z.boolean().default(false),
  l0Profile: z.enum(PROFILE_NAMES, { error: `expected one of ${PROFILE_NAMES.join(", ")}` }).default("kvm-2013"),
  l0Bitmap: z.string().optional(),
  l0BitmapLegacy: z.string().optional(),
  costModel: z.string().optional(),
});

/** `-o FILE`: a file name; `-o ''` names none (a shell variable left empty, most likely). */
const OutputPath = z.string().min(1, { error: "names no file" }).optional();

export const OutputOptions = z.object({
  format: z.enum(FORMATS, { error: `expected one of ${FORMATS.join(", ")}` }).default("table"),
  output: OutputPath,
  quiet: z.boolean().default(false),
  jobs: z.coerce
    .number({ error: "expected a whole number of threads, 1 or more" })
    .int({ error: "expected a whole number of threads, 1 or more" })
    .min(1, { error: "expected a whole number of threads, 1 or more" })
    .max(256, { error: "at most 256 threads" })
    .optional(),
});

/**
 * The most values one `--sweep` takes: 10,000 rows per strategy is more than
 * a table can be read in or a plot needs, and keeps the output (a row per
 * strategy and value in CSV) bounded whatever the range asked.
 */
export const MAX_SWEEP_POINTS = 10_000;

const KEYS_LISTED = `the cost keys are ${COST_KEYS.join(", ")}`;
const SWEEP_FORM = `KEY=FROM:TO:STEP, e.g. merge=0:5000:250; ${KEYS_LISTED}`;

const costKey = z.enum(COST_KEYS, {
  error: (issue) => `unknown cost key "${String(issue.input)}" (${KEYS_LISTED})`,
});

/** A sweep's bound: whole cycles within what a cost model takes. */
function sweepBound(text: string, what: string, spec: string): number | string {
  if (!/^\d+$/.test(text)) return `"${spec}": ${what} "${text}" is not a whole number of cycles`;
  const n = Number(text);
  if (n > MAX_COST) return `"${spec}": ${what} ${text} is above 1,000,000,000 cycles, the most a cost may be`;
  return n;
}

/** `--sweep KEY=FROM:TO:STEP`: one cost key over whole values FROM, FROM+STEP, … TO. */
const Sweep = z.string().transform((spec, ctx): SweepSpec => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message: `${message} (${SWEEP_FORM})` });
    return z.NEVER;
  };
  const match = /^([^=]*)=([^:]*):([^:]*):([^:]*)$/.exec(spec.trim());
  if (!match) return fail(`"${spec}" is not KEY=FROM:TO:STEP`);
  const [, key = "", fromText = "", toText = "", stepText = ""] = match;
  if (!(COST_KEYS as readonly string[]).includes(key)) return fail(`unknown cost key "${key}"`);
  const from = sweepBound(fromText, "FROM", spec);
  if (typeof from === "string") return fail(from);
  const to = sweepBound(toText, "TO", spec);
  if (typeof to === "string") return fail(to);
  if (/^-/.test(stepText) || Number(stepText) === 0) return fail(`"${spec}": STEP must be 1 or more`);
  const step = sweepBound(stepText, "STEP", spec);
  if (typeof step === "string") return fail(step);
  if (from > to) return fail(`"${spec}": FROM ${from} is above TO ${to}`);
  const points = sweepPoints({ from, to, step });
  if (points > MAX_SWEEP_POINTS) {
    return fail(`"${spec}" takes ${points} values, more than the ${count(MAX_SWEEP_POINTS)} a sweep may; raise STEP`);
  }
  return { key: key as CostKey, from, to, step };
});

/** No two items with the same key. */
function oneEach<T>(keyOf: (item: T) => string): (items: readonly T[]) => boolean {
  return (items) => new Set(items.map(keyOf)).size === items.length;
}

export const CompareOptions = SetupOptions.extend(OutputOptions.shape)
  .extend({
    strategies: StrategyList.default([...DEFAULT_COMPARE]),
    keepGoing: z.boolean().default(false),
    cycles: z.boolean().default(false),
    sweep: z
      .array(Sweep)
      .default([])
      .refine(
        oneEach((s: SweepSpec) => s.key),
        { error: "a cost key is swept twice (each --sweep takes a key of its own)" },
      ),
    breakeven: z
      .array(costKey)
      .default([])
      .refine(
        oneEach((k: CostKey) => k),
        { error: "a cost key is named twice" },
      ),
    failOnViolations: z.boolean().default(false),
  })
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(
    (o) => o.format !== "csv" || [o.cycles, o.sweep.length > 0, o.breakeven.length > 0].filter(Boolean).length <= 1,
    {
      error: "with --format csv give one of --cycles, --sweep, --breakeven (each is a CSV of its own columns)",
      path: ["format"],
    },
  );
export type CompareOptions = z.infer<typeof CompareOptions>;

export const ReplayOptions = SetupOptions.extend(OutputOptions.shape)
  .extend({ strategy: strategyName.default("merged") })
  .refine(oneL1Bitmap, oneL1BitmapError);
export type ReplayOptions = z.infer<typeof ReplayOptions>;

export const ValidateOptions = z
  .object({
    l1Bitmap: z.string().optional(),
    l1Profile,
    snapshotsDir: z.array(z.string()).default([]),
    format: z.enum(["table", "json"], { error: "expected table or json" }).default("table"),
    output: OutputPath,
  })
  .refine(oneL1Bitmap, oneL1BitmapError);
export type ValidateOptions = z.infer<typeof ValidateOptions>;

export type SetupOptions = z.infer<typeof SetupOptions>;
export type OutputOptions = z.infer<typeof OutputOptions>;

/** Parses commander's option object; a bad value is a usage error naming its flag. */
export function parseOptions<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? "");
  const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new UsageError(`option ${flag}: ${issue?.message ?? "invalid value"}`);
}

/**
 * `report`: compare's set-up options and strategies. It writes one HTML page:
 * `-f` (shared with compare, whose default is "table") takes only `html`.
 */
export const HtmlReportOptions = SetupOptions.extend(OutputOptions.shape)
  .extend({
    format: z
      .enum(["table", "html"], { error: "report writes one HTML page: give no --format, or html" })
      .default("table"),
    strategies: StrategyList.default([...DEFAULT_COMPARE]),
  })
  .refine(oneL1Bitmap, oneL1BitmapError);
export type HtmlReportOptions = z.infer<typeof HtmlReportOptions>;
