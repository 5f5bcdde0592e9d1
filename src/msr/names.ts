/**
 * Names for x86 model-specific register (MSR) indices.
 *
 * Canonical names follow the short spellings used by KVM and the Linux kernel,
 * upper case, without the `MSR_` / `MSR_IA32_` prefix (so `TSC`, `APIC_BASE`,
 * `VMX_BASIC`). Hyper-V synthetic MSRs keep their `HV_X64_` prefix and KVM's
 * paravirtual MSRs their `KVM_` prefix, since those prefixes are what tell the
 * two families apart.
 *
 * Every index below was checked against the source named in the comment that
 * heads its group. Where the kernel defines only a base index plus a stride
 * (machine-check banks, variable-range MTRRs, x2APIC registers, counter
 * arrays), each entry was computed from that definition and cross-checked
 * against an independent listing of the SDM numbers.
 *
 * Pure data and lookups: no I/O, no dependencies.
 */

/** One entry of {@link KNOWN_MSRS}. */
export interface KnownMsr {
  readonly msr: number;
  readonly name: string;
}

/**
 * The table. Grouped by source, not sorted; {@link KNOWN_MSRS} is the sorted
 * view. No index and no name may appear twice (the tests enforce this).
 */
const TABLE: ReadonlyArray<readonly [number, string]> = [
  // --- msr-index.h: x86-64 system-call and segment-base MSRs ---
  [0xc0000080, "EFER"],
  [0xc0000081, "STAR"],
  [0xc0000082, "LSTAR"],
  [0xc0000083, "CSTAR"],
  [0xc0000084, "FMASK"], // kernel: MSR_SYSCALL_MASK
  [0xc0000100, "FS_BASE"],
  [0xc0000101, "GS_BASE"],
  [0xc0000102, "KERNEL_GS_BASE"],
  [0xc0000103, "TSC_AUX"],

  // --- msr-index.h: architectural / widely implemented Intel MSRs ---
  [0x00000000, "P5_MC_ADDR"],
  [0x00000001, "P5_MC_TYPE"],
  [0x00000010, "TSC"],
  [0x00000017, "PLATFORM_ID"],
  [0x0000001b, "APIC_BASE"], // kernel: MSR_IA32_APICBASE
  [0x0000002a, "EBL_CR_POWERON"],
  [0x00000033, "TEST_CTRL"],
  [0x00000034, "SMI_COUNT"],
  [0x0000003a, "FEATURE_CONTROL"], // kernel: MSR_IA32_FEAT_CTL
  [0x0000003b, "TSC_ADJUST"],
  [0x00000048, "SPEC_CTRL"],
  [0x00000049, "PRED_CMD"],
  [0x0000004e, "PPIN_CTL"],
  [0x0000004f, "PPIN"],
  [0x00000079, "UCODE_WRITE"], // SDM: IA32_BIOS_UPDT_TRIG
  [0x0000008b, "UCODE_REV"], // SDM: IA32_BIOS_SIGN_ID; AMD: PATCH_LEVEL
  [0x0000008c, "SGXLEPUBKEYHASH0"],
  [0x0000008d, "SGXLEPUBKEYHASH1"],
  [0x0000008e, "SGXLEPUBKEYHASH2"],
  [0x0000008f, "SGXLEPUBKEYHASH3"],
  [0x0000009b, "SMM_MONITOR_CTL"],
  [0x0000009e, "SMBASE"],
  [0x000000bd, "XAPIC_DISABLE_STATUS"],
  [0x000000ce, "PLATFORM_INFO"],
  [0x000000cf, "CORE_CAPABILITIES"], // kernel: MSR_IA32_CORE_CAPS
  [0x000000e1, "UMWAIT_CONTROL"],
  [0x000000e2, "PKG_CST_CONFIG_CONTROL"],
  [0x000000e7, "MPERF"],
  [0x000000e8, "APERF"],
  [0x0000010a, "ARCH_CAPABILITIES"],
  [0x0000010b, "FLUSH_CMD"],
  [0x0000010f, "TSX_FORCE_ABORT"],
  [0x00000122, "TSX_CTRL"],
  [0x00000123, "MCU_OPT_CTRL"],
  [0x00000140, "MISC_FEATURES_ENABLES"],
  [0x00000174, "SYSENTER_CS"],
  [0x00000175, "SYSENTER_ESP"],
  [0x00000176, "SYSENTER_EIP"],
  [0x00000198, "PERF_STATUS"],
  [0x00000199, "PERF_CTL"],
  [0x0000019a, "THERM_CONTROL"],
  [0x0000019b, "THERM_INTERRUPT"],
  [0x0000019c, "THERM_STATUS"],
  [0x0000019d, "THERM2_CTL"],
  [0x000001a0, "MISC_ENABLE"],
  [0x000001a2, "TEMPERATURE_TARGET"],
  [0x000001a4, "MISC_FEATURE_CONTROL"],
  [0x000001a6, "OFFCORE_RSP_0"],
  [0x000001a7, "OFFCORE_RSP_1"],
  [0x000001ad, "TURBO_RATIO_LIMIT"],
  [0x000001b0, "ENERGY_PERF_BIAS"],
  [0x000001b1, "PACKAGE_THERM_STATUS"],
  [0x000001b2, "PACKAGE_THERM_INTERRUPT"],
  [0x000001c4, "XFD"],
  [0x000001c5, "XFD_ERR"],
  [0x000001fc, "POWER_CTL"],
  [0x00000277, "PAT"], // kernel: MSR_IA32_CR_PAT
  [0x000006e0, "TSC_DEADLINE"],
  [0x000006e1, "PKRS"],
  [0x00000d90, "BNDCFGS"],
  [0x00000d93, "PASID"],
  [0x00000da0, "XSS"],
  [0x000017d0, "HW_FEEDBACK_PTR"],
  [0x000017d1, "HW_FEEDBACK_CONFIG"],

  // --- msr-index.h: FRED stack and configuration MSRs ---
  [0x000001cc, "FRED_RSP0"],
  [0x000001cd, "FRED_RSP1"],
  [0x000001ce, "FRED_RSP2"],
  [0x000001cf, "FRED_RSP3"],
  [0x000001d0, "FRED_STKLVLS"],
  [0x000001d1, "FRED_SSP1"],
  [0x000001d2, "FRED_SSP2"],
  [0x000001d3, "FRED_SSP3"],
  [0x000001d4, "FRED_CONFIG"],

  // --- msr-index.h: CET (shadow stack / indirect branch tracking) ---
  // FRED_SSP0 has no index of its own: it is PL0_SSP (0x6A4).
  [0x000006a0, "U_CET"],
  [0x000006a2, "S_CET"],
  [0x000006a4, "PL0_SSP"],
  [0x000006a5, "PL1_SSP"],
  [0x000006a6, "PL2_SSP"],
  [0x000006a7, "PL3_SSP"],
  [0x000006a8, "INT_SSP_TAB"],

  // --- msr-index.h: machine check (global registers and banks 0-3) ---
  // Banks use the kernel's MSR_IA32_MCx_{CTL,STATUS,ADDR,MISC}(x) stride of 4
  // from MC0_CTL and MSR_IA32_MCx_CTL2(x) stride of 1 from MC0_CTL2.
  [0x00000179, "MCG_CAP"],
  [0x0000017a, "MCG_STATUS"],
  [0x0000017b, "MCG_CTL"],
  [0x000004d0, "MCG_EXT_CTL"],
  [0x00000280, "MC0_CTL2"],
  [0x00000281, "MC1_CTL2"],
  [0x00000282, "MC2_CTL2"],
  [0x00000283, "MC3_CTL2"],
  [0x00000400, "MC0_CTL"],
  [0x00000401, "MC0_STATUS"],
  [0x00000402, "MC0_ADDR"],
  [0x00000403, "MC0_MISC"],
  [0x00000404, "MC1_CTL"],
  [0x00000405, "MC1_STATUS"],
  [0x00000406, "MC1_ADDR"],
  [0x00000407, "MC1_MISC"],
  [0x00000408, "MC2_CTL"],
  [0x00000409, "MC2_STATUS"],
  [0x0000040a, "MC2_ADDR"],
  [0x0000040b, "MC2_MISC"],
  [0x0000040c, "MC3_CTL"],
  [0x0000040d, "MC3_STATUS"],
  [0x0000040e, "MC3_ADDR"],
  [0x0000040f, "MC3_MISC"],

  // --- msr-index.h (MTRRcap, fixed ranges, default type) and
  //     uapi/asm/mtrr.h (MTRRphysBase_MSR / MTRRphysMask_MSR: 0x200 + 2n [+1]) ---
  [0x000000fe, "MTRRCAP"],
  [0x00000200, "MTRR_PHYSBASE0"],
  [0x00000201, "MTRR_PHYSMASK0"],
  [0x00000202, "MTRR_PHYSBASE1"],
  [0x00000203, "MTRR_PHYSMASK1"],
  [0x00000204, "MTRR_PHYSBASE2"],
  [0x00000205, "MTRR_PHYSMASK2"],
  [0x00000206, "MTRR_PHYSBASE3"],
  [0x00000207, "MTRR_PHYSMASK3"],
  [0x00000208, "MTRR_PHYSBASE4"],
  [0x00000209, "MTRR_PHYSMASK4"],
  [0x0000020a, "MTRR_PHYSBASE5"],
  [0x0000020b, "MTRR_PHYSMASK5"],
  [0x0000020c, "MTRR_PHYSBASE6"],
  [0x0000020d, "MTRR_PHYSMASK6"],
  [0x0000020e, "MTRR_PHYSBASE7"],
  [0x0000020f, "MTRR_PHYSMASK7"],
  [0x00000210, "MTRR_PHYSBASE8"],
  [0x00000211, "MTRR_PHYSMASK8"],
  [0x00000212, "MTRR_PHYSBASE9"],
  [0x00000213, "MTRR_PHYSMASK9"],
  [0x00000250, "MTRR_FIX64K_00000"],
  [0x00000258, "MTRR_FIX16K_80000"],
  [0x00000259, "MTRR_FIX16K_A0000"],
  [0x00000268, "MTRR_FIX4K_C0000"],
  [0x00000269, "MTRR_FIX4K_C8000"],
  [0x0000026a, "MTRR_FIX4K_D0000"],
  [0x0000026b, "MTRR_FIX4K_D8000"],
  [0x0000026c, "MTRR_FIX4K_E0000"],
  [0x0000026d, "MTRR_FIX4K_E8000"],
  [0x0000026e, "MTRR_FIX4K_F0000"],
  [0x0000026f, "MTRR_FIX4K_F8000"],
  [0x000002ff, "MTRR_DEF_TYPE"],

  // --- perf_event.h (MSR_ARCH_PERFMON_PERFCTR0 / EVENTSEL0 bases, stride 1)
  //     and msr-index.h (full-width MSR_IA32_PMC0 base, fixed and global
  //     counter controls, PEBS, DS area, debug control) ---
  // Note: PMC0 here is the SDM's IA32_PMC0 (0xC1). The kernel's macro
  // MSR_IA32_PMC0 is the full-width alias 0x4C1, which this table calls A_PMC0.
  [0x000000c1, "PMC0"],
  [0x000000c2, "PMC1"],
  [0x000000c3, "PMC2"],
  [0x000000c4, "PMC3"],
  [0x000000c5, "PMC4"],
  [0x000000c6, "PMC5"],
  [0x000000c7, "PMC6"],
  [0x000000c8, "PMC7"],
  [0x00000186, "PERFEVTSEL0"],
  [0x00000187, "PERFEVTSEL1"],
  [0x00000188, "PERFEVTSEL2"],
  [0x00000189, "PERFEVTSEL3"],
  [0x0000018a, "PERFEVTSEL4"],
  [0x0000018b, "PERFEVTSEL5"],
  [0x0000018c, "PERFEVTSEL6"],
  [0x0000018d, "PERFEVTSEL7"],
  [0x000004c1, "A_PMC0"],
  [0x000004c2, "A_PMC1"],
  [0x000004c3, "A_PMC2"],
  [0x000004c4, "A_PMC3"],
  [0x000004c5, "A_PMC4"],
  [0x000004c6, "A_PMC5"],
  [0x000004c7, "A_PMC6"],
  [0x000004c8, "A_PMC7"],
  [0x00000309, "FIXED_CTR0"], // kernel: MSR_CORE_PERF_FIXED_CTR0
  [0x0000030a, "FIXED_CTR1"],
  [0x0000030b, "FIXED_CTR2"],
  [0x0000030c, "FIXED_CTR3"],
  [0x00000329, "PERF_METRICS"],
  [0x00000345, "PERF_CAPABILITIES"],
  [0x0000038d, "FIXED_CTR_CTRL"], // kernel: MSR_CORE_PERF_FIXED_CTR_CTRL
  [0x0000038e, "PERF_GLOBAL_STATUS"], // kernel: MSR_CORE_PERF_GLOBAL_*
  [0x0000038f, "PERF_GLOBAL_CTRL"],
  [0x00000390, "PERF_GLOBAL_OVF_CTRL"],
  [0x00000391, "PERF_GLOBAL_STATUS_SET"],
  [0x00000392, "PERF_GLOBAL_INUSE"],
  [0x000003f1, "PEBS_ENABLE"],
  [0x000003f2, "PEBS_DATA_CFG"],
  [0x000003f6, "PEBS_LD_LAT_THRESHOLD"],
  [0x000003f7, "PEBS_FRONTEND"],
  [0x00000600, "DS_AREA"],
  [0x000001d9, "DEBUGCTL"], // kernel: MSR_IA32_DEBUGCTLMSR
  [0x000001db, "LASTBRANCHFROMIP"],
  [0x000001dc, "LASTBRANCHTOIP"],
  [0x000001dd, "LASTINTFROMIP"],
  [0x000001de, "LASTINTTOIP"],

  // --- msr-index.h: last branch records (first entry of each array only) ---
  [0x000001c8, "LBR_SELECT"],
  [0x000001c9, "LBR_TOS"],
  [0x00000dc0, "LBR_INFO_0"],
  [0x00001200, "ARCH_LBR_INFO_0"],
  [0x000014ce, "ARCH_LBR_CTL"],
  [0x000014cf, "ARCH_LBR_DEPTH"],
  [0x00001500, "ARCH_LBR_FROM_0"],
  [0x00001600, "ARCH_LBR_TO_0"],

  // --- msr-index.h: Intel Processor Trace ---
  [0x00000560, "RTIT_OUTPUT_BASE"],
  [0x00000561, "RTIT_OUTPUT_MASK"],
  [0x00000570, "RTIT_CTL"],
  [0x00000571, "RTIT_STATUS"],
  [0x00000572, "RTIT_CR3_MATCH"],
  [0x00000580, "RTIT_ADDR0_A"],
  [0x00000581, "RTIT_ADDR0_B"],
  [0x00000582, "RTIT_ADDR1_A"],
  [0x00000583, "RTIT_ADDR1_B"],
  [0x00000584, "RTIT_ADDR2_A"],
  [0x00000585, "RTIT_ADDR2_B"],
  [0x00000586, "RTIT_ADDR3_A"],
  [0x00000587, "RTIT_ADDR3_B"],

  // --- msr-index.h: RAPL energy reporting and HWP ---
  [0x00000606, "RAPL_POWER_UNIT"],
  [0x00000610, "PKG_POWER_LIMIT"],
  [0x00000611, "PKG_ENERGY_STATUS"],
  [0x00000614, "PKG_POWER_INFO"],
  [0x00000619, "DRAM_ENERGY_STATUS"],
  [0x00000639, "PP0_ENERGY_STATUS"],
  [0x00000641, "PP1_ENERGY_STATUS"],
  [0x00000770, "PM_ENABLE"],
  [0x00000771, "HWP_CAPABILITIES"],
  [0x00000772, "HWP_REQUEST_PKG"],
  [0x00000773, "HWP_INTERRUPT"],
  [0x00000774, "HWP_REQUEST"],
  [0x00000777, "HWP_STATUS"],

  // --- msr-index.h: VMX capability reporting ---
  [0x00000480, "VMX_BASIC"],
  [0x00000481, "VMX_PINBASED_CTLS"],
  [0x00000482, "VMX_PROCBASED_CTLS"],
  [0x00000483, "VMX_EXIT_CTLS"],
  [0x00000484, "VMX_ENTRY_CTLS"],
  [0x00000485, "VMX_MISC"],
  [0x00000486, "VMX_CR0_FIXED0"],
  [0x00000487, "VMX_CR0_FIXED1"],
  [0x00000488, "VMX_CR4_FIXED0"],
  [0x00000489, "VMX_CR4_FIXED1"],
  [0x0000048a, "VMX_VMCS_ENUM"],
  [0x0000048b, "VMX_PROCBASED_CTLS2"],
  [0x0000048c, "VMX_EPT_VPID_CAP"],
  [0x0000048d, "VMX_TRUE_PINBASED_CTLS"],
  [0x0000048e, "VMX_TRUE_PROCBASED_CTLS"],
  [0x0000048f, "VMX_TRUE_EXIT_CTLS"],
  [0x00000490, "VMX_TRUE_ENTRY_CTLS"],
  [0x00000491, "VMX_VMFUNC"],
  [0x00000492, "VMX_PROCBASED_CTLS3"],

  // --- SDM Vol. 3A table 'x2APIC Register Address Space'; computed as
  //     APIC_BASE_MSR (0x800) + (xAPIC MMIO offset >> 4) using apicdef.h
  //     offsets, the same mapping KVM's lapic.c applies. DFR (0x80E),
  //     ICR2 (0x831) and APR (0x809) do not exist in x2APIC mode. ---
  [0x00000802, "X2APIC_APICID"],
  [0x00000803, "X2APIC_VERSION"],
  [0x00000808, "X2APIC_TPR"],
  [0x0000080a, "X2APIC_PPR"],
  [0x0000080b, "X2APIC_EOI"],
  [0x0000080d, "X2APIC_LDR"],
  [0x0000080f, "X2APIC_SIVR"],
  [0x00000810, "X2APIC_ISR0"],
  [0x00000811, "X2APIC_ISR1"],
  [0x00000812, "X2APIC_ISR2"],
  [0x00000813, "X2APIC_ISR3"],
  [0x00000814, "X2APIC_ISR4"],
  [0x00000815, "X2APIC_ISR5"],
  [0x00000816, "X2APIC_ISR6"],
  [0x00000817, "X2APIC_ISR7"],
  [0x00000818, "X2APIC_TMR0"],
  [0x00000819, "X2APIC_TMR1"],
  [0x0000081a, "X2APIC_TMR2"],
  [0x0000081b, "X2APIC_TMR3"],
  [0x0000081c, "X2APIC_TMR4"],
  [0x0000081d, "X2APIC_TMR5"],
  [0x0000081e, "X2APIC_TMR6"],
  [0x0000081f, "X2APIC_TMR7"],
  [0x00000820, "X2APIC_IRR0"],
  [0x00000821, "X2APIC_IRR1"],
  [0x00000822, "X2APIC_IRR2"],
  [0x00000823, "X2APIC_IRR3"],
  [0x00000824, "X2APIC_IRR4"],
  [0x00000825, "X2APIC_IRR5"],
  [0x00000826, "X2APIC_IRR6"],
  [0x00000827, "X2APIC_IRR7"],
  [0x00000828, "X2APIC_ESR"],
  [0x0000082f, "X2APIC_LVT_CMCI"],
  [0x00000830, "X2APIC_ICR"],
  [0x00000832, "X2APIC_LVT_TIMER"],
  [0x00000833, "X2APIC_LVT_THERMAL"],
  [0x00000834, "X2APIC_LVT_PMI"],
  [0x00000835, "X2APIC_LVT_LINT0"],
  [0x00000836, "X2APIC_LVT_LINT1"],
  [0x00000837, "X2APIC_LVT_ERROR"],
  [0x00000838, "X2APIC_TMICT"],
  [0x00000839, "X2APIC_TMCCT"],
  [0x0000083e, "X2APIC_TDCR"],
  [0x0000083f, "X2APIC_SELF_IPI"],

  // --- uapi/asm/kvm_para.h: KVM paravirtual MSRs ---
  [0x00000011, "KVM_WALL_CLOCK"],
  [0x00000012, "KVM_SYSTEM_TIME"],
  [0x4b564d00, "KVM_WALL_CLOCK_NEW"],
  [0x4b564d01, "KVM_SYSTEM_TIME_NEW"],
  [0x4b564d02, "KVM_ASYNC_PF_EN"],
  [0x4b564d03, "KVM_STEAL_TIME"],
  [0x4b564d04, "KVM_PV_EOI_EN"],
  [0x4b564d05, "KVM_POLL_CONTROL"],
  [0x4b564d06, "KVM_ASYNC_PF_INT"],
  [0x4b564d07, "KVM_ASYNC_PF_ACK"],
  [0x4b564d08, "KVM_MIGRATION_CONTROL"],

  // --- hyperv-tlfs.h / hvgdk_mini.h: Hyper-V synthetic MSRs ---
  [0x40000000, "HV_X64_GUEST_OS_ID"],
  [0x40000001, "HV_X64_HYPERCALL"],
  [0x40000002, "HV_X64_VP_INDEX"],
  [0x40000003, "HV_X64_RESET"],
  [0x40000010, "HV_X64_VP_RUNTIME"],
  [0x40000020, "HV_X64_TIME_REF_COUNT"],
  [0x40000021, "HV_X64_REFERENCE_TSC"],
  [0x40000022, "HV_X64_TSC_FREQUENCY"],
  [0x40000023, "HV_X64_APIC_FREQUENCY"],
  [0x40000070, "HV_X64_EOI"],
  [0x40000071, "HV_X64_ICR"],
  [0x40000072, "HV_X64_TPR"],
  [0x40000073, "HV_X64_VP_ASSIST_PAGE"],
  // SynIC
  [0x40000080, "HV_X64_SCONTROL"],
  [0x40000081, "HV_X64_SVERSION"],
  [0x40000082, "HV_X64_SIEFP"],
  [0x40000083, "HV_X64_SIMP"],
  [0x40000084, "HV_X64_EOM"],
  [0x40000085, "HV_X64_SIRBP"],
  [0x40000090, "HV_X64_SINT0"],
  [0x40000091, "HV_X64_SINT1"],
  [0x40000092, "HV_X64_SINT2"],
  [0x40000093, "HV_X64_SINT3"],
  [0x40000094, "HV_X64_SINT4"],
  [0x40000095, "HV_X64_SINT5"],
  [0x40000096, "HV_X64_SINT6"],
  [0x40000097, "HV_X64_SINT7"],
  [0x40000098, "HV_X64_SINT8"],
  [0x40000099, "HV_X64_SINT9"],
  [0x4000009a, "HV_X64_SINT10"],
  [0x4000009b, "HV_X64_SINT11"],
  [0x4000009c, "HV_X64_SINT12"],
  [0x4000009d, "HV_X64_SINT13"],
  [0x4000009e, "HV_X64_SINT14"],
  [0x4000009f, "HV_X64_SINT15"],
  // synthetic timers
  [0x400000b0, "HV_X64_STIMER0_CONFIG"],
  [0x400000b1, "HV_X64_STIMER0_COUNT"],
  [0x400000b2, "HV_X64_STIMER1_CONFIG"],
  [0x400000b3, "HV_X64_STIMER1_COUNT"],
  [0x400000b4, "HV_X64_STIMER2_CONFIG"],
  [0x400000b5, "HV_X64_STIMER2_COUNT"],
  [0x400000b6, "HV_X64_STIMER3_CONFIG"],
  [0x400000b7, "HV_X64_STIMER3_COUNT"],
  [0x400000f0, "HV_X64_GUEST_IDLE"],
  // synthetic debugger (KVM's arch/x86/kvm/hyperv.h, QEMU's hyperv-proto.h)
  [0x400000f1, "HV_X64_SYNDBG_CONTROL"],
  [0x400000f2, "HV_X64_SYNDBG_STATUS"],
  [0x400000f3, "HV_X64_SYNDBG_SEND_BUFFER"],
  [0x400000f4, "HV_X64_SYNDBG_RECV_BUFFER"],
  [0x400000f5, "HV_X64_SYNDBG_PENDING_BUFFER"],
  [0x400000ff, "HV_X64_SYNDBG_OPTIONS"],
  // guest crash reporting
  [0x40000100, "HV_X64_CRASH_P0"],
  [0x40000101, "HV_X64_CRASH_P1"],
  [0x40000102, "HV_X64_CRASH_P2"],
  [0x40000103, "HV_X64_CRASH_P3"],
  [0x40000104, "HV_X64_CRASH_P4"],
  [0x40000105, "HV_X64_CRASH_CTL"],
  // TSC handling across migration
  [0x40000106, "HV_X64_REENLIGHTENMENT_CONTROL"],
  [0x40000107, "HV_X64_TSC_EMULATION_CONTROL"],
  [0x40000108, "HV_X64_TSC_EMULATION_STATUS"],
  [0x40000118, "HV_X64_TSC_INVARIANT_CONTROL"],
  // SynIC as seen by a nested (L1) hypervisor running on Hyper-V
  [0x40001080, "HV_X64_NESTED_SCONTROL"],
  [0x40001081, "HV_X64_NESTED_SVERSION"],
  [0x40001082, "HV_X64_NESTED_SIEFP"],
  [0x40001083, "HV_X64_NESTED_SIMP"],
  [0x40001084, "HV_X64_NESTED_EOM"],
  [0x40001090, "HV_X64_NESTED_SINT0"],

  // --- msr-index.h: AMD MSRs a hypervisor commonly handles ---
  [0xc00000e9, "F17H_IRPERF"],
  [0xc0000104, "AMD64_TSC_RATIO"],
  [0xc000010e, "AMD64_LBR_SELECT"],
  [0xc000010f, "AMD_DBG_EXTN_CFG"],
  [0xc0000300, "AMD64_PERF_CNTR_GLOBAL_STATUS"],
  [0xc0000301, "AMD64_PERF_CNTR_GLOBAL_CTL"],
  [0xc0000302, "AMD64_PERF_CNTR_GLOBAL_STATUS_CLR"],
  [0xc0010000, "K7_EVNTSEL0"],
  [0xc0010001, "K7_EVNTSEL1"],
  [0xc0010002, "K7_EVNTSEL2"],
  [0xc0010003, "K7_EVNTSEL3"],
  [0xc0010004, "K7_PERFCTR0"],
  [0xc0010005, "K7_PERFCTR1"],
  [0xc0010006, "K7_PERFCTR2"],
  [0xc0010007, "K7_PERFCTR3"],
  [0xc0010010, "AMD64_SYSCFG"],
  [0xc0010015, "K7_HWCR"],
  [0xc001001a, "K8_TOP_MEM1"],
  [0xc001001d, "K8_TOP_MEM2"],
  [0xc001001f, "AMD64_NB_CFG"],
  [0xc0010020, "AMD64_PATCH_LOADER"],
  [0xc0010055, "K8_INT_PENDING_MSG"],
  [0xc0010062, "AMD_PERF_CTL"],
  [0xc0010063, "AMD_PERF_STATUS"],
  [0xc0010114, "VM_CR"],
  [0xc0010115, "VM_IGNNE"],
  [0xc0010117, "VM_HSAVE_PA"],
  [0xc001011b, "AMD64_SVM_AVIC_DOORBELL"],
  [0xc001011e, "AMD64_VM_PAGE_FLUSH"],
  [0xc001011f, "AMD64_VIRT_SPEC_CTRL"],
  [0xc0010130, "AMD64_SEV_ES_GHCB"],
  [0xc0010131, "AMD64_SEV"],
  [0xc0010140, "AMD64_OSVW_ID_LENGTH"],
  [0xc0010141, "AMD64_OSVW_STATUS"],
  // Family 15h+ core counters: control at even, counter at odd indices.
  [0xc0010200, "F15H_PERF_CTL0"],
  [0xc0010201, "F15H_PERF_CTR0"],
  [0xc0010202, "F15H_PERF_CTL1"],
  [0xc0010203, "F15H_PERF_CTR1"],
  [0xc0010204, "F15H_PERF_CTL2"],
  [0xc0010205, "F15H_PERF_CTR2"],
  [0xc0010206, "F15H_PERF_CTL3"],
  [0xc0010207, "F15H_PERF_CTR3"],
  [0xc0010208, "F15H_PERF_CTL4"],
  [0xc0010209, "F15H_PERF_CTR4"],
  [0xc001020a, "F15H_PERF_CTL5"],
  [0xc001020b, "F15H_PERF_CTR5"],
  [0xc0011020, "AMD64_LS_CFG"],
  [0xc0011029, "AMD64_DE_CFG"],
];

