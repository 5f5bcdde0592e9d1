import type { Command } from "commander";
import pkg from "../../../package.json" with { type: "json" };
import { traceExtras } from "../../analysis/report-extras.js";
import { reportPage } from "../../analysis/report-page.js";
import type { WindowSpec } from "../../engine/windows.js";
import { shownName } from "../../io/trace-reader.js";
import type { Report } from "../../report.js";
import { threadedFor } from "../../run/replay-traces.js";
import { replayForReport } from "../../run/report-replay.js";
import { loadSetup, replaySpec, reportOptions } from "../../run/setup.js";
import { destination } from "../emit.js";
import { UsageError } from "../errors.js";
import { registerOptions } from "../option-table.js";
import { HtmlReportOptions, parseOptions } from "../options.js";
import { progressFor } from "../progress.js";
import { printWarnings } from "../replaying.js";
import { strategyRegistry } from "../strategy-modules.js";
import { examples } from "./shared.js";

/**
 * The windows of "Exits over time" without --window: 100 events each. Small
 * enough that a short trace still makes a curve (linux-kvm.csv's 3,963
 * events give 40 points); a long one is summed down as it is replayed.
 */
const DEFAULT_REPORT_WINDOW: WindowSpec = { unit: "events", size: 100, text: "100" };

export function registerReport(program: Command): void {
  registerOptions(
    program
      .command("report")
      .summary("one self-contained HTML page with charts, to look at and to attach")
      .description(
        "Replays each TRACE as compare does and writes one HTML page: the set-up, the compare table, est_cycles " +
          "split into its terms, the break-even merge cost, the violations, and a chart comparing the traces. " +
          "Every chart is an inline SVG; the page loads nothing from anywhere, so it reads the same offline or " +
          "as a mail attachment. Writes to -o FILE, or to stdout when stdout is not a terminal (-o - forces it).",
      )
      .argument("<traces...>", "trace files (CSV, see README; gzip is recognised; - for stdin)"),
    "report",
  )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay report traces/linux-kvm.csv -o report.html",
        "nvmx-replay report traces/*.csv --strategies all -o all.html",
        "nvmx-replay report traces/real/ipi.csv.gz --l1-profile kvm --window 10ms -o ipi.html",
        "nvmx-replay report traces/linux-kvm.csv --cost-model '{\"merge\": 600}' > report.html",
      ),
    )
    .action(async (traces: string[], raw: unknown) => {
      const options = parseOptions(HtmlReportOptions, raw, await strategyRegistry(raw));
      // A page of HTML on a terminal helps nobody; said before any work, as any usage error.
      if (options.output === undefined && process.stdout.isTTY === true) {
        throw new UsageError("report writes an HTML page: give -o FILE (e.g. -o report.html), or -o - for stdout");
      }
      const setup = loadSetup(options);
      const out = await destination(options.output, [...traces, ...setup.files]);
      const window = options.window ?? DEFAULT_REPORT_WINDOW;
      const replayed = await replayForReport(
        traces,
        { ...replaySpec(options, setup, options.strategies), window },
        {
          threaded: threadedFor(options.jobs),
          progress: (file) => progressFor(file, options.quiet),
          shownName,
        },
      );
      for (const outcome of replayed.outcomes) printWarnings(outcome, options);
      const report: Report = {
        options: reportOptions(options, options.strategies, setup),
        traces: replayed.outcomes,
        lenient: options.lenient,
      };
      const extras = replayed.outcomes.map((outcome, i) => traceExtras(outcome, setup.cost, replayed.windows[i]));
      const page = reportPage(report, extras);
      // Vega is loaded here only, so no other command pays for loading it.
      const { renderReportHtml } = await import("../../render/html/page.js");
      await out.write(await renderReportHtml(page, `nvmx-replay ${pkg.version}`));
    });
}
