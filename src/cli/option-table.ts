/**
 * Every option of every command, declared once: its flags, its help, its
 * default, its zod schema and the commands that take it. The commands that
 * replay or read a trace (compare, replay, explain, report, validate) are
 * declared here; the tools' (gen, import, record, bitmap…, pack's -o) in
 * option-table-tools.ts. commander registers
 * from it (registerOptions), the zod object of each command is built from it
 * (optionsShape; the rules between options are in options.ts), and a test
 * holds the README's table of options to it (test/option-table.test.ts).
 *
 * An option whose meaning differs between commands (--strategies' default,
 * --format's choices) has an entry per meaning; a command takes each key once.
 * Defaults come from the engine's constants (DEFAULT_COMPARE,
 * DEFAULT_L0_PROFILE, the profile and strategy names), never retyped here.
 */
import type { Command } from "commander";
import { DEFAULT_L0_PROFILE } from "../engine/profiles.js";
import { COST_KEYS, COST_SOURCES, DEFAULT_COST_MODEL } from "../engine/results.js";
import { DEFAULT_COMPARE } from "../engine/strategies/index.js";
import { VIOLATION_LIMIT } from "../engine/violations.js";
import { count } from "../render/text-table.js";
import { VIOLATION_HEADER } from "../render/violations.js";
import * as z from "../zod.js";
import { TOOL_OPTIONS } from "./option-table-tools.js";
import {
  BY_KEYS,
  costKey,
  FORMATS,
  Jobs,
  L1_PROFILE_NAMES,
  LineNumber,
  MAX_SWEEP_POINTS,
  MsrList,
  OutputPath,
  oneEach,
  oneOf,
  PROFILE_NAMES,
  SORT_KEYS,
  StrategyList,
  Sweep,
  strategyName,
  Top,
  VcpuList,
  Window,
} from "./option-values.js";

/** The commands whose options the table declares: every one (a subcommand by its path, "bitmap show"). */
export const TABLE_COMMANDS = [
  "compare",
  "replay",
  "explain",
  "report",
  "validate",
  "pack",
  "strategies",
  "profiles",
  "gen",
  "import",
  "record",
  "bitmap",
  "bitmap show",
  "bitmap diff",
  "bitmap merge",
  "bitmap build",
  "bitmap profile",
] as const;
export type CommandName = (typeof TABLE_COMMANDS)[number];

export interface OptionEntry {
  /** The attribute commander sets and the schema reads (camelCase of the long flag). */
  readonly key: string;
  /** commander's flags: `-f, --format <format>`. */
  readonly flags: string;
  readonly help: string;
  readonly commands: readonly CommandName[];
  /** The value's schema; a flag without a value is a boolean defaulting to false. */
  readonly schema: z.ZodType;
  /** The value taken when the option is not given: shown by --help, parsed by the schema like a given one. */
  readonly default?: string;
  /** Given any number of times: the values in order (none: an empty list). */
  readonly repeatable?: true;
  /** commander refuses the command without it. */
  readonly required?: true;
}

const REPLAYING = ["compare", "replay", "explain", "report"] as const;
const TRACE_SET_UP = [...REPLAYING, "validate"] as const;
const COMPARE_DEFAULTS = DEFAULT_COMPARE.join(",");

