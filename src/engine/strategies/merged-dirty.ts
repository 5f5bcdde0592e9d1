import { ShadowBitmaps } from "../shadow.js";
import type { Strategy } from "../strategy.js";

/**
 * The design of kernel bug 53761 with the alternative the bug itself names:
 * instead of write-protecting L1's page, L0 reads the page's dirty bit (EPT
 * accessed/dirty flags, Intel since Haswell) at each nested entry that would
 * reuse the shadow, and re-merges if L1 stored to the page since the shadow
 * was built. One dirty bit serves several vCPUs' shadows: L0 clears it when it
 * finds it set and counts a generation per page, which each shadow remembers
 * (here: the page's store count at the build). No fault, but a check on every
 * such entry.
 */
export const mergedDirty: Strategy = {
  name: "merged-dirty",
  summary: "the merged shadow bitmap, re-merged when the page's dirty bit says L1 stored to it (a check per entry)",
  origin: "nobody yet: kernel bug 53761's alternative to write protection, EPT dirty bits",
  // A repeat entry finds the shadow built from now and the page not stored
  // to since: one dirty check, the same shadow.
  repeatEntryStable: true,
  create(machine, counters) {
    const shadows = new ShadowBitmaps(machine, counters);
    return {
      entry(v, state) {
        if (!state.useBitmap) return null;
        if (!shadows.builtFromNow(v, state)) return shadows.build(v, state);
        counters.dirty_checks++;
        return shadows.storedSinceBuilt(v) ? shadows.build(v, state) : shadows.current(v);
      },
    };
  },
};
