/**
 * A replay in one thread: the front judges events as they come, the back
 * runs the strategies over each batch the front fills. Pure: it takes events
 * and returns results.
 */
import { ReplayBack, type MsrStats } from "./back.js";
import type { TraceEvent } from "./events.js";
import { ReplayFront, ReplayError } from "./front.js";
import type { L0Bitmaps, Machine } from "./machine.js";
import { type CostModel, DEFAULT_COST_MODEL, type StrategyResult } from "./results.js";
import type { Strategy } from "./strategy.js";

export { ReplayError, type MsrStats };

export interface ReplayOptions {
  readonly strategies: readonly Strategy[];
  readonly l0: L0Bitmaps;
  /** `--l1-bitmap`: placed at 0x1000 and used by every vCPU from the start. */
  readonly l1Bitmap?: Uint8Array | null;
  /** Keep per-MSR counts (for `replay`). */
  readonly breakdown?: boolean;
}

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

  /** The machine as the trace left it (vCPUs seen, memory). */
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
  breakdown(i: number): MsrStats[] {
    this.front.flush();
    return this.back.breakdown(i);
  }
}
