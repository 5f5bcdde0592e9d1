/** linux-mixed: the benchmark workload, a busy Linux L2 under a KVM-like L1. */
import { KVM_L1_BITMAP, LinuxL2 } from "./linux-l2.js";
import { Prefixes, type Rows } from "./rows.js";
import { setUpVcpus } from "./setup.js";
import type { RowSource, Workload, WorkloadContext } from "./workload.js";

/** The page every vCPU's vmcs12 points at (L1 never edits it, so one page serves all). */
const PAGE = 0x10000;

export const linuxMixed: Workload = {
  name: "linux-mixed",
  summary: "a busy Linux L2 under a KVM-like L1 (the benchmark workload)",
  models: [
    "A busy 64-bit Linux L2 (no FSGSBASE, x2APIC, TSC-deadline timer) under a KVM-like L1 with APICv.",
    "Context switches write FS_BASE, sometimes KERNEL_GS_BASE, SPEC_CTRL (SSBD changes), PRED_CMD",
    "(IBPB on mm switches) and rarely FLUSH_CMD; timer ticks (PREEMPTION_TIMER exit, EOI, TSC_DEADLINE);",
    "IPIs (ICR writes) and posted interrupts (EOI writes); TSC reads; arch_prctl; irq_work self-IPIs;",
    "monitoring reads (MISC_ENABLE, PLATFORM_INFO, …); MSRs with no bitmap bit (Hyper-V TIME_REF_COUNT",
    "and EOI, KVM PV_EOI_EN, SYSTEM_TIME_NEW, STEAL_TIME); non-MSR exits (EXTERNAL_INTERRUPT,",
    "EPT_VIOLATION, EPT_MISCONFIG, HLT), each followed by a vmentry on the same vCPU (for HLT, at",
    "the vCPU's wake-up). About 88% of events are MSR accesses. vCPUs interleave in bursts.",
  ],
  snapshots: [
    {
      key: "l1",
      about: "KVM's own MSR bitmap for a 64-bit x2APIC guest, loaded at 0x10000 and used by every vCPU",
      bitmap: KVM_L1_BITMAP,
    },
  ],
  create(ctx: WorkloadContext): RowSource {
    const { vcpus } = ctx.params;
    const rng = ctx.rng;
    const P = new Prefixes(vcpus);
    const l2 = new LinuxL2(rng, vcpus, P);
    let started = false;
    return {
      burst(out: Rows): void {
        if (!started) {
          started = true;
          setUpVcpus(out, P, vcpus, () => PAGE, ctx.files.l1 as string);
          return;
        }
        l2.visit(out, rng.below(vcpus));
      },
    };
  },
};
