/** `--cost-model FILE`: JSON overriding any of the default costs (SPEC section 7). */
import { z } from "zod";
import { type CostModel, DEFAULT_COST_MODEL } from "../engine/results.js";
import { InputError, at } from "./errors.js";
import { readJsonFile } from "./json-file.js";
import { firstIssue } from "./zod-errors.js";

const cycles = z.number().finite().nonnegative({ message: "a cost is a number of cycles, 0 or more" });

export const CostModelFileSchema = z.strictObject({
  l0_exit: cycles.optional(),
  l1_exit: cycles.optional(),
  merge: cycles.optional(),
  wp_fault: cycles.optional(),
});

export type CostModelFile = z.infer<typeof CostModelFileSchema>;

export function readCostModel(path: string): CostModel {
  const parsed = CostModelFileSchema.safeParse(readJsonFile(path));
  if (!parsed.success) throw new InputError(`${at(path)}not a cost model: ${firstIssue(parsed.error)}`);
  return { ...DEFAULT_COST_MODEL, ...stripUndefined(parsed.data) };
}

function stripUndefined(o: CostModelFile): Partial<CostModel> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