/**
 * Other spellings accepted by {@link msrByName} only (never returned by
 * {@link msrName}): the kernel's macro names where they differ from the
 * canonical name above, plus the SDM names of the microcode MSRs. Each maps to
 * a canonical name in TABLE.
 */
const ALIASES: ReadonlyArray<readonly [string, string]> = [
  ["SYSCALL_MASK", "FMASK"],
  ["APICBASE", "APIC_BASE"],
  ["FEAT_CTL", "FEATURE_CONTROL"],
  ["BIOS_UPDT_TRIG", "UCODE_WRITE"],
  ["BIOS_SIGN_ID", "UCODE_REV"],
  ["AMD64_PATCH_LEVEL", "UCODE_REV"],
  ["CORE_CAPS", "CORE_CAPABILITIES"],
  ["CR_PAT", "PAT"],
  ["DEBUGCTLMSR", "DEBUGCTL"],
  ["MTRRFIX64K_00000", "MTRR_FIX64K_00000"],
  ["MTRRFIX16K_80000", "MTRR_FIX16K_80000"],
  ["MTRRFIX16K_A0000", "MTRR_FIX16K_A0000"],
  ["MTRRFIX4K_C0000", "MTRR_FIX4K_C0000"],
  ["MTRRFIX4K_C8000", "MTRR_FIX4K_C8000"],
  ["MTRRFIX4K_D0000", "MTRR_FIX4K_D0000"],
  ["MTRRFIX4K_D8000", "MTRR_FIX4K_D8000"],
  ["MTRRFIX4K_E0000", "MTRR_FIX4K_E0000"],
  ["MTRRFIX4K_E8000", "MTRR_FIX4K_E8000"],
  ["MTRRFIX4K_F0000", "MTRR_FIX4K_F0000"],
  ["MTRRFIX4K_F8000", "MTRR_FIX4K_F8000"],
  ["MTRRDEFTYPE", "MTRR_DEF_TYPE"],
  ["CORE_PERF_FIXED_CTR0", "FIXED_CTR0"],
  ["CORE_PERF_FIXED_CTR1", "FIXED_CTR1"],
  ["CORE_PERF_FIXED_CTR2", "FIXED_CTR2"],
  ["CORE_PERF_FIXED_CTR3", "FIXED_CTR3"],
  ["CORE_PERF_FIXED_CTR_CTRL", "FIXED_CTR_CTRL"],
  ["CORE_PERF_GLOBAL_STATUS", "PERF_GLOBAL_STATUS"],
  ["CORE_PERF_GLOBAL_CTRL", "PERF_GLOBAL_CTRL"],
  ["CORE_PERF_GLOBAL_OVF_CTRL", "PERF_GLOBAL_OVF_CTRL"],
  ["CORE_PERF_GLOBAL_STATUS_SET", "PERF_GLOBAL_STATUS_SET"],
  ["CORE_PERF_GLOBAL_INUSE", "PERF_GLOBAL_INUSE"],
];

