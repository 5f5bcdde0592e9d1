/**
 * checkStrategy(): what an author runs on a strategy before trusting its
 * numbers. It replays random traces (random-trace.ts) and holds the strategy
 * to what the interface asks of it (strategy.ts):
 *
 * - no violations (docs/model.md §6), unless it declares itself unsafe;
 * - the same results with the entry fast path off, when it declares
 *   entryIdempotent or repeatEntryStable (the promises that let the replay
 *   loop skip entry(), or run a tile of events from its summary);
 * - the same results when replayed again (all per-replay state lives in what
 *   create() returns, none in the module);
 * - no exception from its code.
 *
 * Pure: traces in memory, a structured report out. docs/strategies.md shows
 * it in use.
 */
import type { L0Bitmaps } from "./machine.js";
import { DEFAULT_L0_PROFILE, findL0Profile } from "./profiles.js";
import { DEFAULT_RANDOM_EVENTS, DEFAULT_RANDOM_VCPUS, randomTrace } from "./random-trace.js";
import { Replay } from "./replay.js";
import { type CounterName, RESULT_FIELDS, type StrategyResult } from "./results.js";
import type { Strategy } from "./strategy.js";

export interface ConformanceOptions {
  /** Random traces to replay (default 50). */
  readonly traces?: number;
  /** Events per trace after its set-up (default 400). */
  readonly events?: number;
  /** vCPUs per trace (default 3). */
  readonly vcpus?: number;
  /** The first trace's seed; trace i uses seed + i (default 1). The same seed, the same traces. */
  readonly seed?: number;
  /** L0's bitmaps (default: the kvm-2013 profile's). */
  readonly l0?: L0Bitmaps;
}

export const DEFAULT_CONFORMANCE_TRACES = 50;
export const DEFAULT_CONFORMANCE_SEED = 1;

/** One check that failed: which, on which trace, and a line saying what went wrong. */
export interface ConformanceFailure {
  readonly check: "violations" | "fast-path" | "repeatable" | "threw";
  /** The seed of the first trace it failed on (randomTrace(seed) makes it again). */
  readonly seed: number;
  readonly message: string;
}

export interface ConformanceReport {
  readonly strategy: string;
  /** No failure. */
  readonly ok: boolean;
  readonly traces: number;
  /** Events replayed per run of the checks, set-up rows included. */
  readonly events: number;
  /** Violations over all the traces (allowed when the strategy declares itself unsafe). */
  readonly violations: number;
  /** Whether the fast-path check ran (the strategy declares entryIdempotent or repeatEntryStable). */
  readonly fastPathChecked: boolean;
  /** At most one per check, the first trace it failed on. */
  readonly failures: readonly ConformanceFailure[];
}

/** The counters compared between two replays of a trace: every one of docs/model.md §7. */
const COMPARED = RESULT_FIELDS.filter((f): f is CounterName => f !== "strategy" && f !== "est_cycles");

/** Replays `strategy` over random traces and reports how it kept the interface's promises. */
export function checkStrategy(strategy: Strategy, options: ConformanceOptions = {}): ConformanceReport {
  const traces = options.traces ?? DEFAULT_CONFORMANCE_TRACES;
  const seed0 = options.seed ?? DEFAULT_CONFORMANCE_SEED;
  const l0 = options.l0 ?? defaultL0();
  const failures = new Map<ConformanceFailure["check"], ConformanceFailure>();
  const fail = (check: ConformanceFailure["check"], seed: number, message: string) => {
    if (!failures.has(check)) failures.set(check, { check, seed, message: `${strategy.name}: ${message}` });
  };
  const fastPathChecked = strategy.entryIdempotent === true || strategy.repeatEntryStable === true;
  let violations = 0;
  let violatingTraces = 0;
  let firstViolating = -1;
  let events = 0;
  for (let i = 0; i < traces; i++) {
    const seed = seed0 + i;
    const trace = randomTrace(seed, {
      events: options.events ?? DEFAULT_RANDOM_EVENTS,
      vcpus: options.vcpus ?? DEFAULT_RANDOM_VCPUS,
    });
    events += trace.length;
    let result: StrategyResult;
    try {
      result = replay(strategy, l0, trace, true);
      if (fastPathChecked) {
        const slow = replay(strategy, l0, trace, false);
        const differs = difference(result, slow);
        if (differs !== null) {
          fail(
            "fast-path",
            seed,
            `${promised(strategy)}, but the fast path changes the results (${differs} with it, without it): ${promise(strategy)}`,
          );
        }
      }
      const again = difference(result, replay(strategy, l0, trace, true));
      if (again !== null) {
        fail(
          "repeatable",
          seed,
          `a second replay of the same trace gives other results (${again}): keep per-replay state in what create() returns`,
        );
      }
    } catch (error) {
      fail("threw", seed, `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      continue;
    }
    violations += result.violations;
    if (result.violations > 0) {
      violatingTraces++;
      if (firstViolating < 0) firstViolating = seed;
    }
  }
  if (violations > 0 && strategy.unsafe !== true) {
    fail(
      "violations",
      firstViolating,
      `${violations} violations on ${violatingTraces} of ${traces} random traces (the first with seed ${firstViolating}): ` +
        "an access completed in L2 that L1 or L0 wanted (declare the strategy unsafe if that is its point)",
    );
  }
  const list = [...failures.values()];
  return {
    strategy: strategy.name,
    ok: list.length === 0,
    traces,
    events,
    violations,
    fastPathChecked,
    failures: list,
  };
}

/** The speed promises a strategy declares, as the fast-path failure names them. */
function promised(strategy: Strategy): string {
  const names = [
    strategy.entryIdempotent ? "entryIdempotent" : null,
    strategy.repeatEntryStable ? "repeatEntryStable" : null,
  ];
  return `declares ${names.filter((name) => name !== null).join(" and ")}`;
}

/** What the promises ask (strategy.ts), for the fast-path failure. */
function promise(strategy: Strategy): string {
  return strategy.entryIdempotent
    ? "entry() called again with no machine event between must return the same page and count nothing"
    : "entry() called again with no machine event between must return the same bits, count the same each time " +
        "and change nothing another vCPU's entry reads";
}

function defaultL0(): L0Bitmaps {
  const profile = findL0Profile(DEFAULT_L0_PROFILE);
  if (!profile) throw new Error(`internal: no L0 profile ${DEFAULT_L0_PROFILE}`);
  return profile.bitmaps();
}

function replay(
  strategy: Strategy,
  l0: L0Bitmaps,
  trace: readonly Parameters<Replay["apply"]>[0][],
  entryFastPath: boolean,
): StrategyResult {
  const engine = new Replay({ strategies: [strategy], l0, entryFastPath });
  for (const ev of trace) engine.apply(ev);
  return engine.results()[0] as StrategyResult;
}

/** The first counter two results differ in, as "merges 5 against 7"; null when they agree. */
function difference(a: StrategyResult, b: StrategyResult): string | null {
  const field = COMPARED.find((f) => a[f] !== b[f]);
  return field === undefined ? null : `${field} ${a[field]} against ${b[field]}`;
}
