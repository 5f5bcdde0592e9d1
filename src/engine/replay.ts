/**
 * The replay loop (SPEC section 6): one shared Machine, and for each strategy
 * its own L0, its own "L2 runs on this vCPU" flags and its counters. Pure: it
 * takes events and returns results.
 */
import { DIR_R, DIR_W, PAGE_SIZE, bitPosition, orDifference, testBit, writeMsrBits } from "./bitmap.js";
import { EVENT_NAMES, Ev, type Mode, type TraceEvent } from "./events.js";
import { type L0Bitmaps, MAX_VCPUS, Machine, NO_BITMAP_PTR, type VcpuState } from "./machine.js";
import {
  type CostModel,
  type Counters,
  DEFAULT_COST_MODEL,
  type StrategyResult,
  estimateCycles,
  zeroCounters,
} from "./results.js";
import { Delivery, type NestedL0, type Strategy } from "./strategy.js";

/** An event the machine cannot take (a VM entry that fails on hardware). */
export class ReplayError extends Error {
  constructor(
    message: string,
    /** The failing event's `line`, as the reader set it. */
    readonly line: number,
  ) {
    super(message);
    this.name = "ReplayError";
  }
}

export interface ReplayOptions {
  readonly strategies: readonly Strategy[];
  readonly l0: L0Bitmaps;
  /** `--l1-bitmap`: placed at 0x1000 and used by every vCPU from the start. */
  readonly l1Bitmap?: Uint8Array | null;
  /** Keep per-MSR counts (for `replay`); costs a map look-up per access. */
  readonly breakdown?: boolean;
}

/** Per-MSR, per-direction counts of one strategy. */
export interface MsrStats {
  readonly msr: number;
  readonly write: boolean;
  accesses: number;
  l0_exits: number;
  l1_exits: number;
  no_exit: number;
}

interface Run {
  readonly strategy: Strategy;
  readonly l0: NestedL0;
  readonly counters: Counters;
  readonly l1WantsEverything: boolean;
  /** 1 while L2 runs on the vCPU under this strategy. */
  readonly running: Uint8Array;
  /**
   * Bits of L1's page that another vCPU changed while L2 ran here: the SDM
   * leaves such accesses undefined, so they are not judged until the next entry.
   */
  readonly unjudged: (Uint8Array | null)[];
  readonly msrs: Map<number, MsrStats> | null;
}

export class Replay {
  readonly machine: Machine;
  private readonly runs: Run[];
  private events = 0;
  /** 1 once the vCPU's vmcs12 passed the entry checks; cleared by L1 events. */
  private readonly entryChecked = new Uint8Array(MAX_VCPUS);

  constructor(options: ReplayOptions) {
    this.machine = new Machine(options.l0, options.l1Bitmap ?? null);
    this.runs = options.strategies.map((strategy) => {
      const counters = zeroCounters();
      return {
        strategy,
        l0: strategy.create(this.machine, counters),
        counters,
        l1WantsEverything: strategy.l1WantsEverything === true,
        running: new Uint8Array(MAX_VCPUS),
        unjudged: new Array<Uint8Array | null>(MAX_VCPUS).fill(null),
        msrs: options.breakdown ? new Map() : null,
      };
    });
  }

  /** Events applied so far. */
  get eventCount(): number {
    return this.events;
  }

  apply(ev: TraceEvent): void {
    this.events++;
    const v = ev.vcpu;
    const state = this.machine.vcpu(v);
    switch (ev.code) {
      case Ev.rdmsr:
      case Ev.wrmsr:
        this.checkEntry(v, state, ev);
        this.access(ev, v, state);
        return;
      case Ev.vmexit:
        this.checkEntry(v, state, ev);
        for (const run of this.runs) {
          if (run.running[v] === 0) this.enter(run, v, state);
          run.counters.other_exits++;
          run.running[v] = 0;
        }
        return;
      case Ev.vmentry:
        this.checkEntry(v, state, ev);
        for (const run of this.runs) if (run.running[v] === 0) this.enter(run, v, state);
        return;
      case Ev.l0Set:
        state.overrideL0(ev.msr, ev.dir, ev.flag === 1);
        for (const run of this.runs) run.l0.l0Changed(v, state, run.running[v] === 1 && state.useBitmap);
        return;
    }
    // An L1 event: L1 can only act once L2 has left this vCPU.
    this.entryChecked[v] = 0;
    for (const run of this.runs) {
      if (run.running[v] === 1) {
        run.counters.other_exits++;
        run.running[v] = 0;
      }
    }
    switch (ev.code) {
      case Ev.bitmapLoad:
      case Ev.bitmapSet:
        this.l1Store(ev, v);
        return;
      case Ev.bitmapPtr:
        state.bitmapPtr = ev.page;
        return;
      case Ev.useBitmap:
        state.useBitmap = ev.flag === 1;
        return;
      case Ev.l1Mode:
        state.mode = ev.flag as Mode;
        return;
    }
  }

  results(cost: CostModel = DEFAULT_COST_MODEL): StrategyResult[] {
    return this.runs.map(({ strategy, counters }) => ({
      strategy: strategy.name,
      ...counters,
      est_cycles: estimateCycles(counters, cost),
    }));
  }

