import type { Command } from "commander";
import { cacheSpecFromEnv } from "../../io/cache-spec.js";
import { outputFile } from "../../io/output.js";
import { shownName } from "../../io/trace-reader.js";
import { renderSummaryJson, renderSummaryTable } from "../../render/summary.js";
import { checkSnapshotDirs, l1Bitmap } from "../../run/setup.js";
import { validateTrace } from "../../run/validate-trace.js";
import { destination } from "../emit.js";
import { registerOptions } from "../option-table.js";
import { parseOptions, ValidateOptions } from "../options.js";
import { examples } from "./shared.js";

export function registerValidate(program: Command): void {
  registerOptions(
    program
      .command("validate")
      .summary("check a trace without replaying it, and summarise it")
      .description(
        "Reads TRACE and its snapshots and checks every row and every nested entry (no strategy runs), " +
          "then prints events by kind, the vCPUs, the bitmap pages and the MSRs it names.",
      )
      .argument("<trace>", "trace file (CSV, see README)"),
    "validate",
  )
    .addHelpText(
      "after",
      examples("nvmx-replay validate traces/linux-kvm.csv", "nvmx-replay validate my-trace.csv --format json"),
    )
    .action(async (trace: string, raw: unknown) => {
      const options = parseOptions(ValidateOptions, raw);
      checkSnapshotDirs(options.snapshotsDir);
      const l1 = l1Bitmap(options);
      const out = await destination(options.output, [trace, options.l1Bitmap ?? ""]);
      const summary = await validateTrace(trace, {
        l1Bitmap: l1,
        snapshotDirs: options.snapshotsDir,
        outputs: [outputFile(options.output)].filter((f): f is string => f !== undefined),
        cache: options.cache === false ? null : cacheSpecFromEnv(),
        onCacheNote: (note) => process.stderr.write(`${note}\n`),
      });
      // Named as the other commands name it: "-" is <stdin>.
      const shown = shownName(trace);
      await out.write(
        options.format === "json" ? renderSummaryJson(shown, summary) : renderSummaryTable(shown, summary, out.style),
      );
    });
}
