/**
 * What the trace says about the machine, the same for every strategy: guest
 * memory (shared by all vCPUs), each vCPU's vmcs12 MSR-bitmap fields, L1's
 * mode and L0's own bitmap for the vCPU (docs/model.md §5).
 */

import type { MachineEvent } from "./batch.js";
import { DIR_R, DIR_W, PAGE_SIZE, writeMsrBits } from "./bitmap.js";
import { Ev, MODE_LEGACY, MODE_LONGMODE, type Mode } from "./events.js";

export const MAX_VCPUS = 4096;
/**
 * Bitmap pages a trace may bring into existence (docs/model.md §5), at most.
 * A real L1 keeps one MSR bitmap per vCPU it runs L2 on, or a few (KVM: one
 * per loaded_vmcs; Xen and VirtualBox: one per vCPU), so four per vCPU for
 * the most vCPUs a trace can name is far beyond any real L1, and bounds what
 * the back keeps of guest memory to 64 MiB (PAGE_SIZE each). The front
 * refuses the store that would exceed it (front.ts).
 */
export const PAGES_PER_VCPU = 4;
export const MAX_PAGES = PAGES_PER_VCPU * MAX_VCPUS;
/** Where `--l1-bitmap` places its page. */
export const L1_BITMAP_GPA = 0x1000;
export const NO_BITMAP_PTR = -1;

/** vmcs01's MSR bitmaps, one per L1 mode (KVM's vmx_msr_bitmap_longmode/_legacy). */
export interface L0Bitmaps {
  readonly longmode: Uint8Array;
  readonly legacy: Uint8Array;
}

export class VcpuState {
  mode: Mode = MODE_LONGMODE;
  /** vmcs12's "use MSR bitmaps" control. */
  useBitmap = false;
  /** vmcs12's MSR-bitmap address, or NO_BITMAP_PTR; set with pointTo(). */
  bitmapPtr = NO_BITMAP_PTR;
  /** The page at bitmapPtr once it exists (pages are never removed). */
  l1PageRef: Uint8Array | undefined = undefined;
  /** How many `l0-set` events changed this vCPU's L0 bitmap. */
  l0Overrides = 0;
  /** This vCPU's L0 bitmaps; shared with the profile until the first `l0-set`. */
  private l0: [Uint8Array, Uint8Array];
  private ownsL0 = false;

  constructor(l0: L0Bitmaps) {
    this.l0 = [l0.longmode, l0.legacy];
  }

  /** `bitmap-ptr`: vmcs12's MSR-bitmap address. Only the Machine calls it (it keeps an index of pointers). */
  pointTo(gpa: number): void {
    this.bitmapPtr = gpa;
    this.l1PageRef = undefined;
  }

  /** L0's bitmap for the vCPU now: the profile's for its mode, overrides applied. */
  l0Bitmap(): Uint8Array {
    return this.l0[this.mode];
  }

  /** `l0-set`: the override applies to both modes' bitmaps, in trace order. */
  overrideL0(msr: number, dir: number, intercept: boolean): void {
    if (!this.ownsL0) {
      this.l0 = [this.l0[MODE_LONGMODE].slice(), this.l0[MODE_LEGACY].slice()];
      this.ownsL0 = true;
    }
    writeMsrBits(this.l0[MODE_LONGMODE], msr, dir, intercept);
    writeMsrBits(this.l0[MODE_LEGACY], msr, dir, intercept);
    this.l0Overrides++;
  }
}

/** What the front's machine maps every existing page to: it keeps no contents. */
const NO_CONTENTS = new Uint8Array(PAGE_SIZE);
const NOBODY: ReadonlySet<number> = new Set();

export class Machine {
  /**
   * Guest memory: GPA -> bitmap page. Without `contents` every page maps to
   * one shared, never written placeholder: the front only asks whether a page
   * exists (the entry checks), so it need not keep a second copy of what the
   * back keeps.
   */
  readonly memory = new Map<number, Uint8Array>();
  /** Bumped on every L1 store to a page: lets a merge of unchanged inputs skip the OR. */
  private readonly versions = new Map<number, number>();
  /**
   * GPA -> the vCPUs whose vmcs12 points at it now: an L1 store to a page
   * concerns only those, so its cost does not grow with every vCPU seen.
   * At most one entry per vCPU, however many GPAs the trace names.
   */
  private readonly pointers = new Map<number, Set<number>>();
  /** vCPUs in order of first appearance. */
  readonly seen: number[] = [];
  private readonly vcpus: (VcpuState | undefined)[] = new Array(MAX_VCPUS);

