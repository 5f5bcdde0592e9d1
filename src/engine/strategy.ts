/**
 * The interface every strategy implements: how L0 builds vmcs02's MSR bitmap.
 * Where an access then goes is the CPU's and L0's exit handling, the same for
 * every strategy, so it lives in back.ts with the rest they share (implicit
 * entries and exits, counters, the violation oracle). docs/strategies.md
 * walks through it member by member for an author.
 */
import type { Mode } from "./events.js";
import type { MergeCost } from "./results.js";

/** Where an L2 access goes (docs/model.md §6). */
export const Delivery = {
  /** Completes in L2 without an exit. */
  none: 0,
  /** Exits to L0, which handles it; L2 goes on running. */
  l0: 1,
  /** Exits to L0 and is reflected to L1; L2 stops running. */
  l1: 2,
} as const;

export type Delivery = (typeof Delivery)[keyof typeof Delivery];

/** The counters a strategy updates itself; the rest belong to the replay loop. */
export interface StrategyCounters {
  /** vmcs02 bitmaps built, full or sparse (docs/model.md §7). */
  merges: number;
  /** L1 stores that hit a page this strategy write-protected. */
  wp_faults: number;
  /** Dirty-bit checks of L1's page at nested entries. */
  dirty_checks: number;
}

/**
 * What a strategy may read of one vCPU (docs/model.md §5): vmcs12's MSR-bitmap
 * fields, L1's mode and L0's own bitmap. Read-only: the trace changes it, a
 * strategy never does.
 */
export interface VcpuView {
  /** L1's long-mode state, which picks L0's bitmap (MODE_LONGMODE or MODE_LEGACY). */
  readonly mode: Mode;
  /** vmcs12's "use MSR bitmaps" control. */
  readonly useBitmap: boolean;
  /** vmcs12's MSR-bitmap address (a GPA), or -1 when the trace has set none. */
  readonly bitmapPtr: number;
  /** How many `l0-set` events changed this vCPU's L0 bitmap so far. */
  readonly l0Overrides: number;
  /** L0's bitmap for the vCPU now (vmcs01's): the profile's for its mode, overrides applied. Do not write it. */
  l0Bitmap(): Uint8Array;
}

/** What a strategy may read of the machine: guest memory, shared by all vCPUs (docs/model.md §5). */
export interface MachineView {
  /** GPA -> bitmap page (4096 bytes, SDM layout), for the pages that exist. Do not write them. */
  readonly memory: ReadonlyMap<number, Uint8Array>;
  /** How many L1 stores (bitmap-load, bitmap-set) the page at gpa has seen: a cheap "changed since?" test. */
  pageVersion(gpa: number): number;
  /** Bumped by every event that changes the machine: two equal epochs, the same machine. */
  readonly epoch: number;
}

/**
 * One strategy's L0 for one replay (Strategy.create); it keeps its own
 * per-vCPU state. Both members are optional: a strategy with no `entry` runs
 * L2 without an MSR bitmap (every access exits to L0), one with no `l1Write`
 * ignores L1's stores.
 */
export interface NestedL0 {
  /**
   * The entry step (KVM: the MSR-bitmap part of prepare_vmcs02()): returns
   * the MSR bitmap vmcs02 runs L2 on vCPU v with, or null for none (every
   * access exits to L0). Called at every nested entry on v (docs/model.md §6),
   * and again, with no entry counted, when L0 changes its own bitmap for v
   * while L2 runs there with use_bitmap = 1 (`l0-set`: vmcs02 must show L0's
   * new bits before L2 goes on). The engine promises that the entry checks
   * passed: with `state.useBitmap` the page at `state.bitmapPtr` exists. The
   * strategy promises that the page it returns stays as it is until its next
   * call for v (the engine reads it on every access) and that it counts what
   * it does (`merges`, `dirty_checks`) in the counters create() was given.
   * With `state.useBitmap` false L1 runs L2 without a bitmap: return null,
   * as every strategy of docs/model.md §6 does.
   */
  entry?(v: number, state: VcpuView): Uint8Array | null;
  /**
   * L1 stored to the guest page at gpa (`bitmap-load`, `bitmap-set`), after
   * the store: the page in `machine.memory` holds the new bits. Called for
   * every store, whether or not it changed a bit and whoever points at the
   * page. L2 has left the storing vCPU; it may run on others.
   */
  l1Write?(gpa: number): void;
}

export interface Strategy {
  /** The name the CLI, CSV and JSON use (docs/model.md §1): a lowercase slug (`a-z`, `0-9`, `-`). */
  readonly name: string;
  /** One line for `nvmx-replay strategies`: how L0 builds vmcs02's bitmap. */
  readonly summary: string;
  /**
   * Who does this today, with the kernel function or source file it models
   * (or why nobody does), for `nvmx-replay strategies`.
   */
  readonly origin: string;
  /**
   * The cost-model key a merge is charged at in est_cycles (docs/model.md §7):
   * `merge`, a full 4 KiB OR (the default), or `merge_sparse`, KVM's rewrite
   * of an allow-list of bits.
   */
  readonly mergeCost?: MergeCost;
  /**
   * L0 hides the "use MSR bitmaps" VM-execution control from L1 (it is not
   * among the allowed 1-settings of the VMX capability MSRs), so L1 can only
   * run L2 as with use_bitmap = 0: L1 wants every access (docs/model.md §6,
   * `no-bitmap`), and L0, which must reflect every one, runs L2 without a
   * bitmap (entry() is never called). A statement about the L1 interface,
   * not about vmcs02: nothing else in the interface can say it.
   */
  readonly hidesMsrBitmaps?: boolean;
  /**
   * A speed promise, kept for speed only (the replay loop would be right
   * without it): entry() called again on a vCPU with no machine event since
   * its last call (MachineView.epoch unchanged) returns the same page and
   * counts nothing, so the loop may skip the call (merged rebuilds only on
   * change; merged-eager counts every merge, merged-dirty every dirty check,
   * so they do not promise it). checkStrategy() (conformance.ts) replays
   * with and without the skip and requires the same results.
   */
  readonly entryIdempotent?: boolean;
  /**
   * A speed promise, weaker than entryIdempotent, kept for speed only: a
   * repeat entry (entry() on a vCPU again, with no machine event since the
   * strategy's last entry() call on it) returns a page with the same bits as
   * that call did, counts the same as every other repeat entry on that vCPU
   * before the next machine event, and changes nothing that another vCPU's
   * entry step reads. The loop may then run a tile of events from a summary
   * of its distinct accesses, calling entry() once for a vCPU's repeat
   * entries and taking its counts for each (merged-eager counts a merge per
   * entry, merged-dirty a dirty check: both promise it). checkStrategy()
   * replays with and without the summaries and requires the same results.
   */
  readonly repeatEntryStable?: boolean;
  /**
   * Unsafe on purpose: the design may let an access complete in L2 that L1
   * or L0 wanted (a baseline showing why a safeguard is needed, as
   * merged-stale shows why L1's stores must be tracked). Its violations are
   * then its point: checkStrategy() does not fail it for them, and
   * `compare --fail-on-violations` does not count them.
   */
  readonly unsafe?: boolean;
  /**
   * A fresh L0 for one replay over `machine`, counting in `counters`
   * (both the engine's, live for the whole replay). Called once per
   * replay, before the first event; keep all per-replay state in what it
   * returns, so that replays (and threads) never share any.
   */
  create(machine: MachineView, counters: StrategyCounters): NestedL0;
}
