/**
 * defineStrategy(): a strategy for authors, typed at compile time and checked
 * at run time (a plug-in module is plain JavaScript as often as not). The same
 * checks take every strategy a `--strategy-module` exports
 * (validateStrategy). docs/strategies.md describes the interface.
 */
import * as z from "../zod.js";
import type { MergeCost } from "./results.js";
import { STRATEGIES } from "./strategies/index.js";
import type { Strategy } from "./strategy.js";

/** The cost keys a merge may be charged at (Strategy.mergeCost; docs/model.md §7). */
export const MERGE_COST_KEYS = ["merge", "merge_sparse"] as const satisfies readonly MergeCost[];

/**
 * A name as the CLI, CSV and JSON use it: lowercase words of letters and
 * digits joined by single hyphens, like the built-ins' (docs/model.md §1). It
 * goes into `--strategies` lists and CSV cells unquoted, so no commas,
 * spaces or quotes.
 */
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Longer names only widen every table's column. */
const MAX_NAME_LENGTH = 40;
/** What `strategies` prints on one line, so no line ends or other control characters. */
const ONE_LINE = /^[^\p{Cc}]+$/u;

const BUILT_IN_NAMES = new Set(STRATEGIES.map((s) => s.name));

const oneLine = (member: string) =>
  z
    .string({ error: `${member} must be a string` })
    .trim()
    .min(1, { error: `${member} is empty` })
    .regex(ONE_LINE, { error: `${member} must be one line of text (no line ends or control characters)` });

const flag = (member: string) => z.boolean({ error: `${member} must be true or false` }).optional();

const StrategyShape = z.strictObject(
  {
    name: z
      .string({ error: "name must be a string" })
      .regex(SLUG, {
        error: "name must be a lowercase slug: letters a-z, digits and single hyphens, like merged-dirty",
      })
      .max(MAX_NAME_LENGTH, { error: `name is longer than ${MAX_NAME_LENGTH} characters` })
      .refine((name) => !BUILT_IN_NAMES.has(name), {
        error: (issue) => `name "${String(issue.input)}" is a built-in strategy's; choose another`,
      }),
    summary: oneLine("summary"),
    origin: oneLine("origin"),
    mergeCost: z.enum(MERGE_COST_KEYS, { error: `mergeCost must be one of ${MERGE_COST_KEYS.join(", ")}` }).optional(),
    hidesMsrBitmaps: flag("hidesMsrBitmaps"),
    entryIdempotent: flag("entryIdempotent"),
    repeatEntryStable: flag("repeatEntryStable"),
    unsafe: flag("unsafe"),
    create: z.custom<Strategy["create"]>((value) => typeof value === "function", {
      error: "create must be a function (machine, counters) => NestedL0",
    }),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown member ${issue.keys.join(", ")} (a strategy has name, summary, origin, create, and optionally mergeCost, hidesMsrBitmaps, entryIdempotent, repeatEntryStable, unsafe)`
        : "a strategy must be an object",
  },
);

/** A strategy that breaks the interface: one line naming the member that is wrong. */
export class StrategyDefinitionError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "StrategyDefinitionError";
  }
}

/**
 * The strategy `value` is, checked member by member; a StrategyDefinitionError
 * naming the first wrong member (and the strategy, when its name is
 * readable) otherwise. The result is a fresh frozen object holding only the
 * interface's members.
 */
export function validateStrategy(value: unknown): Strategy {
  const parsed = StrategyShape.safeParse(value);
  if (parsed.success) return Object.freeze({ ...parsed.data }) as Strategy;
  const issue = parsed.error.issues[0];
  const name = readableName(value);
  const message = issue?.message ?? "not a strategy";
  throw new StrategyDefinitionError(name === null ? message : `strategy "${name}": ${message}`);
}

/** The value's name when it is a short string, for messages; null otherwise. */
function readableName(value: unknown): string | null {
  if (typeof value !== "object" || value === null || !("name" in value)) return null;
  const name = (value as { name: unknown }).name;
  return typeof name === "string" && SLUG.test(name) && name.length <= MAX_NAME_LENGTH ? name : null;
}

/**
 * A strategy for authors: `export default defineStrategy({ name, summary,
 * origin, create })`. Checks it as `--strategy-module` will (validateStrategy)
 * so a mistake shows where the strategy is defined, in one line.
 */
export function defineStrategy(spec: Strategy): Strategy {
  return validateStrategy(spec);
}