/** Every known MSR, sorted by index. */
export const KNOWN_MSRS: readonly KnownMsr[] = Object.freeze(
  TABLE.map(([msr, name]): KnownMsr => Object.freeze({ msr, name })).sort((a, b) => a.msr - b.msr),
);

const NAME_BY_INDEX: ReadonlyMap<number, string> = new Map(KNOWN_MSRS.map((e) => [e.msr, e.name] as const));

const INDEX_BY_NAME: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>(KNOWN_MSRS.map((e) => [e.name, e.msr] as const));
  for (const [alias, canonical] of ALIASES) {
    const msr = m.get(canonical);
    // Never let an alias shadow a canonical name; skip any alias whose target is missing.
    if (msr !== undefined && !m.has(alias)) m.set(alias, msr);
  }
  return m;
})();

/** Reduce a user-supplied name to the form the lookup table is keyed by. */
function normalize(name: string): string {
  let s = name.trim().toUpperCase();
  if (s.startsWith("MSR_")) s = s.slice(4);
  if (s.startsWith("IA32_")) s = s.slice(5);
  // The kernel spells Hyper-V MSRs HV_X64_MSR_<X>; the table uses HV_X64_<X>.
  if (s.startsWith("HV_X64_MSR_")) s = `HV_X64_${s.slice(11)}`;
  return s;
}

/** Architectural (or vendor-defined paravirtual) name of an MSR index, or undefined. */
export function msrName(msr: number): string | undefined {
  return NAME_BY_INDEX.get(msr);
}

/** MSR index for a name (case-insensitive, with or without an "IA32_"/"MSR_" prefix), or undefined. */
export function msrByName(name: string): number | undefined {
  return INDEX_BY_NAME.get(normalize(name));
}
