import type { z } from "zod";

/** The first issue of a zod error as one line: `at pass[2]: message`. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  const path = issue.path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
  return path ? `at ${path}: ${issue.message}` : issue.message;
}
