/**
 * The back half of a replay (docs/model.md §6): for each strategy its own L0,
 * its own "L2 runs on this vCPU" flags and its counters, over a machine kept
 * in step with the front's. Each access is judged once for all strategies
 * (oracle.ts), and a tile of events is summed up once for those that can
 * take a summary (tileLoops below), so a strategy here is a short loop over
 * a tile's distinct accesses, or a tight one over its events.
 */
import type { Batch, MachineEvent } from "./batch.js";
import { BitAddress, orPageDifference, PAGE_SIZE, pageDifference, testBit } from "./bitmap.js";
import { type BreakdownBy, ByCounts, type StrategyBreakdown } from "./by.js";
import { Ev } from "./events.js";
import { type L0Bitmaps, L1_BITMAP_GPA, MAX_VCPUS, Machine, NO_BITMAP_PTR } from "./machine.js";
import { emptyBreakdown, type MsrBreakdown, MsrCounts } from "./msr-counts.js";
import {
  accessPlace,
  Judged,
  judgement,
  L1_WANTS,
  msrsAsInt32,
  NO_BITMAP,
  OracleViews,
  PLACE_NO_BIT_SHIFT,
  POSITION_SHIFT,
  WANTED,
} from "./oracle.js";
import {
  type CostModel,
  type Counters,
  DEFAULT_COST_MODEL,
  estimateCycles,
  type StrategyResult,
  zeroCounters,
} from "./results.js";
import { Delivery, type Strategy, type VcpuView } from "./strategy.js";
import { type StrategyViolations, VIOLATION_LIMIT, type ViolationRecord, violationKind } from "./violations.js";
import { WINDOW_END } from "./windows.js";

/**
 * Events per strategy pass, 2^TILE_BITS: small enough that a tile stays in
 * cache for all of them (7 bytes an event, and a judgement, 4), large enough
 * that a summary's per-tile work (each strategy's look at its distinct
 * accesses and its vCPUs' entries) is little per event: 8,192 summed up
 * 0.85x the time 2,048 did, and 32,768 no faster (5 strategies, 10M events).
 */
const TILE_BITS = 13;
const TILE = 1 << TILE_BITS;
/**
 * The summary's vCPUs per tile at most, 2^SLOT_BITS (tileLoops summarize()):
 * a tile with more is run event by event. Each slot has 2^PLACE_BITS key
 * entries (256 KiB of address space, of which only the pages of the places
 * a trace uses are ever touched).
 */
const SLOT_BITS = 6;
const MAX_SLOTS = 1 << SLOT_BITS;
/** Bits of an access's place (oracle.ts accessPlace()): the no-bit flag above a 15-bit position. */
const PLACE_BITS = PLACE_NO_BIT_SHIFT + 1;
/** A slot's tag is the summary's stamp above the slot, which takes SLOT_BITS bits. */
const SLOT_TAG_SHIFT = SLOT_BITS;
/** A key entry's tag is the summary's stamp above the key's index, which takes TILE_BITS bits. */
const KEY_TAG_SHIFT = TILE_BITS;
/** Stamps count up to this (the tags keep them in 31 bits), then the tagged arrays are cleared. */
const STAMP_LIMIT = (1 << (31 - KEY_TAG_SHIFT)) - 1;
/** lastOf[slot]: the slot's last event was a vmexit or a vmentry (else the key of its last access). */
const LAST_EXIT = -1;
const LAST_ENTRY = -2;

// Event and delivery codes as plain constants for the loops below.
const WRMSR: number = Ev.wrmsr;
const VMEXIT: number = Ev.vmexit;
const VMENTRY: number = Ev.vmentry;
const NONE: number = Delivery.none;
const L0: number = Delivery.l0;
const L1: number = Delivery.l1;

/** enteredAt[v]: v is in no enteredOn set, and its next entry puts it in one. */
const UNTRACKED = -2;

export interface BackOptions {
  readonly strategies: readonly Strategy[];
  readonly l0: L0Bitmaps;
  /** `--l1-bitmap`: placed at 0x1000 and used by every vCPU from the start. */
  readonly l1Bitmap?: Uint8Array | null;
  /** Keep per-MSR counts (for `replay`). */
  readonly breakdown?: boolean;
  /** `compare --by`: every strategy's counts per MSR or per vCPU, filtered (src/engine/by.ts). */
  readonly by?: BreakdownBy | null;
  /**
   * Record each strategy's first VIOLATION_LIMIT violations (`compare
   * --violations`); their lines come from the batches' line column.
   */
  readonly violations?: boolean;
  /**
   * `--window`: told of each WINDOW_END mark the front placed among the
   * machine events (engine/windows.ts), with the back as it is at that point.
   */
  readonly onWindowEnd?: (mark: MachineEvent, back: ReplayBack) => void;
  /**
   * Skip entry() where a strategy promises it would change nothing
   * (Strategy.entryIdempotent), and run a tile from its summary where a
   * strategy allows it (Run.bySummary); the default. False calls entry() at
   * every entry and goes event by event, so that checkStrategy()
   * (conformance.ts) can hold the promises to the results.
   */
  readonly entryFastPath?: boolean;
}

/**
 * Whether a replay keeps counts per event (the per-MSR table of `replay`, or
 * `compare --by`): its strategies then go event by event, as no tile's
 * summary holds such counts (docs/model.md §6).
 */
export function countsPerEvent(options: Pick<BackOptions, "breakdown" | "by">): boolean {
  return options.breakdown === true || options.by != null;
}

