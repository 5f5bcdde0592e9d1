import type { Command } from "commander";
import { byViewOf } from "../../analysis/breakdown.js";
import { mergeCostOf } from "../../analysis/costs.js";
import { estimateCycles, InexactEstimateError } from "../../engine/results.js";
import type { WindowSpec } from "../../engine/windows.js";
import { at, InputError } from "../../io/errors.js";
import { renderByCsv, renderByJson, renderByTable } from "../../render/breakdown.js";
import { renderCsv } from "../../render/csv.js";
import { renderJson } from "../../render/json.js";
import { renderCompareTable } from "../../render/table.js";
import { renderViolationsCsv } from "../../render/violations.js";
import { windowText } from "../../render/windows.js";
import { type Report, violators } from "../../report.js";
import { compareWindows } from "../../run/compare-windows.js";
import { loadSetup, replaySpec, reportOptions } from "../../run/setup.js";
import { destination } from "../emit.js";
import { SomeTracesFailed, ViolationsFound } from "../errors.js";
import { registerOptions } from "../option-table.js";
import { CompareOptions, parseOptions } from "../options.js";
import { progressFor } from "../progress.js";
import { checkStdinAlone, printWarnings, replayReport } from "../replaying.js";
import { strategyRegistry } from "../strategy-modules.js";
import { examples } from "./shared.js";

export function registerCompare(program: Command): void {
  registerOptions(
    program
      .command("compare")
      .summary("replay traces under several strategies, side by side")
      .description(
        "Replays each TRACE under every strategy (each file is read once) and prints every counter side by side, " +
          "with est_cycles relative to the first strategy. Several traces are replayed in parallel, a worker per core, " +
          "with a section (table) or a leading trace column (CSV, JSON) each. A trace may be gzip-compressed; - reads stdin.",
      )
      .argument("<traces...>", "trace files (CSV, see README; gzip is recognised; - for stdin)"),
    "compare",
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
        "nvmx-replay compare traces/linux-kvm.csv --by msr --top 5",
        "nvmx-replay compare traces/multi-vcpu.csv --by vcpu --msr IA32_TSC_DEADLINE --format csv",
        "nvmx-replay compare traces/linux-kvm.csv --by msr --vcpu 0,2-3 --sort l1_exits --format json",
        "nvmx-replay compare traces/multi-vcpu.csv -s merged,merged-stale --violations",
        "nvmx-replay compare traces/linux-kvm.csv --l1-override xen",
        "nvmx-replay compare traces/linux-kvm.csv --window 500",
        "nvmx-replay compare traces/real/ipi.csv.gz --l1-profile kvm --window 50ms --format csv -o ipi-windows.csv",
      ),
    )
    .action(async (traces: string[], raw: unknown) => {
      const options = parseOptions(CompareOptions, raw, await strategyRegistry(raw));
      if (options.window) return writeWindows(traces, { ...options, window: options.window });
      const by = byViewOf(options);
      const replayed = await replayReport(traces, options, options.strategies, false, by);
      const { out } = replayed;
      const report: Report = {
        ...replayed.report,
        costs: { cycles: options.cycles, sweeps: options.sweep, breakevens: options.breakeven },
        violations: options.violations,
      };
      checkSweepsExact(report);
      const render = {
        table: () => renderCompareTable(report, out.style),
        csv: () => (options.violations ? renderViolationsCsv(report) : renderCsv(report)),
        json: () => renderJson(report),
      };
      const byRender = by && {
        table: () => renderByTable(report, by, out.style),
        csv: () => renderByCsv(report, by),
        json: () => renderByJson(report, by),
      };
      await out.write(await (byRender ?? render)[options.format]());
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
 * `compare --window`: the output is opened before any work and written as
 * the windows come (src/run/compare-windows.ts), never held whole.
 */
async function writeWindows(
  traces: readonly string[],
  options: CompareOptions & { window: WindowSpec },
): Promise<void> {
  checkStdinAlone(traces);
  const setup = loadSetup(options);
  const out = await destination(options.output, [...traces, ...setup.files]);
  const text = await windowText(options.format, {
    window: options.window,
    options: reportOptions(options, options.strategies, setup),
    several: traces.length > 1,
  });
  const run = compareWindows(
    traces,
    { ...replaySpec(options, setup, options.strategies), window: options.window },
    { text, jobs: options.jobs, progress: (file) => progressFor(file, options.quiet) },
  );
  await out.write(run.chunks);
  const outcomes = await run.outcomes;
  for (const outcome of outcomes) printWarnings(outcome, options);
  const violating = options.failOnViolations ? violators({ traces: outcomes }) : [];
  if (violating.length > 0) throw new ViolationsFound(violating);
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
