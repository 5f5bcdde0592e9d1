/**
 * A busy Linux L2 as seen from L1, shared by linux-mixed, bitmap-churn and
 * boot's steady state: what a 64-bit Linux guest without FSGSBASE (so
 * __switch_to uses WRMSR), with x2APIC, the TSC-deadline timer and KVM's and
 * Hyper-V's paravirtual MSRs, does with RDMSR/WRMSR, and the non-MSR exits L1
 * sees in between. L1 is assumed to use APICv with posted interrupts, so
 * interrupts into a running L2 cost no exit (only the guest's EOI write).
 *
 * Speed matters (this produces the benchmark traces), so every row is a
 * per-vCPU prefix plus a precomputed suffix, and choices come from bit fields
 * of one 32-bit draw where possible.
 */
import type { Rng } from "./rng.js";
import { exit, type Prefixes, type Rows, rd, wr } from "./rows.js";
import type { BitmapJson, SnapshotDef } from "./workload.js";

/** MSR indices (Intel SDM vol. 4, Linux msr-index.h, hyperv-tlfs.h, kvm_para.h). */
export const MSR = {
  TSC: 0x10,
  APIC_BASE: 0x1b,
  FEATURE_CONTROL: 0x3a,
  SPEC_CTRL: 0x48,
  PRED_CMD: 0x49,
  UCODE_REV: 0x8b,
  ARCH_CAPABILITIES: 0x10a,
  FLUSH_CMD: 0x10b,
  PLATFORM_INFO: 0xce,
  MTRRCAP: 0xfe,
  SYSENTER_CS: 0x174,
  SYSENTER_ESP: 0x175,
  SYSENTER_EIP: 0x176,
  MCG_CAP: 0x179,
  MCG_STATUS: 0x17a,
  THERM_STATUS: 0x19c,
  MISC_ENABLE: 0x1a0,
  MTRR_PHYSBASE0: 0x200,
  MTRR_FIX64K: 0x250,
  MTRR_FIX16K_80000: 0x258,
  MTRR_FIX16K_A0000: 0x259,
  MTRR_FIX4K_C0000: 0x268,
  PAT: 0x277,
  MTRR_DEF_TYPE: 0x2ff,
  MC0_CTL: 0x400,
  VMX_BASIC: 0x480,
  VMX_VMFUNC: 0x491,
  TSC_DEADLINE: 0x6e0,
  X2APIC_ID: 0x802,
  X2APIC_VERSION: 0x803,
  X2APIC_TPR: 0x808,
  X2APIC_EOI: 0x80b,
  X2APIC_LDR: 0x80d,
  X2APIC_SVR: 0x80f,
  X2APIC_ESR: 0x828,
  X2APIC_ICR: 0x830,
  X2APIC_LVTT: 0x832,
  X2APIC_LVT0: 0x835,
  X2APIC_LVT1: 0x836,
  X2APIC_LVTERR: 0x837,
  X2APIC_TMCCT: 0x839,
  X2APIC_SELF_IPI: 0x83f,
  HV_GUEST_OS_ID: 0x4000_0000,
  HV_HYPERCALL: 0x4000_0001,
  HV_TIME_REF_COUNT: 0x4000_0020,
  HV_EOI: 0x4000_0070,
  KVM_WALL_CLOCK_NEW: 0x4b56_4d00,
  KVM_SYSTEM_TIME_NEW: 0x4b56_4d01,
  KVM_ASYNC_PF_EN: 0x4b56_4d02,
  KVM_STEAL_TIME: 0x4b56_4d03,
  KVM_PV_EOI_EN: 0x4b56_4d04,
  EFER: 0xc000_0080,
  STAR: 0xc000_0081,
  LSTAR: 0xc000_0082,
  CSTAR: 0xc000_0083,
  FMASK: 0xc000_0084,
  FS_BASE: 0xc000_0100,
  GS_BASE: 0xc000_0101,
  KERNEL_GS_BASE: 0xc000_0102,
} as const;