  /** Per-MSR counts of the i-th strategy, busiest first (needs `breakdown`). */
  breakdown(i: number): MsrStats[] {
    const msrs = this.runs[i]?.msrs;
    if (!msrs) return [];
    return [...msrs.values()].sort(
      (a, b) => b.accesses - a.accesses || a.msr - b.msr || Number(a.write) - Number(b.write),
    );
  }

  private access(ev: TraceEvent, v: number, state: VcpuState): void {
    const write = ev.code === Ev.wrmsr;
    const position = bitPosition(ev.msr, write);
    // Entries below change no shared state, so the oracle is asked once.
    const l1WantsLive = this.machine.l1Wants(state, position);
    const l0Wants = this.machine.l0Wants(state, position);
    for (const run of this.runs) {
      if (run.running[v] === 0) this.enter(run, v, state);
      const l1Wants = run.l1WantsEverything || l1WantsLive;
      const delivery = run.l0.deliver(v, state, position, l1Wants);
      const c = run.counters;
      c.accesses++;
      if (delivery === Delivery.none) c.no_exit++;
      else {
        c.l0_exits++;
        if (delivery === Delivery.l1) {
          c.l1_exits++;
          run.running[v] = 0;
        } else c.l0_handled++;
      }
      const violation =
        (l1Wants ? delivery !== Delivery.l1 : delivery === Delivery.l1) || (l0Wants && delivery === Delivery.none);
      if (violation) {
        const unjudged = run.unjudged[v];
        if (!(unjudged && position >= 0 && testBit(unjudged, position))) c.violations++;
      }
      if (run.msrs) countMsr(run.msrs, ev.msr, write, delivery);
    }
  }

  /**
   * Before anything that may enter L2 on v: the entry must succeed. Only L1
   * events change vmcs12 and they make every strategy leave L2 first, so the
   * first such event after them is an entry under every strategy, and one
   * check per vCPU until the next L1 event covers all strategies (or none, for
   * `validate`). SDM "Checks on VMX Controls": with "use MSR bitmaps" = 1 the
   * MSR-bitmap address must be a valid page.
   */
  private checkEntry(v: number, state: VcpuState, ev: TraceEvent): void {
    if (this.entryChecked[v] === 1) return;
    if (state.useBitmap && this.machine.l1Page(state) === undefined) {
      const why =
        state.bitmapPtr === NO_BITMAP_PTR
          ? "no MSR-bitmap address (no bitmap-ptr)"
          : `MSR-bitmap address 0x${state.bitmapPtr.toString(16)}, a page nothing has written (no bitmap-load or bitmap-set)`;
      throw new ReplayError(
        `${EVENT_NAMES[ev.code]} on vCPU ${v} needs a nested entry, but vmcs12 has "use MSR bitmaps" = 1 and ${why}; on hardware VM entry fails`,
        ev.line,
      );
    }
    this.entryChecked[v] = 1;
  }

  /** A nested entry (VMLAUNCH/VMRESUME by L1) under one strategy. */
  private enter(run: Run, v: number, state: VcpuState): void {
    run.counters.entries++;
    run.unjudged[v] = null;
    run.l0.entry(v, state);
    run.running[v] = 1;
  }

  /** bitmap-load / bitmap-set: L1 stores to a guest page. */
  private l1Store(ev: TraceEvent, v: number): void {
    const gpa = ev.page;
    const page = this.machine.page(gpa);
    const before = this.runningElsewhere(gpa, v) ? page.slice() : null;
    if (ev.code === Ev.bitmapLoad) {
      if (ev.content === null || ev.content.length !== PAGE_SIZE) {
        throw new ReplayError("bitmap-load without a 4096-byte page", ev.line);
      }
      page.set(ev.content);
    } else {
      writeMsrBits(page, ev.msr, ev.dir & (DIR_R | DIR_W), ev.flag === 1);
    }
    if (before) this.markUnjudged(gpa, v, before, page);
    for (const run of this.runs) run.l0.l1Write(gpa);
  }

  /** Whether L2 runs, under some strategy, on another vCPU whose vmcs12 points at gpa. */
  private runningElsewhere(gpa: number, v: number): boolean {
    for (const u of this.machine.seen) {
      if (u === v || this.machine.vcpu(u).bitmapPtr !== gpa) continue;
      for (const run of this.runs) if (run.running[u] === 1) return true;
    }
    return false;
  }

  private markUnjudged(gpa: number, v: number, before: Uint8Array, after: Uint8Array): void {
    for (const u of this.machine.seen) {
      if (u === v || this.machine.vcpu(u).bitmapPtr !== gpa) continue;
      for (const run of this.runs) {
        if (run.running[u] === 0) continue;
        let mask = run.unjudged[u];
        if (!mask) {
          mask = new Uint8Array(PAGE_SIZE);
          run.unjudged[u] = mask;
        }
        orDifference(mask, before, after);
      }
    }
  }
}

function countMsr(msrs: Map<number, MsrStats>, msr: number, write: boolean, delivery: Delivery): void {
  const key = msr * 2 + (write ? 1 : 0);
  let s = msrs.get(key);
  if (!s) {
    s = { msr, write, accesses: 0, l0_exits: 0, l1_exits: 0, no_exit: 0 };
    msrs.set(key, s);
  }
  s.accesses++;
  if (delivery === Delivery.none) s.no_exit++;
  else {
    s.l0_exits++;
    if (delivery === Delivery.l1) s.l1_exits++;
  }
}
