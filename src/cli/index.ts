/**
 * The command line: commander wiring and the one place errors become exit
 * statuses. Exit 0 success, 1 bad input or I/O failure, 2 usage error.
 */
import { Command, CommanderError } from "commander";
import pkg from "../../package.json" with { type: "json" };
import { InputError } from "../io/errors.js";
import { registerBitmap } from "./commands/bitmap.js";
import { registerCompare } from "./commands/compare.js";
import { registerGen } from "./commands/gen.js";
import { registerImport } from "./commands/import.js";
import { registerLists } from "./commands/lists.js";
import { registerReplay } from "./commands/replay.js";
import { examples } from "./commands/shared.js";
import { registerValidate } from "./commands/validate.js";
import { isEpipe } from "./emit.js";
import { EXIT_INPUT, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.js";

export function buildProgram(): Command {
  const program = new Command("nvmx-replay")
    .description(
      "Replays nested-VMX MSR traces (what L2 does with RDMSR/WRMSR, and L1's MSR bitmaps) through " +
        "models of L0's MSR-bitmap strategies, and counts the exits, merges and faults each one costs.",
    )
    .version(pkg.version, "-V, --version")
    .exitOverride()
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
  registerValidate(program);
  registerLists(program);
  registerGen(program);
  registerImport(program);
  registerBitmap(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  // `| head` closes the pipe early: stop writing, quietly, with status 0.
  process.stdout.on("error", (error) => {
    if (!isEpipe(error)) throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = report(error);
  }
}

/** Prints one line for the user and returns the exit status. */
function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has printed its message (or the help) already.
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof InputError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT_INPUT;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`nvmx-replay: internal error: ${message}\n`);
  if (process.env.NVMX_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return EXIT_INPUT;
}
