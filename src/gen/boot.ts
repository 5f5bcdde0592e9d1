/**
 * boot: L1 launches a Linux L2 from its firmware on: many distinct MSRs,
 * the bitmap set up late and switched, then the linux-mixed steady state.
 */
import { KVM_L1_BITMAP, LinuxL2, MSR } from "./linux-l2.js";
import { hex, l1, Prefixes, type Rows } from "./rows.js";
import type { BitmapJson, RowSource, Workload, WorkloadContext } from "./workload.js";

/** The first page L1 loads (the early bitmap), and the one it switches to. */
const EARLY_PAGE = 0x10000;
const PAGE = 0x11000;

/** L1's first bitmap, before it has read L2's CPUID: only the segment bases and SYSENTER pass. */
const EARLY_BITMAP: BitmapJson = {
  default: "intercept",
  pass: ["0xc0000100-0xc0000102", "0x174-0x176"],
  intercept: [],
};

const PAT_LINUX = 0x0407_0506_0007_0106n; // WB, WC, UC-, UC, WB, WP, UC-, WT
const MCE_BANKS = 10;
const FIXED_MTRRS = [
  MSR.MTRR_FIX64K,
  MSR.MTRR_FIX16K_80000,
  MSR.MTRR_FIX16K_A0000,
  ...Array.from({ length: 8 }, (_, i) => MSR.MTRR_FIX4K_C0000 + i),
];
/** Firmware's memory types: WB everywhere but the VGA hole (UC) and the option ROMs (WP). */
const FIXED_VALUES = [
  0x0606_0606_0606_0606n,
  0x0606_0606_0606_0606n,
  0x0n,
  ...Array.from({ length: 8 }, (_, i) => (i < 4 ? 0x0505_0505_0505_0505n : 0x0606_0606_0606_0606n)),
];
/** Variable MTRRs: [PHYSBASE, PHYSMASK] × 10; the 2-4 GiB MMIO hole is UC, the rest unused. */
const VARIABLE_MTRRS = Array.from({ length: 10 }, (_, i) =>
  i === 0 ? ([0x8000_0000n, 0xff_8000_0800n] as const) : ([0n, 0n] as const),
);

/** Rows of one vCPU, formatted as they are written (boot rows are a small share of a trace). */
class Script {
  readonly rows: string[] = [];
  constructor(private readonly v: number) {}
  rd(...msrs: number[]): this {
    for (const msr of msrs) this.rows.push(`rdmsr,${this.v},${hex(msr)}\n`);
    return this;
  }
  wr(msr: number, value: number | bigint): this {
    this.rows.push(`wrmsr,${this.v},${hex(msr)},${hex(value)}\n`);
    return this;
  }
  /** A non-MSR exit to L1 and the entry back. */
  exit(reason: string): this {
    this.rows.push(`vmexit,${this.v},,${reason}\n`, `vmentry,${this.v}\n`);
    return this;
  }
  raw(row: string): this {
    this.rows.push(row);
    return this;
  }
  entry(): this {
    return this.raw(`vmentry,${this.v}\n`);
  }
}

const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);
const VMX_CAPS = range(MSR.VMX_BASIC, MSR.VMX_VMFUNC);
const MTRR_VARIABLE = range(MSR.MTRR_PHYSBASE0, MSR.MTRR_PHYSBASE0 + 19);

/** The firmware on vCPU 0 (L2 runs without an MSR bitmap, L1 still in legacy mode). */
function firmware(s: Script): void {
  s.rd(MSR.APIC_BASE, MSR.FEATURE_CONTROL).exit("CPUID").exit("CPUID");
  s.rd(MSR.MTRRCAP, MSR.MTRR_DEF_TYPE).wr(MSR.MTRR_DEF_TYPE, 0);
  writeMtrrs(s);
  s.wr(MSR.MTRR_DEF_TYPE, 0xc06).exit("IO_INSTRUCTION").exit("IO_INSTRUCTION");
  s.rd(MSR.MISC_ENABLE).wr(MSR.UCODE_REV, 0).exit("CPUID").rd(MSR.UCODE_REV, MSR.PLATFORM_INFO, MSR.MCG_CAP);
  for (let b = 0; b < MCE_BANKS; b++) s.wr(MSR.MC0_CTL + 4 * b + 1, 0); // clear MCi_STATUS
  s.rd(MSR.PAT, MSR.TSC).exit("IO_INSTRUCTION").exit("EPT_VIOLATION").exit("IO_INSTRUCTION");
}

/** The variable and fixed MTRRs, as firmware sets them and an AP's set_mtrr_state() rewrites them. */
function writeMtrrs(s: Script): void {
  VARIABLE_MTRRS.forEach(([base, mask], i) => {
    s.wr(MSR.MTRR_PHYSBASE0 + 2 * i, base).wr(MSR.MTRR_PHYSBASE0 + 2 * i + 1, mask);
  });
  FIXED_MTRRS.forEach((msr, i) => {
    s.wr(msr, FIXED_VALUES[i] as bigint);
  });
}

