import type { Command } from "commander";
import { outputFile } from "../../io/output.js";
import { printable } from "../../io/printable.js";
import { liveCount } from "../../record/live.js";
import type { RecordResult } from "../../record/record.js";
import { count } from "../../render/text-table.js";
import { UsageError } from "../errors.js";
import { registerOptions } from "../option-table.js";
import { parseOptions } from "../options.js";
import { RecordOptions } from "../options-tools.js";
import { examples } from "./shared.js";

export function registerRecord(program: Command): void {
  registerOptions(program.command("record"), "record")
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
      // Loaded here, not at start-up: it needs the child-process module, which no other command does.
      const { record } = await import("../../record/record.js");
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
