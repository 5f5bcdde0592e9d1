import { ShadowBitmaps } from "../shadow.js";
import type { Strategy, VcpuView } from "../strategy.js";

/**
 * The design of kernel bug 53761: vmcs02 gets a shadow bitmap, vmcs01 OR
 * vmcs12, re-merged only when it may be stale. L1's page is write-protected
 * at each merge, so the first store to it afterwards faults; the fault
 * unprotects the page and marks the shadows built from it stale. A page stays
 * protected until such a store, even after vmcs12 stops pointing at it
 * (unprotecting lazily costs at most one fault per abandoned page).
 */
export const merged: Strategy = {
  name: "merged",
  summary: "shadow bitmap = vmcs01 OR vmcs12, re-merged only when stale; L1's page write-protected",
  origin: "nobody: kernel bug 53761's proposal (2013), with KVM's write tracking (kvm_page_track)",
  entryIdempotent: true,
  create(machine, counters) {
    const shadows = new ShadowBitmaps(machine, counters);
    const protectedPages = new Set<number>();
    const merge = (v: number, state: VcpuView) => {
      protectedPages.add(state.bitmapPtr);
      return shadows.build(v, state);
    };
    return {
      entry(v, state) {
        if (!state.useBitmap) return null;
        return shadows.isCurrent(v, state) ? shadows.current(v) : merge(v, state);
      },
      l1Write(gpa) {
        if (!protectedPages.delete(gpa)) return;
        counters.wp_faults++;
        shadows.markStale(gpa);
      },
    };
  },
};
