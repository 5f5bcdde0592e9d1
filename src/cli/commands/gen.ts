import type { Command } from "commander";
import { findWorkload, WORKLOADS } from "../../gen/registry.js";
import { STDOUT_ARG } from "../../io/output.js";
import { UsageError } from "../errors.js";
import { registerOptions } from "../option-table.js";
import { parseOptions } from "../options.js";
import { GenOptions } from "../options-tools.js";
import { examples } from "./shared.js";

const NAMES = WORKLOADS.map((w) => w.name).join(", ");

/** `name  summary` lines, aligned. */
function workloadList(): string {
  const width = Math.max(...WORKLOADS.map((w) => w.name.length));
  return WORKLOADS.map((w) => `${w.name.padEnd(width)}  ${w.summary}`).join("\n");
}

export function registerGen(program: Command): void {
  registerOptions(program.command("gen"), "gen")
    .summary("generate a synthetic trace (and its bitmap snapshots) from a workload model")
    .description(
      "Writes a trace of exactly N events from a workload model, and the JSON bitmap snapshot(s) it loads, " +
        "beside FILE and named after it (mixed.csv -> mixed.l1.json). The same workload, --events, --vcpus " +
        "and --seed give the same bytes. The trace is streamed to a temporary file and renamed at the end.",
    )
    .argument("[workload]", "the workload to generate (see --list)")
    .addHelpText(
      "after",
      `\nWorkloads:\n${workloadList().replace(/^/gm, "  ")}\n` +
        examples(
          "nvmx-replay gen --list",
          "nvmx-replay gen linux-mixed --events 10M -o mixed.csv",
          "nvmx-replay gen bitmap-churn --events 500k --vcpus 8 --seed 7 -o churn.csv",
          "nvmx-replay gen boot --events 1M -o boot.csv && nvmx-replay compare boot.csv --strategies all",
          "nvmx-replay gen linux-mixed --events 100k -o - | nvmx-replay compare -",
        ) +
        "\nSee docs/workloads.md for what each workload models.\n",
    )
    .action(async (name: string | undefined, raw: Record<string, unknown>) => {
      if (raw.list) {
        process.stdout.write(`${workloadList()}\n`);
        return;
      }
      if (name === undefined) throw new UsageError(`name a workload: ${NAMES} (see nvmx-replay gen --list)`);
      const workload = findWorkload(name);
      if (!workload)
        throw new UsageError(`unknown workload "${name}" (expected one of ${NAMES}; see nvmx-replay gen --list)`);
      const options = parseOptions(GenOptions, raw);
      // The generator is loaded by this command only: the others start without its code.
      const { generateTrace } = await import("../../gen/generate.js");
      const result = await generateTrace({ workload, ...options });
      const snapshots = result.snapshots.join(", ");
      const plural = result.snapshots.length === 1 ? "" : "s";
      if (result.trace !== STDOUT_ARG) {
        process.stderr.write(`wrote ${result.events} events to ${result.trace} (+ snapshot${plural} ${snapshots})\n`);
        return;
      }
      // On stdout the trace is the data: where its snapshots went is said on stderr.
      const what = result.closed
        ? "stdout was closed before the end of the trace"
        : `wrote ${result.events} events to stdout`;
      process.stderr.write(
        `${what} (+ snapshot${plural} ${snapshots} in the current folder, where a piped trace's snapshots are found)\n`,
      );
    });
}
