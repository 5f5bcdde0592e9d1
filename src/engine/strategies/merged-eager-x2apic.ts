import type { Strategy } from "../strategy.js";
import { FULL_OR_X2APIC_TRAPPED } from "../vmcs02.js";
import { eagerL0 } from "./eager.js";

/**
 * Xen's nested VMX: vmcs01 OR vmcs12 over the whole page on every nested
 * entry, then the x2APIC range 0x800-0x8FF forced to trap both ways, so every
 * x2APIC access of L2 exits even when both hypervisors pass it through
 * (docs/model.md §8).
 */
export const mergedEagerX2apic: Strategy = {
  name: "merged-eager-x2apic",
  summary: "as merged-eager, then every x2APIC MSR (0x800-0x8ff) forced to exit, reads and writes",
  origin: "Xen today (update_msrbitmap(), xen/arch/x86/hvm/vmx/vvmx.c)",
  repeatEntryStable: true,
  create: eagerL0(FULL_OR_X2APIC_TRAPPED),
};
