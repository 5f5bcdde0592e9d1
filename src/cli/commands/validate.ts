import type { Command } from "commander";
import { filledPage } from "../../engine/bitmap.js";
import { ReplayFront } from "../../engine/front.js";
import { outputFile } from "../../io/output.js";
import { readTrace, shownName } from "../../io/trace-reader.js";
import { renderSummaryJson, renderSummaryTable } from "../../render/summary.js";
import { TraceSummary } from "../../summary.js";
import { destination } from "../emit.js";
import { L1_PROFILE_NAMES, parseOptions, ValidateOptions } from "../options.js";
import { checkSnapshotDirs, l1Bitmap } from "../setup.js";
import { collect, examples } from "./shared.js";

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .summary("check a trace without replaying it, and summarise it")
    .description(
      "Reads TRACE and its snapshots and checks every row and every nested entry (no strategy runs), " +
        "then prints events by kind, the vCPUs, the bitmap pages and the MSRs it names.",
    )
    .argument("<trace>", "trace file (CSV, see README)")
    .option("--l1-bitmap <file>", "as for compare: L1's bitmap at GPA 0x1000 on every vCPU")
    .option("--l1-profile <name>", `as for compare: a real hypervisor's L1 bitmap (${L1_PROFILE_NAMES.join(", ")})`)
    .option(
      "--snapshots-dir <dir>",
      "a folder besides the trace's own that its snapshots may be in (repeatable)",
      collect,
      [],
    )
    .option("-f, --format <format>", "output format: table, json", "table")
    .option("-o, --output <file>", "write to FILE (atomically) instead of stdout (-)")
    .addHelpText(
      "after",
      examples("nvmx-replay validate traces/linux-kvm.csv", "nvmx-replay validate my-trace.csv --format json"),
    )
    .action(async (trace: string, raw: unknown) => {
      const options = parseOptions(ValidateOptions, raw);
      checkSnapshotDirs(options.snapshotsDir);
      const l1 = l1Bitmap(options);
      const out = await destination(options.output, [trace, options.l1Bitmap ?? ""]);
      // No strategies: the front alone checks entries (and keeps no page
      // contents, only which pages exist); L0's bitmap plays no part, and
      // its batches are dropped as they fill.
      const l0 = filledPage(true);
      const machine = new ReplayFront({ l0: { longmode: l0, legacy: l0 }, l1Bitmap: l1, emit: () => undefined });
      const summary = new TraceSummary();
      await readTrace({
        file: trace,
        snapshotDirs: options.snapshotsDir,
        outputs: [outputFile(options.output)].filter((f): f is string => f !== undefined),
        onEvent: (ev) => {
          machine.apply(ev);
          summary.add(ev);
        },
      });
      // Named as the other commands name it: "-" is <stdin>.
      const shown = shownName(trace);
      await out.write(
        options.format === "json" ? renderSummaryJson(shown, summary) : renderSummaryTable(shown, summary, out.style),
      );
    });
}
