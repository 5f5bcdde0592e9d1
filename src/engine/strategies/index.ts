/** The strategy registry: a new strategy is one file and one line below. */
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

/** Every strategy, in the SPEC's order (section 8): what `all` runs and `strategies` lists. */
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
 * What `compare` runs when not told otherwise (SPEC section 8): 2013 KVM, the
 * bug's proposal, the eager full merge and KVM's sparse merge of today.
 */
export const DEFAULT_COMPARE = ["no-bitmap", "l1-filter", "merged", "merged-eager", "sparse"] as const;

export function findStrategy(name: string): Strategy | undefined {
  return STRATEGIES.find((s) => s.name === name);
}

/** The strategies for names already checked against STRATEGIES. */
export function strategiesNamed(names: readonly string[]): Strategy[] {
  return names.map((name) => {
    const strategy = findStrategy(name);
    if (!strategy) throw new Error(`internal: unknown strategy ${name}`);
    return strategy;
  });
}
