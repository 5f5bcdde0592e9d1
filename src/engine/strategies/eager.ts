/**
 * What the eager strategies share: vmcs02's bitmap rebuilt on every nested
 * entry with use_bitmap = 1, so L0 never needs to know whether L1 changed its
 * page (nothing is write-protected, nothing checked: no l1Write), and rebuilt
 * at once when L0 changes its own bitmap while L2 runs (docs/model.md §6,
 * l0-set: the engine runs the entry step again).
 */
import { ShadowBitmaps } from "../shadow.js";
import type { Strategy } from "../strategy.js";
import type { Vmcs02Layout } from "../vmcs02.js";

export function eagerL0(layout: Vmcs02Layout): Strategy["create"] {
  return (machine, counters) => {
    const shadows = new ShadowBitmaps(machine, counters, layout);
    return {
      entry: (v, state) => (state.useBitmap ? shadows.build(v, state) : null),
    };
  };
}
