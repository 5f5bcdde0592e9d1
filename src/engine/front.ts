/**
 * The front half of a replay: the machine as the trace describes it and the
 * entry checks, done as events come so that an error names its line at
 * once. It queues L2 events in batches; the back half judges them (the
 * oracle) and runs the strategies. The two can share a thread (Replay) or not.
 */
import { type Batch, clearBatch, type MachineEvent, machineEvent, newBatch } from "./batch.js";
import { EVENT_NAMES, Ev, type EventCode, type TraceEvent } from "./events.js";
import {
  type L0Bitmaps,
  MAX_PAGES,
  MAX_VCPUS,
  Machine,
  NO_BITMAP_PTR,
  PAGES_PER_VCPU,
  type VcpuState,
} from "./machine.js";
import { judgement, msrsAsInt32, OracleViews } from "./oracle.js";

/**
 * L2 events and vmentries in columns, as a packed trace's block holds them
 * (src/io/packed): ReplayFront.queueColumns takes a run of them at once,
 * with the same checks and the same batches as apply() one by one.
 */
export interface EventColumns {
  /** Event codes, each at most Ev.vmentry in the runs handed over. */
  readonly code: Uint8Array;
  readonly vcpu: Uint16Array;
  /** Per event: an access's MSR (anything for a vmexit or vmentry). */
  readonly msr: Uint32Array;
  /** The highest vCPU among the events (a block's): with every vCPU up to it checked, no event needs a check. */
  readonly maxVcpu: number;
  /**
   * Per event: its trace line (TraceEvent.line), worked out when first asked
   * for (a violation's line, an entry check's error): most replays never
   * need them. Valid during the call that hands the columns over only.
   */
  lines(): Float64Array;
}

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

export interface FrontOptions {
  readonly l0: L0Bitmaps;
  readonly l1Bitmap?: Uint8Array | null;
  /**
   * `--l1-override`: L1's policy replaced. Every store of the trace to a
   * bitmap page (bitmap-load, bitmap-set) writes this page's content
   * instead: it still happens where it did (a store, so it costs what a
   * store costs: write-protect faults, dirty pages, rebuilds), but the page
   * holds the override's bits, as if another hypervisor ran as L1.
   */
  readonly l1Override?: Uint8Array | null;
  /** Queued events per batch, when the front makes its first batch itself. */
  readonly capacity?: number;
  /** Record each access's trace line in the batches the front makes itself (`compare --violations`). */
  readonly lines?: boolean;
  /**
   * The first batch to fill (one over shared memory, say), instead of a new
   * one; its size is the capacity, and emit() returns batches of that size.
   */
  readonly batch?: Batch;
  /**
   * Takes each full batch. A consumer that keeps the batch (another thread)
   * returns an empty one for the front to fill next; one that is done with
   * it returns nothing, and the front reuses it.
   */
  readonly emit: (batch: Batch) => Batch | undefined;
}

export class ReplayFront {
  /** The machine as the trace describes it (page contents only once judgeHere() was called). */
  machine: Machine;
  /** Events applied so far. */
  events = 0;
  /** Stores whose content `l1Override` replaced. */
  overridden = 0;
  /** 1 once the vCPU's vmcs12 passed the entry checks; cleared by L1 events. */
  private readonly entryChecked = new Uint8Array(MAX_VCPUS);
  /** Every vCPU below this one has passed the entry checks since its last L1 event. */
  private lowestUnchecked = 0;
  /** What the oracle reads, once judgeHere() was called: the front then judges every queued event. */
  private views: OracleViews | null = null;
  private batch: Batch;
  readonly capacity: number;

  constructor(private readonly options: FrontOptions) {
    // Which pages exist is all the entry checks need: the back keeps their contents.
    this.machine = new Machine(options.l0, options.l1Bitmap ?? null, false);
    this.batch = options.batch ?? newBatch(options.capacity ?? 1 << 14, undefined, options.lines === true);
    this.capacity = this.batch.code.length;
  }

