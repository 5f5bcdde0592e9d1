import type * as z from "../zod.js";
import { clip } from "./errors.js";

/**
 * The first issue of a zod error as one line: `at pass[2]: message`. Keys
 * come from the user's file, so they are clipped (errors.ts, MAX_QUOTED); the
 * whole line is bounded again by InputError.
 */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  const path = issue.path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? clip(String(p)) : `.${clip(String(p))}`))
    .join("");
  // zod's own message quotes every unknown key in full: name the first, clipped, and count the others.
  const message =
    issue.code === "unrecognized_keys"
      ? `unknown key ${JSON.stringify(clip(issue.keys[0] ?? ""))}${issue.keys.length > 1 ? ` (and ${issue.keys.length - 1} more)` : ""}`
      : issue.message;
  return path ? `at ${path}: ${message}` : message;
}
