import type { Strategy } from "../strategy.js";

/**
 * KVM before 2015: prepare_vmcs02() cleared CPU_BASED_USE_MSR_BITMAPS, so L2
 * ran with no bitmap and every access exited to L0, which read L1's bitmap in
 * software (nested_vmx_exit_handled_msr()) and reflected only what L1 wanted.
 */
export const l1Filter: Strategy = {
  name: "l1-filter",
  summary: "L2 runs with no bitmap; L0 checks L1's bitmap on each exit and reflects what L1 wants",
  origin: "KVM before 2015 (prepare_vmcs02() cleared the control; nested_vmx_exit_handled_msr())",
  // No entry step: L2 runs without an MSR bitmap.
  create: () => ({}),
};
