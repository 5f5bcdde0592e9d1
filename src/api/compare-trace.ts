import { StrategyDefinitionError, validateStrategy } from "../engine/define-strategy.js";
import { type CostModel, DEFAULT_COST_MODEL, splitCycles } from "../engine/results.js";
import { DEFAULT_COMPARE, findStrategy, STRATEGIES } from "../engine/strategies/index.js";
import type { Strategy } from "../engine/strategy.js";
import { InputError } from "../io/errors.js";
import { shownName } from "../io/trace-reader.js";
import { renderJson } from "../render/json.js";
import type { Report, ReportOptions } from "../report.js";
import type { ReplaySpec } from "../run/protocol.js";
import { replayHere } from "../run/replay-trace.js";
import { checkSnapshotDirs, loadBitmaps } from "../run/setup.js";
import { CompareTraceOptionsSchema, type ParsedCompareOptions, parseApiOptions } from "./options.js";
import { openInput, type TraceInput } from "./source.js";
import type { CompareResult, CompareTraceOptions } from "./types.js";

/** What the "options" echo shows for a bitmap page given as bytes rather than a file. */
export const IN_MEMORY = "<bytes>";

const FN = "compareTrace";

/**
 * Replays the trace under the strategies (the CLI's defaults when none are
 * given) in the calling thread, and resolves to the CLI's JSON for it.
 * Rejects with a one-line Error named "InputError" (`file:line:column: …`
 * where there is one), as the CLI prints it.
 */
export async function compareTrace(trace: TraceInput, options: CompareTraceOptions = {}): Promise<CompareResult> {
  const o = parseApiOptions(CompareTraceOptionsSchema, options, FN);
  const strategies = strategiesOf(o.strategies);
  checkSnapshotDirs(o.snapshotDirs, "snapshotDirs");
  const source = openInput(trace, o.name, FN);
  const cost: CostModel = { ...DEFAULT_COST_MODEL, ...definedOnly(o.costModel ?? {}) };
  const names = strategies.map((s) => s.name);
  const spec: ReplaySpec = {
    strategies: names,
    ...loadBitmaps(o),
    cost,
    breakdown: false,
    snapshotDirs: o.snapshotDirs,
    lenient: o.lenient,
  };
  const outcome = await replayHere(source.file, spec, {
    strategies,
    ...(source.input ? { input: source.input } : {}),
  });
  const report: Report = {
    options: echo(o, names, cost),
    traces: [{ ...outcome, trace: shownName(source.file) }],
    lenient: o.lenient,
  };
  const result = JSON.parse([...renderJson(report)].join("")) as CompareResult;
  // The renderer splits est_cycles at the merge cost of the built-in strategy
  // of that name (src/analysis/costs.ts mergeCostOf); a strategy object that is
  // not built in is split at its own mergeCost, as its est_cycles was summed.
  strategies.forEach((strategy, i) => {
    if (findStrategy(strategy.name) === strategy) return;
    const counters = result.results[i];
    if (counters === undefined) return;
    result.cycles[i] = {
      strategy: strategy.name,
      ...splitCycles(counters, cost, strategy.mergeCost ?? "merge", strategy.name),
    };
  });
  return result;
}

/** Names resolved to the built-ins; objects taken as they are, but not under a built-in's name. */
function strategiesOf(asked: ParsedCompareOptions["strategies"]): Strategy[] {
  if (asked === undefined) return DEFAULT_COMPARE.map((name) => builtIn(name));
  if (asked === "all") return [...STRATEGIES];
  const strategies = asked.map((s, i) => (typeof s === "string" ? builtIn(s) : checked(s, i)));
  const seen = new Set<string>();
  strategies.forEach((strategy, i) => {
    if (seen.has(strategy.name)) {
      throw new InputError(`${FN}: bad options: at strategies[${i}]: the strategy "${strategy.name}" is named twice`);
    }
    seen.add(strategy.name);
  });
  return strategies;
}

/**
 * A strategy object as --strategy-module takes one (validateStrategy): a
 * built-in passed as an object is itself; any other is checked member by
 * member, its mistake one line naming the member.
 */
function checked(strategy: Strategy, i: number): Strategy {
  const own = findStrategy(strategy.name);
  if (own === strategy) return strategy;
  if (own !== undefined) {
    throw new InputError(
      `${FN}: bad options: at strategies[${i}]: "${strategy.name}" is a built-in strategy's name; give yours a name of its own`,
    );
  }
  try {
    return validateStrategy(strategy);
  } catch (error) {
    if (!(error instanceof StrategyDefinitionError)) throw error;
    throw new InputError(`${FN}: bad options: at strategies[${i}]: ${error.message}`);
  }
}

function builtIn(name: string): Strategy {
  const strategy = findStrategy(name);
  if (!strategy) throw new Error(`internal: strategy ${name} validated but not found`);
  return strategy;
}

function echo(o: ParsedCompareOptions, strategies: readonly string[], cost: CostModel): ReportOptions {
  const shown = (value: string | Uint8Array | undefined) =>
    value === undefined ? null : typeof value === "string" ? value : IN_MEMORY;
  return {
    strategies,
    l0_profile: o.l0Profile,
    l0_bitmap: shown(o.l0Bitmap),
    l0_bitmap_legacy: shown(o.l0BitmapLegacy),
    l1_bitmap: shown(o.l1Bitmap),
    l1_profile: o.l1Profile ?? null,
    l1_override: shown(o.l1Override),
    cost_model: cost,
  };
}

function definedOnly(model: Partial<Record<keyof CostModel, number | undefined>>): Partial<CostModel> {
  return Object.fromEntries(Object.entries(model).filter(([, v]) => v !== undefined));
}
