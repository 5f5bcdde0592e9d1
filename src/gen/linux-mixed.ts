/** linux-mixed: the benchmark workload, a busy Linux L2 under a KVM-like L1. */
import { LinuxL2, SHARED_KVM_L1_SNAPSHOT, SHARED_L1_PAGE } from "./linux-l2.js";
import { Prefixes } from "./rows.js";
import { afterSetUp, setUpVcpus } from "./setup.js";
import type { RowSource, Workload, WorkloadContext } from "./workload.js";

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
  snapshots: [SHARED_KVM_L1_SNAPSHOT],
  create(ctx: WorkloadContext): RowSource {
    const { vcpus } = ctx.params;
    const rng = ctx.rng;
    const P = new Prefixes(vcpus);
    const l2 = new LinuxL2(rng, vcpus, P);
    return afterSetUp(
      (out) => setUpVcpus(out, P, vcpus, () => SHARED_L1_PAGE, ctx.files.l1 as string),
      (out) => l2.visit(out, rng.below(vcpus)),
    );
  },
};