/**
 * KVM's own vmcs01 bitmap for a 64-bit x2APIC/APICv guest, which a KVM L1
 * gives its L2: FS/GS/KERNEL_GS_BASE, SYSENTER_*, TSC reads, SPEC_CTRL,
 * PRED_CMD and FLUSH_CMD writes, x2APIC reads, TPR, EOI and SELF_IPI pass;
 * everything else (TSC_DEADLINE, ICR writes, MISC_ENABLE, …) is intercepted.
 */
export const KVM_L1_BITMAP: BitmapJson = {
  default: "intercept",
  pass: [
    "0xc0000100-0xc0000102",
    "0x174-0x176",
    "0x10:r",
    "0x48",
    "0x49:w",
    "0x10b:w",
    "0x800-0x8ff:r",
    "0x808",
    "0x80b:w",
    "0x83f:w",
  ],
  intercept: [],
};

/** The page linux-idle and linux-mixed point every vCPU's vmcs12 at (L1 never edits it). */
export const SHARED_L1_PAGE = 0x10000;

/** KVM_L1_BITMAP at SHARED_L1_PAGE, as the workloads that share one page describe it. */
export const SHARED_KVM_L1_SNAPSHOT: SnapshotDef = {
  key: "l1",
  about: "KVM's own MSR bitmap for a 64-bit x2APIC guest, loaded at 0x10000 and used by every vCPU",
  bitmap: KVM_L1_BITMAP,
};

/** Activities, picked per step from a 1024-entry table. */
export const ACT = {
  ctxsw: 0, // a context switch: PRED_CMD (mm switch), FS_BASE, KERNEL_GS_BASE, SPEC_CTRL writes
  tick: 1, // L1's emulated TSC-deadline timer fires: PREEMPTION_TIMER exit, entry, EOI, re-arm
  ipi: 2, // L2 sends an IPI: ICR write (reschedule / call-function)
  irq: 3, // a posted interrupt (IPI or device) arrives: EOI, often a switch
  l1irq: 4, // L1's own interrupt: EXTERNAL_INTERRUPT exit and entry
  ept: 5, // EPT_VIOLATION exit (memory L1 had not mapped) and entry
  mmio: 6, // EPT_MISCONFIG exit (virtio doorbell) and entry
  idle: 7, // the vCPU goes idle: TSC_DEADLINE (NOHZ), HLT exit
  tsc: 8, // RDMSR of TSC
  prctl: 9, // arch_prctl(): FS_BASE / KERNEL_GS_BASE
  selfipi: 10, // irq_work: SELF_IPI write, then its EOI
  misc: 11, // monitoring and rarer reads: MISC_ENABLE, PLATFORM_INFO, x2APIC reads, …
  pv: 12, // paravirtual MSRs with no bitmap bit (Hyper-V 0x40000000+, KVM 0x4b564d00+)
} as const;

export type Weights = Readonly<Record<keyof typeof ACT, number>>;

/** linux-mixed's weights: about 88% of events are MSR accesses. */
export const MIXED_WEIGHTS: Weights = {
  ctxsw: 300,
  tick: 32,
  ipi: 60,
  irq: 110,
  l1irq: 12,
  ept: 10,
  mmio: 12,
  idle: 14,
  tsc: 180,
  prctl: 40,
  selfipi: 20,
  misc: 40,
  pv: 30,
};

const EOI = wr(MSR.X2APIC_EOI, 0);
const PRED = wr(MSR.PRED_CMD, 1);
const FLUSH = wr(MSR.FLUSH_CMD, 1);
const SELF_IPI = wr(MSR.X2APIC_SELF_IPI, 0xf6); // IRQ_WORK_VECTOR
const TSC = rd(MSR.TSC);
const SPEC = [wr(MSR.SPEC_CTRL, 1), wr(MSR.SPEC_CTRL, 5)]; // IBRS (eIBRS), IBRS|SSBD
const KGS_READ = rd(MSR.KERNEL_GS_BASE);
const HLT = exit("HLT");
const PREEMPTION_TIMER = exit("PREEMPTION_TIMER");
const EXTERNAL_INTERRUPT = exit("EXTERNAL_INTERRUPT");
const EPT_VIOLATION = exit("EPT_VIOLATION");
const EPT_MISCONFIG = exit("EPT_MISCONFIG");

