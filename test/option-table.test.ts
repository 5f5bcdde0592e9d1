/**
 * The options are declared once (src/cli/option-table.ts): commander's
 * options, each command's zod object and the README's table of options all
 * come from, or are held to, that table.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/index.js";
import { OPTION_TABLE, type OptionEntry, optionsOf, optionsShape, TABLE_COMMANDS } from "../src/cli/option-table.js";
import { DEFAULT_L0_PROFILE } from "../src/engine/profiles.js";
import { DEFAULT_COMPARE } from "../src/engine/strategies/index.js";
import { ROOT } from "./helpers/cli.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The long flag of a commander flags string: `-f, --format <format>` -> `--format`. */
const longFlag = (flags: string) => /--[a-z0-9-]+/.exec(flags)?.[0];
/** The key commander sets for a long flag: camelCase, and `--no-X` sets X (to false). */
const keyOf = (flag: string | undefined) =>
  flag
    ?.slice(2)
    .replace(/^no-/, "")
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
/** The short flag, if any: `-f, --format <format>` -> `-f`. */
const shortFlag = (flags: string) => /^(-[a-zA-Z]),/.exec(flags)?.[1];

/** The rows of the README's table that follows `heading`, as [first cell, second cell]. */
function readmeTable(heading: string): [string, string][] {
  const start = README.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rows: [string, string][] = [];
  let inTable = false;
  for (const line of README.slice(start + heading.length).split("\n")) {
    if (line.startsWith("|")) {
      inTable = true;
      if (/^\|[-| ]+\|$/.test(line)) continue;
      // `\|` inside a cell is a pipe of the text, not a column.
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\) \| /)
        .map((c) => c.trim());
      rows.push([cells[0] ?? "", cells[1] ?? ""]);
    } else if (inTable) break;
  }
  return rows.slice(1); // the header
}

describe("the option table", () => {
  it("gives each command each option once, and a flag to one key only", () => {
    for (const command of TABLE_COMMANDS) {
      const keys = optionsOf(command).map((e) => e.key);
      expect(new Set(keys).size, command).toBe(keys.length);
    }
    // camelCase of the long flag is what commander sets and what the schema reads.
    for (const entry of OPTION_TABLE) {
      expect(keyOf(longFlag(entry.flags)), entry.flags).toBe(entry.key);
    }
  });

  it("is what commander registers, command by command, in the table's order", () => {
    const program = buildProgram();
    for (const command of TABLE_COMMANDS) {
      const registered = program.commands.find((c) => c.name() === command);
      expect(registered, command).toBeDefined();
      const options = registered!.options.map((o) => ({
        flags: o.flags,
        help: o.description,
        default: o.defaultValue,
      }));
      expect(options, command).toEqual(
        optionsOf(command).map((e) => ({
          flags: e.flags,
          help: e.help,
          default: e.repeatable ? [] : e.default,
        })),
      );
    }
  });

  it("is what each command's zod object reads", () => {
    for (const command of TABLE_COMMANDS) {
      expect(Object.keys(optionsShape(command)).sort(), command).toEqual(
        optionsOf(command)
          .map((e) => e.key)
          .sort(),
      );
    }
  });

  it("takes its defaults from the engine's constants", () => {
    const compare = optionsOf("compare");
    expect(compare.find((e) => e.key === "strategies")?.default).toBe(DEFAULT_COMPARE.join(","));
    expect(compare.find((e) => e.key === "l0Profile")?.default).toBe(DEFAULT_L0_PROFILE);
  });

  it("parses a default like a value given: compare's strategies are the default list, explain's all of them", () => {
    const compare = optionsShape("compare").strategies.safeParse(undefined);
    expect(compare.success && compare.data).toEqual([...DEFAULT_COMPARE]);
    const explain = optionsShape("explain").strategies.safeParse(undefined);
    expect(explain.success && explain.data.length).toBe(9); // every strategy: the README's table has 9 rows
  });
});

describe("the README's table of compare's and replay's options", () => {
  const rows = readmeTable("`compare` and `replay` take:");
  const taken: readonly OptionEntry[] = OPTION_TABLE.filter((e) =>
    (e.commands as readonly string[]).some((c) => c === "compare" || c === "replay"),
  );

  it("names every option compare or replay takes, and nothing else", () => {
    const documented = new Set(rows.map(([flags]) => longFlag(flags)));
    // -s is in the table of commands (`compare TRACE… [--strategies LIST|all]`, `replay TRACE [--strategy NAME]`).
    const commandsTable = readmeTable("## Commands").map(([cell]) => cell);
    expect(commandsTable.some((c) => c.includes("--strategies LIST"))).toBe(true);
    expect(commandsTable.some((c) => c.includes("--strategy NAME"))).toBe(true);
    const expected = new Set(
      taken.map((e) => longFlag(e.flags)).filter((f) => f !== "--strategies" && f !== "--strategy"),
    );
    expect([...documented].sort()).toEqual([...expected].sort());
  });

  it("gives each option's short flag, and its default where it has one", () => {
    for (const [cell, meaning] of rows) {
      const entry = taken.find((e) => longFlag(e.flags) === longFlag(cell));
      expect(entry, cell).toBeDefined();
      const short = shortFlag(entry!.flags);
      expect(cell.startsWith(`\`${short === undefined ? "" : `${short}, `}${longFlag(cell)}`), cell).toBe(true);
      if (entry!.default !== undefined) expect(meaning, cell).toContain(entry!.default);
    }
  });

  it("says which options are compare's alone", () => {
    for (const [cell, meaning] of rows) {
      const entry = taken.find((e) => longFlag(e.flags) === longFlag(cell));
      if ((entry!.commands as readonly string[]).includes("replay")) continue;
      expect(meaning, cell).toMatch(/^(`compare`|with `--by`)/);
    }
  });
});
