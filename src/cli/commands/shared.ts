import type { Command } from "commander";
import { COST_KEYS, COST_SOURCES, DEFAULT_COST_MODEL } from "../../engine/results.js";
import { FORMATS, L1_PROFILE_NAMES, PROFILE_NAMES } from "../options.js";

/** The options of every command that replays: bitmaps, profile, cost model, output. */
export function withReplayOptions(command: Command): Command {
  return command
    .option(
      "--l1-bitmap <file>",
      "L1's bitmap (.bin or .json), loaded at GPA 0x1000 and used by every vCPU from the start",
    )
    .option("--l1-profile <name>", `as --l1-bitmap, a real hypervisor's bitmap: ${L1_PROFILE_NAMES.join(", ")}`)
    .option(
      "--l1-override <file|name>",
      "what if L1 were another hypervisor: every store of the trace to a bitmap page (bitmap-load, bitmap-set) " +
        `writes this page instead (.bin/.json, or ${L1_PROFILE_NAMES.join(", ")}); the stores still happen and cost what they cost`,
    )
    .option(
      "--snapshots-dir <dir>",
      "a folder besides the trace's own that its snapshots may be in (repeatable)",
      collect,
      [],
    )
    .option("--l0-profile <name>", `L0's built-in bitmaps: ${PROFILE_NAMES.join(", ")}`, "kvm-2013")
    .option("--l0-bitmap <file>", "L0's bitmap for both modes, replacing the profile")
    .option("--l0-bitmap-legacy <file>", "L0's bitmap while L1 is not in long mode")
    .option(
      "--cost-model <file|json>",
      `JSON overriding any of ${COST_KEYS.join(", ")} (cycles; defaults below), from a file or inline when it starts with {`,
    )
    .option("-f, --format <format>", `output format: ${FORMATS.join(", ")}`, "table")
    .option("-o, --output <file>", "write to FILE (atomically) instead of stdout (-)")
    .option("-q, --quiet", "no progress line on stderr")
    .option("--lenient", "skip bad rows (reported on stderr, results marked partial) instead of stopping")
    .option("-j, --jobs <n>", "threads to use (default: one per core); 1 replays everything in the main thread")
    .addHelpText("after", costModelHelp());
}

/**
 * The cost model's defaults and where each comes from, for the help of the
 * commands that replay. `merge_sparse` is what the sparse strategies pay per
 * merge instead of `merge`.
 */
export function costModelHelp(): string {
  const width = Math.max(...COST_KEYS.map((k) => k.length));
  const lines = COST_KEYS.map(
    (k) => `  ${k.padEnd(width)}  ${String(DEFAULT_COST_MODEL[k]).padStart(5)}  ${COST_SOURCES[k]}`,
  );
  return `\nCost model defaults, in cycles (est_cycles; --cost-model FILE or '{"merge": 600}' overrides any):\n${lines.join("\n")}`;
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
}

/** Commander option parser for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