/** For `explain`: what one strategy's L2 looks like on a vCPU (ReplayBack.l2View). */
export interface L2View {
  /** L2 runs on the vCPU under the strategy. */
  readonly running: boolean;
  /** vmcs02 has an MSR bitmap (otherwise every access exits). */
  readonly withBitmap: boolean;
  /** vmcs02's bit at the position (1 = exits); true without a bitmap or for an MSR with no bit. */
  readonly bit: boolean;
  /** Another vCPU's L1 changed this bit while L2 ran here (docs/model.md §6): not judged until the next entry. */
  readonly unjudged: boolean;
}

/**
 * What a replay found about L1's bitmap, for warnings (the CLI's, on
 * stderr): whether the set-up it was given mattered. Sticky facts, found
 * per batch (ReplayBack.noteSetupUse), not counted per access.
 */
export interface SetupUse {
  /** Some access ran with use_bitmap = 1 (L1's bitmap was consulted at least once). */
  readonly ranWithL1Bitmap: boolean;
  /**
   * `--l1-bitmap` given: some L2 event ran in a vmcs12 state the option
   * shaped (use_bitmap or bitmap_ptr still the option's, or pointing at its
   * page before the trace replaced that page with a bitmap-load). False when
   * the option was not given.
   */
  readonly l1OptionUsed: boolean;
}

/** Which vmcs12 fields the trace itself set on a vCPU (ReplayBack.traceSet). */
const USE_SET = 1;
const PTR_SET = 2;

interface Run {
  readonly strategy: Strategy;
  /** The strategy's entry step (NestedL0.entry); unused when withoutBitmap. */
  readonly entry: (v: number, state: VcpuView) => Uint8Array | null;
  /** NestedL0.l1Write, or null when the strategy ignores L1's stores. */
  readonly l1Write: ((gpa: number) => void) | null;
  readonly counters: Counters;
  /** Strategy.hidesMsrBitmaps: L1 wants every access. */
  readonly l1WantsEverything: boolean;
  /** L2 always runs without a bitmap (hidesMsrBitmaps, or no entry step): runWithoutBitmap's loop. */
  readonly withoutBitmap: boolean;
  /** Strategy.entryIdempotent, and BackOptions.entryFastPath not turned off. */
  readonly entryIdempotent: boolean;
  /**
   * Per vCPU, the machine's epoch at the last entry (the last call of
   * entry(), or a call skipped as entryIdempotent allows): equal to the
   * epoch now, vmcs02[v] is what entry() would return now.
   */
  readonly enteredInEpoch: Float64Array;
  /**
   * The tile's events may be run from its summary (tileLoops summarize()):
   * the entry fast path is on, no per-MSR or per-vCPU counts are kept, and
   * L2 runs without a bitmap or the strategy's repeat entries are alike
   * (Strategy.entryIdempotent or repeatEntryStable).
   */
  readonly bySummary: boolean;
  /** 1 while L2 runs on the vCPU under this strategy. */
  readonly running: Uint8Array;
  /** vmcs02's MSR bitmap per vCPU since its last entry (NO_BITMAP: L2 runs without one). */
  readonly vmcs02: Uint8Array[];
  /** Accesses by Delivery (none, l0, l1): the access counters derive from these. */
  readonly delivered: Float64Array;
  /**
   * Bits of L1's page that another vCPU changed while L2 ran here: the SDM
   * leaves such accesses undefined, so they are not judged until the next entry.
   */
  readonly unjudged: (Uint8Array | null)[];
  readonly msrs: MsrCounts | null;
  /** `compare --by`'s counts, or null (the loops check once, hoisted). */
  readonly by: ByCounts | null;
  /** The first VIOLATION_LIMIT violations, in trace order (BackOptions.violations), or null. */
  readonly firstViolations: ViolationRecord[] | null;
}

export class ReplayBack {
  readonly machine: Machine;
  private readonly runs: Run[];
  private accesses = 0;
  /** Per vCPU, what the oracle reads. */
  private readonly views: OracleViews;
  /**
   * GPA -> vCPUs that entered L2 pointing at it, under some strategy that
   * runs L2 with a bitmap, since their last L1 event: a superset of those
   * that may run on the page now (the cross-vCPU rule, markUnjudged). A store
   * to a page looks at these only, and drops those no longer running, so
   * its cost is paid for by their entries, not by every vCPU seen.
   */
  private readonly enteredOn = new Map<number, Set<number>>();
  /** Per vCPU, the GPA of its enteredOn set, NO_BITMAP_PTR (none: no pointer), or UNTRACKED. */
  private readonly enteredAt = new Float64Array(MAX_VCPUS).fill(UNTRACKED);
  /** The `running` flags of the strategies that run L2 with a bitmap. */
  private readonly runningWithBitmap: Uint8Array[];
  /** `--l1-bitmap` was given. */
  private readonly l1Option: boolean;
  /** Per vCPU, 1 while its use_bitmap is 1; and how many such vCPUs (a vCPU not seen yet counts). */
  private readonly useNow: Uint8Array;
  private useVcpus: number;
  private ranWithL1Bitmap = false;
  /** Per vCPU, 1 while its vmcs12 state is one `--l1-bitmap` shaped (SetupUse); and how many. */
  private readonly optionNow: Uint8Array;
  private optionVcpus: number;
  private l1OptionUsed = false;
  /** Per vCPU, USE_SET | PTR_SET: the fields a trace event set (the rest are still the option's). */
  private readonly traceSet = new Uint8Array(MAX_VCPUS);
  /** A bitmap-load replaced the whole of `--l1-bitmap`'s page. */
  private optionPageReplaced = false;
  private readonly onWindowEnd: BackOptions["onWindowEnd"] | null;
  /** Some strategy can run a tile from its summary: worth making one per tile. */
  private readonly summarized: boolean;

