/**
 * The shadow MSR bitmap of the merged strategies: vmcs02's bitmap, built as
 * vmcs01's bitmap OR vmcs12's (kernel bug 53761; KVM today:
 * nested_vmx_prepare_msr_bitmap()). Remembers what each shadow was built from
 * so a strategy can tell whether it may be stale.
 */
import { orPages } from "./bitmap.js";
import { MAX_VCPUS, type Machine, type VcpuState } from "./machine.js";
import type { StrategyCounters } from "./strategy.js";

export class ShadowBitmaps {
  private readonly shadow: (Uint8Array | undefined)[] = new Array(MAX_VCPUS);
  private readonly builtFromGpa = new Float64Array(MAX_VCPUS);
  private readonly builtInMode = new Uint8Array(MAX_VCPUS);
  private readonly builtWithOverrides = new Float64Array(MAX_VCPUS);
  private readonly builtFromVersion = new Float64Array(MAX_VCPUS);
  /** The machine's epoch at the last build: unchanged, the inputs are too. */
  private readonly builtInEpoch = new Float64Array(MAX_VCPUS).fill(-1);
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

  /** (Re)merges v's shadow from live state and returns it; the caller has checked the page exists. */
  build(v: number, state: VcpuState): Uint8Array {
    this.counters.merges++;
    let shadow = this.shadow[v];
    if (shadow !== undefined && this.builtInEpoch[v] === this.machine.epoch) {
      this.stale[v] = 0;
      return shadow;
    }
    this.builtInEpoch[v] = this.machine.epoch;
    const gpa = state.bitmapPtr;
    const version = this.machine.pageVersion(gpa);
    const unchanged =
      shadow !== undefined &&
      this.builtFromGpa[v] === gpa &&
      this.builtFromVersion[v] === version &&
      this.builtInMode[v] === state.mode &&
      this.builtWithOverrides[v] === state.l0Overrides;
    this.stale[v] = 0;
    // The merge is counted either way; the OR itself is skipped when its inputs
    // are the very ones of the last merge (merged-eager re-merges them a lot).
    if (unchanged) return shadow as Uint8Array;
    const l1Page = this.machine.l1Page(state);
    if (l1Page === undefined) throw new Error(`internal: merge on vCPU ${v} without an L1 bitmap page`);
    if (shadow === undefined) {
      shadow = new Uint8Array(4096);
      this.shadow[v] = shadow;
    }
    orPages(shadow, state.l0Bitmap(), l1Page);
    this.builtFromGpa[v] = gpa;
    this.builtFromVersion[v] = version;
    this.builtInMode[v] = state.mode;
    this.builtWithOverrides[v] = state.l0Overrides;
    return shadow;
  }

  /** v's shadow as last built (merged keeps using it while it is current). */
  current(v: number): Uint8Array {
    const shadow = this.shadow[v];
    if (shadow === undefined) throw new Error(`internal: vCPU ${v} has no shadow bitmap`);
    return shadow;
  }

  /** Marks every vCPU's shadow built from gpa as stale. */
  markStale(gpa: number): void {
    for (const v of this.machine.seen) {
      if (this.shadow[v] !== undefined && this.builtFromGpa[v] === gpa) this.stale[v] = 1;
    }
  }
}
