import type { Command } from "commander";
import { outputFile } from "../../io/output.js";
import { printable } from "../../io/printable.js";
import { registerOptions } from "../option-table.js";
import { parseOptions } from "../options.js";
import { ImportOptions } from "../options-tools.js";
import { examples } from "./shared.js";

export function registerImport(program: Command): void {
  registerOptions(program.command("import"), "import")
    .summary("convert kernel trace text (ftrace, perf script, trace-cmd report) into a trace")
    .description(
      "Reads the text of a host (L0) kernel trace of KVM's events and writes a trace (CSV, see README): " +
        "kvm_msr becomes rdmsr/wrmsr, kvm_nested_vmenter (or kvm_nested_vmrun) vmentry, and " +
        "kvm_nested_vmexit_inject vmexit; kvm_exit, kvm_entry and kvm_nested_vmexit only number the vCPUs. " +
        "ftrace (/sys/kernel/tracing/trace, trace_pipe), `perf script` and `trace-cmd report` lines are read, " +
        "in one file or mixed, with or without grep's file: prefixes; gzip is read as is. Any other line is " +
        "skipped and counted, and a summary goes to stderr. The trace has no bitmap rows: give L1's bitmap to " +
        "compare or replay with --l1-bitmap. See docs/recording.md for how to record one. " +
        "A file recorded inside L2 (msr:read_msr, msr:write_msr, msr:rdpmc) is the L2 view: read_msr becomes rdmsr " +
        "and write_msr wrmsr, on the vCPU of the CPU column; rdpmc is counted, no row. A file mixing the two views " +
        "is refused: give the host's recording with --exits, which merges its exits (an L0's " +
        "kvm_nested_vmexit_inject and kvm_nested_vmenter, or, with KVM as L1, L1's kvm_exit and kvm_entry) into " +
        "the L2 accesses by time, the clock offset found from MSR writes seen in both or given with --clock-offset.",
    )
    .argument("<file>", "kernel trace text, or - for stdin")
    .addHelpText(
      "after",
      `${examples(
        "nvmx-replay import trace.txt -o trace.csv",
        "trace-cmd report -i trace.dat | nvmx-replay import - -o trace.csv",
        "perf script -i perf.data | gzip > kvm.txt.gz && nvmx-replay import kvm.txt.gz -o trace.csv",
        "grep -h kvm_ /sys/kernel/tracing/trace | nvmx-replay import - --strict > trace.csv",
        "nvmx-replay import trace.txt -o trace.csv && nvmx-replay compare trace.csv --l1-bitmap l1.json",
        "nvmx-replay import l2.txt --exits l1.txt -o trace.csv",
        "nvmx-replay import l2.txt --exits l0.txt --clock-offset=-0.000350 -o trace.csv",
      )}\nSee docs/recording.md for recording a trace and what an L0 trace cannot see.\n`,
    )
    .action(async (file: string, raw: unknown) => {
      const options = parseOptions(ImportOptions, raw);
      const target = outputFile(options.output);
      // The importer is loaded by this command only: the others start without its code.
      const [{ renderMergeSummary }, { importMerged, importTrace, shownInput }, { renderSummary }] = await Promise.all([
        import("../../import/merge.js"),
        import("../../import/run.js"),
        import("../../import/summary.js"),
      ]);
      if (options.exits !== undefined) {
        const merged = await importMerged({
          file,
          exits: options.exits,
          output: target,
          strict: options.strict,
          ...(options.clockOffset === undefined ? {} : { offsetNs: options.clockOffset }),
        });
        const output = target === undefined ? null : printable(target);
        process.stderr.write(
          renderMergeSummary(
            shownInput(file),
            shownInput(options.exits),
            output,
            merged.l2,
            merged.other,
            merged.result,
          ),
        );
        return;
      }
      const stats = await importTrace({ file, output: target, strict: options.strict });
      // Both names escaped: a control character in a file name must not reach the terminal raw.
      const output = target === undefined ? null : printable(target);
      process.stderr.write(renderSummary(shownInput(file), output, stats));
    });
}
