import type { Command } from "commander";
import { DEFAULT_COMPARE } from "../../engine/strategies/index.js";
import { renderCsv } from "../../render/csv.js";
import { renderJson } from "../../render/json.js";
import { renderCompareTable } from "../../render/table.js";
import { SomeTracesFailed } from "../errors.js";
import { CompareOptions, parseOptions } from "../options.js";
import { replayReport } from "../setup.js";
import { examples, withReplayOptions } from "./shared.js";

export function registerCompare(program: Command): void {
  withReplayOptions(
    program
      .command("compare")
      .summary("replay traces under several strategies, side by side")
      .description(
        "Replays each TRACE under every strategy (each file is read once) and prints every counter side by side, " +
          "with est_cycles relative to the first strategy. Several traces are replayed in parallel, a worker per core, " +
          "with a section (table) or a leading trace column (CSV, JSON) each. A trace may be gzip-compressed; - reads stdin.",
      )
      .argument("<traces...>", "trace files (CSV, see README; gzip is recognised; - for stdin)")
      .option("-s, --strategies <list>", "comma-separated strategies, or all (every one)", DEFAULT_COMPARE.join(","))
      .option(
        "-k, --keep-going",
        "replay every trace even when some fail: write the good ones' results, name the bad ones on stderr, exit 3",
      ),
  )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay compare traces/linux-kvm.csv",
        "nvmx-replay compare traces/bitmap-churn.csv --strategies all --format csv -o churn.csv",
        "nvmx-replay compare traces/linux-kvm.csv --l0-profile kvm-modern --cost-model costs.json --format json",
        "nvmx-replay compare traces/*.csv --format csv",
        "nvmx-replay compare runs/*.csv --keep-going --format json -o all.json",
        "zcat big.csv.gz | nvmx-replay compare - --quiet",
      ),
    )
    .action(async (traces: string[], raw: unknown) => {
      const options = parseOptions(CompareOptions, raw);
      const { report, out } = await replayReport(traces, options, options.strategies, false);
      const render = {
        table: () => renderCompareTable(report, out.style),
        csv: () => renderCsv(report),
        json: () => renderJson(report),
      };
      await out.write(await render[options.format]());
      const failed = report.failed?.length ?? 0;
      if (failed > 0) throw new SomeTracesFailed(failed, traces.length);
    });
}
