import { ShadowBitmaps } from "../shadow.js";
import type { Strategy } from "../strategy.js";
import { SPARSE } from "../vmcs02.js";

/**
 * KVM under an enlightened L1: Hyper-V's enlightened VMCS has a clean field
 * for the MSR bitmap, which L1 clears whenever it changes its bitmap, and
 * nested_vmx_prepare_msr_bitmap() skips the sparse merge while the field says
 * clean (the SVM clean bit alike). L1 itself tells L0 about its stores, so
 * nothing is write-protected: the rebuild follows any store to the page
 * since the shadow was built, as well as a new pointer, mode or L0 bitmap
 * (KVM: force_msr_bitmap_recalc).
 */
export const sparseClean: Strategy = {
  name: "sparse-clean",
  summary: "as sparse, but rebuilt only when L1 says its bitmap changed (or the pointer, mode or L0 bitmap did)",
  origin: "KVM with an enlightened L1 (Hyper-V eVMCS MSR-bitmap clean field, arch/x86/kvm/vmx/nested.c)",
  mergeCost: "merge_sparse",
  entryIdempotent: true,
  create(machine, counters) {
    const shadows = new ShadowBitmaps(machine, counters, SPARSE);
    return {
      entry(v, state) {
        if (!state.useBitmap) return null;
        const clean = shadows.builtFromNow(v, state) && !shadows.storedSinceBuilt(v);
        return clean ? shadows.current(v) : shadows.build(v, state);
      },
    };
  },
};
