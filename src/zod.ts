/**
 * The parts of zod this project uses, named one by one. Modules take them as
 * `import * as z from "…/zod.js"` rather than `import { z } from "zod"`:
 * zod's `z` object holds the whole library, its error messages in some
 * forty languages included, and a bundle that imports it keeps all of it
 * (590 KB, about 30 ms of every command's start-up to compile). Named here,
 * the bundler keeps only what these need (README, Performance).
 */

export type { infer, output, ZodError, ZodOptional, ZodType } from "zod";
export {
  array,
  boolean,
  coerce,
  custom,
  enum,
  instanceof,
  literal,
  NEVER,
  number,
  object,
  strictObject,
  string,
  union,
} from "zod";