/** Every option of the commands that read a trace, in the order --help lists them. */
const TRACE_OPTIONS = [
  {
    key: "strategies",
    flags: "-s, --strategies <list>",
    help: "comma-separated strategies, or all (every one)",
    commands: ["compare", "report"],
    default: COMPARE_DEFAULTS,
    schema: StrategyList,
  },
  {
    key: "line",
    flags: "-l, --line <n>",
    help: "the line of the access, as an editor numbers them (1 is the first)",
    commands: ["explain"],
    required: true,
    schema: LineNumber,
  },
  {
    key: "strategies",
    flags: "-s, --strategies <list>",
    help: "comma-separated strategies, or all",
    commands: ["explain"],
    default: "all",
    schema: StrategyList,
  },
  {
    key: "strategy",
    flags: "-s, --strategy <name>",
    help: "the strategy (see `nvmx-replay strategies`)",
    commands: ["replay"],
    default: "merged",
    schema: strategyName,
  },
  {
    key: "keepGoing",
    flags: "-k, --keep-going",
    help: "replay every trace even when some fail: write the good ones' results, name the bad ones on stderr, exit 3",
    commands: ["compare"],
    schema: z.boolean().default(false),
  },
  {
    key: "cycles",
    flags: "--cycles",
    help:
      "split est_cycles into its terms (L0-handled exits, reflected exits, merges, wp faults, dirty checks): " +
      'a table section, or CSV columns cycles_* after est_cycles (JSON always has them, as "cycles")',
    commands: ["compare"],
    schema: z.boolean().default(false),
  },
  {
    key: "sweep",
    flags: "--sweep <key=from:to:step>",
    help:
      "est_cycles of each strategy as one cost key goes from FROM to TO by STEP (whole cycles), the other costs " +
      `as in the model, from this one replay; repeatable, each key swept on its own; at most ${count(MAX_SWEEP_POINTS)} values each. ` +
      "CSV: key,value,strategy,est_cycles",
    commands: ["compare"],
    repeatable: true,
    schema: z
      .array(Sweep)
      .default([])
      .refine(
        oneEach((s: { key: string }) => s.key),
        { error: "a cost key is swept twice (each --sweep takes a key of its own)" },
      ),
  },
  {
    key: "breakeven",
    flags: "--breakeven <key>",
    help:
      "for every pair of strategies, the value of this cost key at which their est_cycles are equal (2 decimals), " +
      "or which one always wins, the other costs as in the model; repeatable. " +
      "CSV: key,a,b,breakeven,cheaper_below,cheaper_above",
    commands: ["compare"],
    repeatable: true,
    schema: z
      .array(costKey)
      .default([])
      .refine(
        oneEach((k: string) => k),
        { error: "a cost key is named twice" },
      ),
  },
  {
    key: "failOnViolations",
    flags: "--fail-on-violations",
    help: "after writing the output, exit 4 when a strategy other than merged-stale (unsafe on purpose) has violations",
    commands: ["compare"],
    schema: z.boolean().default(false),
  },
  {
    key: "by",
    flags: "--by <msr|vcpu>",
    help:
      "per strategy, a row per MSR and direction (msr) or per vCPU (vcpu): accesses, where they went, violations, " +
      "exit_cycles (l0_exit x l0_handled + l1_exit x l1_exits) and its share, busiest first, and a totals line. " +
      "CSV: [trace,]strategy,msr,name,dir (or vcpu),accesses,l0_exits,l1_exits,l0_handled,no_exit,violations,exit_cycles,share",
    commands: ["compare"],
    schema: oneOf(BY_KEYS).optional(),
  },
  {
    key: "sort",
    flags: "--sort <key>",
    help: `with --by: order the rows by this count, largest first: ${SORT_KEYS.join(", ")}`,
    commands: ["compare"],
    schema: oneOf(SORT_KEYS).optional(),
  },
  {
    key: "top",
    flags: "--top <n>",
    help: "with --by: the first N rows per strategy (the totals still count every row)",
    commands: ["compare"],
    schema: Top.optional(),
  },
  {
    key: "vcpu",
    flags: "--vcpu <list>",
    help: "with --by: count only accesses on these vCPUs, e.g. 0,2-3",
    commands: ["compare"],
    schema: VcpuList.optional(),
  },
  {
    key: "msr",
    flags: "--msr <list>",
    help: "with --by: count only accesses to these MSRs: hex, decimal, names, ranges, e.g. 0x6e0,FS_BASE-KERNEL_GS_BASE",
    commands: ["compare"],
    schema: MsrList.optional(),
  },
  {
    key: "violations",
    flags: "--violations",
    help:
      `list each strategy's first ${VIOLATION_LIMIT} violations in trace order (line, vCPU, MSR, direction, what went wrong): ` +
      'a table section, a "violations" object per trace in JSON, or instead of the counters a CSV of its own: ' +
      `${VIOLATION_HEADER}`,
    commands: ["compare"],
    schema: z.boolean().default(false),
  },
  {
    key: "window",
    flags: "--window <size>",
    help:
      "each strategy's counters per window, written as the windows end: N events (N, Nk, NM: 10k, 1M) or a time " +
      "(Nus, Nms, Ns: 50ms) from the trace's t column (seconds). CSV: [trace,]window,from,to,strategy,accesses,…,est_cycles",
    commands: ["compare"],
    schema: Window.optional(),
  },
  {
    key: "window",
    flags: "--window <size>",
    help:
      "the windows of the exits-over-time charts, as compare --window: N events (N, Nk, NM) or a time " +
      "(Nus, Nms, Ns) from the trace's t column; default 100 events. Summed down to at most 300 points a chart",
    commands: ["report"],
    schema: Window.optional(),
  },
  {
    key: "l1Bitmap",
    flags: "--l1-bitmap <file>",
    help: "L1's bitmap (.bin or .json), loaded at GPA 0x1000 and used by every vCPU from the start",
    commands: TRACE_SET_UP,
    schema: z.string().optional(),
  },
  {
    key: "l1Profile",
    flags: "--l1-profile <name>",
    help: `as --l1-bitmap, a real hypervisor's bitmap: ${L1_PROFILE_NAMES.join(", ")}`,
    commands: TRACE_SET_UP,
    schema: oneOf(L1_PROFILE_NAMES).optional(),
  },
  {
    key: "l1Override",
    flags: "--l1-override <file|name>",
    help:
      "what if L1 were another hypervisor: every store of the trace to a bitmap page (bitmap-load, bitmap-set) " +
      `writes this page instead (.bin/.json, or ${L1_PROFILE_NAMES.join(", ")}); the stores still happen and cost what they cost`,
    commands: REPLAYING,
    schema: z
      .string()
      .min(1, { error: `names nothing (expected a snapshot file or one of ${L1_PROFILE_NAMES.join(", ")})` })
      .optional(),
  },
  {
    key: "strategyModule",
    flags: "--strategy-module <file>",
    help: "an ES module whose exported strategies join the built-in ones for this run (repeatable; docs/strategies.md)",
    commands: [...REPLAYING, "strategies"],
    repeatable: true,
    schema: z.array(z.string().min(1, { error: "names no file" })).default([]),
  },
  {
    key: "snapshotsDir",
    flags: "--snapshots-dir <dir>",
    help: "a folder besides the trace's own that its snapshots may be in (repeatable)",
    commands: [...TRACE_SET_UP, "pack"],
    repeatable: true,
    schema: z.array(z.string()).default([]),
  },
  {
    key: "l0Profile",
    flags: "--l0-profile <name>",
    help: `L0's built-in bitmaps: ${PROFILE_NAMES.join(", ")}`,
    commands: REPLAYING,
    default: DEFAULT_L0_PROFILE,
    schema: oneOf(PROFILE_NAMES),
  },
  {
    key: "l0Bitmap",
    flags: "--l0-bitmap <file>",
    help: "L0's bitmap for both modes, replacing the profile",
    commands: REPLAYING,
    schema: z.string().optional(),
  },
  {
    key: "l0BitmapLegacy",
    flags: "--l0-bitmap-legacy <file>",
    help: "L0's bitmap while L1 is not in long mode",
    commands: REPLAYING,
    schema: z.string().optional(),
  },
  {
    key: "costModel",
    flags: "--cost-model <file|json>",
    help: `JSON overriding any of ${COST_KEYS.join(", ")} (cycles; defaults below), from a file or inline when it starts with {`,
    commands: REPLAYING,
    schema: z.string().optional(),
  },
  {
    key: "format",
    flags: "-f, --format <format>",
    help: `output format: ${FORMATS.join(", ")}`,
    commands: ["compare", "replay"],
    default: "table",
    schema: oneOf(FORMATS),
  },
  {
    key: "format",
    flags: "-f, --format <format>",
    help: "output format: table, json (one access has no CSV form)",
    commands: ["explain"],
    default: "table",
    schema: oneOf(["table", "json"], "expected table or json (explain describes one access: it has no CSV form)"),
  },
  {
    key: "format",
    flags: "-f, --format <format>",
    help: "output format: html, the only one (report writes one HTML page)",
    commands: ["report"],
    default: "html",
    schema: oneOf(["html"], "report writes one HTML page: give no --format, or html"),
  },
  {
    key: "format",
    flags: "-f, --format <format>",
    help: "output format: table, json",
    commands: ["validate"],
    default: "table",
    schema: oneOf(["table", "json"], "expected table or json"),
  },
  {
    key: "output",
    flags: "-o, --output <file>",
    help: "write to FILE (atomically) instead of stdout (-)",
    commands: TRACE_SET_UP,
    schema: OutputPath.optional(),
  },
  {
    key: "quiet",
    flags: "-q, --quiet",
    help: "no progress line on stderr",
    commands: [...REPLAYING, "pack"],
    schema: z.boolean().default(false),
  },
  {
    key: "lenient",
    flags: "--lenient",
    help: "skip bad rows (reported on stderr, results marked partial) instead of stopping",
    commands: REPLAYING,
    schema: z.boolean().default(false),
  },
  {
    key: "cache",
    flags: "--no-cache",
    help: "neither read nor write the cache of packed traces (see the README's Packed traces)",
    commands: TRACE_SET_UP,
    schema: z.boolean().default(true),
  },
  {
    key: "jobs",
    flags: "-j, --jobs <n>",
    help: "threads to use (default: one per core); 1 replays everything in the main thread",
    commands: REPLAYING,
    schema: Jobs.optional(),
  },
] as const satisfies readonly OptionEntry[];

