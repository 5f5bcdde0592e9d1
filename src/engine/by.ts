/**
 * What `compare --by msr|vcpu` asks the back of a replay to count: every
 * strategy's accesses per MSR and direction, or per vCPU, with where each
 * went (docs/model.md §6) and its violations. The filters (`--vcpu LIST`,
 * `--msr LIST`) are applied here, as accesses are counted: per-MSR counts
 * restricted to some vCPUs need no per (vCPU, MSR) table, so memory stays
 * that of one per-MSR table however many vCPUs a trace has.
 */
import { MAX_VCPUS } from "./machine.js";
import { type MsrBreakdown, MsrCounts } from "./msr-counts.js";
import type { Delivery } from "./strategy.js";
import { type VcpuBreakdown, VcpuCounts } from "./vcpu-counts.js";

/** Plain data (it crosses to worker threads): the key and the filters. */
export interface BreakdownBy {
  readonly by: "msr" | "vcpu";
  /** --vcpu: inclusive ranges [lo, hi], sorted, not overlapping; null keeps every vCPU. */
  readonly vcpus: readonly (readonly [number, number])[] | null;
  /** --msr: inclusive ranges [lo, hi], sorted, not overlapping; null keeps every MSR. */
  readonly msrs: readonly (readonly [number, number])[] | null;
}

/** One strategy's breakdown, as typed arrays (one copy to cross threads). */
export interface StrategyBreakdown {
  readonly strategy: string;
  readonly msrs?: MsrBreakdown;
  readonly vcpus?: VcpuBreakdown;
}

/** Whether a number lies in sorted, disjoint inclusive ranges (binary search). */
export function inRanges(ranges: readonly (readonly [number, number])[], n: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = ranges[mid] as readonly [number, number];
    if (n < from) hi = mid - 1;
    else if (n > to) lo = mid + 1;
    else return true;
  }
  return false;
}

/** One strategy's counts for `--by`, its filters applied to every access and violation. */
export class ByCounts {
  private readonly msrCounts: MsrCounts | null;
  private readonly vcpuCounts: VcpuCounts | null;
  /** Per vCPU, 1 when --vcpu keeps it; null without --vcpu. */
  private readonly vcpuKept: Uint8Array | null;
  private readonly msrRanges: readonly (readonly [number, number])[] | null;

  constructor(spec: BreakdownBy) {
    this.msrCounts = spec.by === "msr" ? new MsrCounts() : null;
    this.vcpuCounts = spec.by === "vcpu" ? new VcpuCounts() : null;
    this.msrRanges = spec.msrs;
    if (spec.vcpus === null) this.vcpuKept = null;
    else {
      const kept = new Uint8Array(MAX_VCPUS);
      for (const [from, to] of spec.vcpus) kept.fill(1, from, Math.min(to, MAX_VCPUS - 1) + 1);
      this.vcpuKept = kept;
    }
  }

  private keeps(vcpu: number, msr: number): boolean {
    if (this.vcpuKept !== null && this.vcpuKept[vcpu] === 0) return false;
    return this.msrRanges === null || inRanges(this.msrRanges, msr);
  }

  add(vcpu: number, msr: number, write: boolean, delivery: Delivery): void {
    if (!this.keeps(vcpu, msr)) return;
    this.msrCounts?.add(msr, write, delivery);
    this.vcpuCounts?.add(vcpu, delivery);
  }

  violation(vcpu: number, msr: number, write: boolean): void {
    if (!this.keeps(vcpu, msr)) return;
    this.msrCounts?.violation(msr, write);
    this.vcpuCounts?.violation(vcpu);
  }

  breakdown(strategy: string): StrategyBreakdown {
    return {
      strategy,
      ...(this.msrCounts ? { msrs: this.msrCounts.breakdown() } : {}),
      ...(this.vcpuCounts ? { vcpus: this.vcpuCounts.breakdown() } : {}),
    };
  }
}
