import type { Command } from "commander";
import { z } from "zod";
import { importTrace, shownInput } from "../../import/run.js";
import { renderSummary } from "../../import/summary.js";
import { outputFile } from "../../io/output.js";
import { printable } from "../../io/printable.js";
import { parseOptions } from "../options.js";
import { examples } from "./shared.js";

const ImportOptions = z.object({
  output: z.string().min(1, { error: "names no file" }).optional(),
  strict: z.boolean().default(false),
});

export function registerImport(program: Command): void {
  program
    .command("import")
    .summary("convert kernel trace text (ftrace, perf script, trace-cmd report) into a trace")
    .description(
      "Reads the text of a host (L0) kernel trace of KVM's events and writes a trace (CSV, see README): " +
        "kvm_msr becomes rdmsr/wrmsr, kvm_nested_vmenter (or kvm_nested_vmrun) vmentry, and " +
        "kvm_nested_vmexit_inject vmexit; kvm_exit, kvm_entry and kvm_nested_vmexit only number the vCPUs. " +
        "ftrace (/sys/kernel/tracing/trace, trace_pipe), `perf script` and `trace-cmd report` lines are read, " +
        "in one file or mixed, with or without grep's file: prefixes; gzip is read as is. Any other line is " +
        "skipped and counted, and a summary goes to stderr. The trace has no bitmap rows: give L1's bitmap to " +
        "compare or replay with --l1-bitmap. See docs/recording.md for how to record one.",
    )
    .argument("<file>", "kernel trace text, or - for stdin")
    .option(
      "-o, --output <file>",
      "write the trace to FILE (a temporary file renamed at the end) instead of stdout (-)",
    )
    .option("--strict", "a malformed kvm_* payload is an error naming its line (by default it is skipped and counted)")
    .addHelpText(
      "after",
      `${examples(
        "nvmx-replay import trace.txt -o trace.csv",
        "trace-cmd report -i trace.dat | nvmx-replay import - -o trace.csv",
        "perf script -i perf.data | gzip > kvm.txt.gz && nvmx-replay import kvm.txt.gz -o trace.csv",
        "grep -h kvm_ /sys/kernel/tracing/trace | nvmx-replay import - --strict > trace.csv",
        "nvmx-replay import trace.txt -o trace.csv && nvmx-replay compare trace.csv --l1-bitmap l1.json",
      )}\nSee docs/recording.md for recording a trace and what an L0 trace cannot see.\n`,
    )
    .action(async (file: string, raw: unknown) => {
      const options = parseOptions(ImportOptions, raw);
      const target = outputFile(options.output);
      const stats = await importTrace({ file, output: target, strict: options.strict });
      // Both names escaped: a control character in a file name must not reach the terminal raw.
      const output = target === undefined ? null : printable(target);
      process.stderr.write(renderSummary(shownInput(file), output, stats));
    });
}
