import type { Command } from "commander";
import { shownName } from "../../io/trace-reader.js";
import { renderExplainJson, renderExplainTable } from "../../render/explain.js";
import { explainLine } from "../../run/explain-trace.js";
import { loadSetup, replaySpec, reportOptions } from "../../run/setup.js";
import { destination } from "../emit.js";
import { registerOptions } from "../option-table.js";
import { ExplainOptions, parseOptions } from "../options.js";
import { strategyRegistry } from "../strategy-modules.js";
import { examples } from "./shared.js";

export function registerExplain(program: Command): void {
  registerOptions(
    program
      .command("explain")
      .summary("why the access on one line of a trace went where it did, under each strategy")
      .description(
        "Replays TRACE up to line N, which must be an rdmsr or wrmsr row, and shows for that access the vCPU's " +
          "vmcs12 state, L1's bit, L0's bit, whether L1 and L0 want it, then per strategy: whether a nested entry " +
          "(and a merge) comes first, vmcs02's bit, where the access goes, the rule that sends it there, and whether " +
          "it is a violation (or not judged). Reads the trace in this thread and stops after line N " +
          "(--jobs and --quiet change nothing). Table or JSON.",
      )
      .argument("<trace>", "trace file (CSV, see README; gzip is recognised; - for stdin)"),
    "explain",
  )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay explain traces/multi-vcpu.csv --line 177",
        "nvmx-replay explain traces/multi-vcpu.csv --line 172 -s merged,merged-stale",
        "nvmx-replay explain traces/linux-kvm.csv --line 58 --format json",
      ),
    )
    .action(async (trace: string, raw: unknown) => {
      const options = parseOptions(ExplainOptions, raw, await strategyRegistry(raw));
      const setup = loadSetup(options);
      const out = await destination(options.output, [trace, ...setup.files]);
      const explanation = await explainLine(trace, options.line, replaySpec(options, setup, options.strategies));
      const shown = shownName(trace);
      const report = reportOptions(options, options.strategies, setup);
      await out.write(
        options.format === "json"
          ? renderExplainJson(shown, explanation, report)
          : renderExplainTable(shown, explanation, report, out.style),
      );
    });
}