  constructor(
    private readonly l0: L0Bitmaps,
    /** `--l1-bitmap`: every vCPU starts with use_bitmap = 1 and this page. */
    private readonly l1Bitmap: Uint8Array | null = null,
    /** Keep the pages' contents (the back, which judges accesses), or only which pages exist (the front). */
    private readonly contents = true,
  ) {
    if (l1Bitmap) this.memory.set(L1_BITMAP_GPA, contents ? l1Bitmap.slice() : NO_CONTENTS);
  }

  vcpu(v: number): VcpuState {
    let state = this.vcpus[v];
    if (state === undefined) {
      state = new VcpuState(this.l0);
      if (this.l1Bitmap) {
        state.useBitmap = true;
        this.pointTo(v, state, L1_BITMAP_GPA);
      }
      this.vcpus[v] = state;
      this.seen.push(v);
    }
    return state;
  }

  /** The vCPUs whose vmcs12 MSR-bitmap address is gpa now. */
  pointingAt(gpa: number): ReadonlySet<number> {
    return this.pointers.get(gpa) ?? NOBODY;
  }

  /** `bitmap-ptr` on v, keeping the index of who points where. */
  private pointTo(v: number, state: VcpuState, gpa: number): void {
    const old = state.bitmapPtr;
    if (old !== NO_BITMAP_PTR) {
      const from = this.pointers.get(old);
      from?.delete(v);
      if (from?.size === 0) this.pointers.delete(old);
    }
    let to = this.pointers.get(gpa);
    if (to === undefined) {
      to = new Set();
      this.pointers.set(gpa, to);
    }
    to.add(v);
    state.pointTo(gpa);
  }

  /** The page at the vCPU's vmcs12 MSR-bitmap address, if it exists. */
  l1Page(state: VcpuState): Uint8Array | undefined {
    if (state.l1PageRef === undefined && state.bitmapPtr !== NO_BITMAP_PTR) {
      state.l1PageRef = this.memory.get(state.bitmapPtr);
    }
    return state.l1PageRef;
  }

  /** Guest page at gpa, created as all zeros on first touch (docs/model.md §5). */
  page(gpa: number): Uint8Array {
    let page = this.memory.get(gpa);
    if (page === undefined) {
      page = this.contents ? new Uint8Array(PAGE_SIZE) : NO_CONTENTS;
      this.memory.set(gpa, page);
    }
    return page;
  }

  /** Bumped by every event that changes the machine: equal epochs, same machine. */
  epoch = 0;

  /** What an event that changes the machine does to it (docs/model.md §5). */
  apply(ev: MachineEvent): void {
    this.epoch++;
    const state = this.vcpu(ev.vcpu);
    switch (ev.code) {
      case Ev.bitmapLoad: {
        if (ev.content === null || ev.content.length !== PAGE_SIZE)
          throw new Error("internal: bitmap-load without a page");
        const page = this.page(ev.page);
        if (this.contents) page.set(ev.content);
        this.pageWritten(ev.page);
        return;
      }
      case Ev.bitmapSet: {
        const page = this.page(ev.page);
        if (this.contents) writeMsrBits(page, ev.msr, ev.dir & (DIR_R | DIR_W), ev.flag === 1);
        this.pageWritten(ev.page);
        return;
      }
      case Ev.bitmapPtr:
        this.pointTo(ev.vcpu, state, ev.page);
        return;
      case Ev.useBitmap:
        state.useBitmap = ev.flag === 1;
        return;
      case Ev.l1Mode:
        state.mode = ev.flag as Mode;
        return;
      case Ev.l0Set:
        state.overrideL0(ev.msr, ev.dir, ev.flag === 1);
        return;
    }
  }

  /** Records an L1 store to the page at gpa. */
  private pageWritten(gpa: number): void {
    if (!this.contents) return; // only merges read versions, and the front merges nothing
    this.versions.set(gpa, (this.versions.get(gpa) ?? 0) + 1);
  }

  /** How many L1 stores the page at gpa has seen. */
  pageVersion(gpa: number): number {
    return this.versions.get(gpa) ?? 0;
  }
}
