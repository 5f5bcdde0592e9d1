/**
 * Options shared by the commands that replay, validated with zod after
 * commander has parsed them (they are untrusted input like any other).
 */
import { z } from "zod";
import { type ListOption, parseMsrList, parseVcpuList, SORT_KEYS } from "../analysis/breakdown.js";
import { type SweepSpec, sweepPoints } from "../analysis/costs.js";
import { L1_PROFILES } from "../bitmaps/l1-profiles.js";
import { L0_PROFILES } from "../engine/profiles.js";
import { COST_KEYS, type CostKey } from "../engine/results.js";
import { BUILT_IN_REGISTRY, DEFAULT_COMPARE, type StrategyRegistry } from "../engine/strategies/index.js";
import { NS_PER_SECOND, type WindowSpec } from "../engine/windows.js";
import { MAX_COST } from "../io/cost-model.js";
import { count } from "../render/text-table.js";
import { UsageError } from "./errors.js";

export const FORMATS = ["table", "csv", "json"] as const;
export const PROFILE_NAMES = L0_PROFILES.map((p) => p.name) as [string, ...string[]];
/**
 * The strategies names are checked against: the built-ins, or for the length
 * of one parseOptions() call the run's registry (its --strategy-module's too).
 */
let registry: StrategyRegistry = BUILT_IN_REGISTRY;

const strategyName = z.string().refine((name) => registry.find(name) !== undefined, {
  error: (issue) => `unknown strategy "${String(issue.input)}" (expected one of ${registry.names.join(", ")})`,
});

/** `--strategies LIST|all`: comma-separated names, in the order asked. */
export const StrategyList = z
  .string()
  .transform((list) => (list.trim() === "all" ? [...registry.names] : list.split(",").map((s) => s.trim())))
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

export const SetupOptions = z.object({
  l1Bitmap: z.string().optional(),
  l1Profile,
  l1Override: z
    .string()
    .min(1, { error: `names nothing (expected a snapshot file or one of ${L1_PROFILE_NAMES.join(", ")})` })
    .optional(),
  snapshotsDir: z.array(z.string()).default([]),
  lenient: z.boolean().default(false),
  l0Profile: z.enum(PROFILE_NAMES, { error: `expected one of ${PROFILE_NAMES.join(", ")}` }).default("kvm-2013"),
  l0Bitmap: z.string().optional(),
  l0BitmapLegacy: z.string().optional(),
  costModel: z.string().optional(),
  strategyModule: z.array(z.string()).default([]),
});