  constructor(options: BackOptions) {
    this.machine = new Machine(options.l0, options.l1Bitmap ?? null);
    this.onWindowEnd = options.onWindowEnd ?? null;
    // A vCPU starts as --l1-bitmap sets it (use_bitmap 1, its page), or with use_bitmap 0.
    this.l1Option = options.l1Bitmap != null;
    const initial = this.l1Option ? 1 : 0;
    this.useNow = new Uint8Array(MAX_VCPUS).fill(initial);
    this.optionNow = new Uint8Array(MAX_VCPUS).fill(initial);
    this.useVcpus = this.optionVcpus = initial * MAX_VCPUS;
    this.views = new OracleViews(this.machine, options.l0.longmode, this.l1Option);
    const fastPath = options.entryFastPath !== false;
    this.runs = options.strategies.map((strategy) => {
      const counters = zeroCounters();
      const l0 = strategy.create(this.machine, counters);
      const hides = strategy.hidesMsrBitmaps === true;
      const entry = l0.entry;
      return {
        strategy,
        entry: entry ? entry.bind(l0) : () => null,
        l1Write: l0.l1Write ? l0.l1Write.bind(l0) : null,
        counters,
        l1WantsEverything: hides,
        // L0 must reflect every access L1 wants, so hiding the bitmaps from L1 means running L2 without one.
        withoutBitmap: hides || entry === undefined,
        entryIdempotent: fastPath && strategy.entryIdempotent === true,
        bySummary:
          fastPath &&
          !countsPerEvent(options) &&
          (hides || entry === undefined || strategy.entryIdempotent === true || strategy.repeatEntryStable === true),
        enteredInEpoch: new Float64Array(MAX_VCPUS).fill(-1),
        running: new Uint8Array(MAX_VCPUS),
        vmcs02: new Array<Uint8Array>(MAX_VCPUS).fill(NO_BITMAP),
        delivered: new Float64Array(3),
        unjudged: new Array<Uint8Array | null>(MAX_VCPUS).fill(null),
        msrs: options.breakdown ? new MsrCounts() : null,
        by: options.by ? new ByCounts(options.by) : null,
        firstViolations: options.violations ? [] : null,
      };
    });
    this.runningWithBitmap = this.runs.filter((run) => !run.withoutBitmap).map((run) => run.running);
    this.summarized = this.runs.some((run) => run.bySummary);
  }

  consume(batch: Batch): void {
    let from = 0;
    batch.machineEvents.forEach((ev, k) => {
      const to = batch.marks[k] as number;
      this.runAll(batch, from, to);
      if (ev.code === WINDOW_END) this.onWindowEnd?.(ev, this);
      else this.machineEvent(ev);
      from = to;
    });
    this.runAll(batch, from, batch.count);
  }

  /** Events [from, to) under every strategy, a cache-sized tile at a time. */
  private runAll(batch: Batch, from: number, to: number): void {
    this.noteSetupUse(batch, from, to);
    for (let tile = from; tile < to; tile += TILE) {
      const end = Math.min(tile + TILE, to);
      // A summary when some strategy can use one (and the tile has few enough vCPUs for it).
      const summary = this.summarized && TILE_LOOPS.summarize(batch, tile, end, this.views);
      const epoch = this.machine.epoch;
      // The tile's own arrays are filled for the first loop that goes event by event.
      let judged = false;
      for (const run of this.runs) {
        if (summary && run.bySummary) {
          if (run.withoutBitmap) {
            TILE_LOOPS.runSummaryWithoutBitmap(run);
            continue;
          }
          if (TILE_LOOPS.runSummary(this, run, epoch)) continue;
        }
        if (!judged) {
          TILE_LOOPS.judge(batch, tile, end, this.views);
          judged = true;
        }
        if (run.withoutBitmap) TILE_LOOPS.runWithoutBitmap(run, batch, tile, end);
        else TILE_LOOPS.runSegment(this, run, batch, tile, end);
      }
      // The summary or judge() counted them (there is always one: some strategy needs it).
      this.accesses += TILE_LOOPS.accesses();
    }
  }

  /**
   * SetupUse for the events [from, to), over which the machine does not
   * change. Each fact is sticky: once found, never looked for again, and not
   * looked for while no vCPU is in the state it needs. So a trace that runs
   * with L1's bitmap costs a look at a few events; only one that never does
   * (the case warned about) is looked through to its end, a byte compare per
   * event, once for all strategies.
   */
  private noteSetupUse(batch: Batch, from: number, to: number): void {
    const { code: codes, vcpu: vcpus } = batch;
    if (!this.ranWithL1Bitmap && this.useVcpus > 0) {
      const useNow = this.useNow;
      for (let i = from; i < to; i++) {
        if ((codes[i] as number) <= WRMSR && useNow[vcpus[i] as number] === 1) {
          this.ranWithL1Bitmap = true;
          break;
        }
      }
    }
    if (!this.l1OptionUsed && this.optionVcpus > 0) {
      // Any L2 event: an entry in the option's state merges its page, even with no access.
      const optionNow = this.optionNow;
      for (let i = from; i < to; i++) {
        if (optionNow[vcpus[i] as number] === 1) {
          this.l1OptionUsed = true;
          break;
        }
      }
    }
  }

  /** After a machine event: the use_bitmap and `--l1-bitmap` states of the vCPUs it may change. */
  private noteSetupEvent(ev: MachineEvent): void {
    const v = ev.vcpu;
    if (ev.code === Ev.useBitmap) this.traceSet[v] = (this.traceSet[v] as number) | USE_SET;
    else if (ev.code === Ev.bitmapPtr) this.traceSet[v] = (this.traceSet[v] as number) | PTR_SET;
    else if (ev.code === Ev.bitmapLoad && ev.page === L1_BITMAP_GPA && this.l1Option && !this.optionPageReplaced) {
      // The trace wrote its own page over the option's: from now on the page is the trace's.
      this.optionPageReplaced = true;
      for (const u of this.machine.pointingAt(L1_BITMAP_GPA)) this.noteSetupState(u);
    }
    this.noteSetupState(v);
  }

