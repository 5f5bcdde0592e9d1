/**
 * What `validate` reports about a trace: events by kind, vCPUs, pages, MSRs.
 * Its memory is bounded whatever the trace: `validate` must accept every
 * trace `compare` accepts, and a trace may name millions of distinct pages
 * (bitmap-ptr needs no page to exist) or MSRs.
 */
import { EVENT_NAMES, Ev, type TraceEvent } from "./engine/events.js";
import { MAX_VCPUS } from "./engine/machine.js";

/**
 * Distinct pages or MSRs counted exactly up to this many; beyond it the
 * count is "more than" it. A million numbers in a Set take some 40 MB; an
 * exact count of any number of distinct 52-bit GPAs would need memory
 * growing with the trace (and a Set holds at most 2^24 entries).
 */
export const DISTINCT_COUNT_LIMIT = 1_000_000;
/** Distinct pages or MSRs listed, at most: the lowest ones counted. */
export const DISTINCT_LIST_LIMIT = 1000;

/** Distinct numbers, counted exactly up to DISTINCT_COUNT_LIMIT. */
export class DistinctValues {
  private readonly values = new Set<number>();
  /** Whether a value went uncounted (the limit was reached). */
  private overflowed = false;

  constructor(private readonly limit = DISTINCT_COUNT_LIMIT) {}

  add(value: number): void {
    const values = this.values;
    if (values.size < this.limit) values.add(value);
    else if (!this.overflowed && !values.has(value)) this.overflowed = true;
  }

  /** The distinct values counted: the exact count when `exact`, a lower bound otherwise. */
  get count(): number {
    return this.values.size;
  }

  /** Whether `count` is every distinct value (none went uncounted). */
  get exact(): boolean {
    return !this.overflowed;
  }

  /** The lowest `max` of the values counted, in ascending order. */
  lowest(max = DISTINCT_LIST_LIMIT): number[] {
    // A typed array sorts numerically, and in a third of a plain array's memory.
    return Array.from(Float64Array.from(this.values).sort().subarray(0, max));
  }
}

export class TraceSummary {
  readonly byEvent = new Array<number>(EVENT_NAMES.length).fill(0);
  private readonly vcpuSeen = new Uint8Array(MAX_VCPUS);
  readonly pages = new DistinctValues();
  readonly msrs = new DistinctValues();

  add(ev: TraceEvent): void {
    this.byEvent[ev.code] = (this.byEvent[ev.code] ?? 0) + 1;
    this.vcpuSeen[ev.vcpu] = 1;
    switch (ev.code) {
      case Ev.rdmsr:
      case Ev.wrmsr:
        this.msrs.add(ev.msr);
        break;
      case Ev.bitmapSet:
        this.msrs.add(ev.msr);
        this.pages.add(ev.page);
        break;
      case Ev.l0Set:
        this.msrs.add(ev.msr);
        break;
      case Ev.bitmapLoad:
      case Ev.bitmapPtr:
        this.pages.add(ev.page);
        break;
    }
  }

  get events(): number {
    return this.byEvent.reduce((a, b) => a + b, 0);
  }

  /** Every vCPU the trace names (at most MAX_VCPUS), ascending. */
  get vcpus(): number[] {
    const vcpus: number[] = [];
    this.vcpuSeen.forEach((seen, v) => {
      if (seen) vcpus.push(v);
    });
    return vcpus;
  }
}
