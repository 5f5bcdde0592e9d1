/**
 * Built-in L1 bitmaps: the MSR bitmap a real guest hypervisor (L1) puts in
 * vmcs12 for its 64-bit guest (L2), i.e. the bitmap that hypervisor uses for
 * any guest it runs on VMX. Each list below was read from the hypervisor's
 * own source (file and function named at each profile); docs/l1-profiles.md
 * says what was checked there and what was assumed.
 *
 * Common assumptions, chosen so that the three are comparable: an Intel host
 * of the Ice Lake-SP generation as seen by L1 (APIC-register virtualisation,
 * virtual-interrupt delivery and "virtualize x2APIC mode"; IBRS/IBPB, STIBP
 * and L1D_FLUSH enumerated; no MPX, no PKS, no AMX, no IPI virtualisation),
 * EPT in use, and a 64-bit L2 in long mode with its local APIC in x2APIC
 * mode at the default base, with no PCI device passed through, and whose
 * CPUID shows SPEC_CTRL, PRED_CMD and FLUSH_CMD. Each bitmap is the state
 * while L2 runs in steady state (after any pass-through a guest's own first
 * write unlocks).
 *
 * Pure data: no I/O.
 */
import { DIR_R, DIR_RW, DIR_W, filledPage, writeMsrBits } from "../engine/bitmap.js";

type Entry = readonly [first: number, last: number, dir: number];

export interface L1Profile {
  readonly name: string;
  /** One line: what it is. */
  readonly summary: string;
  /** Where its contents come from: hypervisor, file and functions. */
  readonly source: string;
  /** What the contents depend on that the source leaves to configuration or hardware. */
  readonly assumptions: readonly string[];
  /** A fresh 4096-byte page (1 = the access exits to L1). */
  bitmap(): Uint8Array;
}

/** Every access intercepted, then `pass` cleared, then `intercept` set again. */
function page(pass: readonly Entry[], intercept: readonly Entry[] = []): () => Uint8Array {
  return () => {
    const p = filledPage(true);
    for (const [first, last, dir] of pass) for (let m = first; m <= last; m++) writeMsrBits(p, m, dir, false);
    for (const [first, last, dir] of intercept) for (let m = first; m <= last; m++) writeMsrBits(p, m, dir, true);
    return p;
  };
}

const one = (msr: number, dir: number): Entry => [msr, msr, dir];

// --- KVM (Linux arch/x86/kvm/vmx/vmx.c) -------------------------------------
// Read in torvalds/linux at commit 8ecb10bcbfa3 (6.8 development, early 2024).
// The vmcs01 bitmap KVM runs a guest on: vmx_vcpu_create() starts from an
// all-ones page (alloc_loaded_vmcs() fills it with 0xff) and calls
// vmx_disable_intercept_for_msr() for TSC (read), FS_BASE, GS_BASE,
// KERNEL_GS_BASE and SYSENTER_CS/ESP/EIP (read and write).
// vmx_vcpu_after_set_cpuid() clears the write intercept of PRED_CMD when the
// host has IBPB and the guest's CPUID shows it, and of FLUSH_CMD when the host
// has FLUSH_L1D and the guest's CPUID shows it. vmx_set_msr() passes SPEC_CTRL
// (read and write) the first time the guest writes a non-zero value to it.
// vmx_update_msr_bitmap_x2apic(), in x2APIC mode with APICv active: reads of
// 0x800-0x83f pass for exactly the registers kvm_lapic_readable_reg_mask()
// (lapic.c) calls readable, then TMCCT is intercepted again (read and write,
// KVM computes the current count); every write of 0x800-0x83f is intercepted
// except TPR (read and write pass), EOI and SELF_IPI (write); 0x840-0x8ff
// stay intercepted ("AMD's uber-extended registers"). ICR would pass too with
// IPI virtualisation (enable_ipiv on a CPU that has it), assumed absent.
const X2APIC_READABLE_KVM: readonly Entry[] = [
  one(0x802, DIR_R), // ID
  one(0x803, DIR_R), // LVR (version)
  one(0x808, DIR_R), // TASKPRI (TPR)
  one(0x80a, DIR_R), // PROCPRI (PPR)
  one(0x80d, DIR_R), // LDR
  one(0x80f, DIR_R), // SPIV
  [0x810, 0x827, DIR_R], // ISR0-7, TMR0-7, IRR0-7
  one(0x828, DIR_R), // ESR
  one(0x830, DIR_R), // ICR (64-bit in x2APIC mode)
  [0x832, 0x839, DIR_R], // LVTT, LVTTHMR, LVTPC, LVT0, LVT1, LVTERR, TMICT, TMCCT
  one(0x83e, DIR_R), // TDCR
  // Not readable: 0x800-0x801, 0x804-0x807, 0x809 (ARBPRI, not in x2APIC mode),
  // 0x80b (EOI, write-only), 0x80c (RRD), 0x80e (DFR, not in x2APIC mode),
  // 0x829-0x82e, 0x82f (LVTCMCI: only if the guest's MCG_CAP has CMCI_P,
  // assumed not), 0x831 (ICR2, not in x2APIC mode), 0x83a-0x83d, 0x83f
  // (SELF_IPI, write-only).
];

