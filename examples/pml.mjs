// A plug-in strategy for nvmx-replay, not built in: the shadow bitmap of
// kernel bug 53761 (vmcs01 OR vmcs12), with L1's stores to its bitmap pages
// tracked by page-modification logging (PML) instead of write protection.
//
//   nvmx-replay compare traces/bitmap-churn.csv --strategy-module examples/pml.mjs -s merged,merged-dirty,pml
//
// Plain JavaScript with JSDoc types: it runs as it is, with no build step.
// docs/strategies.md describes the interface it implements.
//
// The design. PML (Intel SDM vol. 3, "Page-Modification Logging", in the
// chapter "VMX Support for Address Translation"): with EPT accessed and dirty
// flags on and "enable PML" set in vmcs01, a store by L1 that sets the dirty
// flag of an EPT entry (from 0 to 1) makes the CPU append the page's
// guest-physical address to a 512-entry log page and decrement the
// "PML index" VMCS field; when the log is full, the next such store causes a
// "page-modification log full" VM exit. A page logs once until L0 clears its
// dirty flag again.
//
// L0 here leaves L1's bitmap pages writable (no write-protection fault, the
// cost of `merged`) and, at each nested entry, drains the log: every page in
// it marks the shadows built from it stale, and gets its dirty flag cleared
// so that L1's next store to it logs again. A shadow is re-merged when there
// is none, when it is stale, or when vmcs12's pointer, L1's mode or L0's
// bitmap changed since it was built (as `merged`). Unlike `merged-dirty`,
// which reads the page's dirty bit on every entry that reuses the shadow, an
// entry that finds the log empty costs nothing: the PML index is a VMCS field
// L0 reads on its way in anyway.
//
// What it counts (the CSV header is fixed, so only the existing counters):
// - `merges`: shadows built, each a full 4 KiB OR (`merge` cost).
// - `dirty_checks`: drains, one per entry that finds the log holding a bitmap
//   page, and one per log-full exit. A drain does for the pages it finds what
//   merged-dirty's check does for one page (read which page L1 dirtied,
//   clear its EPT dirty flag, flush that translation so the next store sets
//   it again), so it is charged the `dirty_check` cost. With at most a few
//   bitmap pages per vCPU a drain nearly always finds one page, where the
//   per-page work and the per-drain work coincide.
// - `wp_faults`: never (nothing is write-protected).
//
// What it leaves out: the log is per vmcs01 (per vCPU) on hardware; here a
// drain reads every vCPU's log, as KVM's kvm_flush_pml_buffers() does when it
// harvests dirty pages, without charging the kick that takes. The trace holds
// only L1's stores to bitmap pages, so drains caused by the other pages L1
// dirties (which an L0 doing dirty logging drains anyway) are not counted.

/** Entries in the PML log page (SDM: 512 64-bit guest-physical addresses). */
const PML_ENTRIES = 512;
/** Bytes of an MSR bitmap page (SDM "MSR-Bitmap Address"). */
const PAGE_SIZE = 4096;

/** @typedef {import("nvmx-replay").Strategy} Strategy */
/** @typedef {import("nvmx-replay").MachineView} MachineView */
/** @typedef {import("nvmx-replay").VcpuView} VcpuView */
/** @typedef {import("nvmx-replay").StrategyCounters} StrategyCounters */

/**
 * One vCPU's shadow: vmcs02's bitmap, what it was built from, and whether a
 * drain found its page since.
 * @typedef {{ page: Uint8Array, gpa: number, mode: number, overrides: number, stale: boolean }} Shadow
 */

/**
 * @param {MachineView} machine
 * @param {StrategyCounters} counters
 */
function createPmlL0(machine, counters) {
  /** @type {Map<number, Shadow>} vCPU -> its shadow */
  const shadows = new Map();
  /** @type {Map<number, Set<number>>} GPA -> the vCPUs whose shadow was built from it */
  const builtFrom = new Map();
  /** @type {Set<number>} the pages logged since the last drain (their dirty flag is set) */
  const log = new Set();

  /** L0 empties the log: each page's shadows are stale, its dirty flag cleared. */
  function drain() {
    counters.dirty_checks++;
    for (const gpa of log) {
      for (const v of builtFrom.get(gpa) ?? []) {
        const shadow = shadows.get(v);
        if (shadow) shadow.stale = true;
      }
    }
    log.clear();
  }

  /**
   * vmcs01 OR vmcs12 into v's shadow page.
   * @param {number} v
   * @param {VcpuView} state
   * @param {Uint8Array} l1Page
   */
  function merge(v, state, l1Page) {
    counters.merges++;
    let shadow = shadows.get(v);
    if (shadow === undefined) {
      shadow = { page: new Uint8Array(PAGE_SIZE), gpa: -1, mode: 0, overrides: 0, stale: false };
      shadows.set(v, shadow);
    }
    builtFrom.get(shadow.gpa)?.delete(v);
    const l0Page = state.l0Bitmap();
    for (let i = 0; i < PAGE_SIZE; i++)
      shadow.page[i] = /** @type {number} */ (l0Page[i]) | /** @type {number} */ (l1Page[i]);
    shadow.gpa = state.bitmapPtr;
    shadow.mode = state.mode;
    shadow.overrides = state.l0Overrides;
    shadow.stale = false;
    let users = builtFrom.get(shadow.gpa);
    if (users === undefined) {
      users = new Set();
      builtFrom.set(shadow.gpa, users);
    }
    users.add(v);
    return shadow.page;
  }

  return {
    /**
     * @param {number} v
     * @param {VcpuView} state
     */
    entry(v, state) {
      if (log.size > 0) drain();
      if (!state.useBitmap) return null; // L1 runs L2 without a bitmap: so does L0
      const l1Page = machine.memory.get(state.bitmapPtr);
      if (l1Page === undefined) throw new Error(`pml: vCPU ${v} enters with no page at its bitmap address`);
      const shadow = shadows.get(v);
      const current =
        shadow !== undefined &&
        !shadow.stale &&
        shadow.gpa === state.bitmapPtr &&
        shadow.mode === state.mode &&
        shadow.overrides === state.l0Overrides;
      return current ? shadow.page : merge(v, state, l1Page);
    },
    /** @param {number} gpa */
    l1Write(gpa) {
      // The store sets the page's dirty flag; if it was clear, the CPU logs the GPA.
      log.add(gpa);
      // The log filled up: a "page-modification log full" exit, and L0 drains it there.
      if (log.size === PML_ENTRIES) drain();
    },
  };
}

/** @type {Strategy} */
const pml = {
  name: "pml",
  summary: "the merged shadow bitmap, re-merged when L1's page shows up in the PML log L0 drains at each entry",
  origin: "nobody: kernel bug 53761's merge with page-modification logging (SDM vol. 3) instead of write protection",
  // Entry twice with no event between: the log is empty (only L1's stores fill it) and the shadow current.
  entryIdempotent: true,
  create: createPmlL0,
};

export default pml;
