/**
 * The interface every strategy implements: how L0 builds vmcs02's MSR bitmap.
 * Where an access then goes is the CPU's and L0's exit handling, the same for
 * every strategy, so it lives in replay.ts with the rest they share (implicit
 * entries and exits, counters, the violation oracle).
 */
import type { Machine, VcpuState } from "./machine.js";
import type { MergeCost } from "./results.js";

/** Where an L2 access goes (SPEC section 6). */
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
  /** vmcs02 bitmaps built, full or sparse (SPEC section 7). */
  merges: number;
  /** L1 stores that hit a page this strategy write-protected. */
  wp_faults: number;
  /** Dirty-bit checks of L1's page at nested entries. */
  dirty_checks: number;
}

/** One strategy's L0 for one replay; it keeps its own per-vCPU state. */
export interface NestedL0 {
  /**
   * Entry step (KVM: the MSR-bitmap part of prepare_vmcs02()): returns the MSR
   * bitmap vmcs02 runs L2 with, or null for none (every access exits to L0).
   * The page stays vmcs02's until the next entry; the strategy may rebuild it
   * in place meanwhile (see l0Changed).
   */
  entry(v: number, state: VcpuState): Uint8Array | null;
  /** L1 stored to the guest page at gpa (bitmap-load, bitmap-set). */
  l1Write(gpa: number): void;
  /** L0 changed its own bitmap for v; `l2Runs`: L2 runs on v with use_bitmap = 1. */
  l0Changed(v: number, state: VcpuState, l2Runs: boolean): void;
}

export interface Strategy {
  /** The name the CLI, CSV and JSON use (SPEC section 1). */
  readonly name: string;
  /** One line for `nvmx-replay strategies`: how L0 builds vmcs02's bitmap. */
  readonly summary: string;
  /**
   * Who does this today, with the kernel function or source file it models
   * (or why nobody does), for `nvmx-replay strategies`.
   */
  readonly origin: string;
  /**
   * The cost-model key a merge is charged at in est_cycles (SPEC section 7):
   * `merge`, a full 4 KiB OR (the default), or `merge_sparse`, KVM's rewrite
   * of an allow-list of bits.
   */
  readonly mergeCost?: MergeCost;
  /**
   * L1 is offered no MSR bitmaps, so it wants every access: L0 reflects
   * every exit. Otherwise L0 reflects what L1's bitmap asks for
   * (KVM: nested_vmx_exit_handled_msr()).
   */
  readonly l1WantsEverything?: boolean;
  /**
   * L2 always runs without an MSR bitmap: entry() would return null, so the
   * replay loop does not call it (an entry is then only counted).
   */
  readonly withoutBitmap?: boolean;
  /**
   * entry() called again on a vCPU with no machine event since its last call
   * returns the same bitmap and counts nothing, so the replay loop may skip
   * the call (merged rebuilds only on change; merged-eager counts every merge,
   * merged-dirty every dirty check).
   */
  readonly entryIdempotent?: boolean;
  /** A fresh L0 for one replay over `machine`. */
  create(machine: Machine, counters: StrategyCounters): NestedL0;
}
