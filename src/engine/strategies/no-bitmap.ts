import type { Strategy } from "../strategy.js";

/**
 * L1 is not offered MSR bitmaps at all (no "use MSR bitmaps" in the VMX
 * capability MSRs: hidesMsrBitmaps), so every L2 access exits to L0 and is
 * reflected to L1.
 */
export const noBitmap: Strategy = {
  name: "no-bitmap",
  summary: "L1 gets no MSR bitmaps: every L2 access exits to L0 and is reflected to L1",
  origin: 'nobody: the upper bound, an L0 whose VMX capabilities offer L1 no "use MSR bitmaps"',
  hidesMsrBitmaps: true,
  // No entry step: L2 runs without an MSR bitmap.
  create: () => ({}),
};
