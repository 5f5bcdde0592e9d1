/**
 * The shadow MSR bitmaps of the merged family: vmcs02's bitmap per vCPU,
 * built from vmcs01's and vmcs12's in the strategy's layout (kernel bug
 * 53761; KVM today: nested_vmx_prepare_msr_bitmap()). Remembers what each
 * shadow was built from, so a strategy can tell whether it may be stale.
 */
import { MAX_VCPUS } from "./machine.js";
import type { MachineView, StrategyCounters, VcpuView } from "./strategy.js";
import { FULL_OR, type Vmcs02Layout } from "./vmcs02.js";

export class ShadowBitmaps {
  private readonly shadow: (Uint8Array | undefined)[] = new Array(MAX_VCPUS);
  private readonly builtFromGpa = new Float64Array(MAX_VCPUS);
  private readonly builtInMode = new Uint8Array(MAX_VCPUS);
  private readonly builtWithOverrides = new Float64Array(MAX_VCPUS);
  /** The page's store count (Machine.pageVersion) at the build. */
  private readonly builtFromVersion = new Float64Array(MAX_VCPUS);
  /** The machine's epoch at the last build: unchanged, the inputs are too. */
  private readonly builtInEpoch = new Float64Array(MAX_VCPUS).fill(-1);
  /**
   * GPA -> how many times markStale() hit it. A shadow is stale when its
   * page's count moved since its build: marking is then O(1), not a scan of
   * every vCPU for the shadows built from the page.
   */
  private readonly staleMarks = new Map<number, number>();
  /** The page's staleMarks count at the build. */
  private readonly builtAtMark = new Float64Array(MAX_VCPUS);

  constructor(
    private readonly machine: MachineView,
    private readonly counters: StrategyCounters,
    private readonly layout: Vmcs02Layout = FULL_OR,
  ) {}

  /** The shadow exists and was built from the page, mode and L0 overrides the vCPU has now. */
  builtFromNow(v: number, state: VcpuView): boolean {
    return (
      this.shadow[v] !== undefined &&
      this.builtFromGpa[v] === state.bitmapPtr &&
      this.builtInMode[v] === state.mode &&
      this.builtWithOverrides[v] === state.l0Overrides
    );
  }

  /** builtFromNow, and not marked stale (by a write-protection fault) since the build. */
  isCurrent(v: number, state: VcpuView): boolean {
    return this.builtFromNow(v, state) && this.builtAtMark[v] === this.marksOf(state.bitmapPtr);
  }

  private marksOf(gpa: number): number {
    // Most strategies never mark a page stale: no lookup at each entry for them.
    return this.staleMarks.size === 0 ? 0 : (this.staleMarks.get(gpa) ?? 0);
  }

  /**
   * Whether L1 stored to the page v's shadow was built from since the build
   * (docs/model.md §8: any bitmap-load or bitmap-set on that GPA, by any vCPU,
   * whether or not it changed a bit).
   */
  storedSinceBuilt(v: number): boolean {
    return this.builtFromVersion[v] !== this.machine.pageVersion(this.builtFromGpa[v] as number);
  }

  /** (Re)merges v's shadow from live state and returns it; the caller has checked the page exists. */
  build(v: number, state: VcpuView): Uint8Array {
    this.counters.merges++;
    let shadow = this.shadow[v];
    const gpa = state.bitmapPtr;
    // A build is never stale: it takes the page's stale marks as of now.
    this.builtAtMark[v] = this.marksOf(gpa);
    if (shadow !== undefined && this.builtInEpoch[v] === this.machine.epoch) return shadow;
    this.builtInEpoch[v] = this.machine.epoch;
    const version = this.machine.pageVersion(gpa);
    const unchanged = shadow !== undefined && this.builtFromNow(v, state) && this.builtFromVersion[v] === version;
    // The merge is counted either way; the work itself is skipped when its
    // inputs are the very ones of the last merge (eager strategies re-merge
    // the same inputs a lot).
    if (unchanged) return shadow as Uint8Array;
    const l1Page = this.machine.memory.get(gpa);
    if (l1Page === undefined) throw new Error(`internal: merge on vCPU ${v} without an L1 bitmap page`);
    const fresh = shadow === undefined;
    if (shadow === undefined) {
      shadow = new Uint8Array(4096);
      this.shadow[v] = shadow;
    }
    this.layout.build(shadow, state.l0Bitmap(), l1Page, fresh);
    this.builtFromGpa[v] = gpa;
    this.builtFromVersion[v] = version;
    this.builtInMode[v] = state.mode;
    this.builtWithOverrides[v] = state.l0Overrides;
    return shadow;
  }

  /** v's shadow as last built (a strategy keeps using it while it is current). */
  current(v: number): Uint8Array {
    const shadow = this.shadow[v];
    if (shadow === undefined) throw new Error(`internal: vCPU ${v} has no shadow bitmap`);
    return shadow;
  }

  /** Marks every vCPU's shadow built from gpa as stale, in O(1) (see staleMarks). */
  markStale(gpa: number): void {
    this.staleMarks.set(gpa, this.marksOf(gpa) + 1);
  }
}
