import type { Strategy } from "../strategy.js";

/**
 * L1 is not offered MSR bitmaps at all (no "use MSR bitmaps" in the VMX
 * capability MSRs), so every L2 access exits to L0 and is reflected to L1.
 */
export const noBitmap: Strategy = {
  name: "no-bitmap",
  summary: "L1 gets no MSR bitmaps: every L2 access exits to L0 and is reflected to L1",
  origin: 'nobody: the upper bound, an L0 whose VMX capabilities offer L1 no "use MSR bitmaps"',
  l1WantsEverything: true,
  withoutBitmap: true,
  create: () => ({
    entry: () => null,
    l1Write() {},
    l0Changed() {},
  }),
};
