/**
 * The zod schemas of single option values (a strategy list, a sweep, a
 * window…), each turning commander's text into what the run needs and naming
 * what is wrong in one line. The table of options (option-table.ts) gives
 * each option its schema from here; the rules between options are in
 * options.ts.
 */

import { type ListOption, parseMsrList, parseVcpuList, SORT_KEYS } from "../analysis/breakdown.js";
import { type SweepSpec, sweepPoints } from "../analysis/costs.js";
import { L1_PROFILES } from "../bitmaps/l1-profiles.js";
import { L0_PROFILES } from "../engine/profiles.js";
import { COST_KEYS, type CostKey } from "../engine/results.js";
import { BUILT_IN_REGISTRY, type StrategyRegistry } from "../engine/strategies/index.js";
import { NS_PER_SECOND, type WindowSpec } from "../engine/windows.js";
import { MAX_COST } from "../io/cost-model.js";
import { count } from "../render/text-table.js";
import * as z from "../zod.js";

/** What compare and replay write (report writes HTML; explain and validate have no CSV form). */
export const FORMATS = ["table", "csv", "json"] as const;
export const PROFILE_NAMES = L0_PROFILES.map((p) => p.name) as [string, ...string[]];
export const L1_PROFILE_NAMES = L1_PROFILES.map((p) => p.name) as [string, ...string[]];
/**
 * The strategies names are checked against: the built-ins, or for the length
 * of one withStrategies() call (parseOptions) the run's registry, its
 * --strategy-module files' strategies included.
 */
let registry: StrategyRegistry = BUILT_IN_REGISTRY;

/** Runs `parse` with names checked against `strategies`. */
export function withStrategies<T>(strategies: StrategyRegistry, parse: () => T): T {
  registry = strategies;
  try {
    return parse();
  } finally {
    registry = BUILT_IN_REGISTRY;
  }
}

/** An enum whose error lists what it takes. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, error?: string) {
  return z.enum(values, { error: error ?? `expected one of ${values.join(", ")}` });
}

export const strategyName = z.string().refine((name) => registry.find(name) !== undefined, {
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

/** `-o FILE`: a file name; `-o ''` names none (a shell variable left empty, most likely). */
export const OutputPath = z.string().min(1, { error: "names no file" });

const JOBS_ERROR = "expected a whole number of threads, 1 or more";
/** More threads than any machine this runs on has cores; a larger -j is a typo. */
const MAX_JOBS = 256;

/** `-j N`: threads, 1 or more (the run takes at most the cores). */
export const Jobs = z.coerce
  .number({ error: JOBS_ERROR })
  .int({ error: JOBS_ERROR })
  .min(1, { error: JOBS_ERROR })
  .max(MAX_JOBS, { error: `at most ${MAX_JOBS} threads` });

/**
 * The most values one `--sweep` takes: 10,000 rows per strategy is more than
 * a table can be read in or a plot needs, and keeps the output (a row per
 * strategy and value in CSV) bounded whatever the range asked.
 */
export const MAX_SWEEP_POINTS = 10_000;

const KEYS_LISTED = `the cost keys are ${COST_KEYS.join(", ")}`;
const SWEEP_FORM = `KEY=FROM:TO:STEP, e.g. merge=0:5000:250; ${KEYS_LISTED}`;

export const costKey = z.enum(COST_KEYS, {
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
export const Sweep = z.string().transform((spec, ctx): SweepSpec => {
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
export function oneEach<T>(keyOf: (item: T) => string): (items: readonly T[]) => boolean {
  return (items) => new Set(items.map(keyOf)).size === items.length;
}

/** `--vcpu LIST`, `--msr LIST` (compare --by): the text, echoed, and its ranges; a bad item is named. */
function listOption(parse: (text: string) => [number, number][] | string) {
  return z.string().transform((text, ctx): ListOption => {
    const ranges = parse(text);
    if (typeof ranges !== "string") return { text, ranges };
    ctx.addIssue({ code: "custom", message: ranges });
    return z.NEVER;
  });
}
export const VcpuList = listOption(parseVcpuList);
export const MsrList = listOption(parseMsrList);

/** What --by breaks down. */
export const BY_KEYS = ["msr", "vcpu"] as const;
export { SORT_KEYS };

const TOP_ERROR = "expected a whole number of rows, 1 or more";

/** `--top N`: a whole number of rows, 1 or more. */
export const Top = z.coerce
  .number({ error: TOP_ERROR })
  .int({ error: TOP_ERROR })
  .min(1, { error: TOP_ERROR })
  .max(Number.MAX_SAFE_INTEGER, { error: TOP_ERROR });

/** `--window` suffixes: events (none, k, M) and times (us, ms, s, as nanoseconds). */
const WINDOW_EVENTS: Readonly<Record<string, number>> = { "": 1, k: 1_000, M: 1_000_000 };
const WINDOW_TIMES: Readonly<Record<string, number>> = { us: 1_000, ms: 1_000_000, s: NS_PER_SECOND };
const WINDOW_FORM = "N events (N, Nk, NM: 10k, 1M) or a time (Nus, Nms, Ns: 50ms), N a whole number, 1 or more";

/** `--window N|Nk|NM` (events) or `N{us,ms,s}` (from the trace's t column). */
export const Window = z.string().transform((text, ctx): WindowSpec => {
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

const LINE_ERROR = "expected a line number of the trace (1 or more)";

/** `explain --line N`: a line number of the trace, 1 or more. */
export const LineNumber = z
  .string()
  .regex(/^\d+$/, { error: LINE_ERROR })
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, { error: LINE_ERROR })
      .max(Number.MAX_SAFE_INTEGER, { error: "no trace has that many lines" }),
  );
