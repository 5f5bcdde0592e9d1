/** The strategy registry: a new built-in is one file and one line below; plug-ins join per run (registryWith). */
import type { Strategy } from "../strategy.js";
import { l1Filter } from "./l1-filter.js";
import { merged } from "./merged.js";
import { mergedDirty } from "./merged-dirty.js";
import { mergedEager } from "./merged-eager.js";
import { mergedEagerX2apic } from "./merged-eager-x2apic.js";
import { mergedStale } from "./merged-stale.js";
import { noBitmap } from "./no-bitmap.js";
import { sparse } from "./sparse.js";
import { sparseClean } from "./sparse-clean.js";

/** Every strategy, in the order of docs/model.md §8: what `all` runs and `strategies` lists. */
export const STRATEGIES: readonly Strategy[] = [
  noBitmap,
  l1Filter,
  merged,
  mergedEager,
  mergedStale,
  sparse,
  sparseClean,
  mergedDirty,
  mergedEagerX2apic,
];

/**
 * What `compare` runs when not told otherwise (docs/model.md §8): 2013 KVM, the
 * bug's proposal, the eager full merge and KVM's sparse merge of today.
 */
export const DEFAULT_COMPARE = ["no-bitmap", "l1-filter", "merged", "merged-eager", "sparse"] as const;

export function findStrategy(name: string): Strategy | undefined {
  return STRATEGIES.find((s) => s.name === name);
}

/**
 * The strategies one run knows: the built-ins, then those of its
 * `--strategy-module`s. A value built per run (registryWith), so that what
 * one run loads never leaks into another's names.
 */
export interface StrategyRegistry {
  /** The built-ins in the order of docs/model.md §8, then the extra ones as given: what `all` runs and `strategies` lists. */
  readonly all: readonly Strategy[];
  readonly names: readonly string[];
  find(name: string): Strategy | undefined;
  /** The strategies for names already checked against this registry. */
  named(names: readonly string[]): Strategy[];
}

/** A registry of the built-ins and `extra`; a name taken twice is refused (a RangeError naming it). */
export function registryWith(extra: readonly Strategy[] = []): StrategyRegistry {
  const all = [...STRATEGIES, ...extra];
  const byName = new Map<string, Strategy>();
  for (const strategy of all) {
    const taken = byName.get(strategy.name);
    if (taken !== undefined && taken !== strategy) {
      const whose = STRATEGIES.includes(taken) ? "a built-in strategy" : "another strategy";
      throw new RangeError(`strategy name "${strategy.name}" is taken by ${whose}`);
    }
    byName.set(strategy.name, strategy);
  }
  const unique = [...new Set(all)];
  const find = (name: string) => byName.get(name);
  return {
    all: unique,
    names: unique.map((s) => s.name),
    find,
    named: (names) =>
      names.map((name) => {
        const strategy = find(name);
        if (!strategy) throw new Error(`internal: unknown strategy ${name}`);
        return strategy;
      }),
  };
}

/** The built-ins alone: a run with no strategy module. */
export const BUILT_IN_REGISTRY: StrategyRegistry = registryWith();

/**
 * Plug-in strategies this process loaded (rememberStrategies), for what is
 * looked up by a result's strategy name after the replay: its merge cost
 * (analysis/costs.ts mergeCostOf) and whether it is unsafe on purpose
 * (report.ts violators). One process runs one command, so its plug-ins'
 * names cannot clash.
 */
const remembered = new Map<string, Strategy>();

/** Makes the registry's strategies known to knownStrategy() in this process. */
export function rememberStrategies(registry: StrategyRegistry): void {
  for (const strategy of registry.all) if (!STRATEGIES.includes(strategy)) remembered.set(strategy.name, strategy);
}

/** A built-in strategy, or a plug-in this process loaded, by name. */
export function knownStrategy(name: string): Strategy | undefined {
  return findStrategy(name) ?? remembered.get(name);
}

/** The strategies for names already checked against STRATEGIES. */
export function strategiesNamed(names: readonly string[]): Strategy[] {
  return names.map((name) => {
    const strategy = findStrategy(name);
    if (!strategy) throw new Error(`internal: unknown strategy ${name}`);
    return strategy;
  });
}
