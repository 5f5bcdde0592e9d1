/** bitmap-churn: L1 edits its bitmap every few hundred events. */
import { KVM_L1_BITMAP, LinuxL2, MSR, type Weights } from "./linux-l2.js";
import { exit, l1, Prefixes, type Rows } from "./rows.js";
import { afterSetUp, setUpVcpus } from "./setup.js";
import type { RowSource, Workload, WorkloadContext } from "./workload.js";

/** vCPU v's page: one page per vCPU, so no edit touches a page in use on another vCPU. */
const pageOf = (v: number) => 0x100000 + v * 0x1000;

/**
 * What L1's monitor toggles: intercepts L1's base bitmap passes and L2 uses
 * often, so the accesses between edits exercise them.
 */
const WATCHED: readonly (readonly [msr: number, dir: "r" | "w" | "rw"])[] = [
  [MSR.FS_BASE, "w"],
  [MSR.KERNEL_GS_BASE, "w"],
  [MSR.SPEC_CTRL, "w"],
  [MSR.TSC, "r"],
  [MSR.GS_BASE, "rw"],
  [MSR.PRED_CMD, "w"],
];

/** linux-mixed's activities, weighted towards those touching the watched MSRs. */
const CHURN_WEIGHTS: Weights = {
  ctxsw: 380,
  tick: 40,
  ipi: 60,
  irq: 100,
  l1irq: 16,
  ept: 12,
  mmio: 16,
  idle: 12,
  tsc: 200,
  prctl: 60,
  selfipi: 12,
  misc: 60,
  pv: 10,
};

const CR_ACCESS = exit("CR_ACCESS");

export const bitmapChurn: Workload = {
  name: "bitmap-churn",
  summary: "L1 toggles MSR intercepts in its bitmap every few hundred events",
  models: [
    "An L1 whose monitor (in the style of VM introspection with per-MSR interception) changes its MSR",
    "bitmap at run time. Every 100-500 events a CR3 load in L2 exits (CR_ACCESS) and L1 arms or disarms",
    "interception of 1-3 of FS_BASE (w), KERNEL_GS_BASE (w), SPEC_CTRL (w), TSC (r), GS_BASE (rw) and",
    "PRED_CMD (w) with bitmap-set on the page of that vCPU, then re-enters L2. Each vCPU has its own",
    "page (0x100000 + 0x1000 × vCPU), loaded from the same snapshot, so no edit touches a page in use",
    "on another vCPU. Between edits L2 runs the linux-mixed model, weighted towards context switches",
    "(FS_BASE, KERNEL_GS_BASE, SPEC_CTRL, PRED_CMD writes) and TSC reads, the MSRs being toggled.",
  ],
  snapshots: [
    {
      key: "l1",
      about: "KVM's own MSR bitmap for a 64-bit x2APIC guest, loaded at each vCPU's page (0x100000 + 0x1000 × vCPU)",
      bitmap: KVM_L1_BITMAP,
    },
  ],
  create(ctx: WorkloadContext): RowSource {
    const { vcpus } = ctx.params;
    const rng = ctx.rng;
    const P = new Prefixes(vcpus);
    const l2 = new LinuxL2(rng, vcpus, P, CHURN_WEIGHTS);
    /** Per vCPU, bit i set while WATCHED[i] is intercepted on its page. */
    const armed = new Uint8Array(vcpus);
    let nextEdit = 0;
    const edit = (out: Rows, v: number) => {
      const page = pageOf(v);
      if (l2.halted[v] === 1) l2.wake(out, v); // the vCPU runs when L2 loads CR3
      out.add(P.exit[v] as string, CR_ACCESS);
      const r = rng.next();
      const n = 1 + (r % 3);
      for (let i = 0; i < n; i++) {
        const k = (((r >>> 4) + i) >>> 0) % WATCHED.length; // n distinct MSRs
        const [msr, dir] = WATCHED[k] as readonly [number, "r" | "w" | "rw"];
        const on = (armed[v] as number) & (1 << k) ? 0 : 1;
        armed[v] = (armed[v] as number) ^ (1 << k);
        out.add(l1.set(v, page, msr, dir, on), "");
      }
      out.add(P.entry[v] as string, "");
    };
    return afterSetUp(
      (out) => {
        setUpVcpus(out, P, vcpus, pageOf, ctx.files.l1 as string);
        nextEdit = out.count + rng.between(100, 500);
      },
      (out) => {
        const v = rng.below(vcpus);
        if (out.count >= nextEdit) {
          edit(out, v);
          nextEdit = out.count + rng.between(100, 500);
        }
        l2.visit(out, v);
      },
    );
  },
};
