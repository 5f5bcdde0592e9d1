/** The strategy registry: a new strategy is one file and one line below. */
import type { Strategy } from "../strategy.js";
import { l1Filter } from "./l1-filter.js";
import { merged } from "./merged.js";
import { mergedEager } from "./merged-eager.js";
import { mergedStale } from "./merged-stale.js";
import { noBitmap } from "./no-bitmap.js";

export const STRATEGIES: readonly Strategy[] = [noBitmap, l1Filter, merged, mergedEager, mergedStale];

/** What `compare` runs when not told otherwise (SPEC: `all` adds merged-stale). */
export const DEFAULT_COMPARE = ["no-bitmap", "l1-filter", "merged", "merged-eager"] as const;

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
