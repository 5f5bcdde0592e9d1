/**
 * The shadow MSR bitmap of the merged strategies: vmcs02's bitmap, built as
 * vmcs01's bitmap OR vmcs12's (kernel bug 53761; KVM today:
 * nested_vmx_prepare_msr_bitmap()). Remembers what each shadow was built from
 * so a strategy can tell whether it may be stale.
 */
import { orPages, testBit } from "./bitmap.js";
import { MAX_VCPUS, type Machine, type VcpuState } from "./machine.js";
import { Delivery, type StrategyCounters } from "./strategy.js";

export class ShadowBitmaps {
  private readonly shadow: (Uint8Array | undefined)[] = new Array(MAX_VCPUS);
  private readonly builtFromGpa = new Float64Array(MAX_VCPUS);
  private readonly builtInMode = new Uint8Array(MAX_VCPUS);
  private readonly builtWithOverrides = new Float64Array(MAX_VCPUS);
  private readonly stale = new Uint8Array(MAX_VCPUS);

  constructor(
    private readonly machine: Machine,
    private readonly counters: StrategyCounters,
  ) {}

  /**
   * The shadow exists, is not marked stale, and was built from the page,
   * mode and L0 overrides the vCPU has now.
   */
  isCurrent(v: number, state: VcpuState): boolean {
    return (
      this.shadow[v] !== undefined &&
      this.stale[v] === 0 &&
      this.builtFromGpa[v] === state.bitmapPtr &&
      this.builtInMode[v] === state.mode &&
      this.builtWithOverrides[v] === state.l0Overrides
    );
  }

  /** (Re)merges v's shadow from live state; the caller has checked the page exists. */
  build(v: number, state: VcpuState): void {
    const l1Page = this.machine.l1Page(state);
    if (l1Page === undefined) throw new Error(`internal: merge on vCPU ${v} without an L1 bitmap page`);
    let shadow = this.shadow[v];
    if (shadow === undefined) {
      shadow = new Uint8Array(4096);
      this.shadow[v] = shadow;
    }
    orPages(shadow, state.l0Bitmap(), l1Page);
    this.builtFromGpa[v] = state.bitmapPtr;
    this.builtInMode[v] = state.mode;
    this.builtWithOverrides[v] = state.l0Overrides;
    this.stale[v] = 0;
    this.counters.merges++;
  }

  /** Marks every vCPU's shadow built from gpa as stale. */
  markStale(gpa: number): void {
    for (const v of this.machine.seen) {
      if (this.shadow[v] !== undefined && this.builtFromGpa[v] === gpa) this.stale[v] = 1;
    }
  }

  /**
   * The CPU consults vmcs02: without a bitmap, or for an MSR with no bit, or
   * with the shadow's bit set, the access exits to L0, which reflects it if
   * L1 wants it; otherwise it completes in L2.
   */
  deliver(v: number, state: VcpuState, position: number, l1Wants: boolean): Delivery {
    const shadow = this.shadow[v];
    if (!state.useBitmap || position < 0 || shadow === undefined || testBit(shadow, position)) {
      return l1Wants ? Delivery.l1 : Delivery.l0;
    }
    return Delivery.none;
  }
}
