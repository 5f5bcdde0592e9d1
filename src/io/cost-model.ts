/**
 * `--cost-model FILE|JSON`: JSON overriding any of the default costs (docs/model.md
 * §7), from a file or given inline (a value that starts with `{`).
 */

import { COST_KEYS, type CostKey, type CostModel, DEFAULT_COST_MODEL } from "../engine/results.js";
import * as z from "../zod.js";
import { at, InputError } from "./errors.js";
import { parseJsonText, readJsonFile } from "./json-file.js";
import { firstIssue } from "./zod-errors.js";

/**
 * The most cycles one event may cost: a third of a second of a 3 GHz core.
 * No exit, merge or fault costs that much; a bigger number is a typo (or an
 * attempt to overflow est_cycles), and bounding it keeps each product small.
 */
export const MAX_COST = 1_000_000_000;

/**
 * Whole cycles: est_cycles is summed in integers, so it is exact (a fraction
 * of a cycle would be rounded in every product).
 */
const cycles = z
  .number({ error: "a cost is a number of cycles" })
  .min(0, { error: "a cost is a number of cycles, 0 or more" })
  .max(MAX_COST, { error: "a cost is at most 1,000,000,000 cycles" })
  .int({ error: "a cost is a whole number of cycles" });

/** Every cost key optional, nothing else allowed (an unknown key is most likely a typo). */
export const CostModelFileSchema = z.strictObject(
  Object.fromEntries(COST_KEYS.map((key) => [key, cycles.optional()])) as Record<CostKey, z.ZodOptional<typeof cycles>>,
);

export type CostModelFile = z.infer<typeof CostModelFileSchema>;

/** What errors about an inline cost model name instead of a file. */
export const INLINE_COST_MODEL = "--cost-model";

/**
 * `--cost-model`'s value is inline JSON when it starts with `{` (spaces
 * before it allowed): no cost model file is named so, and a JSON object
 * always starts so.
 */
export function isInlineCostModel(value: string): boolean {
  return value.trimStart().startsWith("{");
}

/** The cost model `--cost-model` gives: inline JSON, or the JSON file it names. */
export function readCostModel(value: string): CostModel {
  if (isInlineCostModel(value)) return costModelOf(parseJsonText(value, INLINE_COST_MODEL), INLINE_COST_MODEL);
  return costModelOf(readJsonFile(value), value);
}

/** Validates parsed JSON as a cost model; errors name `shownAs` (a file, or the option). */
function costModelOf(json: unknown, shownAs: string): CostModel {
  const parsed = CostModelFileSchema.safeParse(json);
  if (!parsed.success) throw new InputError(`${at(shownAs)}not a cost model: ${firstIssue(parsed.error)}`);
  return { ...DEFAULT_COST_MODEL, ...stripUndefined(parsed.data) };
}

function stripUndefined(o: CostModelFile): Partial<CostModel> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