/** Reads L1 mostly intercepts (8 entries, picked by 3 bits). */
const MISC_READS = [
  rd(MSR.MISC_ENABLE),
  rd(MSR.MISC_ENABLE),
  rd(MSR.PLATFORM_INFO),
  rd(MSR.UCODE_REV),
  rd(MSR.THERM_STATUS),
  rd(MSR.X2APIC_TPR),
  rd(MSR.X2APIC_TMCCT),
  rd(MSR.GS_BASE), // NMI paranoid entry
];

/** MSRs with no bitmap bit: [is a write, suffix] (8 entries). */
const PV: readonly (readonly [boolean, string])[] = [
  [false, rd(MSR.HV_TIME_REF_COUNT)],
  [false, rd(MSR.HV_TIME_REF_COUNT)],
  [false, rd(MSR.HV_TIME_REF_COUNT)],
  [true, wr(MSR.HV_EOI, 0)],
  [true, wr(MSR.HV_EOI, 0)],
  [true, wr(MSR.KVM_PV_EOI_EN, 0x2bfd_3081)],
  [true, wr(MSR.KVM_SYSTEM_TIME_NEW, 0x2bfd_2001)],
  [true, wr(MSR.KVM_STEAL_TIME, 0x2bfd_4041)],
];

/** A 1024-entry activity table from weights (any total). */
function activityTable(weights: Weights): Uint8Array {
  const entries = Object.entries(weights) as [keyof typeof ACT, number][];
  const total = entries.reduce((n, [, w]) => n + w, 0);
  const table = new Uint8Array(1024);
  let i = 0;
  let acc = 0;
  for (const [name, w] of entries) {
    acc += w;
    const end = Math.round((acc * 1024) / total);
    for (; i < end; i++) table[i] = ACT[name];
  }
  return table;
}

export class LinuxL2 {
  /** 1 while the vCPU sits in HLT (its next visit starts with the wake-up entry). */
  readonly halted: Uint8Array;
  private readonly table: Uint8Array;
  private readonly fs: string[];
  private readonly kgs: string[];
  private readonly deadlines: string[];
  private deadline = 0;
  /** ICR writes to vCPU w: [2w] reschedule, [2w+1] call-function-single. */
  private readonly icr: string[];

  constructor(
    private readonly rng: Rng,
    private readonly vcpus: number,
    private readonly P: Prefixes,
    weights: Weights = MIXED_WEIGHTS,
  ) {
    this.halted = new Uint8Array(vcpus);
    this.table = activityTable(weights);
    // glibc TLS blocks at the top of thread stacks: 0x7f……740
    this.fs = Array.from({ length: 64 }, () =>
      wr(MSR.FS_BASE, 0x7f00_0000_0000 + rng.below(0x1000_0000) * 0x1000 + 0x740),
    );
    // user GS bases: mostly 0 (writing it clears the previous task's), some Wine TEBs
    this.kgs = Array.from({ length: 8 }, (_, i) =>
      wr(MSR.KERNEL_GS_BASE, i < 5 ? 0 : 0x7ffd_0000_0000 + rng.below(0x10_0000) * 0x1000),
    );
    // TSC deadlines, 1-4 ms apart at 2.9 GHz, from a TSC of about 14 hours
    let tsc = 0x2f1c_3a5e_7b00;
    this.deadlines = Array.from({ length: 256 }, () => {
      tsc += 0x2c_0000 + rng.below(0x84_0000);
      return wr(MSR.TSC_DEADLINE, tsc);
    });
    this.icr = [];
    for (let w = 0; w < vcpus; w++) {
      this.icr.push(wr(MSR.X2APIC_ICR, w * 2 ** 32 + 0xfd), wr(MSR.X2APIC_ICR, w * 2 ** 32 + 0xfb));
    }
  }

  /** One visit to vCPU v: its wake-up if it is halted, else 1-4 activities (going idle ends it). */
  visit(out: Rows, v: number): void {
    if (this.halted[v] === 1) {
      this.wake(out, v);
      return;
    }
    const n = 1 + (this.rng.next() & 3);
    for (let i = 0; i < n; i++) if (this.step(out, v, this.rng.next())) return;
  }

