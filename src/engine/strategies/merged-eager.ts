import type { Strategy } from "../strategy.js";
import { FULL_OR } from "../vmcs02.js";
import { eagerL0 } from "./eager.js";

/**
 * The shadow bitmap of kernel bug 53761, vmcs01 OR vmcs12 over the whole
 * page, re-merged on every nested entry instead of tracking L1's page: what
 * VirtualBox does today (hmR0VmxMergeMsrBitmapNested() in HMVMXR0.cpp) and
 * Xen too, but for Xen's x2APIC rule (merged-eager-x2apic).
 */
export const mergedEager: Strategy = {
  name: "merged-eager",
  summary: "the same shadow bitmap, vmcs01 OR vmcs12, re-merged in full on every nested entry",
  origin: "VirtualBox today (hmR0VmxMergeMsrBitmapNested(), HMVMXR0.cpp); Xen but for x2APIC",
  repeatEntryStable: true,
  create: eagerL0(FULL_OR),
};