/** `--strategy-module FILE` (repeatable): ES modules whose strategies join the built-ins for the run. */
export const StrategyModuleOptions = z.object({
  strategyModule: z.array(z.string().min(1, { error: "names no file" })).default([]),
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

/** `--vcpu LIST`, `--msr LIST` (compare --by): the text, echoed, and its ranges; a bad item is named. */
function listOption(parse: (text: string) => [number, number][] | string) {
  return z.string().transform((text, ctx): ListOption => {
    const ranges = parse(text);
    if (typeof ranges !== "string") return { text, ranges };
    ctx.addIssue({ code: "custom", message: ranges });
    return z.NEVER;
  });
}

/** `--top N`: a whole number of rows, 1 or more. */
const TOP_ERROR = "expected a whole number of rows, 1 or more";

/** What --by breaks down, and the options that only mean something with it. */
export const BY_KEYS = ["msr", "vcpu"] as const;
const BY_ONLY = ["sort", "top", "vcpu", "msr"] as const;
/** Views of their own: a breakdown is per MSR or vCPU, these per strategy. */
const NOT_WITH_BY = [
  ["sweep", (o: { sweep: readonly unknown[] }) => o.sweep.length > 0],
  ["breakeven", (o: { breakeven: readonly unknown[] }) => o.breakeven.length > 0],
  ["cycles", (o: { cycles: boolean }) => o.cycles],
  ["violations", (o: { violations: boolean }) => o.violations],
] as const;

/** `--window` suffixes: events (none, k, M) and times (us, ms, s, as nanoseconds). */
const WINDOW_EVENTS: Readonly<Record<string, number>> = { "": 1, k: 1_000, M: 1_000_000 };
const WINDOW_TIMES: Readonly<Record<string, number>> = { us: 1_000, ms: 1_000_000, s: NS_PER_SECOND };
const WINDOW_FORM = "N events (N, Nk, NM: 10k, 1M) or a time (Nus, Nms, Ns: 50ms), N a whole number, 1 or more";

/** `--window N|Nk|NM` (events) or `N{us,ms,s}` (from the trace's t column). */
const Window = z.string().transform((text, ctx): WindowSpec => {
  const match = /^([0-9]+)(k|M|us|ms|s)?$/.exec(text.trim());
  const n = Number(match?.[1] ?? 0);
  const suffix = match?.[2] ?? "";
  const events = WINDOW_EVENTS[suffix];
  const size = n * (events ?? WINDOW_TIMES[suffix] ?? 0);
  if (!match || n < 1 || !Number.isSafeInteger(size)) {
    ctx.addIssue({ code: "custom", message: `"${text}" is not a window (${WINDOW_FORM})` });
    return z.NEVER;
  }
  return { unit: events === undefined ? "seconds" : "events", size, text: text.trim() };
});

/** The usage error of an option --window cannot go with, naming both. */
function notWithWindow(option: string, why: string) {
  return { error: `--window cannot be combined with ${option} (${why})`, path: ["window"] };
}

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
    by: z.enum(BY_KEYS, { error: `expected one of ${BY_KEYS.join(", ")}` }).optional(),
    sort: z.enum(SORT_KEYS, { error: `expected one of ${SORT_KEYS.join(", ")}` }).optional(),
    top: z.coerce
      .number({ error: TOP_ERROR })
      .int({ error: TOP_ERROR })
      .min(1, { error: TOP_ERROR })
      .max(Number.MAX_SAFE_INTEGER, { error: TOP_ERROR })
      .optional(),
    vcpu: listOption(parseVcpuList).optional(),
    msr: listOption(parseMsrList).optional(),
    violations: z.boolean().default(false),
    window: Window.optional(),
  })
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

export const ReplayOptions = SetupOptions.extend(OutputOptions.shape)
  .extend({ strategy: strategyName.default("merged") })
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(l1OverrideAlone, l1OverrideAloneError);
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

/** `explain --line N`: a line number of the trace, 1 or more. */
const LineNumber = z
  .string()
  .regex(/^\d+$/, { error: "expected a line number of the trace (1 or more)" })
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, { error: "expected a line number of the trace (1 or more)" })
      .max(Number.MAX_SAFE_INTEGER, { error: "no trace has that many lines" }),
  );

/** `explain`: the set-up options of compare, the line, and table or JSON (one access has no CSV form). */
export const ExplainOptions = SetupOptions.extend(OutputOptions.shape)
  .extend({
    line: LineNumber,
    strategies: StrategyList.default(() => [...registry.names]),
    format: z
      .enum(["table", "json"], { error: "expected table or json (explain describes one access: it has no CSV form)" })
      .default("table"),
  })
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(l1OverrideAlone, l1OverrideAloneError);
export type ExplainOptions = z.infer<typeof ExplainOptions>;

export type SetupOptions = z.infer<typeof SetupOptions>;
export type OutputOptions = z.infer<typeof OutputOptions>;

/** Parses commander's option object; a bad value is a usage error naming its flag. */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  raw: unknown,
  strategies: StrategyRegistry = BUILT_IN_REGISTRY,
): z.infer<T> {
  registry = strategies;
  let parsed: z.ZodSafeParseResult<z.infer<T>>;
  try {
    parsed = schema.safeParse(raw);
  } finally {
    registry = BUILT_IN_REGISTRY;
  }
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
    window: Window.optional(),
  })
  .refine(oneL1Bitmap, oneL1BitmapError)
  .refine(l1OverrideAlone, l1OverrideAloneError);
export type HtmlReportOptions = z.infer<typeof HtmlReportOptions>;

/** `pack TRACE -o FILE`: where the snapshots may be, the output, no progress line. */
export const PackOptions = z.object({
  snapshotsDir: z.array(z.string()).default([]),
  output: OutputPath,
  quiet: z.boolean().default(false),
});
export type PackOptions = z.infer<typeof PackOptions>;
