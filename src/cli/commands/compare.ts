import type { Command } from "commander";
import { mergeCostOf } from "../../analysis/costs.js";
import { estimateCycles, InexactEstimateError } from "../../engine/results.js";
import { DEFAULT_COMPARE } from "../../engine/strategies/index.js";
import { at, InputError } from "../../io/errors.js";
import { renderCsv } from "../../render/csv.js";
import { renderJson } from "../../render/json.js";
import { renderCompareTable } from "../../render/table.js";
import { count } from "../../render/text-table.js";
import { type Report, violators } from "../../report.js";
import { SomeTracesFailed, ViolationsFound } from "../errors.js";
import { CompareOptions, MAX_SWEEP_POINTS, parseOptions } from "../options.js";
import { replayReport } from "../setup.js";
import { compareWindows } from "../windows.js";
import { collect, examples, withReplayOptions } from "./shared.js";

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
      )
      .option(
        "--cycles",
        "split est_cycles into its terms (L0-handled exits, reflected exits, merges, wp faults, dirty checks): " +
          'a table section, or CSV columns cycles_* after est_cycles (JSON always has them, as "cycles")',
      )
      .option(
        "--sweep <key=from:to:step>",
        "est_cycles of each strategy as one cost key goes from FROM to TO by STEP (whole cycles), the other costs " +
          `as in the model, from this one replay; repeatable, each key swept on its own; at most ${count(MAX_SWEEP_POINTS)} values each. ` +
          "CSV: key,value,strategy,est_cycles",
        collect,
        [],
      )
      .option(
        "--breakeven <key>",
        "for every pair of strategies, the value of this cost key at which their est_cycles are equal (2 decimals), " +
          "or which one always wins, the other costs as in the model; repeatable. " +
          "CSV: key,a,b,breakeven,cheaper_below,cheaper_above",
        collect,
        [],
      )
      .option(
        "--fail-on-violations",
        "after writing the output, exit 4 when a strategy other than merged-stale (unsafe on purpose) has violations",
      )
      .option(
        "--window <size>",
        "each strategy's counters per window, written as the windows end: N events (N, Nk, NM: 10k, 1M) or a time " +
          "(Nus, Nms, Ns: 50ms) from the trace's t column (seconds). CSV: [trace,]window,from,to,strategy,accesses,…,est_cycles",
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
        "nvmx-replay compare traces/linux-kvm.csv --cycles",
        "nvmx-replay compare traces/linux-kvm.csv --sweep merge=0:5000:250 --format csv -o merge.csv",
        "nvmx-replay compare traces/linux-kvm.csv -s l1-filter,merged-eager --breakeven merge",
        "nvmx-replay compare traces/*.csv --strategies all --fail-on-violations -o ci.json -f json",
        "nvmx-replay compare traces/linux-kvm.csv --window 500",
        "nvmx-replay compare traces/real/ipi.csv.gz --l1-profile kvm --window 50ms --format csv -o ipi-windows.csv",
      ),
    )
    .action(async (traces: string[], raw: unknown) => {
      const options = parseOptions(CompareOptions, raw);
      if (options.window) return compareWindows(traces, { ...options, window: options.window });
      const replayed = await replayReport(traces, options, options.strategies, false);
      const { out } = replayed;
      const report: Report = {
        ...replayed.report,
        costs: { cycles: options.cycles, sweeps: options.sweep, breakevens: options.breakeven },
      };
      checkSweepsExact(report);
      const render = {
        table: () => renderCompareTable(report, out.style),
        csv: () => renderCsv(report),
        json: () => renderJson(report),
      };
      await out.write(await render[options.format]());
      const failed = report.failed?.length ?? 0;
      const violating = options.failOnViolations ? violators(report) : [];
      if (failed > 0) {
        // Status 3 wins (some results are missing); the violations are still named.
        if (violating.length > 0) process.stderr.write(`nvmx-replay: ${new ViolationsFound(violating).message}\n`);
        throw new SomeTracesFailed(failed, traces.length);
      }
      if (violating.length > 0) throw new ViolationsFound(violating);
    });
}

/**
 * A sweep recomputes est_cycles at costs the replay did not use, which may
 * pass 2^53 where the model's did not. est_cycles only grows with a cost, so
 * checking each sweep's TO is enough; refused like the replay's own, in one
 * line naming the trace, before anything is written.
 */
function checkSweepsExact(report: Report): void {
  const cost = report.options.cost_model;
  for (const spec of report.costs?.sweeps ?? []) {
    for (const trace of report.traces) {
      for (const r of trace.results) {
        try {
          estimateCycles(r, { ...cost, [spec.key]: spec.to }, mergeCostOf(r.strategy), r.strategy);
        } catch (error) {
          if (!(error instanceof InexactEstimateError)) throw error;
          throw new InputError(
            `${at(trace.trace)}--sweep ${spec.key}=${spec.from}:${spec.to}:${spec.step}: ${error.message}`,
          );
        }
      }
    }
  }
}