const KVM: L1Profile = {
  name: "kvm",
  summary:
    "KVM (Linux 6.x) for a 64-bit x2APIC guest with APICv: FS/GS/KERNEL_GS_BASE, SYSENTER_*, TSC read, SPEC_CTRL, PRED_CMD and FLUSH_CMD writes, readable x2APIC registers but TMCCT, TPR, EOI and SELF_IPI writes",
  source:
    "Linux arch/x86/kvm/vmx/vmx.c: vmx_vcpu_create(), vmx_vcpu_after_set_cpuid(), vmx_set_msr() (MSR_IA32_SPEC_CTRL), vmx_update_msr_bitmap_x2apic(); arch/x86/kvm/lapic.c: kvm_lapic_readable_reg_mask()",
  assumptions: [
    "APICv active with x2APIC virtualisation; no IPI virtualisation (else ICR passes too)",
    "the guest has written a non-zero SPEC_CTRL (before that SPEC_CTRL is intercepted)",
    "guest CPUID shows IBPB and FLUSH_L1D; no AMX/XFD, no guest LBR, no Intel PT in host-guest mode",
    "C-state MSRs are not passed (no KVM_X86_DISABLE_EXITS_CSTATE); no userspace MSR filter",
    "the guest's MCG_CAP has no CMCI_P (else LVTCMCI 0x82f reads pass)",
  ],
  bitmap: page(
    [
      one(0x10, DIR_R), // TSC
      [0xc000_0100, 0xc000_0102, DIR_RW], // FS_BASE, GS_BASE, KERNEL_GS_BASE
      [0x174, 0x176, DIR_RW], // SYSENTER_CS/ESP/EIP
      one(0x48, DIR_RW), // SPEC_CTRL, after the guest's first non-zero write
      one(0x49, DIR_W), // PRED_CMD
      one(0x10b, DIR_W), // FLUSH_CMD
      ...X2APIC_READABLE_KVM,
      one(0x808, DIR_RW), // TPR
      one(0x80b, DIR_W), // EOI
      one(0x83f, DIR_W), // SELF_IPI
    ],
    [one(0x839, DIR_RW)], // TMCCT
  ),
};

// --- Xen (xen/arch/x86/hvm/vmx/vmcs.c and vmx.c) -----------------------------
// Read in a 2024 Xen tree (a xen.git mirror, TSnake41/xen at fb692791b990,
// with Xen 4.19's BHI_DIS_S and entry-IBPB code).
// construct_vmcs() (vmcs.c) fills the bitmap with ones and clears FS_BASE,
// GS_BASE, SHADOW_GS_BASE and SYSENTER_CS/ESP/EIP (read and write); PAT (read
// and write) when the domain uses HAP and has no IOMMU or a snooping one;
// BNDCFGS when the CPU has the MPX VM-entry/exit controls (assumed absent).
// vmx_cpuid_policy_changed() (vmx.c) clears SPEC_CTRL (read and write) when
// the guest's policy has IBRSB, PRED_CMD (read and write) when it has IBRSB or
// IBPB, FLUSH_CMD (read and write) when it has L1D_FLUSH, PKRS when it has PKS
// (assumed absent). vmx_vlapic_msr_changed() (vmx.c), guest in x2APIC mode
// with "virtualize x2APIC mode": with APIC-register virtualisation, reads of
// the whole MSR_X2APIC_FIRST..MSR_X2APIC_LAST range (0x800-0x8ff) pass except
// PPR, TMICT and TMCCT; with virtual-interrupt delivery, writes of TPR, EOI
// and SELF pass. Xen passes PRED_CMD and FLUSH_CMD reads too (they #GP on
// hardware, so nothing leaks).
const XEN: L1Profile = {
  name: "xen",
  summary:
    "Xen HVM on VMX with APICv: FS/GS/SHADOW_GS_BASE, SYSENTER_*, PAT, SPEC_CTRL, PRED_CMD, FLUSH_CMD, x2APIC reads 0x800-0x8ff but PPR/TMICT/TMCCT, TPR, EOI and SELF_IPI writes",
  source:
    "Xen xen/arch/x86/hvm/vmx/vmcs.c: construct_vmcs(); xen/arch/x86/hvm/vmx/vmx.c: vmx_cpuid_policy_changed(), vmx_vlapic_msr_changed(); xen/arch/x86/include/asm/msr-index.h: MSR_X2APIC_FIRST/LAST",
  assumptions: [
    "HAP (EPT) and no passed-through device on a non-snooping IOMMU (else PAT is intercepted)",
    "no MPX VM-entry/exit controls (else BNDCFGS passes); guest policy without PKS (else PKRS passes)",
    "APIC-register virtualisation, virtual-interrupt delivery and x2APIC virtualisation available and enabled for the domain",
    "guest policy has IBRSB and L1D_FLUSH; the guest has not enabled LBR (else the LBR MSRs pass)",
  ],
  bitmap: page([
    [0xc000_0100, 0xc000_0102, DIR_RW], // FS_BASE, GS_BASE, SHADOW_GS_BASE
    [0x174, 0x176, DIR_RW], // SYSENTER_CS/ESP/EIP
    one(0x277, DIR_RW), // PAT
    one(0x48, DIR_RW), // SPEC_CTRL
    one(0x49, DIR_RW), // PRED_CMD
    one(0x10b, DIR_RW), // FLUSH_CMD
    [0x800, 0x809, DIR_R], // x2APIC reads, 0x800-0x8ff, but PPR 0x80a ...
    [0x80b, 0x837, DIR_R], // ... TMICT 0x838 and TMCCT 0x839
    [0x83a, 0x8ff, DIR_R],
    one(0x808, DIR_W), // TPR
    one(0x80b, DIR_W), // EOI
    one(0x83f, DIR_W), // SELF
  ]),
};

