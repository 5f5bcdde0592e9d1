import type { Command } from "commander";
import { renderCsv } from "../../render/csv.js";
import { renderJson } from "../../render/json.js";
import { renderReplayTable } from "../../render/table.js";
import { registerOptions } from "../option-table.js";
import { parseOptions, ReplayOptions } from "../options.js";
import { replayReport } from "../replaying.js";
import { strategyRegistry } from "../strategy-modules.js";
import { examples } from "./shared.js";

export function registerReplay(program: Command): void {
  registerOptions(
    program
      .command("replay")
      .summary("replay a trace under one strategy, with a per-MSR breakdown")
      .description(
        "Replays TRACE under one strategy and prints its counters and, per MSR and direction, " +
          "how its accesses were delivered, busiest first.",
      )
      .argument("<trace>", "trace file (CSV, see README; gzip is recognised; - for stdin)"),
    "replay",
  )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay replay traces/linux-kvm.csv",
        "nvmx-replay replay traces/multi-vcpu.csv --strategy merged-stale",
        "nvmx-replay replay traces/edge-cases.csv --strategy l1-filter --format json -o edges.json",
      ),
    )
    .action(async (trace: string, raw: unknown) => {
      const options = parseOptions(ReplayOptions, raw, await strategyRegistry(raw));
      const { report, out } = await replayReport([trace], options, [options.strategy], true);
      const render = {
        table: () => renderReplayTable(report, out.style),
        csv: () => renderCsv(report),
        json: () => renderJson(report),
      };
      await out.write(await render[options.format]());
    });
}