  private noteSetupState(v: number): void {
    const state = this.machine.vcpu(v);
    const use = state.useBitmap ? 1 : 0;
    this.useVcpus += use - (this.useNow[v] as number);
    this.useNow[v] = use;
    if (!this.l1Option) return;
    // Without the option use_bitmap starts 0 and bitmap_ptr unset: a field the
    // trace never set, or the option's page, makes this vCPU run differently.
    const set = this.traceSet[v] as number;
    const onOptionPage = state.bitmapPtr === L1_BITMAP_GPA && !this.optionPageReplaced;
    const shaped = use === 1 && ((set & USE_SET) === 0 || (set & PTR_SET) === 0 || onOptionPage) ? 1 : 0;
    this.optionVcpus += shaped - (this.optionNow[v] as number);
    this.optionNow[v] = shaped;
  }

  /** What the replay so far found about L1's bitmap (SetupUse). */
  setupUse(): SetupUse {
    return { ranWithL1Bitmap: this.ranWithL1Bitmap, l1OptionUsed: this.l1OptionUsed };
  }

  results(cost: CostModel = DEFAULT_COST_MODEL): StrategyResult[] {
    return this.runs.map(({ strategy, counters, delivered }) => {
      const c: Counters = {
        ...counters,
        accesses: this.accesses,
        l0_exits: (delivered[Delivery.l0] as number) + (delivered[Delivery.l1] as number),
        l1_exits: delivered[Delivery.l1] as number,
        l0_handled: delivered[Delivery.l0] as number,
        no_exit: delivered[Delivery.none] as number,
      };
      return { strategy: strategy.name, ...c, est_cycles: estimateCycles(c, cost, strategy.mergeCost, strategy.name) };
    });
  }

  /**
   * Each strategy's counters so far, exact between any two events (results()
   * counts a tile's accesses at its end; here they are the sum of the
   * deliveries): a window's counters are the difference of two of these.
   */
  countersNow(): { readonly strategy: Strategy; readonly counters: Counters }[] {
    return this.runs.map(({ strategy, counters, delivered }) => {
      const none = delivered[NONE] as number;
      const l0 = delivered[L0] as number;
      const l1 = delivered[L1] as number;
      const now: Counters = {
        ...counters,
        accesses: none + l0 + l1,
        l0_exits: l0 + l1,
        l1_exits: l1,
        l0_handled: l0,
        no_exit: none,
      };
      return { strategy, counters: now };
    });
  }

  /** Per-MSR counts of the i-th strategy, busiest first (needs `breakdown`). */
  breakdown(i: number): MsrBreakdown {
    return this.runs[i]?.msrs?.breakdown() ?? emptyBreakdown();
  }

  /** `compare --by`: every strategy's breakdown, in the order of the strategies (empty without `by`). */
  breakdowns(): StrategyBreakdown[] {
    return this.runs.flatMap((run) => (run.by ? [run.by.breakdown(run.strategy.name)] : []));
  }

  /**
   * An access that completed in L2 (delivered to none) while L1 or L0
   * wanted it: the i-th of the batch. (For TILE_LOOPS only.)
   */
  violation(run: Run, v: number, position: number, batch: Batch, i: number, judgement: number): void {
    const unjudged = run.unjudged[v];
    if (unjudged && testBit(unjudged, position)) return;
    run.counters.violations++;
    run.by?.violation(v, batch.msr[i] as number, batch.code[i] === WRMSR);
    const first = run.firstViolations;
    if (first === null || first.length >= VIOLATION_LIMIT) return;
    const kind = violationKind((judgement & L1_WANTS) !== 0, (judgement & WANTED) !== 0, Delivery.none);
    if (kind === null) return;
    first.push({
      line: batch.line?.[i] ?? 0,
      vcpu: v,
      msr: batch.msr[i] as number,
      write: batch.code[i] === WRMSR,
      kind,
    });
  }

  /** Each strategy's violations: the count and the first ones (needs `violations`; empty lists otherwise). */
  violations(): StrategyViolations[] {
    return this.runs.map((run) => ({
      strategy: run.strategy.name,
      total: run.counters.violations,
      first: run.firstViolations?.slice() ?? [],
    }));
  }

  /**
   * For `explain`, read-only: the i-th strategy's L2 on vCPU v, and vmcs02's
   * bit at `position` (a bitPosition(); negative for an MSR with no bit).
   */
  l2View(i: number, v: number, position: number): L2View {
    const run = this.runs[i];
    if (run === undefined) throw new Error(`internal: no strategy ${i}`);
    const page = run.vmcs02[v] as Uint8Array;
    const unjudged = run.unjudged[v];
    return {
      running: run.running[v] === 1,
      withBitmap: page !== NO_BITMAP,
      bit: position < 0 || testBit(page, position),
      unjudged: position >= 0 && unjudged !== null && unjudged !== undefined && testBit(unjudged, position),
    };
  }

  /** A nested entry (VMLAUNCH/VMRESUME by L1) under one strategy. (For TILE_LOOPS, and here.) */
  enter(run: Run, v: number): void {
    run.counters.entries++;
    if (run.unjudged[v] !== null) run.unjudged[v] = null;
    run.running[v] = 1;
    if (this.enteredAt[v] === UNTRACKED) this.track(v);
    const epoch = this.machine.epoch;
    if (run.entryIdempotent && run.enteredInEpoch[v] === epoch) return; // same machine: same vmcs02
    run.enteredInEpoch[v] = epoch;
    run.vmcs02[v] = run.entry(v, this.machine.vcpu(v)) ?? NO_BITMAP;
  }

