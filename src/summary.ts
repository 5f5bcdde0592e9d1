/** What `validate` reports about a trace: events by kind, vCPUs, pages, MSRs. */
import { EVENT_NAMES, Ev, type TraceEvent } from "./engine/events.js";

export class TraceSummary {
  readonly byEvent = new Array<number>(EVENT_NAMES.length).fill(0);
  private readonly vcpuSet = new Set<number>();
  private readonly pageSet = new Set<number>();
  private readonly msrSet = new Set<number>();

  add(ev: TraceEvent): void {
    this.byEvent[ev.code] = (this.byEvent[ev.code] ?? 0) + 1;
    this.vcpuSet.add(ev.vcpu);
    switch (ev.code) {
      case Ev.rdmsr:
      case Ev.wrmsr:
        this.msrSet.add(ev.msr);
        break;
      case Ev.bitmapSet:
        this.msrSet.add(ev.msr);
        this.pageSet.add(ev.page);
        break;
      case Ev.l0Set:
        this.msrSet.add(ev.msr);
        break;
      case Ev.bitmapLoad:
      case Ev.bitmapPtr:
        this.pageSet.add(ev.page);
        break;
    }
  }

  get events(): number {
    return this.byEvent.reduce((a, b) => a + b, 0);
  }

  get vcpus(): number[] {
    return sorted(this.vcpuSet);
  }

  get pages(): number[] {
    return sorted(this.pageSet);
  }

  get msrs(): number[] {
    return sorted(this.msrSet);
  }
}

function sorted(set: Set<number>): number[] {
  return [...set].sort((a, b) => a - b);
}
