import type { Command } from "commander";
import { byViewOf, SORT_KEYS } from "../../analysis/breakdown.js";
import { mergeCostOf } from "../../analysis/costs.js";
import { estimateCycles, InexactEstimateError } from "../../engine/results.js";
import { DEFAULT_COMPARE } from "../../engine/strategies/index.js";
import { VIOLATION_LIMIT } from "../../engine/violations.js";
import { at, InputError } from "../../io/errors.js";
import { renderByCsv, renderByJson, renderByTable } from "../../render/breakdown.js";
import { renderCsv } from "../../render/csv.js";
import { renderJson } from "../../render/json.js";
import { renderCompareTable } from "../../render/table.js";
import { count } from "../../render/text-table.js";
import { renderViolationsCsv, VIOLATION_HEADER } from "../../render/violations.js";
import { type Report, violators } from "../../report.js";
import { SomeTracesFailed, ViolationsFound } from "../errors.js";
import { CompareOptions, MAX_SWEEP_POINTS, parseOptions } from "../options.js";
import { replayReport } from "../setup.js";
import { strategyRegistry, withStrategyModules } from "../strategy-modules.js";
import { compareWindows } from "../windows.js";
import { collect, examples, withReplayOptions } from "./shared.js";

export function registerCompare(program: Command): void {
  withReplayOptions(
    withStrategyModules(program.command("compare"))
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
        "--by <msr|vcpu>",
        "per strategy, a row per MSR and direction (msr) or per vCPU (vcpu): accesses, where they went, violations, " +
          "exit_cycles (l0_exit x l0_handled + l1_exit x l1_exits) and its share, busiest first, and a totals line. " +
          "CSV: [trace,]strategy,msr,name,dir (or vcpu),accesses,l0_exits,l1_exits,l0_handled,no_exit,violations,exit_cycles,share",
      )
      .option("--sort <key>", `with --by: order the rows by this count, largest first: ${SORT_KEYS.join(", ")}`)
      .option("--top <n>", "with --by: the first N rows per strategy (the totals still count every row)")
      .option("--vcpu <list>", "with --by: count only accesses on these vCPUs, e.g. 0,2-3")
      .option(
        "--msr <list>",
        "with --by: count only accesses to these MSRs: hex, decimal, names, ranges, e.g. 0x6e0,FS_BASE-KERNEL_GS_BASE",
      )
      .option(
        "--violations",
        `list each strategy's first ${VIOLATION_LIMIT} violations in trace order (line, vCPU, MSR, direction, what went wrong): ` +
          'a table section, a "violations" object per trace in JSON, or instead of the counters a CSV of its own: ' +
          `${VIOLATION_HEADER}`,
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
      if (options.window) return compareWindows(traces, { ...options, window: options.window });
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
