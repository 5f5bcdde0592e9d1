/** `--cost-model FILE`: JSON overriding any of the default costs (SPEC section 7). */
import { z } from "zod";
import { COST_KEYS, type CostKey, type CostModel, DEFAULT_COST_MODEL } from "../engine/results.js";
import { at, InputError } from "./errors.js";
import { readJsonFile } from "./json-file.js";
import { firstIssue } from "./zod-errors.js";

const cycles = z.number().finite().nonnegative({ message: "a cost is a number of cycles, 0 or more" });

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
