import { L1_PROFILES } from "../bitmaps/l1-profiles.js";
import { PAGE_SIZE } from "../engine/bitmap.js";
import { L0_PROFILES } from "../engine/profiles.js";
import { STRATEGIES } from "../engine/strategies/index.js";
import type { Strategy } from "../engine/strategy.js";
import { CostModelFileSchema } from "../io/cost-model.js";
import { InputError } from "../io/errors.js";
import { firstIssue } from "../io/zod-errors.js";
import * as z from "../zod.js";

const L0_NAMES = L0_PROFILES.map((p) => p.name) as [string, ...string[]];
const L1_NAMES = L1_PROFILES.map((p) => p.name) as [string, ...string[]];
const BUILT_IN = STRATEGIES.map((s) => s.name);

/** A bitmap page: a snapshot file (.bin or .json), or the 4096 bytes themselves. */
const Page = z.union([
  z.string().min(1, { error: "names no file" }),
  z.instanceof(Uint8Array).refine((bytes) => bytes.length === PAGE_SIZE, {
    error: (issue) => `a bitmap page is ${PAGE_SIZE} bytes, this one is ${(issue.input as Uint8Array).length}`,
  }),
]);

/**
 * A strategy object: checked only for what the replay calls and shows (the
 * interface itself is src/engine/strategy.ts's, documented there).
 */
const StrategyObject = z.custom<Strategy>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as Strategy).name === "string" &&
    (value as Strategy).name !== "" &&
    typeof (value as Strategy).create === "function",
  { error: "a strategy is a built-in name or an object with a name and create() (a Strategy)" },
);

const strategyName = z.string().refine((name) => BUILT_IN.includes(name), {
  error: (issue) => `unknown strategy "${String(issue.input)}" (expected one of ${BUILT_IN.join(", ")})`,
});

export const CompareTraceOptionsSchema = z
  .strictObject({
    /** Names, strategy objects or both, in the order wanted; "all" for every built-in one. */
    strategies: z
      .union([z.literal("all"), z.array(z.union([strategyName, StrategyObject])).min(1, "name at least one strategy")])
      .optional(),
    l0Profile: z.enum(L0_NAMES, { error: `expected one of ${L0_NAMES.join(", ")}` }).default("kvm-2013"),
    l0Bitmap: Page.optional(),
    l0BitmapLegacy: Page.optional(),
    l1Bitmap: Page.optional(),
    l1Profile: z.enum(L1_NAMES, { error: `expected one of ${L1_NAMES.join(", ")}` }).optional(),
    /** An L1 profile name, a snapshot file, or the page itself (README "Decisions": --l1-override). */
    l1Override: Page.optional(),
    /** Any subset of the cost keys; the rest are DEFAULT_COST_MODEL's. */
    costModel: CostModelFileSchema.optional(),
    lenient: z.boolean().default(false),
    snapshotDirs: z.array(z.string().min(1, { error: "names no folder" })).default([]),
    /** How a stream is named in the result and in errors. */
    name: z.string().min(1, { error: "names nothing" }).optional(),
  })
  // The CLI's rules (src/cli/options.ts): one L1 page at most, and an override alone.
  .refine((o) => !(o.l1Bitmap !== undefined && o.l1Profile !== undefined), {
    error: "give l1Bitmap or l1Profile, not both",
    path: ["l1Profile"],
  })
  .refine((o) => o.l1Override === undefined || (o.l1Bitmap === undefined && o.l1Profile === undefined), {
    error: "give l1Override or l1Bitmap/l1Profile, not both",
    path: ["l1Override"],
  });

export type ParsedCompareOptions = z.output<typeof CompareTraceOptionsSchema>;

export const TraceEventsOptionsSchema = z.strictObject({
  lenient: z.boolean().default(false),
  snapshotDirs: z.array(z.string().min(1, { error: "names no folder" })).default([]),
  name: z.string().min(1, { error: "names nothing" }).optional(),
  /** Decode the `t` column (seconds); the header must then have one. */
  timestamps: z.boolean().default(false),
});

/** Options parsed, or one line naming the function and the first thing wrong. */
export function parseApiOptions<S extends z.ZodType>(schema: S, raw: unknown, fn: string): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) throw new InputError(`${fn}: bad options: ${firstIssue(parsed.error)}`);
  return parsed.data;
}
