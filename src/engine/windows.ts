/**
 * `compare --window`: each strategy's counters per window of the trace, a
 * window being N events in trace order or a span of the `t` column.
 *
 * Window ends flow with the events: the front side (WindowCutter) places a
 * WINDOW_END mark among the machine events of the batch, at its position
 * among the queued L2 events, so it reaches the back in order whether the
 * back runs in this thread or in a worker. The back (ReplayBack.consume)
 * hands each mark to a WindowCounter, which turns the strategies' counters
 * at that point into the window's: the difference from those at the
 * previous end. Nothing is kept per window once it is handed on, so memory
 * does not grow with the trace.
 */
import type { ReplayBack } from "./back.js";
import type { MachineEvent } from "./batch.js";
import type { EventCode, TraceEvent } from "./events.js";
import type { ReplayFront } from "./front.js";
import { type CostModel, type Counters, estimateCycles, type StrategyResult } from "./results.js";

/** A window counts events, or seconds of the trace's `t` column. */
export type WindowUnit = "events" | "seconds";

export interface WindowSpec {
  readonly unit: WindowUnit;
  /** Events per window, or the window's span in whole nanoseconds (unit "seconds"). */
  readonly size: number;
  /** As the user wrote it (`10k`, `50ms`), for messages and metadata. */
  readonly text: string;
}

export const NS_PER_SECOND = 1e9;

/**
 * The code of a window's end among the machine events: outside Ev (docs/model.md
 * §3's events are 0-9), so the back can never take it for one.
 */
export const WINDOW_END = 0xff as EventCode;

/** One window's counters, per strategy in the order asked. */
export interface WindowRecord {
  /** 0-based; a time window's number is (its start - the first t) / its span, so a gap shows as a skipped number. */
  readonly window: number;
  /**
   * Event windows: the numbers (1-based, in trace order) of the window's first
   * and last event. Time windows: the window's bounds [from, to) in seconds
   * since the trace's first timestamp.
   */
  readonly from: number;
  readonly to: number;
  /** Events in the window. */
  readonly events: number;
  /** The counters of the window alone; accesses = l0_exits + no_exit; est_cycles of these. */
  readonly results: StrategyResult[];
}

/**
 * The mark ending window `window`, which held `events` events. (A mark
 * carries its numbers in fields a machine event uses otherwise; only
 * WindowCounter reads them.)
 */
export function windowEnd(window: number, events: number): MachineEvent {
  return { code: WINDOW_END, vcpu: 0, msr: 0, dir: 0, flag: events, page: window, content: null };
}

/**
 * The front side: decides, event by event, where windows end. Used instead
 * of front.apply only with --window, so a replay without it does no work
 * per event here.
 */
export class WindowCutter {
  /** The window being filled, and its events so far. */
  private window = 0;
  private count = 0;
  /** The first event's t (time windows); NaN before it. */
  private t0 = Number.NaN;

  constructor(
    private readonly front: ReplayFront,
    private readonly spec: WindowSpec,
  ) {}

  apply(ev: TraceEvent): void {
    if (this.spec.unit === "events") {
      if (this.count === this.spec.size) this.close(this.window + 1);
    } else this.atTime(ev.t);
    this.front.apply(ev); // may throw: an event the machine cannot take is in no window
    this.count++;
  }

  /**
   * Window k covers [t0 + k×span, t0 + (k+1)×span). The offset from t0 is
   * taken to the whole nanosecond, so that a t exactly on a bound opens the
   * next window whatever the rounding of the decimal seconds. A t below the
   * one before (recordings are sorted, but clocks of merged views may
   * disagree) stays in the current window: windows only move forward.
   */
  private atTime(t: number): void {
    if (Number.isNaN(this.t0)) {
      this.t0 = t;
      return;
    }
    const k = Math.floor(Math.round((t - this.t0) * NS_PER_SECOND) / this.spec.size);
    if (k > this.window) this.close(k);
  }

  /** Ends the current window (if it holds an event) and makes `next` the current one. */
  private close(next: number): void {
    if (this.count > 0) this.front.mark(windowEnd(this.window, this.count));
    this.window = next;
    this.count = 0;
  }

  /** At the end of the trace: the last window ends. Call before the front's flush. */
  finish(): void {
    this.close(this.window + 1);
  }
}

/**
 * The back side: at each WINDOW_END mark, the counters of the window just
 * ended, with est_cycles for them (est_cycles is linear in the counters, so
 * the windows' add up to the whole trace's).
 */
export class WindowCounter {
  private before: Counters[] | null = null;
  /** Events in the windows ended so far. */
  private events = 0;

  constructor(
    private readonly spec: WindowSpec,
    private readonly cost: CostModel,
    private readonly onWindow: (record: WindowRecord) => void,
  ) {}

  /** ReplayBack's onWindowEnd. */
  readonly end = (mark: MachineEvent, back: ReplayBack): void => {
    const now = back.countersNow();
    const before = this.before;
    const results = now.map(({ strategy, counters }, s): StrategyResult => {
      const c = before === null ? { ...counters } : difference(counters, before[s] as Counters);
      return {
        strategy: strategy.name,
        ...c,
        est_cycles: estimateCycles(c, this.cost, strategy.mergeCost, strategy.name),
      };
    });
    this.before = now.map(({ counters }) => counters);
    const window = mark.page;
    const events = mark.flag;
    const first = this.events + 1;
    this.events += events;
    const span = this.spec.size;
    const timed = this.spec.unit === "seconds";
    this.onWindow({
      window,
      from: timed ? (window * span) / NS_PER_SECOND : first,
      to: timed ? ((window + 1) * span) / NS_PER_SECOND : this.events,
      events,
      results,
    });
  };
}

function difference(now: Counters, before: Counters): Counters {
  const out = { ...now };
  for (const key of Object.keys(out) as (keyof Counters)[]) out[key] = now[key] - before[key];
  return out;
}