  /** The TSC_DEADLINE write of the next deadline. */
  nextDeadline(): string {
    const s = this.deadlines[this.deadline] as string;
    this.deadline = (this.deadline + 1) & 255;
    return s;
  }

  /** A halted vCPU gets an interrupt: L1 re-enters it, it EOIs, restarts the tick, often switches. */
  wake(out: Rows, v: number): void {
    const P = this.P;
    this.halted[v] = 0;
    out.add(P.entry[v] as string, "");
    out.add(P.wr[v] as string, EOI);
    out.add(P.wr[v] as string, this.nextDeadline());
    if ((this.rng.next() & 1) === 0) this.ctxsw(out, v);
  }

  /** A context switch (in __switch_to's order: IBPB in switch_mm, FS, GS, then SPEC_CTRL). */
  ctxsw(out: Rows, v: number): void {
    const p = this.P.wr[v] as string;
    const b = this.rng.next();
    if ((b & 15) === 0) out.add(p, PRED); // switch_mm to a task that asked for IBPB
    out.add(p, this.fs[(b >>> 4) & 63] as string);
    if (((b >>> 10) & 3) === 0) out.add(p, this.kgs[(b >>> 12) & 7] as string);
    if (((b >>> 15) & 3) === 0) out.add(p, SPEC[(b >>> 17) & 1] as string); // SSBD differs
    if (((b >>> 18) & 63) === 0) out.add(p, FLUSH); // a task with PR_SPEC_L1D_FLUSH
  }

  /** One activity; true when the vCPU went idle. */
  step(out: Rows, v: number, r: number): boolean {
    const P = this.P;
    const b = r >>> 10;
    switch (this.table[r & 1023]) {
      case ACT.ctxsw:
        this.ctxsw(out, v);
        return false;
      case ACT.tick:
        out.add(P.exit[v] as string, PREEMPTION_TIMER);
        out.add(P.entry[v] as string, "");
        out.add(P.wr[v] as string, EOI);
        out.add(P.wr[v] as string, this.nextDeadline());
        if ((b & 3) === 0) this.ctxsw(out, v); // time slice over
        return false;
      case ACT.ipi:
        if (this.vcpus === 1) {
          out.add(P.wr[v] as string, SELF_IPI);
        } else {
          const w = (v + 1 + ((b >>> 1) % (this.vcpus - 1))) % this.vcpus;
          out.add(P.wr[v] as string, this.icr[2 * w + (b & 1)] as string);
        }
        return false;
      case ACT.irq:
        out.add(P.wr[v] as string, EOI);
        if ((b & 1) === 0) this.ctxsw(out, v);
        return false;
      case ACT.l1irq:
        out.add(P.exit[v] as string, EXTERNAL_INTERRUPT);
        out.add(P.entry[v] as string, "");
        return false;
      case ACT.ept:
        out.add(P.exit[v] as string, EPT_VIOLATION);
        out.add(P.entry[v] as string, "");
        return false;
      case ACT.mmio:
        out.add(P.exit[v] as string, EPT_MISCONFIG);
        out.add(P.entry[v] as string, "");
        return false;
      case ACT.idle:
        out.add(P.wr[v] as string, this.nextDeadline());
        out.add(P.exit[v] as string, HLT);
        this.halted[v] = 1;
        return true;
      case ACT.tsc:
        out.add(P.rd[v] as string, TSC);
        return false;
      case ACT.prctl:
        if ((b & 3) < 2) out.add(P.wr[v] as string, this.fs[(b >>> 2) & 63] as string);
        else if ((b & 3) === 2) out.add(P.wr[v] as string, this.kgs[(b >>> 2) & 7] as string);
        else out.add(P.rd[v] as string, KGS_READ);
        return false;
      case ACT.selfipi:
        out.add(P.wr[v] as string, SELF_IPI);
        out.add(P.wr[v] as string, EOI);
        return false;
      case ACT.misc:
        out.add(P.rd[v] as string, MISC_READS[b & 7] as string);
        return false;
      default: {
        const [write, suffix] = PV[b & 7] as readonly [boolean, string];
        out.add((write ? P.wr[v] : P.rd[v]) as string, suffix);
        return false;
      }
    }
  }
}
