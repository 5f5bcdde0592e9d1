/**
 * Built-in L0 bitmaps (vmcs01's), per L1 mode (docs/model.md §5). KVM of 2013
 * kept two bitmaps, vmx_msr_bitmap_longmode and vmx_msr_bitmap_legacy, filled
 * in vmx_init() with vmx_disable_intercept_for_msr(); later KVM added the
 * speculation-control and TSC pass-throughs.
 */
import { DIR_R, DIR_RW, DIR_W, filledPage, writeMsrBits } from "./bitmap.js";
import type { L0Bitmaps } from "./machine.js";

type PassList = readonly (readonly [msr: number, dir: number])[];

const KVM_2013_LEGACY: PassList = [
  [0xc000_0100, DIR_RW], // FS_BASE
  [0xc000_0101, DIR_RW], // GS_BASE
  [0x174, DIR_RW], // SYSENTER_CS
  [0x175, DIR_RW], // SYSENTER_ESP
  [0x176, DIR_RW], // SYSENTER_EIP
];
const KVM_2013_LONGMODE: PassList = [...KVM_2013_LEGACY, [0xc000_0102, DIR_RW]]; // + KERNEL_GS_BASE
const KVM_MODERN: PassList = [
  ...KVM_2013_LONGMODE,
  [0x10, DIR_R], // TSC
  [0x48, DIR_RW], // SPEC_CTRL
  [0x49, DIR_W], // PRED_CMD
  [0x10b, DIR_W], // FLUSH_CMD
];

export interface L0Profile {
  readonly name: string;
  readonly summary: string;
  bitmaps(): L0Bitmaps;
}

function passing(longmode: PassList, legacy: PassList): () => L0Bitmaps {
  const build = (list: PassList) => {
    const page = filledPage(true);
    for (const [msr, dir] of list) writeMsrBits(page, msr, dir, false);
    return page;
  };
  return () => ({ longmode: build(longmode), legacy: build(legacy) });
}

export const L0_PROFILES: readonly L0Profile[] = [
  {
    name: "kvm-2013",
    summary: "KVM of 2013: FS/GS_BASE, SYSENTER_CS/ESP/EIP, and KERNEL_GS_BASE in long mode",
    bitmaps: passing(KVM_2013_LONGMODE, KVM_2013_LEGACY),
  },
  {
    name: "kvm-modern",
    summary: "kvm-2013's long-mode set plus TSC (read), SPEC_CTRL, PRED_CMD and FLUSH_CMD (write), both modes",
    bitmaps: passing(KVM_MODERN, KVM_MODERN),
  },
  {
    name: "intercept-all",
    summary: "L0 intercepts every MSR",
    bitmaps: () => ({ longmode: filledPage(true), legacy: filledPage(true) }),
  },
  {
    name: "pass-all",
    summary: "L0 passes through every MSR that has a bit",
    bitmaps: () => ({ longmode: filledPage(false), legacy: filledPage(false) }),
  },
];

export const DEFAULT_L0_PROFILE = "kvm-2013";

export function findL0Profile(name: string): L0Profile | undefined {
  return L0_PROFILES.find((p) => p.name === name);
}
