/**
 * A replay in one thread: the front checks events as they come (the machine,
 * the entry checks), the back judges each batch the front fills and runs the
 * strategies over it. Pure: it takes events and returns results.
 */
import { type BackOptions, ReplayBack } from "./back.js";
import type { StrategyBreakdown } from "./by.js";
import type { TraceEvent } from "./events.js";
import { ReplayError, ReplayFront } from "./front.js";
import type { Machine } from "./machine.js";
import type { MsrBreakdown } from "./msr-counts.js";
import { type CostModel, DEFAULT_COST_MODEL, type StrategyResult } from "./results.js";

export { ReplayError };

/** A whole replay takes what its back half does. */
export type ReplayOptions = BackOptions;

export class Replay {
  private readonly front: ReplayFront;
  private readonly back: ReplayBack;

  constructor(options: ReplayOptions) {
    this.back = new ReplayBack(options);
    this.front = new ReplayFront({
      l0: options.l0,
      l1Bitmap: options.l1Bitmap ?? null,
      capacity: 4096,
      emit: (batch) => {
        this.back.consume(batch); // done with it: the front reuses it
        return undefined;
      },
    });
  }

  /** The machine as the trace left it (vCPUs seen; which pages exist, not their contents). */
  get machine(): Machine {
    return this.front.machine;
  }

  /** Events applied so far. */
  get eventCount(): number {
    return this.front.events;
  }

  apply(ev: TraceEvent): void {
    this.front.apply(ev);
  }

  results(cost: CostModel = DEFAULT_COST_MODEL): StrategyResult[] {
    this.front.flush();
    return this.back.results(cost);
  }

  /** Per-MSR counts of the i-th strategy, busiest first (needs `breakdown`). */
  breakdown(i: number): MsrBreakdown {
    this.front.flush();
    return this.back.breakdown(i);
  }

  /** `compare --by`: every strategy's breakdown (needs `by`). */
  breakdowns(): StrategyBreakdown[] {
    this.front.flush();
    return this.back.breakdowns();
  }
}
