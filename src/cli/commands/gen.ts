import type { Command } from "commander";
import { z } from "zod";
import { parseCount } from "../../gen/count.js";
import { generateTrace } from "../../gen/generate.js";
import { findWorkload, WORKLOADS } from "../../gen/registry.js";
import { STDOUT_ARG } from "../../io/output.js";
import { UsageError } from "../errors.js";
import { parseOptions } from "../options.js";
import { examples } from "./shared.js";

const MAX_VCPUS = 4096;
const NAMES = WORKLOADS.map((w) => w.name).join(", ");

const GenOptions = z.object({
  output: z
    .string({ error: "is required: the trace file to write (-o FILE)" })
    .min(1, { error: "is required: the trace file to write (-o FILE)" })
    .refine((path) => !/[\r\n]/.test(path), { error: "a file name with a line break cannot be named in the trace" }),
  events: z.string({ error: "is required: how many events to write (e.g. --events 1M)" }).transform((text, ctx) => {
    const n = parseCount(text);
    if (typeof n === "string") {
      ctx.addIssue({ code: "custom", message: n });
      return z.NEVER;
    }
    return n;
  }),
  vcpus: z
    .string()
    .default("4")
    .refine((t) => /^\d+$/.test(t.trim()) && Number(t) >= 1 && Number(t) <= MAX_VCPUS, {
      error: (issue) => `"${String(issue.input)}" is not a vCPU count (1-${MAX_VCPUS})`,
    })
    .transform(Number),
  seed: z
    .string()
    .default("1")
    .refine((t) => /^\d+$/.test(t.trim()), {
      error: (issue) => `"${String(issue.input)}" is not a seed (a non-negative integer)`,
    })
    .transform((t) => BigInt(t.trim())),
});

/** `name  summary` lines, aligned. */
function workloadList(): string {
  const width = Math.max(...WORKLOADS.map((w) => w.name.length));
  return WORKLOADS.map((w) => `${w.name.padEnd(width)}  ${w.summary}`).join("\n");
}

export function registerGen(program: Command): void {
  program
    .command("gen")
    .summary("generate a synthetic trace (and its bitmap snapshots) from a workload model")
    .description(
      "Writes a trace of exactly N events from a workload model, and the JSON bitmap snapshot(s) it loads, " +
        "beside FILE and named after it (mixed.csv -> mixed.l1.json). The same workload, --events, --vcpus " +
        "and --seed give the same bytes. The trace is streamed to a temporary file and renamed at the end.",
    )
    .argument("[workload]", "the workload to generate (see --list)")
    .option("--events <count>", "events (data rows) to write: an integer, or with k, M or G (500k, 10M, 1G)")
    .option("--vcpus <count>", `vCPUs, 1-${MAX_VCPUS}`, "4")
    .option("--seed <n>", "seed of the generator's PRNG, a non-negative integer", "1")
    .option(
      "-o, --output <file>",
      "the trace file to write (snapshots go beside it); - writes the trace to stdout and the snapshots to the current folder",
    )
    .option("--list", "list the workloads, one line each, and exit")
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
