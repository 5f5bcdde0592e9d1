import type { Command } from "commander";
import { z } from "zod";
import { outputFile } from "../../io/output.js";
import { printable } from "../../io/printable.js";
import { liveCount } from "../../record/live.js";
import {
  DEFAULT_BUFFER_KB,
  MAX_BUFFER_KB,
  MAX_DURATION_S,
  MIN_BUFFER_KB,
  type RecordResult,
  record,
} from "../../record/record.js";
import { count } from "../../render/text-table.js";
import { UsageError } from "../errors.js";
import { parseOptions } from "../options.js";
import { examples } from "./shared.js";

const DURATION_ERROR = `expected a number of seconds above 0, at most ${MAX_DURATION_S}`;
const BUFFER_ERROR = `expected a whole number of KiB from ${MIN_BUFFER_KB} to ${MAX_BUFFER_KB}`;

const RecordOptions = z.object({
  output: z.string().min(1, { error: "names no file" }).optional(),
  duration: z.coerce
    .number({ error: DURATION_ERROR })
    .refine((s) => Number.isFinite(s) && s > 0 && s <= MAX_DURATION_S, { error: DURATION_ERROR })
    .optional(),
  bufferKb: z.coerce
    .number({ error: BUFFER_ERROR })
    .int({ error: BUFFER_ERROR })
    .min(MIN_BUFFER_KB, { error: BUFFER_ERROR })
    .max(MAX_BUFFER_KB, { error: BUFFER_ERROR })
    .default(DEFAULT_BUFFER_KB),
  quiet: z.boolean().default(false),
});

export function registerRecord(program: Command): void {
  program
    .command("record")
    .summary("record this machine's MSR accesses (the L2 view, Linux, root) into a trace")
    .description(
      "Records the msr:read_msr, msr:write_msr and msr:rdpmc tracepoints of the kernel it runs on (run it inside " +
        "L2: that is the complete access stream of the nested guest) and writes them as a trace (CSV, see README), " +
        "for --duration seconds or while COMMAND runs. It uses a tracefs instance of its own (never the global " +
        "buffer), mounts tracefs if it is not mounted, and on every exit (the end, an error, Ctrl-C) removes " +
        "the instance and unmounts what it mounted. Needs root. The trace opens with the kernel, CPU model, " +
        "vCPUs, workload, duration and date; lost events are reported on stderr. COMMAND runs with record's " +
        "stdin and stderr, and its stdout unless the trace goes to stdout (then the command's stdout goes to " +
        "stderr); a non-zero exit status of COMMAND is record's own, the trace still written. Ctrl-C or SIGTERM aborts the " +
        "recording (and passes the signal on to COMMAND): no -o file is written.",
    )
    .argument("[command...]", "the workload to run while recording (put -- before it)")
    .option(
      "-o, --output <file>",
      "write the trace to FILE (a temporary file renamed at the end) instead of stdout (-)",
    )
    .option("--duration <seconds>", "record for this many seconds (instead of a command)")
    .option(
      "--buffer-kb <kib>",
      `the instance's ring buffer per CPU, KiB (${MIN_BUFFER_KB}-${MAX_BUFFER_KB}); raise it if events are lost`,
      String(DEFAULT_BUFFER_KB),
    )
    .option("-q, --quiet", "no live event count on stderr")
    .addHelpText(
      "after",
      `${examples(
        "sudo nvmx-replay record --duration 10 -o idle.csv",
        "sudo nvmx-replay record -o build.csv -- make -j4",
        "sudo nvmx-replay record -o ipi.csv -- sh -c 'for i in $(seq 1000); do taskset -c 1 true; done'",
        "sudo nvmx-replay record --duration 5 | gzip > idle.csv.gz",
        "nvmx-replay compare build.csv --l1-profile kvm",
      )}\nSee docs/recording.md for what the L2 view sees and misses.\n`,
    )
    .action(async (command: string[], raw: unknown) => {
      const options = parseOptions(RecordOptions, raw);
      const hasCommand = command.length > 0;
      if (hasCommand && options.duration !== undefined) {
        throw new UsageError("give --duration or a command to run after --, not both");
      }
      if (!hasCommand && options.duration === undefined) {
        throw new UsageError("give --duration SECONDS or a command to run after -- (record needs an end)");
      }
      const live = liveCount(options.quiet);
      const target = outputFile(options.output);
      let result: RecordResult;
      try {
        result = await record({
          output: target,
          duration: options.duration,
          command: hasCommand ? command : undefined,
          bufferKb: options.bufferKb,
          warn: (line) => process.stderr.write(`${printable(line)}\n`),
          onProgress: (lines, seconds) => live.update(lines, seconds),
        });
      } finally {
        live.done();
      }
      process.stderr.write(summary(result, target));
      if (result.status !== 0) process.exitCode = result.status;
    });
}

function summary(result: RecordResult, target: string | undefined): string {
  const { stats, lost } = result;
  const lines = [
    `record: ${count(stats.rdmsr + stats.wrmsr)} accesses (rdmsr ${count(stats.rdmsr)}, wrmsr ${count(stats.wrmsr)}, ` +
      `#GP ${count(stats.gp)}) on ${count(stats.vcpus.size)} vCPUs in ${result.seconds.toFixed(1)} s ` +
      `-> ${target === undefined ? "<stdout>" : printable(target)}`,
  ];
  const lostCount = lost.overrun + lost.dropped;
  if (lostCount > 0) {
    lines.push(
      `record: warning: ${count(lostCount)} events lost (ring-buffer overrun ${count(lost.overrun)}, ` +
        `dropped ${count(lost.dropped)}): the trace is incomplete; raise --buffer-kb`,
    );
  } else lines.push("record: no events lost");
  if (result.status !== 0) lines.push(`record: the command exited with status ${result.status}`);
  return `${lines.join("\n")}\n`;
}