/** Linux bringing up one CPU (vCPU 0 = the BSP, or an AP), from its first 64-bit code on. */
function kernel(s: Script, v: number, bsp: boolean, vcpus: number): void {
  s.rd(MSR.EFER).wr(MSR.EFER, 0x100).wr(MSR.EFER, 0xd01); // LME, then SCE|LME|LMA|NXE
  s.exit("CPUID").exit("CPUID").exit("CPUID");
  s.rd(MSR.APIC_BASE).wr(MSR.APIC_BASE, bsp ? 0xfee0_0d00 : 0xfee0_0c00); // x2APIC on
  s.rd(MSR.MISC_ENABLE, MSR.FEATURE_CONTROL, MSR.ARCH_CAPABILITIES, MSR.PLATFORM_INFO, MSR.UCODE_REV);
  if (bsp)
    s.rd(MSR.MTRRCAP, MSR.MTRR_DEF_TYPE, ...MTRR_VARIABLE, ...FIXED_MTRRS); // mtrr_bp_init
  else {
    // mtrr_ap_init: set_mtrr_state() rewrites the BSP's values
    s.wr(MSR.MTRR_DEF_TYPE, 0);
    writeMtrrs(s);
    s.wr(MSR.MTRR_DEF_TYPE, 0xc06);
  }
  s.rd(MSR.PAT).wr(MSR.PAT, PAT_LINUX).exit("EPT_VIOLATION");
  s.rd(...VMX_CAPS); // init_vmx_capabilities(): /proc/cpuinfo's vmx flags
  s.rd(MSR.MCG_CAP, MSR.MCG_STATUS);
  for (let b = 0; b < MCE_BANKS; b++) s.wr(MSR.MC0_CTL + 4 * b, 0xffff_ffff_ffff_ffffn).wr(MSR.MC0_CTL + 4 * b + 1, 0);
  s.wr(MSR.STAR, 0x23_0010_0000_0000n).wr(MSR.LSTAR, 0xffff_ffff_81e0_0080n);
  s.wr(MSR.CSTAR, 0xffff_ffff_81e0_1650n).wr(MSR.FMASK, 0x4_7700);
  s.wr(MSR.SYSENTER_CS, 0x10).wr(MSR.SYSENTER_ESP, 0xffff_fe00_0000_3000n + BigInt(v) * 0x3b000n);
  s.wr(MSR.SYSENTER_EIP, 0xffff_ffff_81e0_1530n);
  s.wr(MSR.GS_BASE, 0xffff_8880_7dc0_0000n + BigInt(v) * 0x4_0000n).wr(MSR.KERNEL_GS_BASE, 0);
  s.wr(MSR.SPEC_CTRL, 1).exit("XSETBV").exit("CR_ACCESS");
  // the local APIC
  s.rd(MSR.X2APIC_VERSION, MSR.X2APIC_ID).wr(MSR.X2APIC_TPR, 0).wr(MSR.X2APIC_SVR, 0x1ff);
  s.wr(MSR.X2APIC_LVT0, bsp ? 0x700 : 0x1_0700)
    .wr(MSR.X2APIC_LVT1, 0x400)
    .wr(MSR.X2APIC_LVTERR, 0xfe);
  s.wr(MSR.X2APIC_ESR, 0).rd(MSR.X2APIC_ESR).rd(MSR.X2APIC_LDR).wr(MSR.X2APIC_LVTT, 0x4_00ec);
  s.rd(MSR.TSC, MSR.TSC).wr(MSR.TSC_DEADLINE, 0x2f1c_3a5e_7b00 + v * 0x1000);
  // paravirtual clocks and EOI: KVM's MSRs, and Hyper-V's guest OS id
  const pv = 0x2bfd_0000 + v * 0x100;
  if (bsp) s.wr(MSR.KVM_WALL_CLOCK_NEW, 0x2bfd_f000);
  s.wr(MSR.KVM_SYSTEM_TIME_NEW, pv + 0x01).wr(MSR.KVM_STEAL_TIME, pv + 0x41);
  s.wr(MSR.KVM_ASYNC_PF_EN, pv + 0x81).wr(MSR.KVM_PV_EOI_EN, pv + 0xc1);
  if (bsp) s.wr(MSR.HV_GUEST_OS_ID, 0x8100_0006_0800_0000n).rd(MSR.HV_HYPERCALL).rd(MSR.HV_TIME_REF_COUNT);
  s.exit("EPT_VIOLATION").exit("EPT_VIOLATION").rd(MSR.THERM_STATUS);
  if (bsp && vcpus > 1) s.exit("IO_INSTRUCTION");
}

