/**
 * How L0 lays out vmcs02's MSR bitmap from vmcs01's (L0's wishes) and
 * vmcs12's (L1's): the whole page ORed (kernel bug 53761, VirtualBox), the
 * same with the x2APIC range forced to trap (Xen), or all ones but for an
 * allow-list (KVM since 2021). docs/model.md §6 and §8.
 */
import { bitPosition, DIR_R, DIR_RW, DIR_W, orPages, testBit, writeBit } from "./bitmap.js";

/** One way of filling vmcs02's bitmap. */
export interface Vmcs02Layout {
  /**
   * Writes vmcs02's bitmap into `shadow` from vmcs01's and vmcs12's pages.
   * `fresh`: the shadow page is new (all zeros); otherwise it holds this
   * layout's previous build, which a sparse layout only patches.
   */
  build(shadow: Uint8Array, vmcs01: Uint8Array, vmcs12: Uint8Array, fresh: boolean): void;
}

/** vmcs01 OR vmcs12, every bit: an access exits if either hypervisor wants it. */
export const FULL_OR: Vmcs02Layout = {
  build: (shadow, vmcs01, vmcs12) => orPages(shadow, vmcs01, vmcs12),
};

/** The x2APIC MSRs, 0x800-0x8FF: 256 MSRs, so 32 bytes of each low area. */
const X2APIC_FIRST = 0x800;
const X2APIC_LAST = 0x8ff;
const X2APIC_READ_BYTES = bitPosition(X2APIC_FIRST, false) >> 3; // 0x100 in the read-low area
const X2APIC_WRITE_BYTES = bitPosition(X2APIC_FIRST, true) >> 3; // 0x900 in the write-low area
const X2APIC_BYTE_COUNT = (X2APIC_LAST - X2APIC_FIRST + 1) >> 3;
/** Every bit of a byte set: eight MSRs intercepted. */
const ALL_BITS = 0xff;

/**
 * Xen (update_msrbitmap() in xen/arch/x86/hvm/vmx/vvmx.c): vmcs01 OR vmcs12,
 * then every read and write bit of the x2APIC range set, so L2's x2APIC
 * accesses always exit whatever both hypervisors say.
 */
export const FULL_OR_X2APIC_TRAPPED: Vmcs02Layout = {
  build(shadow, vmcs01, vmcs12) {
    orPages(shadow, vmcs01, vmcs12);
    shadow.fill(ALL_BITS, X2APIC_READ_BYTES, X2APIC_READ_BYTES + X2APIC_BYTE_COUNT);
    shadow.fill(ALL_BITS, X2APIC_WRITE_BYTES, X2APIC_WRITE_BYTES + X2APIC_BYTE_COUNT);
  },
};

/** An allow-list entry: MSRs first-last, in the directions of `dir`. */
type AllowEntry = readonly [first: number, last: number, dir: number];

/**
 * The MSRs KVM 6.18 merges into vmcs02 in nested_vmx_prepare_msr_bitmap()
 * (arch/x86/kvm/vmx/nested.c), both L1 modes alike; every other bit of vmcs02
 * stays 1. KVM takes the x2APIC bits from vmcs12 alone, and only with
 * virtual-x2APIC mode, APIC-register virtualization and virtual-interrupt
 * delivery in vmcs12; the replayer assumes those are on and ORs in vmcs01's
 * bits like the rest, so an access L0 wants always exits (docs/model.md §8).
 * The mediated-PMU counters are left out (they depend on the vPMU set-up).
 */
export const SPARSE_ALLOW_LIST: readonly AllowEntry[] = [
  [0xc000_0100, 0xc000_0102, DIR_RW], // FS_BASE, GS_BASE, KERNEL_GS_BASE (64-bit KVM only)
  [0x48, 0x48, DIR_RW], // SPEC_CTRL
  [0x49, 0x49, DIR_W], // PRED_CMD: a command, write-only
  [0x10b, 0x10b, DIR_W], // FLUSH_CMD: a command, write-only
  [0xe7, 0xe7, DIR_R], // MPERF
  [0xe8, 0xe8, DIR_R], // APERF
  [0x6a0, 0x6a0, DIR_RW], // U_CET
  [0x6a2, 0x6a2, DIR_RW], // S_CET
  [0x6a4, 0x6a7, DIR_RW], // PL0_SSP-PL3_SSP
  [X2APIC_FIRST, X2APIC_LAST, DIR_R], // x2APIC reads: APIC-register virtualization
  [0x808, 0x808, DIR_W], // x2APIC TPR
  [0x80b, 0x80b, DIR_W], // x2APIC EOI: virtual-interrupt delivery
  [0x83f, 0x83f, DIR_W], // x2APIC SELF_IPI: virtual-interrupt delivery
];

/** The allow-list as bit positions in the page, once. */
const SPARSE_POSITIONS: Int32Array = Int32Array.from(
  SPARSE_ALLOW_LIST.flatMap(([first, last, dir]) => {
    const positions: number[] = [];
    for (let msr = first; msr <= last; msr++) {
      if (dir & DIR_R) positions.push(bitPosition(msr, false));
      if (dir & DIR_W) positions.push(bitPosition(msr, true));
    }
    return positions;
  }),
);

/**
 * KVM since 2021: vmcs02's bitmap is all ones, and only the allow-list bits
 * are rewritten at a merge, each as vmcs01's bit OR vmcs12's
 * (nested_vmx_set_intercept_for_msr()). The rest of the page never changes,
 * so it is filled once, when the shadow page is new.
 */
export const SPARSE: Vmcs02Layout = {
  build(shadow, vmcs01, vmcs12, fresh) {
    if (fresh) shadow.fill(ALL_BITS);
    for (let i = 0; i < SPARSE_POSITIONS.length; i++) {
      const position = SPARSE_POSITIONS[i] as number;
      writeBit(shadow, position, testBit(vmcs01, position) || testBit(vmcs12, position));
    }
  },
};