// --- VirtualBox (src/VBox/VMM/VMMR0/HMVMXR0.cpp) -----------------------------
// Read in VirtualBox/virtualbox, HMVMXR0.cpp revision 106320 (October 2024).
// hmR0VmxSetupVmcsMsrPermissions() fills the bitmap with ones and allows read
// and write of SYSENTER_CS/ESP/EIP, GS_BASE and FS_BASE; PRED_CMD if the guest
// has IBPB, FLUSH_CMD if it has FLUSH_CMD, SPEC_CTRL if it has IBRS; and, when
// 64-bit guests are allowed, LSTAR, STAR, SF_MASK (FMASK) and KERNEL_GS_BASE
// (kept in the CPU lazily). EFER stays intercepted. hmR0VmxPreRunGuestCommitted()
// adds TSC_AUX to the auto-load/store area with read/write allowed before each
// VM entry when RDTSCP is exposed and RDTSC is not intercepted (TSC
// offsetting), and hmR0VmxPostRunGuest() removes it after the exit: it passes
// while the guest runs. VirtualBox's VT-x code does not use APIC-register
// virtualisation (that block of hmR0VmxSetupVmcsProcCtls2() is #if 0), so the
// whole x2APIC range exits.
const VIRTUALBOX: L1Profile = {
  name: "virtualbox",
  summary:
    "VirtualBox 7 HM/VT-x: SYSENTER_*, FS/GS_BASE, KERNEL_GS_BASE, LSTAR, STAR, FMASK, TSC_AUX, SPEC_CTRL, PRED_CMD, FLUSH_CMD; no x2APIC pass-through",
  source:
    "VirtualBox src/VBox/VMM/VMMR0/HMVMXR0.cpp: hmR0VmxSetupVmcsMsrPermissions(), hmR0VmxPreRunGuestCommitted() / hmR0VmxPostRunGuest() (TSC_AUX), hmR0VmxSetupVmcsProcCtls2() (no APIC-register virtualisation)",
  assumptions: [
    "the VM's speculation-control setting is on (VBoxManage modifyvm --spec-ctrl on; off by default), so the guest has IBRS, IBPB and FLUSH_CMD",
    "64-bit guests allowed (LSTAR, STAR, FMASK, KERNEL_GS_BASE pass)",
    "RDTSCP exposed and RDTSC not intercepted, so TSC_AUX passes while the guest runs",
    "LBR virtualisation off (else the LBR MSRs pass)",
  ],
  bitmap: page([
    [0x174, 0x176, DIR_RW], // SYSENTER_CS/ESP/EIP
    [0xc000_0100, 0xc000_0101, DIR_RW], // FS_BASE, GS_BASE
    one(0x49, DIR_RW), // PRED_CMD
    one(0x10b, DIR_RW), // FLUSH_CMD
    one(0x48, DIR_RW), // SPEC_CTRL
    [0xc000_0081, 0xc000_0082, DIR_RW], // STAR, LSTAR
    one(0xc000_0084, DIR_RW), // SF_MASK (FMASK)
    one(0xc000_0102, DIR_RW), // KERNEL_GS_BASE
    one(0xc000_0103, DIR_RW), // TSC_AUX
  ]),
};

export const L1_PROFILES: readonly L1Profile[] = [KVM, XEN, VIRTUALBOX];

export function findL1Profile(name: string): L1Profile | undefined {
  return L1_PROFILES.find((p) => p.name === name);
}