function bspScript(ctx: WorkloadContext): string[] {
  const v = 0;
  const s = new Script(v);
  s.raw(l1.mode(v, "legacy")).raw(l1.use(v, 0)).entry();
  firmware(s);
  // L1 switches to long mode, then gives L2 its first bitmap
  s.raw(l1.mode(v, "longmode")).raw(l1.load(v, EARLY_PAGE, ctx.files["l1-early"] as string));
  s.raw(l1.ptr(v, EARLY_PAGE)).raw(l1.use(v, 1)).entry();
  kernel(s, v, true, ctx.params.vcpus);
  // L1 has its full bitmap ready: a second page, and vmcs12 now points there
  s.raw(l1.load(v, PAGE, ctx.files.l1 as string))
    .raw(l1.ptr(v, PAGE))
    .entry();
  return s.rows;
}

function apScript(ctx: WorkloadContext, v: number): string[] {
  const s = new Script(v);
  s.raw(l1.ptr(v, PAGE)).raw(l1.use(v, 1)).entry();
  kernel(s, v, false, ctx.params.vcpus);
  return s.rows;
}

/** vCPU 0's ICR writes that start AP `ap`: INIT assert, INIT de-assert, STARTUP (trampoline at 0x9a000). */
function kick(out: Rows, ap: number): void {
  const to = ap * 2 ** 32;
  for (const low of [0xc500, 0x8500, 0x69a]) out.add(`wrmsr,0,${hex(MSR.X2APIC_ICR)},${hex(to + low)}\n`, "");
}

export const boot: Workload = {
  name: "boot",
  summary: "L1 boots a Linux L2: feature/MTRR/VMX MSRs, bitmaps set up late",
  models: [
    "L1 boots a Linux L2. On vCPU 0, L1 starts in legacy mode (l1-mode legacy: L0 uses its legacy",
    "bitmap) and runs L2's firmware with use-bitmap 0: feature and MTRR reads and writes (APIC_BASE,",
    "FEATURE_CONTROL, MTRRCAP, MTRR_DEF_TYPE, PHYSBASE/PHYSMASK 0x200-0x213, fixed MTRRs, machine-check",
    "banks), CPUID and I/O exits. L1 then enters long mode, loads an early bitmap (only FS/GS/",
    "KERNEL_GS_BASE and SYSENTER pass) and turns bitmaps on; Linux reads EFER, MISC_ENABLE,",
    "ARCH_CAPABILITIES, all MTRRs, PAT, the VMX capability MSRs 0x480-0x491, MCG_CAP, and writes EFER,",
    "PAT, STAR/LSTAR/CSTAR/FMASK, SYSENTER, GS_BASE, the x2APIC and KVM/Hyper-V paravirtual MSRs.",
    "L1 then loads its full bitmap on a second page and switches vmcs12 to it. vCPU 0 starts the APs",
    "one at a time (ICR INIT/STARTUP writes); each AP gets bitmap-ptr/use-bitmap/vmentry and runs the",
    "same bring-up (rewriting the MTRRs). CPUs that are up run the linux-mixed steady state meanwhile.",
  ],
  snapshots: [
    {
      key: "l1-early",
      about: "L1's early bitmap, loaded at 0x10000: FS/GS/KERNEL_GS_BASE and SYSENTER pass",
      bitmap: EARLY_BITMAP,
    },
    {
      key: "l1",
      about: "L1's full bitmap (KVM's own for a 64-bit x2APIC guest), loaded at 0x11000",
      bitmap: KVM_L1_BITMAP,
    },
  ],
  create(ctx: WorkloadContext): RowSource {
    const { vcpus } = ctx.params;
    const rng = ctx.rng;
    const l2 = new LinuxL2(rng, vcpus, new Prefixes(vcpus));
    /** The script being run by vCPU 0 (until done) or by the AP coming up. */
    let script = bspScript(ctx);
    let scriptVcpu = 0;
    let pos = 0;
    /** vCPUs 0 … online-1 are up (have run or are running their script). */
    let online = 1;
    return {
      burst(out: Rows): void {
        const booting = pos < script.length;
        // vCPU 0 runs alone until its script ends; afterwards the AP coming up gets half the visits
        const v = scriptVcpu === 0 && booting ? 0 : booting && (rng.next() & 1) === 0 ? scriptVcpu : rng.below(online);
        if (booting && v === scriptVcpu) {
          const end = Math.min(script.length, pos + 1 + (rng.next() & 7));
          while (pos < end) out.add(script[pos++] as string, "");
          if (pos === script.length && online < vcpus) {
            // the CPU is up (or vCPU 0 is done): vCPU 0 starts the next AP
            if (l2.halted[0] === 1) l2.wake(out, 0);
            kick(out, online);
            script = apScript(ctx, online);
            scriptVcpu = online;
            pos = 0;
            online++;
          }
          return;
        }
        l2.visit(out, v);
      },
    };
  },
};
