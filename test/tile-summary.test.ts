/**
 * The replay loop's tile summaries (src/engine/back.ts, tileLoops summarize()):
 * a strategy that runs L2 without a bitmap, or promises alike repeat entries
 * (Strategy.entryIdempotent, repeatEntryStable), is run over a tile of events
 * from its distinct accesses instead of event by event. They must give what
 * the event-by-event loops give (BackOptions.entryFastPath false turns the
 * summaries off), on every kind of trace: violations, bits left unjudged by
 * another vCPU's store, l0-set, more vCPUs in a tile than a summary takes.
 */
import { describe, expect, it } from "vitest";
import { ReplayBack } from "../src/engine/back.js";
import type { TraceEvent } from "../src/engine/events.js";
import { ReplayFront } from "../src/engine/front.js";
import { randomTrace } from "../src/engine/random-trace.js";
import type { StrategyResult } from "../src/engine/results.js";
import type { Strategy } from "../src/engine/strategy.js";
import type { StrategyViolations } from "../src/engine/violations.js";
import { FULL_OR } from "../src/engine/vmcs02.js";
import {
  ALL_STRATEGIES,
  bitmapPage,
  l0Bitmaps,
  load,
  ptr,
  rd,
  strategiesNamed,
  use,
  vmentry,
  vmexit,
  wr,
} from "./helpers/events.js";

interface Outcome {
  readonly results: StrategyResult[];
  readonly violations: StrategyViolations[];
}

/** Replays through a front and a back, as a command does, with each access's line. */
function replay(events: readonly TraceEvent[], strategies: readonly Strategy[], fastPath: boolean): Outcome {
  const l0 = l0Bitmaps("kvm-2013");
  const back = new ReplayBack({ strategies, l0, violations: true, entryFastPath: fastPath });
  const front = new ReplayFront({
    l0,
    lines: true,
    capacity: 1 << 13,
    emit: (batch) => {
      back.consume(batch);
      return undefined;
    },
  });
  events.forEach((ev, i) => {
    front.apply({ ...ev, line: i + 1 });
  });
  front.flush();
  return { results: back.results(), violations: back.violations() };
}

const BUILT_INS = strategiesNamed(ALL_STRATEGIES);

describe("tile summaries", () => {
  // 3,000 events each, every event kind: their tiles are the stretches between machine
  // events. 70 vCPUs: tiles with more than the summary's 64, which go event by event.
  // merged-stale has violations on these.
  it.each([1, 3, 8, 70])("give the event-by-event results on random traces with %i vCPUs", (vcpus) => {
    let violations = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const trace = randomTrace(seed, { events: 3000, vcpus });
      const fast = replay(trace, BUILT_INS, true);
      expect(fast).toEqual(replay(trace, BUILT_INS, false));
      violations += fast.violations.reduce((sum, s) => sum + s.total, 0);
    }
    if (vcpus > 1) expect(violations).toBeGreaterThan(0);
  });

  it("count an entry step's calls once per vCPU and tile, and its counts for every repeat entry", () => {
    // A plug-in that promises alike repeat entries: each call merges (FULL_OR), counted.
    let calls = 0;
    const counting: Strategy = {
      name: "counting",
      summary: "vmcs01 OR vmcs12 at every entry, calls counted",
      origin: "a test",
      repeatEntryStable: true,
      create(machine, counters) {
        const shadows = new Map<number, Uint8Array>();
        return {
          entry(v, state) {
            calls++;
            counters.merges++;
            if (!state.useBitmap) return null;
            const shadow = shadows.get(v) ?? new Uint8Array(4096);
            shadows.set(v, shadow);
            FULL_OR.build(shadow, state.l0Bitmap(), machine.memory.get(state.bitmapPtr) as Uint8Array, false);
            return shadow;
          },
        };
      },
    };
    // L1 wants WRMSR 0x48 (SPEC_CTRL) only: each one is reflected, and the next event enters again.
    const page = bitmapPage("pass", [], [[0x48, "w"]]);
    const events: TraceEvent[] = [load(0, 0x1000, page), ptr(0, 0x1000), use(0, 1), vmentry(0)];
    for (let i = 0; i < 500; i++) events.push(wr(0, 0x48), rd(0, 0xc000_0100));
    events.push(vmexit(0), vmentry(0), rd(0, 0x10));
    calls = 0;
    const fast = replay(events, [counting], true);
    const fastCalls = calls;
    calls = 0;
    const slow = replay(events, [counting], false);
    expect(fast).toEqual(slow);
    // By hand: the first vmentry enters; 500 reflected writes and one vmexit each make the
    // next event enter again: 502 entries, each a merge. rd 0xc0000100 (FS_BASE) passes
    // (kvm-2013 passes it, L1 too): 500 accesses without an exit; rd 0x10 (TSC) exits to L0.
    const [r] = slow.results;
    expect(r).toMatchObject({
      accesses: 1001,
      l1_exits: 500,
      l0_handled: 1,
      no_exit: 500,
      entries: 502,
      merges: 502,
      other_exits: 1,
    });
    expect(calls).toBe(502);
    // The summary calls the entry step once for the vCPU's first entry and once for its
    // repeat entries: the 1,005 events fit one tile.
    expect(fastCalls).toBe(2);
  });

  it("fall back to the events where an access L1 wants does not exit, with its line", () => {
    // merged-stale keeps the shadow it built when L1 edits its page in place: the
    // write to FS_BASE (which kvm-2013 passes through) after the edit completes in
    // L2, a violation on line 8.
    const pass = bitmapPage("pass");
    const events: TraceEvent[] = [
      load(0, 0x1000, pass),
      ptr(0, 0x1000),
      use(0, 1),
      vmentry(0),
      wr(0, 0xc000_0100),
      vmexit(0),
      load(0, 0x1000, bitmapPage("pass", [], [[0xc000_0100, "w"]])),
      wr(0, 0xc000_0100),
      rd(0, 0xc000_0100),
    ];
    const strategies = strategiesNamed(["merged-stale", "merged"]);
    const fast = replay(events, strategies, true);
    expect(fast).toEqual(replay(events, strategies, false));
    expect(fast.violations[0]).toMatchObject({
      strategy: "merged-stale",
      total: 1,
      first: [{ line: 8, msr: 0xc000_0100 }],
    });
    expect(fast.violations[1]).toMatchObject({ strategy: "merged", total: 0 });
  });
});
