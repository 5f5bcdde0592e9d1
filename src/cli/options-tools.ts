/**
 * The zod objects of the tool commands' options (gen, import, record, the
 * bitmap tools), built from the table of options (option-table.ts) like the
 * replaying commands' in options.ts; the rules between options are here.
 */
import * as z from "../zod.js";
import { optionsShape } from "./option-table.js";

export const GenOptions = z.object(optionsShape("gen"));

/** --clock-offset shifts the --exits file's clock: without --exits there is nothing to shift. */
export const ImportOptions = z
  .object(optionsShape("import"))
  .refine((o) => o.clockOffset === undefined || o.exits !== undefined, {
    error: "only goes with --exits FILE",
    path: ["clockOffset"],
  });

export const RecordOptions = z.object(optionsShape("record"));

/** `bitmap show` and `bitmap diff`: text or JSON. */
export const BitmapShowOptions = z.object(optionsShape("bitmap show"));
export const BitmapDiffOptions = z.object(optionsShape("bitmap diff"));
/** `bitmap merge` and `bitmap build`: where the page goes. */
export const BitmapMergeOptions = z.object(optionsShape("bitmap merge"));
export const BitmapBuildOptions = z.object(optionsShape("bitmap build"));
export const BitmapProfileOptions = z.object(optionsShape("bitmap profile"));
