/** `--cost-model FILE`: JSON overriding any of the default costs (SPEC section 7). */
import { z } from "zod";
import { COST_KEYS, type CostKey, type CostModel, DEFAULT_COST_MODEL } from "../engine/results.js";
import { at, InputError } from "./errors.js";
import { readJsonFile } from "./json-file.js";
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

export function readCostModel(path: string): CostModel {
  const parsed = CostModelFileSchema.safeParse(readJsonFile(path));
  if (!parsed.success) throw new InputError(`${at(path)}not a cost model: ${firstIssue(parsed.error)}`);
  return { ...DEFAULT_COST_MODEL, ...stripUndefined(parsed.data) };
}

function stripUndefined(o: CostModelFile): Partial<CostModel> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