  /**
   * `times` repeat entries on v under one strategy (tileLoops runSummary):
   * nested entries with no machine event since the strategy's last entry on
   * v, which its promise makes alike (Strategy.entryIdempotent: nothing to
   * do; repeatEntryStable: the same bits, the same counts each). One call of
   * its entry step stands for them all, its counts taken `times` times.
   */
  repeatEntries(run: Run, v: number, times: number): void {
    const counters = run.counters;
    counters.entries += times;
    if (run.unjudged[v] !== null) run.unjudged[v] = null;
    if (run.entryIdempotent) return; // runSummary checked that v entered in this epoch
    const { merges, wp_faults: faults, dirty_checks: checks } = counters;
    run.vmcs02[v] = run.entry(v, this.machine.vcpu(v)) ?? NO_BITMAP;
    const more = times - 1;
    counters.merges += (counters.merges - merges) * more;
    counters.wp_faults += (counters.wp_faults - faults) * more;
    counters.dirty_checks += (counters.dirty_checks - checks) * more;
  }

  /**
   * `l0-set` on v while L2 runs there with use_bitmap = 1 (docs/model.md §6):
   * L0 rebuilds vmcs02 before L2 goes on, by the strategy's entry step, with
   * no entry counted.
   */
  private reenter(run: Run, v: number, state: VcpuView): void {
    run.enteredInEpoch[v] = this.machine.epoch;
    run.vmcs02[v] = run.entry(v, state) ?? NO_BITMAP;
  }

  /** Whether the i-th strategy runs L2 without an MSR bitmap whatever the trace does (for `explain`). */
  runsWithoutBitmap(i: number): boolean {
    return this.runs[i]?.withoutBitmap === true;
  }

  private machineEvent(ev: MachineEvent): void {
    const created = this.views.creates(ev);
    this.applyMachineEvent(ev);
    this.noteSetupEvent(ev);
    this.views.applied(ev, created);
  }

  private applyMachineEvent(ev: MachineEvent): void {
    const v = ev.vcpu;
    const state = this.machine.vcpu(v);
    if (ev.code === Ev.l0Set) {
      this.machine.apply(ev);
      if (!state.useBitmap) return; // L2 runs without a bitmap: the next entry takes L0's new bits
      for (const run of this.runs) if (run.running[v] === 1 && !run.withoutBitmap) this.reenter(run, v, state);
      return;
    }
    // An L1 event: L1 can only act once L2 has left this vCPU.
    for (const run of this.runs) {
      if (run.running[v] === 1) {
        run.counters.other_exits++;
        run.running[v] = 0;
      }
    }
    this.untrack(v);
    if (ev.code !== Ev.bitmapLoad && ev.code !== Ev.bitmapSet) {
      this.machine.apply(ev);
      return;
    }
    // L1 stores to a guest page.
    const gpa = ev.page;
    const elsewhere = this.runningOn(gpa);
    const before = elsewhere.length > 0 ? this.machine.page(gpa).slice() : null;
    this.machine.apply(ev);
    if (before) this.markUnjudged(elsewhere, pageDifference(before, this.machine.page(gpa)));
    for (const run of this.runs) run.l1Write?.(gpa);
  }

  /** Puts v in the enteredOn set of the page its vmcs12 points at (at an entry). */
  private track(v: number): void {
    const gpa = this.machine.vcpu(v).bitmapPtr;
    this.enteredAt[v] = gpa;
    if (gpa === NO_BITMAP_PTR) return; // until its next L1 event, v runs on no page
    let set = this.enteredOn.get(gpa);
    if (set === undefined) {
      set = new Set();
      this.enteredOn.set(gpa, set);
    }
    set.add(v);
  }

  /** At an L1 event on v: L2 left v under every strategy, and its pointer may change. */
  private untrack(v: number): void {
    const gpa = this.enteredAt[v] as number;
    if (gpa === UNTRACKED) return;
    this.enteredAt[v] = UNTRACKED;
    if (gpa === NO_BITMAP_PTR) return;
    const set = this.enteredOn.get(gpa);
    set?.delete(v);
    if (set?.size === 0) this.enteredOn.delete(gpa);
  }

  /**
   * The vCPUs L2 runs on, under some strategy with a bitmap, whose vmcs12
   * points at gpa (the acting vCPU is not among them: L2 left it). Those
   * of the page's enteredOn set that no longer run anywhere leave it.
   */
  private runningOn(gpa: number): number[] {
    const running: number[] = [];
    const set = this.enteredOn.get(gpa);
    if (set === undefined) return running;
    const flags = this.runningWithBitmap;
    for (const u of set) {
      let runs = 0;
      for (let k = 0; k < flags.length; k++) runs |= (flags[k] as Uint8Array)[u] as number;
      if (runs !== 0) running.push(u);
      else {
        set.delete(u);
        this.enteredAt[u] = UNTRACKED;
      }
    }
    if (set.size === 0) this.enteredOn.delete(gpa);
    return running;
  }

  /** The cross-vCPU rule: the bits a store changed are not judged on `vcpus` until their next entry. */
  private markUnjudged(vcpus: readonly number[], difference: readonly number[]): void {
    if (difference.length === 0) return; // a store that changes nothing marks nothing
    const runs = this.runs;
    for (const u of vcpus) {
      for (let k = 0; k < runs.length; k++) {
        const run = runs[k] as Run;
        // Without a bitmap every access exits: nothing to leave unjudged.
        if (run.withoutBitmap || run.running[u] === 0) continue;
        let mask = run.unjudged[u];
        if (!mask) {
          mask = new Uint8Array(PAGE_SIZE);
          run.unjudged[u] = mask;
        }
        orPageDifference(mask, difference);
      }
    }
  }
}

