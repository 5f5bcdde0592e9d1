/**
 * The command line: commander wiring and the one place errors become exit
 * statuses. Exit 0 success, 1 bad input or I/O failure, 2 usage error, 3 some
 * traces failed (--keep-going), 4 violations (--fail-on-violations).
 */
import { Command, CommanderError } from "commander";
import pkg from "../../package.json" with { type: "json" };
import { InputError, MAX_MESSAGE, oneLine } from "../io/errors.js";
import { stdoutWriteError } from "../io/output.js";
import { registerBitmap } from "./commands/bitmap.js";
import { registerCompare } from "./commands/compare.js";
import { registerExplain } from "./commands/explain.js";
import { registerGen } from "./commands/gen.js";
import { registerImport } from "./commands/import.js";
import { registerLists } from "./commands/lists.js";
import { registerPack } from "./commands/pack.js";
import { registerRecord } from "./commands/record.js";
import { registerReplay } from "./commands/replay.js";
import { registerReport } from "./commands/report.js";
import { examples } from "./commands/shared.js";
import { registerValidate } from "./commands/validate.js";
import { isEpipe } from "./emit.js";
import {
  EXIT_INPUT,
  EXIT_OK,
  EXIT_SOME_FAILED,
  EXIT_USAGE,
  EXIT_VIOLATIONS,
  SomeTracesFailed,
  UsageError,
  ViolationsFound,
} from "./errors.js";

export function buildProgram(): Command {
  const program = new Command("nvmx-replay")
    .description(
      "Replays nested-VMX MSR traces (what L2 does with RDMSR/WRMSR, and L1's MSR bitmaps) through " +
        "models of L0's MSR-bitmap strategies, and counts the exits, merges and faults each one costs.",
    )
    .version(pkg.version, "-V, --version")
    .exitOverride()
    // commander quotes the user's argument in its own errors (an unknown option): bound those
    // lines too. Set before the commands are added, which copy it.
    .configureOutput({ outputError: (text, write) => write(boundedCommanderError(text)) })
    .addHelpText(
      "after",
      examples(
        "nvmx-replay compare traces/linux-kvm.csv",
        "nvmx-replay replay traces/bitmap-churn.csv --strategy merged",
        "nvmx-replay compare traces/multi-vcpu.csv --strategies all --format csv",
        "nvmx-replay validate traces/edge-cases.csv",
      ),
    );
  registerCompare(program);
  registerReplay(program);
  registerExplain(program);
  registerReport(program);
  registerValidate(program);
  registerPack(program);
  registerLists(program);
  registerGen(program);
  registerImport(program);
  registerRecord(program);
  registerBitmap(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  // `| head` closes the pipe early: stop writing, quietly, with status 0. Any
  // other failure (a full disk: `> /dev/full`) is one line and status 1, also
  // for writes no command awaits (the lists, `--help`).
  process.stdout.on("error", (error) => {
    if (isEpipe(error)) return;
    say(stdoutWriteError(error).message);
    process.exitCode = EXIT_INPUT;
  });
  // Nowhere is left to report a failing stderr; it must not crash the process either.
  process.stderr.on("error", () => {
    process.exitCode = EXIT_INPUT;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = report(error);
  }
}

/** commander's error text as it is, unless it is too long for one line (MAX_MESSAGE): then escaped and cut. */
function boundedCommanderError(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${oneLine(text.trimEnd())}\n`;
}

/** Lines already on stderr: a stdout failure reaches both the write's caller and the stream's listener. */
const said = new Set<string>();

/** Writes one line on stderr, escaped and bounded (errors.ts oneLine), unless it was said already. */
function say(line: string): void {
  const text = oneLine(line);
  if (said.has(text)) return;
  said.add(text);
  process.stderr.write(`${text}\n`);
}

/** Prints one line for the user and returns the exit status (exported for the tests of the mapping). */
export function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has printed its message (or the help) already.
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    say(`error: ${error.message}`);
    return EXIT_USAGE;
  }
  if (error instanceof InputError) {
    say(error.message);
    return EXIT_INPUT;
  }
  if (error instanceof SomeTracesFailed) {
    // --keep-going: the good traces' results are written, each failure was named already.
    say(`nvmx-replay: ${error.message}`);
    return EXIT_SOME_FAILED;
  }
  if (error instanceof ViolationsFound) {
    // --fail-on-violations: the output is written; the status tells a script it is not clean.
    say(`nvmx-replay: ${error.message}`);
    return EXIT_VIOLATIONS;
  }
  const message = error instanceof Error ? error.message : String(error);
  say(`nvmx-replay: internal error: ${message}`);
  if (process.env.NVMX_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return EXIT_INPUT;
}
