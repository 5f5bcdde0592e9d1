/**
 * The README says what the program does: its quoted compare table is the
 * program's output, and its tables of strategies, counters and costs name
 * what the code declares, in the same order.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COST_KEYS, DEFAULT_COST_MODEL, RESULT_FIELDS } from "../src/engine/results.js";
import { DEFAULT_COMPARE, STRATEGIES } from "../src/engine/strategies/index.js";
import { ROOT, runCli } from "./helpers/cli.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The rows of the README's Markdown table that follows `heading`, as cells. */
function tableAfter(heading: string): string[][] {
  const start = README.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of README.slice(start).split("\n")) {
    if (line.startsWith("|")) {
      inTable = true;
      if (!/^\|[-| ]+\|$/.test(line))
        rows.push(
          line
            .slice(1, -1)
            .split(" | ")
            .map((c) => c.trim()),
        );
    } else if (inTable) break;
  }
  return rows.slice(1); // the header
}

const code = (cell: string | undefined) => /^`([^`]+)`/.exec(cell ?? "")?.[1];

describe("README", () => {
  it("quotes exactly what the first command prints", () => {
    const quoted = /<!-- compare-table:start -->[\s\S]*?```text\n([\s\S]*?)```/.exec(README)?.[1];
    const r = runCli(["compare", "traces/linux-kvm.csv"], { cwd: ROOT });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(quoted);
    // The trace sets L1's bitmap up itself: no warning that none ran.
    expect(r.stderr).toBe("");
  });

  it("quotes exactly what compare prints on the recorded build trace with --l1-profile kvm", () => {
    const quoted = /<!-- real-table:start -->[\s\S]*?```text\n([\s\S]*?)```/.exec(README)?.[1];
    const r = runCli(["compare", "traces/real/build.csv.gz", "--l1-profile", "kvm"], { cwd: ROOT });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(quoted);
  });

  it("lists every strategy, in the order `strategies` does", () => {
    const names = tableAfter("## The strategies").map((row) => code(row[0]));
    expect(names).toEqual(STRATEGIES.map((s) => s.name));
  });

  it("gives compare's default strategies", () => {
    expect(README).toContain(`(default \`${DEFAULT_COMPARE.join(",")}\``);
  });

  it("lists every counter, in CSV order", () => {
    const names = tableAfter("## Counters").map((row) => code(row[0]));
    expect(names).toEqual([...RESULT_FIELDS]);
  });

  it("gives every cost with its default", () => {
    const rows = tableAfter("## Cost model");
    expect(rows.map((row) => code(row[0]))).toEqual([...COST_KEYS]);
    for (const row of rows) {
      const key = code(row[0]) as (typeof COST_KEYS)[number];
      expect(Number(row[1]), key).toBe(DEFAULT_COST_MODEL[key]);
      expect(row[2]?.length, key).toBeGreaterThan(40); // where it comes from
    }
  });
});