/** Every option, in the order --help lists them: the tools' first (the order their help had), then the rest. */
export const OPTION_TABLE = [...TOOL_OPTIONS, ...TRACE_OPTIONS] as const;

type Entry = (typeof OPTION_TABLE)[number];

/** The zod shape of a command's options: each key the command takes, with its schema. */
export type OptionsShape<C extends CommandName> = {
  [E in Entry as C extends E["commands"][number] ? E["key"] : never]: E["schema"];
};

/** The entries a command takes, in the table's order. */
export function optionsOf(command: CommandName): readonly OptionEntry[] {
  return OPTION_TABLE.filter((entry) => (entry.commands as readonly CommandName[]).includes(command));
}

/**
 * The zod object of a command's options. A default is parsed like a value
 * the user gave (prefault), so what --help shows is exactly what runs.
 */
export function optionsShape<C extends CommandName>(command: C): OptionsShape<C> {
  const shape: Record<string, z.ZodType> = {};
  for (const entry of optionsOf(command)) {
    if (entry.key in shape) throw new Error(`internal: ${command} takes --${entry.key} twice in the option table`);
    shape[entry.key] = entry.default === undefined ? entry.schema : entry.schema.prefault(entry.default);
  }
  return shape as OptionsShape<C>;
}

/** Registers a command's options with commander, from the table; the cost model's defaults follow the options. */
export function registerOptions(command: Command, name: CommandName): Command {
  for (const entry of optionsOf(name)) {
    if (entry.repeatable) command.option(entry.flags, entry.help, collect, []);
    else if (entry.required) command.requiredOption(entry.flags, entry.help);
    else if (entry.default !== undefined) command.option(entry.flags, entry.help, entry.default);
    else command.option(entry.flags, entry.help);
  }
  if (optionsOf(name).some((entry) => entry.key === "costModel")) command.addHelpText("after", costModelHelp());
  return command;
}

/** Commander option parser for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The cost model's defaults and where each comes from, for the help of the
 * commands that replay. `merge_sparse` is what the sparse strategies pay per
 * merge instead of `merge`.
 */
function costModelHelp(): string {
  const width = Math.max(...COST_KEYS.map((k) => k.length));
  const lines = COST_KEYS.map(
    (k) => `  ${k.padEnd(width)}  ${String(DEFAULT_COST_MODEL[k]).padStart(5)}  ${COST_SOURCES[k]}`,
  );
  return `\nCost model defaults, in cycles (est_cycles; --cost-model FILE or '{"merge": 600}' overrides any):\n${lines.join("\n")}`;
}