/**
 * The hot loops of a replay, and the tile of events they run over: made
 * once, below, so that each of these functions exists as one closure. V8
 * then compiles the tile's arrays into the loops as constants (function
 * context specialization), where arrays reached through a parameter, a
 * field or a module-level binding (which the bundler turns into a `var`)
 * have their addresses and lengths loaded again at every access: the loops
 * ran about 1.6 times slower so. The tile is shared by every ReplayBack of
 * the thread, which is safe as runAll() fills and runs it in one go.
 */
function tileLoops() {
  /** The tile's event codes and vCPUs, copied from the batch by judge(). */
  const codes = new Uint8Array(TILE);
  const vcpus = new Uint16Array(TILE);
  /** The oracle's answers for the tile (judge()): the bit's position, NO_BIT and the want bits. */
  const judged = new Int32Array(TILE);
  /** The tile's MSRs, as int32 (summarize(); oracle.ts msrsAsInt32()). */
  const msrs = new Int32Array(TILE);

  // The tile's summary (summarize()), read by runSummary() and runSummaryWithoutBitmap().
  /** Bumped per summary: a slot or key entry tagged with another stamp is from an earlier tile. */
  let stamp = 0;
  /** Per vCPU: the summary's stamp and its slot in it (stamp << SLOT_TAG_SHIFT | slot). */
  const slotTag = new Int32Array(MAX_VCPUS);
  /** Per slot, in the order the vCPUs first appear in the tile: the vCPU. */
  const slotVcpu = new Int32Array(MAX_SLOTS);
  /** Per slot: its vCPU's vmexits, and its last event (a key, LAST_EXIT or LAST_ENTRY). */
  const otherExitsOf = new Int32Array(MAX_SLOTS);
  const lastOf = new Int32Array(MAX_SLOTS);
  /**
   * Per slot, with L2 left on an L1-wanted access or an other exit (A), or on
   * any access or other exit (B: L1 wants everything): how often it so
   * entered again (each event after one that left L2 is a nested entry), and
   * whether its last event left. Neither depends on the strategy as long as
   * every access L1 wants exits (runSummary() checks it).
   */
  const reentriesA = new Int32Array(MAX_SLOTS);
  const reentriesB = new Int32Array(MAX_SLOTS);
  const leftA = new Uint8Array(MAX_SLOTS);
  const leftB = new Uint8Array(MAX_SLOTS);
  /** The distinct accesses, each a key: its slot, judgement and count. */
  const keySlot = new Int32Array(TILE);
  const keyJudgement = new Int32Array(TILE);
  const keyCount = new Int32Array(TILE);
  /** Per slot and place: the key's index, tagged with the summary's stamp (stamp << KEY_TAG_SHIFT | index). */
  const keyAt = new Int32Array(MAX_SLOTS << PLACE_BITS);
  let slots = 0;
  let keys = 0;
  /** The tile's accesses, counted by summarize() or judge(), whichever ran (both, the same). */
  let accesses = 0;
  /** Accesses L1 wants: the reflected ones wherever every access L1 wants exits. */
  let l1Wanted = 0;
  let otherExits = 0;

  return {
    /**
     * The events [from, to) of the batch summed up for every strategy whose
     * loop can take a summary instead (Run.bySummary): the machine does not
     * change in a tile, so an access's judgement depends only on its vCPU and
     * place (MSR and direction), and where it goes under a strategy only on
     * that and vmcs02's bit, fixed between two entries and, by the strategy's
     * promise, across repeat entries too. A tile of 8,192 events holds a few
     * dozen distinct accesses on a real trace: the oracle judges each once,
     * and each strategy looks at those (and its entry step once or twice per
     * vCPU) instead of at every event. False, with nothing summed up, for a
     * tile of more than MAX_SLOTS vCPUs.
     */
    summarize(batch: Batch, from: number, to: number, views: OracleViews): boolean {
      if (stamp === STAMP_LIMIT) {
        stamp = 0;
        slotTag.fill(0);
        keyAt.fill(0);
      }
      const now = ++stamp;
      // The tile's own arrays, not the batch's: see tileLoops().
      const count = to - from;
      codes.set(batch.code.subarray(from, to));
      vcpus.set(batch.vcpu.subarray(from, to));
      msrs.set(msrsAsInt32(batch.msr).subarray(from, to));
      const { l1, l0 } = views;
      const slotNow = now << SLOT_TAG_SHIFT;
      const keyNow = now << KEY_TAG_SHIFT;
      let slotCount = 0;
      let keyTotal = 0;
      for (let k = 0; k < count; k++) {
        const v = vcpus[k] as number;
        const code = codes[k] as number;
        const tag = slotTag[v] as number;
        let slot: number;
        if ((tag - slotNow) >>> 0 < MAX_SLOTS) slot = tag - slotNow;
        else {
          if (slotCount === MAX_SLOTS) return false;
          slot = slotCount++;
          slotTag[v] = slotNow + slot;
          slotVcpu[slot] = v;
          otherExitsOf[slot] = 0;
        }
        if (code >= VMEXIT) {
          // vmexit: L2 leaves (and the next event enters again); vmentry: L2 runs.
          const exit = VMENTRY - code;
          otherExitsOf[slot] = (otherExitsOf[slot] as number) + exit;
          lastOf[slot] = code === VMEXIT ? LAST_EXIT : LAST_ENTRY;
          continue;
        }
        // The access's key: its vCPU's slot and its place. The oracle is asked once per key.
        const msr = msrs[k] as number;
        const at = (slot << PLACE_BITS) | accessPlace(code, msr);
        const entry = keyAt[at] as number;
        let index: number;
        if ((entry - keyNow) >>> 0 < TILE) {
          index = entry - keyNow;
          keyCount[index] = (keyCount[index] as number) + 1;
        } else {
          index = keyTotal++;
          keyAt[at] = keyNow + index;
          keySlot[index] = slot;
          keyJudgement[index] = judgement(code, msr, l1[v] as Uint8Array, l0[v] as Uint8Array);
          keyCount[index] = 1;
        }
        lastOf[slot] = index;
      }
      slots = slotCount;
      keys = keyTotal;
      // Per slot: how often L2 left (an other exit, or an access reflected where L1 wants
      // it (A) or every access (B)), and so entered again, but after its last event.
      let accessTotal = 0;
      let wanted = 0;
      let exits = 0;
      for (let slot = 0; slot < slotCount; slot++) {
        reentriesA[slot] = otherExitsOf[slot] as number;
        reentriesB[slot] = otherExitsOf[slot] as number;
        exits += otherExitsOf[slot] as number;
      }
      for (let i = 0; i < keyTotal; i++) {
        const slot = keySlot[i] as number;
        const n = keyCount[i] as number;
        const wants = ((keyJudgement[i] as number) & L1_WANTS) * n;
        accessTotal += n;
        wanted += wants;
        reentriesA[slot] = (reentriesA[slot] as number) + wants;
        reentriesB[slot] = (reentriesB[slot] as number) + n;
      }
      for (let slot = 0; slot < slotCount; slot++) {
        const last = lastOf[slot] as number;
        const lastA = last === LAST_EXIT ? 1 : last === LAST_ENTRY ? 0 : (keyJudgement[last] as number) & L1_WANTS;
        const lastB = last === LAST_ENTRY ? 0 : 1;
        leftA[slot] = lastA;
        leftB[slot] = lastB;
        reentriesA[slot] = (reentriesA[slot] as number) - lastA;
        reentriesB[slot] = (reentriesB[slot] as number) - lastB;
      }
      accesses = accessTotal;
      l1Wanted = wanted;
      otherExits = exits;
      return true;
    },

    /**
     * The tile under one strategy with a bitmap, from its summary: what
     * runSegment() would do, or false (having changed nothing it would not
     * have) where the summary cannot say it, for runSegment() to do it:
     *
     * - a vCPU that runs L2 from before the tile, with vmcs02 from before the
     *   last machine event, enters again in the tile: that entry is no repeat
     *   and may change vmcs02 among the tile's accesses;
     * - an access L1 or L0 wants does not exit: a violation, or a bit left
     *   unjudged (markUnjudged), either way one to look at event by event.
     *
     * Otherwise an access exits where vmcs02's bit is set (or it has none),
     * is reflected where L1 wants it, and the vCPUs leave and enter L2 at the
     * summary's points, the same under every such strategy. The entries at a
     * vCPU's first event are made first, in the order of those events (the
     * calls whose order can matter: the others are repeats, which the
     * strategy promises change nothing another entry reads); a fallback to
     * runSegment() then finds those vCPUs running, as it would have.
     */
    runSummary(back: ReplayBack, run: Run, epoch: number): boolean {
      const { running, vmcs02, enteredInEpoch } = run;
      for (let slot = 0; slot < slots; slot++) {
        const v = slotVcpu[slot] as number;
        if (running[v] === 1 && enteredInEpoch[v] !== epoch && (reentriesA[slot] as number) > 0) return false;
      }
      for (let slot = 0; slot < slots; slot++) {
        const v = slotVcpu[slot] as number;
        if (running[v] === 0) back.enter(run, v);
      }
      let none = 0;
      for (let i = 0; i < keys; i++) {
        const judgement = keyJudgement[i] as number;
        const position = judgement >> POSITION_SHIFT;
        // Exits where vmcs02's bit is set or the MSR has none (runSegment()).
        const bit =
          ((vmcs02[slotVcpu[keySlot[i] as number] as number] as Uint8Array)[
            position >> BitAddress.BYTE_SHIFT
          ] as number) >>
          (position & BitAddress.BIT_IN_BYTE);
        if (((bit | (judgement >> Judged.NO_BIT_SHIFT)) & Judged.BIT0) === 0) {
          if ((judgement & WANTED) !== 0) return false;
          none += keyCount[i] as number;
        }
      }
      const delivered = run.delivered;
      delivered[NONE] = (delivered[NONE] as number) + none;
      delivered[L0] = (delivered[L0] as number) + accesses - none - l1Wanted;
      delivered[L1] = (delivered[L1] as number) + l1Wanted;
      run.counters.other_exits += otherExits;
      for (let slot = 0; slot < slots; slot++) {
        const v = slotVcpu[slot] as number;
        const times = reentriesA[slot] as number;
        if (times > 0) back.repeatEntries(run, v, times);
        running[v] = (leftA[slot] as number) ^ Judged.BIT0;
      }
      return true;
    },

    /** runWithoutBitmap() from the tile's summary: every access exits, to L1 where L1 wants it. */
    runSummaryWithoutBitmap(run: Run): void {
      const running = run.running;
      const everything = run.l1WantsEverything;
      const reentries = everything ? reentriesB : reentriesA;
      const left = everything ? leftB : leftA;
      let entries = 0;
      for (let slot = 0; slot < slots; slot++) {
        const v = slotVcpu[slot] as number;
        entries += ((running[v] as number) ^ Judged.BIT0) + (reentries[slot] as number);
        running[v] = (left[slot] as number) ^ Judged.BIT0;
      }
      const reflected = everything ? accesses : l1Wanted;
      const delivered = run.delivered;
      delivered[L0] = (delivered[L0] as number) + accesses - reflected;
      delivered[L1] = (delivered[L1] as number) + reflected;
      run.counters.other_exits += otherExits;
      run.counters.entries += entries;
    },

    /**
     * The oracle for the events [from, to) of the batch, once for all
     * strategies: the machine does not change among them. Copies their codes
     * and vCPUs into the tile, and their judgements, for the loops that go
     * event by event: the front's, when it judged them (Batch.judged), else
     * worked out here from `views`.
     */
    judge(batch: Batch, from: number, to: number, views: OracleViews): void {
      codes.set(batch.code.subarray(from, to));
      vcpus.set(batch.vcpu.subarray(from, to));
      const count = to - from;
      let accessCount = 0;
      for (let k = 0; k < count; k++) accessCount += ((codes[k] as number) - VMEXIT) >>> 31; // rdmsr, wrmsr: below vmexit
      accesses = accessCount;
      if (batch.judged !== null) {
        judged.set(batch.judged.subarray(from, to));
        return;
      }
      const msrs = batch.msr;
      const { l1, l0 } = views;
      for (let k = 0; k < count; k++) {
        const v = vcpus[k] as number;
        judged[k] = judgement(codes[k] as number, msrs[from + k] as number, l1[v] as Uint8Array, l0[v] as Uint8Array);
      }
    },

    /** The accesses of the tile summarize() or judge() last looked at. */
    accesses: () => accesses,

    /**
     * The tile's events [from, to) of the batch (judged) under one strategy.
     * The machine does not change among them, so the oracle's answers hold
     * for every strategy.
     */
    runSegment(back: ReplayBack, run: Run, batch: Batch, from: number, to: number): void {
      const { running, vmcs02, delivered, msrs } = run;
      const by = run.by;
      const l1WantsEverything = run.l1WantsEverything ? L1_WANTS : 0;
      const count = to - from;
      let otherExits = 0;
      let accesses = 0;
      let exits = 0;
      let reflected = 0;
      for (let k = 0; k < count; k++) {
        const v = vcpus[k] as number;
        const code = codes[k] as number;
        if (running[v] === 0) back.enter(run, v);
        else if (code === VMENTRY) continue; // L2 runs already: nothing happens
        if (code >= VMEXIT) {
          if (code === VMEXIT) {
            otherExits++;
            running[v] = 0;
          }
          continue;
        }
        // The CPU consults vmcs02's bitmap: none (an all-ones page here), no
        // bit, or a set bit exits to L0 (SDM "MSR-Bitmap Address"), which
        // reflects the exit if L1 wants it (KVM: nested_vmx_exit_handled_msr()).
        // Computed as 0/1 values rather than branched on: which way an access
        // goes depends on the data, and mispredicted branches cost more.
        // exit: vmcs02's bit, or NO_BIT, at bit 0; toL1: exit and L1_WANTS (bit 0 too).
        const judgement = judged[k] as number;
        const position = judgement >> POSITION_SHIFT;
        const bit =
          ((vmcs02[v] as Uint8Array)[position >> BitAddress.BYTE_SHIFT] as number) >>
          (position & BitAddress.BIT_IN_BYTE);
        const exit = (bit | (judgement >> Judged.NO_BIT_SHIFT)) & Judged.BIT0;
        const toL1 = exit & (judgement | l1WantsEverything);
        accesses++;
        exits += exit;
        reflected += toL1;
        running[v] = toL1 ^ Judged.BIT0; // a reflected exit leaves L2
        // An exit always goes where the oracle says, so only an access that did
        // not exit can be a violation: when L1 or L0 wanted it. exit - 1 is a
        // mask: all ones (-1) when the access did not exit, 0 when it did.
        if ((judgement & (L1_WANTS | WANTED) & (exit - 1)) !== 0) {
          back.violation(run, v, position, batch, from + k, judgement);
        }
        if (msrs !== null) msrs.add(batch.msr[from + k] as number, code === WRMSR, (exit + toL1) as Delivery);
        if (by !== null) by.add(v, batch.msr[from + k] as number, code === WRMSR, (exit + toL1) as Delivery);
      }
      delivered[NONE] = (delivered[NONE] as number) + accesses - exits;
      delivered[L0] = (delivered[L0] as number) + exits - reflected;
      delivered[L1] = (delivered[L1] as number) + reflected;
      run.counters.other_exits += otherExits;
    },

    /**
     * runSegment for a strategy that runs L2 without an MSR bitmap: every
     * access exits to L0, so vmcs02 need not be consulted and nothing can slip
     * past; only where L0 sends the exit varies. (The loop is runSegment's,
     * repeated so that each stays one tight loop.)
     */
    runWithoutBitmap(run: Run, batch: Batch, from: number, to: number): void {
      const { running, delivered, msrs } = run;
      const by = run.by;
      const l1WantsEverything = run.l1WantsEverything ? L1_WANTS : 0;
      const count = to - from;
      let otherExits = 0;
      let entries = 0;
      let accesses = 0;
      let reflected = 0;
      for (let k = 0; k < count; k++) {
        const v = vcpus[k] as number;
        const code = codes[k] as number;
        if (running[v] === 0) {
          entries++;
          running[v] = 1;
        } else if (code === VMENTRY) continue;
        if (code >= VMEXIT) {
          if (code === VMEXIT) {
            otherExits++;
            running[v] = 0;
          }
          continue;
        }
        const toL1 = ((judged[k] as number) | l1WantsEverything) & L1_WANTS;
        accesses++;
        reflected += toL1;
        running[v] = toL1 ^ Judged.BIT0; // a reflected exit leaves L2
        if (msrs !== null) msrs.add(batch.msr[from + k] as number, code === WRMSR, (1 + toL1) as Delivery);
        if (by !== null) by.add(v, batch.msr[from + k] as number, code === WRMSR, (1 + toL1) as Delivery);
      }
      delivered[L0] = (delivered[L0] as number) + accesses - reflected;
      delivered[L1] = (delivered[L1] as number) + reflected;
      run.counters.other_exits += otherExits;
      run.counters.entries += entries;
    },
  };
}

const TILE_LOOPS = tileLoops();
