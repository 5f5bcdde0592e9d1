import { ShadowBitmaps } from "../shadow.js";
import type { Strategy } from "../strategy.js";

/**
 * Unsafe on purpose: the shadow is re-merged when vmcs12's pointer, L1's mode
 * or L0's bitmap changes, but stores to L1's page are not tracked, so an L1
 * that edits its bitmap in place keeps running L2 on the old merge. Its
 * violations show why `merged` write-protects the page.
 */
export const mergedStale: Strategy = {
  name: "merged-stale",
  summary: "the shadow bitmap without write tracking: misses in-place edits of L1's page (unsafe)",
  origin: "nobody (unsafe on purpose): kernel bug 53761's merge without noticing L1's stores",
  entryIdempotent: true,
  unsafe: true,
  create(machine, counters) {
    const shadows = new ShadowBitmaps(machine, counters);
    return {
      entry(v, state) {
        if (!state.useBitmap) return null;
        return shadows.isCurrent(v, state) ? shadows.current(v) : shadows.build(v, state);
      },
    };
  },
};
