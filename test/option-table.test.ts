/**
 * The options are declared once (src/cli/option-table.ts): commander's
 * options, each command's zod object and the README's table of options all
 * come from, or are held to, that table.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { buildProgram } from "../src/cli/index.js";
import {
  type CommandName,
  OPTION_TABLE,
  type OptionEntry,
  optionsOf,
  optionsShape,
  TABLE_COMMANDS,
} from "../src/cli/option-table.js";
import {
  CompareOptions,
  ExplainOptions,
  HtmlReportOptions,
  PackOptions,
  ReplayOptions,
  StrategyModuleOptions,
  ValidateOptions,
} from "../src/cli/options.js";
import {
  BitmapBuildOptions,
  BitmapDiffOptions,
  BitmapMergeOptions,
  BitmapProfileOptions,
  BitmapShowOptions,
  GenOptions,
  ImportOptions,
  RecordOptions,
} from "../src/cli/options-tools.js";
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

/** A command of the program by its path in the table: "compare", "bitmap show". */
function commandAt(program: Command, path: string): Command | undefined {
  let command: Command | undefined = program;
  for (const name of path.split(" ")) command = command?.commands.find((c) => c.name() === name);
  return command;
}

/**
 * The zod object each command's action parses its options with (src/cli/commands/*.ts),
 * written out by hand: a command missing here, or parsing with another object, fails below.
 * `profiles` and `bitmap` take no option and parse none (an empty object stands for that).
 */
const PARSED_WITH: Record<CommandName, z.ZodObject | null> = {
  compare: CompareOptions,
  replay: ReplayOptions,
  explain: ExplainOptions,
  report: HtmlReportOptions,
  validate: ValidateOptions,
  pack: PackOptions,
  strategies: StrategyModuleOptions,
  profiles: null,
  gen: GenOptions,
  import: ImportOptions,
  record: RecordOptions,
  bitmap: null,
  "bitmap show": BitmapShowOptions,
  "bitmap diff": BitmapDiffOptions,
  "bitmap merge": BitmapMergeOptions,
  "bitmap build": BitmapBuildOptions,
  "bitmap profile": BitmapProfileOptions,
};

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

  it("lists every command of the program, subcommands by their path", () => {
    const program = buildProgram();
    const paths = (command: Command, prefix: string): string[] =>
      command.commands.flatMap((c) => [`${prefix}${c.name()}`, ...paths(c, `${prefix}${c.name()} `)]);
    expect(paths(program, "").sort()).toEqual([...TABLE_COMMANDS].sort());
  });

  it("is what commander registers, command by command, in the table's order", () => {
    const program = buildProgram();
    for (const command of TABLE_COMMANDS) {
      const registered = commandAt(program, command);
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
      const keys = optionsOf(command)
        .map((e) => e.key)
        .sort();
      expect(Object.keys(PARSED_WITH[command]?.shape ?? {}).sort(), command).toEqual(keys);
    }
  });

  it("gives the tools' options their defaults, parsed like values given", () => {
    // gen: --vcpus 4 and --seed 1 when not given (src/gen/workload.ts), --list off; -o and --events are required.
    const gen = GenOptions.safeParse({ output: "x.csv", events: "1k" });
    expect(gen.success && gen.data).toEqual({ output: "x.csv", events: 1000, vcpus: 4, seed: 1n, list: false });
    // record: a 4096 KiB ring buffer per CPU (4 MiB, src/record/record.ts), progress shown.
    const record = RecordOptions.safeParse({ duration: "2" });
    expect(record.success && record.data).toEqual({ duration: 2, bufferKb: 4096, quiet: false });
    // bitmap show: text unless told json.
    expect(BitmapShowOptions.parse({})).toEqual({ format: "text" });
    // strategies: no module, an empty list.
    expect(StrategyModuleOptions.parse({})).toEqual({ strategyModule: [] });
  });

  it("keeps the tools' rules and messages", () => {
    const message = (schema: z.ZodType, raw: unknown) => {
      const parsed = schema.safeParse(raw);
      return parsed.success
        ? "parsed"
        : `${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`;
    };
    expect(message(GenOptions, { events: "10" })).toBe("output: is required: the trace file to write (-o FILE)");
    expect(message(GenOptions, { events: "10", output: "a\nb.csv" })).toBe(
      "output: a file name with a line break cannot be named in the trace",
    );
    // 4096 is the machine's MAX_VCPUS; 4097 is one too many.
    expect(message(GenOptions, { events: "10", output: "x.csv", vcpus: "4097" })).toBe(
      'vcpus: "4097" is not a vCPU count (1-4096)',
    );
    expect(message(ImportOptions, { clockOffset: "0.5" })).toBe("clockOffset: only goes with --exits FILE");
    // -0.000350 s is -350,000 ns.
    expect(ImportOptions.parse({ exits: "l0.txt", clockOffset: "-0.000350" }).clockOffset).toBe(-350_000);
    expect(message(RecordOptions, { bufferKb: "63" })).toBe(
      "bufferKb: expected a whole number of KiB from 64 to 262144",
    );
    expect(message(BitmapMergeOptions, { output: "page.txt" })).toBe(
      'output: "page.txt" must end in .bin (the raw 4096-byte page) or .json (its description)',
    );
    expect(message(BitmapMergeOptions, { output: "-" })).toBe("parsed");
    expect(message(BitmapProfileOptions, { mode: "real" })).toBe("mode: expected longmode or legacy");
  });

  it("takes its defaults from the engine's constants, which are docs/model.md's", () => {
    // Written out, not read back from the constants the table uses: docs/model.md §8 names
    // compare's five (the upper bound, 2013 KVM, the bug's merge, the eager merge, KVM's
    // sparse merge) and §5 the default L0 profile, kvm-2013.
    const compare = optionsOf("compare");
    expect(compare.find((e) => e.key === "strategies")?.default).toBe("no-bitmap,l1-filter,merged,merged-eager,sparse");
    expect(compare.find((e) => e.key === "l0Profile")?.default).toBe("kvm-2013");
  });

  it("parses a default like a value given: compare's strategies are the default list, explain's all of them", () => {
    const compare = optionsShape("compare").strategies.safeParse(undefined);
    expect(compare.success && compare.data).toEqual(["no-bitmap", "l1-filter", "merged", "merged-eager", "sparse"]);
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
