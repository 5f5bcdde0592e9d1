import { describe, expect, it } from "vitest";
import { KNOWN_MSRS, msrByName, msrName } from "../src/msr/names.js";

describe("msrName", () => {
  // Each pair was checked against the Linux kernel headers:
  //  - arch/x86/include/asm/msr-index.h: TSC, APIC_BASE (MSR_IA32_APICBASE),
  //    FEATURE_CONTROL (MSR_IA32_FEAT_CTL), SPEC_CTRL, SYSENTER_CS, PAT
  //    (MSR_IA32_CR_PAT), TSC_DEADLINE, VMX_BASIC, VMX_VMFUNC, EFER,
  //    KERNEL_GS_BASE, TSC_AUX, A_PMC0 (MSR_IA32_PMC0 = 0x4c1)
  //  - arch/x86/include/uapi/asm/mtrr.h: MTRR_PHYSMASK9 = 0x200 + 2*9 + 1
  //  - arch/x86/include/asm/apicdef.h (APIC_BASE_MSR 0x800, APIC_ICR 0x300,
  //    APIC_SELF_IPI 0x3F0) and KVM's lapic.c (x2APIC index = 0x800 + offset>>4)
  //  - arch/x86/include/asm/hyperv-tlfs.h and include/hyperv/hvgdk_mini.h
  //  - arch/x86/include/uapi/asm/kvm_para.h
  const wellKnown: ReadonlyArray<readonly [number, string]> = [
    [0x10, "TSC"],
    [0x1b, "APIC_BASE"],
    [0x3a, "FEATURE_CONTROL"],
    [0x48, "SPEC_CTRL"],
    [0x174, "SYSENTER_CS"],
    [0x213, "MTRR_PHYSMASK9"],
    [0x277, "PAT"],
    [0x480, "VMX_BASIC"],
    [0x491, "VMX_VMFUNC"],
    [0x4c1, "A_PMC0"],
    [0x6e0, "TSC_DEADLINE"],
    [0x830, "X2APIC_ICR"],
    [0x83f, "X2APIC_SELF_IPI"],
    [0x12, "KVM_SYSTEM_TIME"],
    [0x4b564d08, "KVM_MIGRATION_CONTROL"],
    [0x40000073, "HV_X64_VP_ASSIST_PAGE"],
    [0x400000b7, "HV_X64_STIMER3_COUNT"],
    [0xc0000080, "EFER"],
    [0xc0000102, "KERNEL_GS_BASE"],
    [0xc0000103, "TSC_AUX"],
  ];

  for (const [msr, name] of wellKnown) {
    it(`0x${msr.toString(16).toUpperCase()} is ${name}`, () => {
      expect(msrName(msr)).toBe(name);
      expect(msrByName(name)).toBe(msr);
    });
  }

  it("returns undefined for unknown or invalid indices", () => {
    for (const msr of [
      0x2,
      0x809,
      0x80e,
      0x831,
      0x840,
      0x4b564d09,
      0x4b564dff,
      0x40000004,
      0xffffffff,
      -1,
      1.5,
      Number.NaN,
    ]) {
      expect(msrName(msr)).toBeUndefined();
    }
  });
});

