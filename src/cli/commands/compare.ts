import type { Command } from "commander";
import { renderCsv } from "../../render/csv.js";
import { renderJson } from "../../render/json.js";
import { renderCompareTable } from "../../render/table.js";
import { CompareOptions, parseOptions } from "../options.js";
import { replayReport } from "../setup.js";
import { examples, withReplayOptions } from "./shared.js";

export function registerCompare(program: Command): void {
  withReplayOptions(
    program
      .command("compare")
      .summary("replay a trace under several strategies, side by side")
      .description(
        "Replays TRACE once per strategy (the file is read once) and prints every counter side by side, " +
          "with est_cycles relative to the first strategy.",
      )
      .argument("<trace>", "trace file (CSV, see README)")
      .option("-s, --strategies <list>", "comma-separated strategies, or all", "no-bitmap,l1-filter,merged,merged-eager"),
  )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay compare traces/linux-kvm.csv",
        "nvmx-replay compare traces/bitmap-churn.csv --strategies all --format csv -o churn.csv",
        "nvmx-replay compare traces/linux-kvm.csv --l0-profile kvm-modern --cost-model costs.json --format json",
      ),
    )
    .action(async (trace: string, raw: unknown) => {
      const options = parseOptions(CompareOptions, raw);
      const { report, out } = await replayReport(trace, options, options.strategies, false);
      const render = { table: () => renderCompareTable(report, out.style), csv: () => renderCsv(report), json: () => renderJson(report) };
      await out.write(render[options.format]());
    });
}