  /**
   * From now on the front judges each event it queues (oracle.ts), into the
   * batches' judgement column, so that the back's threads need not each
   * judge it: for a packed read whose strategies go event by event, shared
   * by this thread and a worker (src/run/pipeline.ts). Its machine then
   * keeps page contents, as the back's does. Called before the first event,
   * with the batch to fill next, which has that column.
   */
  judgeHere(batch: Batch): void {
    if (this.events !== 0) throw new Error("internal: the front starts judging after events were queued");
    if (batch.judged === null) throw new Error("internal: a batch without a judgement column to judge into");
    const { l0, l1Bitmap } = this.options;
    this.machine = new Machine(l0, l1Bitmap ?? null);
    this.views = new OracleViews(this.machine, l0.longmode, l1Bitmap != null);
    this.batch = batch;
  }

  /**
   * Takes one event. Entry checks happen here, at once, so an error names its
   * event before anything after it is read.
   */
  apply(ev: TraceEvent): void {
    this.events++;
    const code = ev.code;
    if (code <= Ev.vmentry) this.queue(ev, code, ev.vcpu);
    else this.machineEvent(ev, code, ev.vcpu);
  }

  /**
   * The L2 events and vmentries [from, to) of `columns`, as apply() would
   * take them one by one, copied in bulk: no machine event comes between
   * them, so the machine does not change, and what is left to do per event
   * is the entry check of a vCPU not checked since its last L1 event.
   */
  queueColumns(columns: EventColumns, from: number, to: number): void {
    const { code, vcpu, msr } = columns;
    const entryChecked = this.entryChecked;
    for (let i = from; i < to; ) {
      const batch = this.batch;
      const n = batch.count;
      const end = Math.min(to, i + this.capacity - n);
      // Each loop over the run is a function of its own (below): a loop in
      // this method was compiled on its own by V8 (on-stack replacement) and
      // thrown away at the code after it, and ran at the interpreter's pace.
      // Most runs need no check at all: every vCPU they hold was checked already.
      if (columns.maxVcpu >= this.lowestUnchecked) {
        for (
          let k = firstUnchecked(vcpu, entryChecked, i, end);
          k < end;
          k = firstUnchecked(vcpu, entryChecked, k, end)
        ) {
          const v = vcpu[k] as number;
          this.checkEntry(v, this.machine.vcpu(v), code[k] as number, columns.lines()[k] as number);
        }
      }
      // After judgeHere: each event judged too.
      const views = this.views;
      if (views !== null) judgeRun(code, vcpu, msr, i, end, batch.judged as Int32Array, n, views.l1, views.l0);
      // Whole columns: a vmexit's or vmentry's MSR slot is never read (see queue()).
      batch.code.set(code.subarray(i, end), n);
      batch.vcpu.set(vcpu.subarray(i, end), n);
      batch.msr.set(msr.subarray(i, end), n);
      if (batch.line !== null) batch.line.set(columns.lines().subarray(i, end), n);
      batch.count = n + end - i;
      this.events += end - i;
      i = end;
      if (batch.count === this.capacity) this.flush();
    }
  }

  /** An L2 event or vmentry: its entry checked now, run by the back later. */
  private queue(ev: TraceEvent, code: number, v: number): void {
    if (this.entryChecked[v] === 0) this.checkEntry(v, this.machine.vcpu(v), code, ev.line);
    const batch = this.batch;
    const n = batch.count;
    batch.code[n] = code;
    batch.vcpu[n] = v;
    if (code <= Ev.wrmsr) {
      batch.msr[n] = ev.msr;
      // Only accesses need a line (a violation names it); null unless asked for.
      if (batch.line !== null) batch.line[n] = ev.line;
    }
    const views = this.views;
    if (views !== null && batch.judged !== null) {
      batch.judged[n] = judgement(code, ev.msr, views.l1[v] as Uint8Array, views.l0[v] as Uint8Array);
    }
    batch.count = n + 1;
    if (n + 1 === this.capacity) this.flush();
  }

  /** An event that changes the machine: applied here, and passed on in order. */
  private machineEvent(ev: TraceEvent, code: number, v: number): void {
    if ((code === Ev.bitmapLoad || code === Ev.bitmapSet) && this.machine.memory.size >= MAX_PAGES) {
      this.checkPageLimit(ev);
    }
    // An L1 event (all but l0-set) means L2 has left the vCPU, so its vmcs12
    // is checked again at the next entry.
    if (code !== Ev.l0Set) {
      this.entryChecked[v] = 0;
      if (v < this.lowestUnchecked) this.lowestUnchecked = v;
    }
    const override = this.options.l1Override;
    let copy = machineEvent(ev);
    if (override && (code === Ev.bitmapLoad || code === Ev.bitmapSet)) {
      // A whole-page store of the override's content: what L1 stores is its policy, which is now the override.
      copy = { ...copy, code: Ev.bitmapLoad, msr: 0, dir: 0, flag: 0, content: override };
      this.overridden++;
    }
    const created = this.views?.creates(copy) ?? false;
    this.machine.apply(copy);
    this.views?.applied(copy, created);
    const batch = this.batch;
    batch.marks.push(batch.count);
    batch.machineEvents.push(copy);
    if (batch.machineEvents.length >= 1024) this.flush();
  }