describe("msrByName", () => {
  it("round-trips every canonical name", () => {
    for (const { msr, name } of KNOWN_MSRS) {
      expect(msrByName(name)).toBe(msr);
      expect(msrByName(name.toLowerCase())).toBe(msr);
      expect(msrByName(`MSR_${name}`)).toBe(msr);
      expect(msrByName(`IA32_${name}`)).toBe(msr);
      expect(msrByName(`msr_ia32_${name.toLowerCase()}`)).toBe(msr);
    }
  });

  it("accepts prefixed and mixed-case spellings", () => {
    expect(msrByName("IA32_TSC_DEADLINE")).toBe(0x6e0);
    expect(msrByName("MSR_IA32_SPEC_CTRL")).toBe(0x48);
    expect(msrByName("msr_efer")).toBe(0xc0000080);
    expect(msrByName("ia32_vmx_basic")).toBe(0x480);
    expect(msrByName("  Mtrrcap ")).toBe(0xfe);
    expect(msrByName("MSR_KVM_STEAL_TIME")).toBe(0x4b564d03);
    expect(msrByName("HV_X64_MSR_GUEST_OS_ID")).toBe(0x40000000);
  });

  it("accepts the kernel's macro spellings where they differ", () => {
    expect(msrByName("MSR_IA32_FEAT_CTL")).toBe(0x3a);
    expect(msrByName("MSR_IA32_APICBASE")).toBe(0x1b);
    expect(msrByName("MSR_SYSCALL_MASK")).toBe(0xc0000084);
    expect(msrByName("MSR_IA32_CR_PAT")).toBe(0x277);
    expect(msrByName("MSR_IA32_DEBUGCTLMSR")).toBe(0x1d9);
    expect(msrByName("MSR_MTRRdefType")).toBe(0x2ff);
    expect(msrByName("MSR_MTRRfix4K_F8000")).toBe(0x26f);
    expect(msrByName("MSR_CORE_PERF_GLOBAL_CTRL")).toBe(0x38f);
    expect(msrByName("IA32_BIOS_SIGN_ID")).toBe(0x8b);
  });

  it("returns undefined for unknown names", () => {
    expect(msrByName("")).toBeUndefined();
    expect(msrByName("MSR_")).toBeUndefined();
    expect(msrByName("NOT_AN_MSR")).toBeUndefined();
    expect(msrByName("X2APIC_ICR2")).toBeUndefined();
  });
});

describe("KNOWN_MSRS", () => {
  it("has at least 150 entries", () => {
    expect(KNOWN_MSRS.length).toBeGreaterThanOrEqual(150);
  });

  it("is sorted by index with unique indices", () => {
    for (let i = 1; i < KNOWN_MSRS.length; i++) {
      const prev = KNOWN_MSRS[i - 1];
      const cur = KNOWN_MSRS[i];
      expect(prev).toBeDefined();
      expect(cur).toBeDefined();
      if (prev && cur) expect(cur.msr).toBeGreaterThan(prev.msr);
    }
  });

  it("has unique, well-formed names", () => {
    const names = KNOWN_MSRS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(name.startsWith("MSR_")).toBe(false);
      expect(name.startsWith("IA32_")).toBe(false);
    }
  });

  it("holds 32-bit unsigned integer indices that msrName agrees with", () => {
    for (const { msr, name } of KNOWN_MSRS) {
      expect(Number.isInteger(msr)).toBe(true);
      expect(msr).toBeGreaterThanOrEqual(0);
      expect(msr).toBeLessThanOrEqual(0xffffffff);
      expect(msrName(msr)).toBe(name);
    }
  });

  it("covers the full x2APIC, MTRR and counter ranges", () => {
    const inRange = (lo: number, hi: number) => KNOWN_MSRS.filter((e) => e.msr >= lo && e.msr <= hi).length;
    expect(inRange(0x800, 0x8ff)).toBe(44);
    expect(inRange(0x200, 0x213)).toBe(20);
    expect(inRange(0x250, 0x26f)).toBe(11);
    expect(inRange(0xc1, 0xc8)).toBe(8);
    expect(inRange(0x186, 0x18d)).toBe(8);
    expect(inRange(0x4c1, 0x4c8)).toBe(8);
    expect(inRange(0x480, 0x491)).toBe(18);
    expect(inRange(0x40000090, 0x4000009f)).toBe(16);
    expect(inRange(0x4b564d00, 0x4b564dff)).toBe(9);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(KNOWN_MSRS)).toBe(true);
    expect(Object.isFrozen(KNOWN_MSRS[0])).toBe(true);
  });
});
