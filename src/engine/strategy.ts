/**
 * The interface every strategy implements: how L0 builds vmcs02's MSR bitmap
 * and where an L2 access ends up. Everything strategies share (implicit
 * entries and exits, counters, the violation oracle) lives in replay.ts.
 */
import type { Machine, VcpuState } from "./machine.js";

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
  merges: number;
  wp_faults: number;
}

/** One strategy's L0 for one replay; it keeps its own per-vCPU state. */
export interface NestedL0 {
  /** Entry step (KVM: the MSR-bitmap part of prepare_vmcs02()); use_bitmap may be 0. */
  entry(v: number, state: VcpuState): void;
  /**
   * Where an access goes while L2 runs on v. `position` is the access's bit
   * position (-1: no bit); `l1Wants` is the oracle's answer from live state.
   */
  deliver(v: number, state: VcpuState, position: number, l1Wants: boolean): Delivery;
  /** L1 stored to the guest page at gpa (bitmap-load, bitmap-set). */
  l1Write(gpa: number): void;
  /** L0 changed its own bitmap for v; `l2Runs`: L2 runs on v with use_bitmap = 1. */
  l0Changed(v: number, state: VcpuState, l2Runs: boolean): void;
}

export interface Strategy {
  /** The name the CLI, CSV and JSON use (SPEC section 1). */
  readonly name: string;
  /** One line for `nvmx-replay strategies`. */
  readonly summary: string;
  /** Under this strategy L1 is offered no MSR bitmaps, so it wants every access. */
  readonly l1WantsEverything?: boolean;
  /** A fresh L0 for one replay over `machine`. */
  create(machine: Machine, counters: StrategyCounters): NestedL0;
}
