/**
 * What the eager strategies share: vmcs02's bitmap rebuilt on every nested
 * entry with use_bitmap = 1, so L0 never needs to know whether L1 changed its
 * page (nothing is write-protected, nothing checked), and rebuilt at once
 * when L0 changes its own bitmap while L2 runs (SPEC section 6, l0-set).
 */
import { ShadowBitmaps } from "../shadow.js";
import type { Strategy } from "../strategy.js";
import type { Vmcs02Layout } from "../vmcs02.js";

export function eagerL0(layout: Vmcs02Layout): Strategy["create"] {
  return (machine, counters) => {
    const shadows = new ShadowBitmaps(machine, counters, layout);
    return {
      entry: (v, state) => (state.useBitmap ? shadows.build(v, state) : null),
      l1Write() {},
      l0Changed(v, state, l2Runs) {
        if (l2Runs) shadows.build(v, state);
      },
    };
  };
}
