import type { Command } from "commander";
import pkg from "../../../package.json" with { type: "json" };
import { reportPage } from "../../analysis/report-page.js";
import { DEFAULT_COMPARE } from "../../engine/strategies/index.js";
import { UsageError } from "../errors.js";
import { HtmlReportOptions, parseOptions } from "../options.js";
import { replayReport } from "../setup.js";
import { examples, withReplayOptions } from "./shared.js";

export function registerReport(program: Command): void {
  withReplayOptions(
    program
      .command("report")
      .summary("one self-contained HTML page with charts, to look at and to attach")
      .description(
        "Replays each TRACE as compare does and writes one HTML page: the set-up, the compare table, est_cycles " +
          "split into its terms, the break-even merge cost, the violations, and a chart comparing the traces. " +
          "Every chart is an inline SVG; the page loads nothing from anywhere, so it reads the same offline or " +
          "as a mail attachment. Writes to -o FILE, or to stdout when stdout is not a terminal (-o - forces it).",
      )
      .argument("<traces...>", "trace files (CSV, see README; gzip is recognised; - for stdin)")
      .option("-s, --strategies <list>", "comma-separated strategies, or all (every one)", DEFAULT_COMPARE.join(",")),
  )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay report traces/linux-kvm.csv -o report.html",
        "nvmx-replay report traces/*.csv --strategies all -o all.html",
        "nvmx-replay report traces/linux-kvm.csv --cost-model '{\"merge\": 600}' > report.html",
      ),
    )
    .action(async (traces: string[], raw: unknown) => {
      const options = parseOptions(HtmlReportOptions, raw);
      // A page of HTML on a terminal helps nobody; said before any work, as any usage error.
      if (options.output === undefined && process.stdout.isTTY === true) {
        throw new UsageError("report writes an HTML page: give -o FILE (e.g. -o report.html), or -o - for stdout");
      }
      // replayReport reads no format (it only replays); "table" stands for the page in its option type.
      const setup = { ...options, format: "table" as const };
      const { report, out } = await replayReport(traces, setup, options.strategies, false);
      // The exits-over-time, top-MSR and violation-line sections take what compare's --window, --by msr and
      // --violations compute (src/analysis/report-page.ts TraceExtras); without them those sections are left out.
      const page = reportPage(report, undefined);
      // Vega is loaded here only, so no other command pays for loading it.
      const { renderReportHtml } = await import("../../render/html/page.js");
      await out.write(await renderReportHtml(page, `nvmx-replay ${pkg.version}`));
    });
}
