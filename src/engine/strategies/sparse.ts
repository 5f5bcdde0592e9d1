import type { Strategy } from "../strategy.js";
import { SPARSE } from "../vmcs02.js";
import { eagerL0 } from "./eager.js";

/**
 * KVM since 2021: vmcs02's bitmap stays all ones and only an allow-list of
 * MSRs is rewritten, each bit vmcs01's OR vmcs12's, on every nested entry
 * (nested_vmx_prepare_msr_bitmap() from prepare_vmcs02()). A merge touches a
 * few hundred bits instead of a page, so it is charged `merge_sparse`.
 */
export const sparse: Strategy = {
  name: "sparse",
  summary: "vmcs02 all ones but an allow-list of MSRs, each vmcs01 OR vmcs12, rewritten on every nested entry",
  origin: "KVM since 2021 (nested_vmx_prepare_msr_bitmap(), arch/x86/kvm/vmx/nested.c)",
  mergeCost: "merge_sparse",
  repeatEntryStable: true,
  create: eagerL0(SPARSE),
};
