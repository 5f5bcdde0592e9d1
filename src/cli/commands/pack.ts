import type { Command } from "commander";
import { OutputFile, outputFile, refuseOverwritingInput, stdoutWriteError } from "../../io/output.js";
import { checkSnapshotDirs } from "../../run/setup.js";
import { isEpipe } from "../emit.js";
import { UsageError } from "../errors.js";
import { registerOptions } from "../option-table.js";
import { PackOptions, parseOptions } from "../options.js";
import { progressFor } from "../progress.js";
import { examples } from "./shared.js";

export function registerPack(program: Command): void {
  registerOptions(program.command("pack"), "pack")
    .summary("write a trace in the packed binary form, which every command reads faster than CSV")
    .description(
      "Reads TRACE (CSV, gzip or not) and writes its packed form: the events in the replay's own columns, the " +
        "original line numbers (every error still names the CSV's line), t where the CSV has it, and the bitmap " +
        "snapshots it loads, embedded (the packed file needs nothing beside it). compare, replay, validate, explain " +
        "and report read it like a CSV trace, recognised by its first bytes whatever its name. Versioned and " +
        "checked on read (a CRC-32 per chunk): a truncated or damaged file is an error, never a wrong result.",
    )
    .argument("<trace>", "trace file (CSV, see README; gzip is recognised; - for stdin)")
    .addHelpText(
      "after",
      examples(
        "nvmx-replay pack traces/linux-kvm.csv -o linux-kvm.nvmx",
        "nvmx-replay compare linux-kvm.nvmx",
        "nvmx-replay pack big.csv.gz -o - | ssh host 'cat > big.nvmx'",
      ),
    )
    .action(async (trace: string, raw: unknown) => {
      const options = parseOptions(PackOptions, raw);
      // Binary on a terminal helps nobody; said before any work, as any usage error.
      if (options.output === undefined && process.stdout.isTTY === true) {
        throw new UsageError("pack writes a binary file: give -o FILE (e.g. -o trace.nvmx), or -o - for stdout");
      }
      checkSnapshotDirs(options.snapshotsDir);
      const out = await binaryDestination(options.output, trace);
      const progress = progressFor(trace, options.quiet);
      try {
        // The packed writer (and node:zlib) only for this command: not every command's start-up.
        const { packTrace } = await import("../../io/packed/pack.js");
        await packTrace({
          file: trace,
          snapshotDirs: options.snapshotsDir,
          outputs: [outputFile(options.output)].filter((f): f is string => f !== undefined),
          onBytes: (bytes) => progress.update(bytes, 0),
          write: out.write,
        });
      } finally {
        progress.done();
      }
      await out.commit();
    });
}

interface BinaryDestination {
  readonly write: (bytes: Uint8Array) => Promise<void>;
  /** The whole file is written: rename it into place (-o FILE). */
  readonly commit: () => Promise<void>;
}

/**
 * `-o FILE` through the output machinery every command uses (opened now,
 * written to a temporary file, renamed at commit, removed on failure), or
 * stdout as a byte stream (a reader that went away ends the run quietly).
 */
async function binaryDestination(option: string | undefined, trace: string): Promise<BinaryDestination> {
  const output = outputFile(option);
  if (output !== undefined) {
    refuseOverwritingInput(output, [trace]);
    const file = await OutputFile.open(output);
    return { write: (bytes) => file.write(bytes), commit: () => file.commit() };
  }
  let gone = false;
  return {
    write: (bytes) =>
      gone
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            process.stdout.write(bytes, (error) => {
              if (error && !isEpipe(error)) reject(stdoutWriteError(error));
              else {
                gone ||= error !== null && error !== undefined;
                resolve();
              }
            });
          }),
    commit: async () => {},
  };
}
