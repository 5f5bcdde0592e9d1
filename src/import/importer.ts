/**
 * Turns kernel trace lines into trace rows (docs/model.md §3), one line at a
 * time, and counts what it did with each. No I/O: the caller feeds it lines
 * in order and writes the rows it returns.
 *
 *   kvm_msr                                  -> rdmsr / wrmsr (a #GP access is kept and counted)
 *   kvm_nested_vmenter, kvm_nested_vmrun     -> vmentry
 *   kvm_nested_vmexit_inject (not an MSR)    -> vmexit, the reason as value
 *   kvm_nested_vmexit_inject (MSR_READ/…)    -> skipped: the event has no MSR index
 *   kvm_exit, kvm_entry, kvm_nested_vmexit   -> no row: only their `vcpu N` is learned
 *                                               (with `exitEvents`, for `--exits`: see ImporterOptions)
 *   read_msr / write_msr (msr:, inside L2)   -> rdmsr / wrmsr, the vCPU from the CPU column
 *   rdpmc (msr:, inside L2)                  -> no row, counted: RDPMC reads a counter, not an MSR
 *   anything else                            -> skipped, by reason
 *
 * A file is one view: the L2 view (the msr tracepoints, recorded inside the
 * guest) or the L0 view (KVM's tracepoints, recorded on a host). A file that
 * mixes the two is refused (an InputError naming the line): the two clocks
 * differ, so merging them needs `--exits` (src/import/merge.ts). Text after a
 * well-formed msr payload is ignored and counted (`trailing`).
 *
 * vCPU of a line: a `CPU N/KVM` task is vCPU N; otherwise the last `vcpu N`
 * seen on the same thread (pid); otherwise the thread's rank in order of first
 * appearance among the lines of the events above (0, 1, 2, …). Lines in the
 * short layout have no thread: they count as one anonymous thread.
 *
 * Memory stays flat whatever the number of threads (a trace may hold
 * millions of short-lived ones). Ranks: only the first MAX_VCPUS threads can
 * get a rank that is a vCPU number, and ranks never change, so only those
 * are kept; a later thread's rank is out of range, as it always was. The last
 * `vcpu N`: kept for the MAX_HINTED_THREADS threads seen most recently; a
 * thread not seen since that many others were is forgotten (counted in
 * `forgottenThreads`) and numbered by the rules after the hint again.
 */
import { MAX_VCPUS } from "../engine/machine.js";
import { at, InputError } from "../io/errors.js";
import {
  GUEST_MSR_SHAPE,
  isLostEventsLine,
  isMsrExit,
  KVM_MSR_SHAPE,
  L2_EVENTS,
  type LineFormat,
  parseExitReason,
  parseGuestMsr,
  parseKvmMsr,
  parseTraceLine,
  type TraceLine,
  VMEXIT_INJECT_SHAPE,
  vcpuFromPayload,
  vcpuFromTask,
} from "./parse.js";

