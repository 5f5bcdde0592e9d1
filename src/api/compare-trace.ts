/**
 * compareTrace(): one trace under several strategies, resolving to the object
 * `compare --format json` prints for one trace. The replay is the CLI's own
 * (src/run/replay-trace.ts) and the object is built by the CLI's JSON
 * renderer (src/render/json.ts), so the two cannot drift apart.
 */
import { findL1Profile } from "../bitmaps/l1-profiles.js";
import { StrategyDefinitionError, validateStrategy } from "../engine/define-strategy.js";
import type { L0Bitmaps } from "../engine/machine.js";
import { findL0Profile } from "../engine/profiles.js";
import { type CostModel, DEFAULT_COST_MODEL, splitCycles } from "../engine/results.js";
import { DEFAULT_COMPARE, findStrategy, STRATEGIES } from "../engine/strategies/index.js";
import type { Strategy } from "../engine/strategy.js";
import { InputError } from "../io/errors.js";
import { readSnapshot } from "../io/snapshot.js";
import { shownName } from "../io/trace-reader.js";
import { renderJson } from "../render/json.js";
import type { Report, ReportOptions } from "../report.js";
import type { ReplaySpec } from "../run/protocol.js";
import { replayHere } from "../run/replay-trace.js";
import { CompareTraceOptionsSchema, checkFolders, type ParsedCompareOptions, parseApiOptions } from "./options.js";
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
  checkFolders(o.snapshotDirs);
  const source = openInput(trace, o.name, FN);
  const cost: CostModel = { ...DEFAULT_COST_MODEL, ...definedOnly(o.costModel ?? {}) };
  const names = strategies.map((s) => s.name);
  const spec: ReplaySpec = {
    strategies: names,
    l0: l0Bitmaps(o),
    l1Bitmap: l1Bitmap(o),
    l1Override: l1Override(o.l1Override),
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

/** vmcs01's bitmaps: the profile's, then l0Bitmap for both modes, then l0BitmapLegacy for legacy mode (as --l0-bitmap). */
function l0Bitmaps(o: ParsedCompareOptions): L0Bitmaps {
  const profile = findL0Profile(o.l0Profile);
  if (!profile) throw new Error(`internal: profile ${o.l0Profile} validated but not found`);
  let { longmode, legacy } = profile.bitmaps();
  if (o.l0Bitmap !== undefined) longmode = legacy = page(o.l0Bitmap);
  if (o.l0BitmapLegacy !== undefined) legacy = page(o.l0BitmapLegacy);
  return { longmode, legacy };
}

function l1Bitmap(o: ParsedCompareOptions): Uint8Array | null {
  if (o.l1Bitmap !== undefined) return page(o.l1Bitmap);
  if (o.l1Profile !== undefined) return findL1Profile(o.l1Profile)?.bitmap() ?? null;
  return null;
}

/** As --l1-override: a name that is an L1 profile is the profile, any other string a snapshot file. */
function l1Override(value: string | Uint8Array | undefined): Uint8Array | null {
  if (value === undefined) return null;
  if (typeof value === "string") return findL1Profile(value)?.bitmap() ?? readSnapshot(value);
  return page(value);
}

/** A page from a snapshot file, or a copy of the bytes given (the replay must not see the caller change them). */
function page(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? readSnapshot(value) : new Uint8Array(value);
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