  /**
   * Refuses a store that would bring a page into existence beyond MAX_PAGES,
   * before anything changes (so that --lenient can skip the row).
   */
  private checkPageLimit(ev: TraceEvent): void {
    if (this.machine.memory.has(ev.page)) return;
    throw new ReplayError(
      `${EVENT_NAMES[ev.code]} on vCPU ${ev.vcpu} writes page 0x${ev.page.toString(16)}, a new bitmap page beyond ` +
        `the limit of ${MAX_PAGES} distinct pages a trace may write (${PAGES_PER_VCPU} per vCPU for ${MAX_VCPUS} vCPUs; ` +
        "a real L1 keeps one or a few per vCPU)",
      ev.line,
    );
  }

  /**
   * Places a mark that is no machine event (a window's end, engine/windows.ts)
   * after the events queued so far: it reaches the back in order with the
   * machine events, in this thread or another. The machine does not see it.
   */
  mark(ev: MachineEvent): void {
    const batch = this.batch;
    batch.marks.push(batch.count);
    batch.machineEvents.push(ev);
    if (batch.machineEvents.length >= 1024) this.flush();
  }

  /** Hands over what is queued. */
  flush(): void {
    const batch = this.batch;
    if (batch.count === 0 && batch.machineEvents.length === 0) return;
    const next = this.options.emit(batch);
    if (next === undefined) clearBatch(batch);
    else this.batch = next;
  }

  /**
   * Before anything that may enter L2 on v: the entry must succeed. Only L1
   * events change vmcs12 and they make every strategy leave L2 first, so the
   * first such event after them is an entry under every strategy, and one
   * check per vCPU until the next L1 event covers all strategies (or none, for
   * `validate`). SDM "Checks on VMX Controls": with "use MSR bitmaps" = 1 the
   * MSR-bitmap address must be a valid page.
   */
  private checkEntry(v: number, state: VcpuState, code: number, line: number): void {
    if (state.useBitmap && this.machine.l1Page(state) === undefined) {
      const why =
        state.bitmapPtr === NO_BITMAP_PTR
          ? "no MSR-bitmap address (no bitmap-ptr)"
          : `MSR-bitmap address 0x${state.bitmapPtr.toString(16)}, a page nothing has written (no bitmap-load or bitmap-set)`;
      throw new ReplayError(
        `${EVENT_NAMES[code as EventCode]} on vCPU ${v} needs a nested entry, but vmcs12 has "use MSR bitmaps" = 1 and ${why}; on hardware VM entry fails`,
        line,
      );
    }
    this.entryChecked[v] = 1;
    while (this.lowestUnchecked < MAX_VCPUS && this.entryChecked[this.lowestUnchecked] === 1) this.lowestUnchecked++;
  }
}

/**
 * The first event of [from, to) whose vCPU has not passed the entry checks
 * since its last L1 event, or `to` (ReplayFront.queueColumns).
 */
function firstUnchecked(vcpu: Uint16Array, entryChecked: Uint8Array, from: number, to: number): number {
  for (let k = from; k < to; k++) if (entryChecked[vcpu[k] as number] === 0) return k;
  return to;
}

/** The oracle over the events [from, to) of a run, into `judged` from `at` (ReplayFront.queueColumns). */
function judgeRun(
  code: Uint8Array,
  vcpu: Uint16Array,
  msr: Uint32Array,
  from: number,
  to: number,
  judged: Int32Array,
  at: number,
  l1: readonly Uint8Array[],
  l0: readonly Uint8Array[],
): void {
  const msr32 = msrsAsInt32(msr);
  for (let k = from; k < to; k++) {
    const v = vcpu[k] as number;
    judged[at + k - from] = judgement(code[k] as number, msr32[k] as number, l1[v] as Uint8Array, l0[v] as Uint8Array);
  }
}