export const SKIP_REASONS = [
  "blank",
  "notTrace",
  "tooLong",
  "lost",
  "otherEvent",
  "msrExit",
  "malformed",
  "vcpuRange",
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** How the summary names each reason. */
export const SKIP_LABELS: Readonly<Record<SkipReason, string>> = {
  blank: "blank or # comment line",
  notTrace: "not a trace line",
  tooLong: "line longer than 64 KiB",
  lost: "lost-events marker (the ring buffer overflowed)",
  otherEvent: "other event",
  msrExit: "injected MSR exit (no MSR index: not replayable)",
  malformed: "malformed kvm_* payload",
  vcpuRange: `vCPU number above ${MAX_VCPUS - 1}`,
};

export type VcpuSource = "task" | "hint" | "order";

/**
 * Which machine a recording was made on: inside L2 (the msr tracepoints) or
 * on a host running KVM (its kvm_* tracepoints: L0's, or L1's when KVM is L1).
 */
export type View = "l2" | "l0";

/** How the summary and messages name each view. */
export const VIEW_LABELS: Readonly<Record<View, string>> = {
  l2: "L2 view: msr tracepoints inside the guest",
  l0: "L0 view: kvm tracepoints",
};

export type RowEvent = "rdmsr" | "wrmsr" | "vmentry" | "vmexit";

/** One row of the output, before it is written as CSV. */
export interface ImportedRow {
  readonly event: RowEvent;
  readonly vcpu: number;
  /** `0x…` for rdmsr/wrmsr, else empty. */
  readonly msr: string;
  /** The value read or written, the exit reason of a vmexit, else empty. */
  readonly value: string;
  /** The timestamp as printed (empty in the short layout). */
  readonly t: string;
  /** The input line it came from (1-based). */
  readonly line: number;
  /**
   * Which event made it: `nested` (kvm_nested_vmenter/vmrun/vmexit_inject), `exit`/`entry`
   * (kvm_exit/kvm_entry, with `exitEvents` only), or `access` (kvm_msr, read_msr, write_msr).
   */
  readonly from: "nested" | "exit" | "entry" | "access";
}

/** A row as a line of the output's CSV, newline included. */
export function formatRow(row: ImportedRow): string {
  return `${row.event},${row.vcpu},${row.msr},${row.value},${row.t}\n`;
}

export interface ImporterOptions {
  /**
   * Also turn kvm_exit (any reason but an MSR access) into a vmexit row and
   * kvm_entry into a vmentry row, tagged `exit`/`entry`. Only `--exits` asks
   * for this: in a recording made in an L1 that runs KVM, they are L2's exits
   * to L1 and L1's entries into L2 (which of the two host views a file is, is
   * decided once the whole file has been read).
   */
  readonly exitEvents?: boolean;
}

export interface ImportStats {
  lines: number;
  rdmsr: number;
  wrmsr: number;
  /** Accesses KVM answered with #GP (included in rdmsr/wrmsr). */
  gp: number;
  vmentry: number;
  vmexit: number;
  /** kvm_exit / kvm_entry / kvm_nested_vmexit lines (no row; read for `vcpu N`). */
  hints: number;
  readonly skipped: Record<SkipReason, number>;
  /** Lines of each layout that named a KVM event the importer uses. */
  readonly formats: Record<LineFormat, number>;
  /** Rows whose vCPU came from each rule. */
  readonly vcpuSources: Record<VcpuSource, number>;
  readonly vcpus: Set<number>;
  /** The first line skipped as malformed, for the summary. */
  firstMalformed: number | null;
  /** Threads whose last `vcpu N` was forgotten to keep memory flat (see MAX_HINTED_THREADS). */
  forgottenThreads: number;
  /** rdpmc lines (L2 view): read, counted, no row. */
  rdpmc: number;
  /** Lines whose well-formed payload was followed by other text, ignored (an annotation, extra perf fields). */
  trailing: number;
  /** L2-view rows whose vCPU is the CPU column; short-layout L2 lines have none and are vCPU 0 (`noCpu`). */
  cpuColumn: number;
  noCpu: number;
  /** The file's view, from its first event used; null before one. */
  view: View | null;
}

export function rowCount(stats: ImportStats): number {
  return stats.rdmsr + stats.wrmsr + stats.vmentry + stats.vmexit;
}

export function skippedCount(stats: ImportStats): number {
  return SKIP_REASONS.reduce((sum, r) => sum + stats.skipped[r], 0);
}

/** The output's column header. */
export const CSV_HEADER = "event,vcpu,msr,value,t";

const ENTRY_EVENTS = new Set(["kvm_nested_vmenter", "kvm_nested_vmrun"]);
const HINT_EVENTS = new Set(["kvm_exit", "kvm_entry", "kvm_nested_vmexit"]);
const MAX_SHOWN_PAYLOAD = 100;

/**
 * Threads whose last `vcpu N` is remembered: 16 per possible vCPU, so that
 * every vCPU thread of a trace that also holds many other (or restarted)
 * threads stays remembered while it keeps running.
 */
export const MAX_HINTED_THREADS = 16 * MAX_VCPUS;

export class Importer {
  readonly stats: ImportStats = {
    lines: 0,
    rdmsr: 0,
    wrmsr: 0,
    gp: 0,
    vmentry: 0,
    vmexit: 0,
    hints: 0,
    skipped: { blank: 0, notTrace: 0, tooLong: 0, lost: 0, otherEvent: 0, msrExit: 0, malformed: 0, vcpuRange: 0 },
    formats: { ftrace: 0, perf: 0, short: 0 },
    vcpuSources: { task: 0, hint: 0, order: 0 },
    vcpus: new Set(),
    firstMalformed: null,
    forgottenThreads: 0,
    rdpmc: 0,
    trailing: 0,
    cpuColumn: 0,
    noCpu: 0,
    view: null,
  };
  /** The line that decided the view, for the message when another view follows. */
  private viewLine = 0;
  /**
   * Thread -> the last `vcpu N` seen on it, least recently seen first (a Map
   * keeps insertion order; a thread seen again is moved to the end).
   */
  private readonly learned = new Map<string, number>();
  /** Thread -> its rank in order of first appearance, for the first MAX_VCPUS threads only. */
  private readonly order = new Map<string, number>();

  /**
   * @param file the input as messages name it
   * @param strict a malformed kvm_* payload throws (an InputError naming the line) instead of being skipped
   */
  constructor(
    private readonly file: string,
    private readonly strict: boolean,
    private readonly options: ImporterOptions = {},
  ) {}

  /** A line too long to be a trace line (its text was not kept). */
  tooLong(): void {
    this.stats.lines++;
    this.stats.skipped.tooLong++;
  }

  /**
   * Takes line number `stats.lines + 1` (without its line end) and returns
   * its CSV row with a trailing newline, or null when it gives none.
   * Throws an InputError when the line's view is not the file's (see View).
   */
  line(text: string): string | null {
    const row = this.row(text);
    return row === null ? null : formatRow(row);
  }

  /** As `line`, the row unformatted. */
  row(text: string): ImportedRow | null {
    const stats = this.stats;
    const lineNo = ++stats.lines;
    const trimmed = text.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return this.skipLine("blank");
    const parsed = parseTraceLine(text);
    if (parsed === null) return this.skipLine(isLostEventsLine(text) ? "lost" : "notTrace");
    const event = parsed.event;
    if (L2_EVENTS.has(event) && (parsed.system === null || parsed.system === "msr")) {
      this.enterView("l2", lineNo, parsed);
      return this.guestAccess(lineNo, parsed);
    }
    if (event === "kvm_msr") {
      this.enterView("l0", lineNo, parsed);
      const access = parseKvmMsr(parsed.payload);
      if (access === null) return this.malformed(lineNo, parsed, KVM_MSR_SHAPE);
      const vcpu = this.vcpuOf(parsed);
      if (vcpu === null) return this.skipLine("vcpuRange");
      if (access.write) stats.wrmsr++;
      else stats.rdmsr++;
      if (access.gp) stats.gp++;
      if (access.trailing !== undefined) stats.trailing++;
      return {
        event: access.write ? "wrmsr" : "rdmsr",
        vcpu,
        msr: access.msr,
        value: access.value,
        t: parsed.timestamp,
        line: lineNo,
        from: "access",
      };
    }
    if (ENTRY_EVENTS.has(event)) {
      this.enterView("l0", lineNo, parsed);
      const vcpu = this.vcpuOf(parsed);
      if (vcpu === null) return this.skipLine("vcpuRange");
      stats.vmentry++;
      return { event: "vmentry", vcpu, msr: "", value: "", t: parsed.timestamp, line: lineNo, from: "nested" };
    }
    if (event === "kvm_nested_vmexit_inject") {
      this.enterView("l0", lineNo, parsed);
      const reason = parseExitReason(parsed.payload);
      if (reason === null) return this.malformed(lineNo, parsed, VMEXIT_INJECT_SHAPE);
      if (isMsrExit(reason)) {
        this.count(parsed);
        return this.skipLine("msrExit");
      }
      const vcpu = this.vcpuOf(parsed);
      if (vcpu === null) return this.skipLine("vcpuRange");
      stats.vmexit++;
      return { event: "vmexit", vcpu, msr: "", value: reason, t: parsed.timestamp, line: lineNo, from: "nested" };
    }
    if (HINT_EVENTS.has(event)) {
      this.enterView("l0", lineNo, parsed);
      this.count(parsed);
      const key = parsed.pid ?? "";
      this.rank(key);
      const vcpu = vcpuFromPayload(parsed.payload);
      if (vcpu !== null && vcpu < MAX_VCPUS) this.learn(key, vcpu);
      stats.hints++;
      if (this.options.exitEvents === true && event !== "kvm_nested_vmexit") return this.l1Exit(lineNo, parsed);
      return null;
    }
    return this.skipLine("otherEvent");
  }

  /** read_msr / write_msr / rdpmc, recorded inside L2: the CPU column is the vCPU. */
  private guestAccess(lineNo: number, parsed: TraceLine): ImportedRow | null {
    const stats = this.stats;
    const access = parseGuestMsr(parsed.payload);
    if (access === null) return this.malformed(lineNo, parsed, GUEST_MSR_SHAPE);
    this.count(parsed);
    if (access.trailing !== "") stats.trailing++;
    // RDPMC reads a performance counter (ECX selects it), not an MSR: nothing a bitmap decides.
    if (parsed.event === "rdpmc") {
      stats.rdpmc++;
      return null;
    }
    const vcpu = parsed.cpu ?? 0;
    if (vcpu >= MAX_VCPUS) return this.skipLine("vcpuRange");
    if (parsed.cpu === null) stats.noCpu++;
    else stats.cpuColumn++;
    stats.vcpus.add(vcpu);
    const write = parsed.event === "write_msr";
    if (write) stats.wrmsr++;
    else stats.rdmsr++;
    if (access.gp) stats.gp++;
    return {
      event: write ? "wrmsr" : "rdmsr",
      vcpu,
      msr: access.index,
      value: access.value,
      t: parsed.timestamp,
      line: lineNo,
      from: "access",
    };
  }

  /** kvm_exit / kvm_entry as rows (`exitEvents`): an MSR exit is an access, already in the L2 view. */
  private l1Exit(lineNo: number, parsed: TraceLine): ImportedRow | null {
    const vcpu = this.vcpuOf(parsed, false);
    if (vcpu === null) return null;
    if (parsed.event === "kvm_entry") {
      return { event: "vmentry", vcpu, msr: "", value: "", t: parsed.timestamp, line: lineNo, from: "entry" };
    }
    const reason = parseExitReason(parsed.payload);
    if (reason === null || isMsrExit(reason)) return null;
    return { event: "vmexit", vcpu, msr: "", value: reason, t: parsed.timestamp, line: lineNo, from: "exit" };
  }

  /** Sets the file's view on its first event; an event of the other view is an error. */
  private enterView(view: View, lineNo: number, parsed: TraceLine): void {
    const stats = this.stats;
    if (stats.view === null) {
      stats.view = view;
      this.viewLine = lineNo;
      return;
    }
    if (stats.view === view) return;
    const [l2Line, l0Line] = view === "l2" ? [lineNo, this.viewLine] : [this.viewLine, lineNo];
    throw new InputError(
      `${at(this.file, lineNo)}${parsed.event}: this file mixes the L2 view (msr tracepoints inside the guest, ` +
        `line ${l2Line}) with kvm_* events of a host (line ${l0Line}), whose clocks differ: import the L2 recording ` +
        "and give the host's with --exits FILE",
    );
  }

  private skipLine(reason: SkipReason): null {
    this.stats.skipped[reason]++;
    return null;
  }

  private count(line: TraceLine): void {
    this.stats.formats[line.format]++;
  }

  private malformed(lineNo: number, line: TraceLine, shape: string): null {
    this.count(line);
    if (this.strict) {
      throw new InputError(`${at(this.file, lineNo)}${line.event}: expected "${shape}", got "${shown(line.payload)}"`);
    }
    this.stats.firstMalformed ??= lineNo;
    return this.skipLine("malformed");
  }

  /** The thread's rank, or MAX_VCPUS for any thread after the first MAX_VCPUS (out of range either way). */
  private rank(key: string): number {
    let rank = this.order.get(key);
    if (rank === undefined) {
      if (this.order.size >= MAX_VCPUS) return MAX_VCPUS;
      rank = this.order.size;
      this.order.set(key, rank);
    }
    return rank;
  }

  /** Remembers the thread's `vcpu N`, forgetting the least recently seen thread beyond the cap. */
  private learn(key: string, vcpu: number): void {
    const learned = this.learned;
    if (!learned.delete(key) && learned.size >= MAX_HINTED_THREADS) {
      learned.delete(learned.keys().next().value as string);
      this.stats.forgottenThreads++;
    }
    learned.set(key, vcpu);
  }

  /** The thread's remembered `vcpu N`, or null; a thread seen is now the most recently seen. */
  private hint(key: string): number | null {
    const learned = this.learned;
    const vcpu = learned.get(key);
    if (vcpu === undefined) return null;
    learned.delete(key);
    learned.set(key, vcpu);
    return vcpu;
  }

  /** Threads kept in memory (ranked or remembered): at most MAX_VCPUS + MAX_HINTED_THREADS. */
  get threadsKept(): number {
    return this.order.size + this.learned.size;
  }

  /** The line's vCPU by the three rules, or null when it is out of range. */
  private vcpuOf(line: TraceLine, counted = true): number | null {
    if (counted) this.count(line);
    const key = line.pid ?? "";
    const rank = this.rank(key);
    let vcpu = vcpuFromTask(line.task);
    let source: VcpuSource = "task";
    if (vcpu === null) {
      vcpu = this.hint(key);
      source = "hint";
    }
    if (vcpu === null) {
      vcpu = rank;
      source = "order";
    }
    if (vcpu >= MAX_VCPUS) return null;
    if (counted) {
      this.stats.vcpuSources[source]++;
      this.stats.vcpus.add(vcpu);
    }
    return vcpu;
  }
}

/** A payload as an error message quotes it: shortened, without control characters. */
function shown(payload: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const clean = payload.replace(/[\u0000-\u001f\u007f"]/g, (c) => (c === '"' ? "'" : " "));
  return clean.length <= MAX_SHOWN_PAYLOAD ? clean : `${clean.slice(0, MAX_SHOWN_PAYLOAD)}…`;
}
