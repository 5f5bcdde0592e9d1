import { ShadowBitmaps } from "../shadow.js";
import type { Strategy } from "../strategy.js";

/**
 * What KVM, Xen and VirtualBox do today: the same shadow bitmap, re-merged on
 * every nested entry (KVM: nested_vmx_prepare_msr_bitmap() from
 * prepare_vmcs02()), so nothing needs write protection.
 */
export const mergedEager: Strategy = {
  name: "merged-eager",
  summary: "the same shadow bitmap, re-merged on every nested entry (KVM, Xen, VirtualBox today)",
  create(machine, counters) {
    const shadows = new ShadowBitmaps(machine, counters);
    return {
      entry: (v, state) => (state.useBitmap ? shadows.build(v, state) : null),
      l1Write() {},
      l0Changed(v, state, l2Runs) {
        if (l2Runs) shadows.build(v, state);
      },
    };
  },
};
