/** linux-idle: a mostly idle Linux L2, timers and interrupts. */
import { MSR, SHARED_KVM_L1_SNAPSHOT, SHARED_L1_PAGE } from "./linux-l2.js";
import { exit, Prefixes, rd, wr } from "./rows.js";
import { afterSetUp, setUpVcpus } from "./setup.js";
import type { RowSource, Workload, WorkloadContext } from "./workload.js";

const EOI = wr(MSR.X2APIC_EOI, 0);
const TSC = rd(MSR.TSC);
const HLT = exit("HLT");
const EXTERNAL_INTERRUPT = exit("EXTERNAL_INTERRUPT");

export const linuxIdle: Workload = {
  name: "linux-idle",
  summary: "a mostly idle Linux L2: HLT exits, TSC_DEADLINE, EOI and ICR writes",
  models: [
    "A mostly idle 64-bit Linux L2 (NOHZ idle, x2APIC, TSC-deadline timer) under a KVM-like L1 with APICv.",
    "Each vCPU sits in HLT (a vmexit HLT, so L1 blocks it); a timer, IPI or device interrupt wakes it",
    "(vmentry), it writes the x2APIC EOI (0x80b), handles the interrupt (now and then an ICR write",
    "(0x830) to wake another vCPU, a TSC read, rarely a short context switch to a daemon), re-arms",
    "TSC_DEADLINE (0x6e0) and halts again. Now and then L1's own interrupt (EXTERNAL_INTERRUPT) hits",
    "a vCPU that is awake. vCPUs interleave.",
  ],
  snapshots: [SHARED_KVM_L1_SNAPSHOT],
  create(ctx: WorkloadContext): RowSource {
    const { vcpus } = ctx.params;
    const rng = ctx.rng;
    const P = new Prefixes(vcpus);
    const halted = new Uint8Array(vcpus);
    let tsc = 0x2f1c_3a5e_7b00;
    const deadlines = Array.from({ length: 256 }, () => {
      tsc += 0x60_0000 + rng.below(0x500_0000);
      return wr(MSR.TSC_DEADLINE, tsc);
    });
    let deadline = 0;
    const fs = Array.from({ length: 16 }, () =>
      wr(MSR.FS_BASE, 0x7f00_0000_0000 + rng.below(0x1000_0000) * 0x1000 + 0x740),
    );
    const icr: string[] = [];
    for (let w = 0; w < vcpus; w++)
      icr.push(wr(MSR.X2APIC_ICR, w * 2 ** 32 + 0xfd), wr(MSR.X2APIC_ICR, w * 2 ** 32 + 0xfb));
    return afterSetUp(
      (out) => setUpVcpus(out, P, vcpus, () => SHARED_L1_PAGE, ctx.files.l1 as string),
      (out) => {
        const v = rng.below(vcpus);
        const w = P.wr[v] as string;
        const r = rng.next();
        if (halted[v] === 1) {
          // woken: the interrupt is delivered on entry, the handler EOIs it
          out.add(P.entry[v] as string, "");
          out.add(w, EOI);
          halted[v] = 0;
          if ((r & 7) === 0 && vcpus > 1) {
            const to = (v + 1 + rng.below(vcpus - 1)) % vcpus; // a wake-up or RCU IPI
            out.add(w, icr[2 * to + ((r >>> 3) & 1)] as string);
          }
          if (((r >>> 4) & 7) === 0) out.add(P.rd[v] as string, TSC);
          if (((r >>> 7) & 31) === 0) out.add(w, fs[(r >>> 24) & 15] as string); // a daemon runs briefly
          if (((r >>> 20) & 3) === 0) return; // stays awake a while (softirq, a kworker)
        } else if (((r >>> 4) & 3) === 0) {
          // L1's own interrupt while L2 is awake
          out.add(P.exit[v] as string, EXTERNAL_INTERRUPT);
          out.add(P.entry[v] as string, "");
          return;
        }
        out.add(w, deadlines[deadline] as string);
        deadline = (deadline + 1) & 255;
        out.add(P.exit[v] as string, HLT);
        halted[v] = 1;
      },
    );
  },
};
