/**
 * Turns kernel trace lines into trace rows (SPEC section 3), one line at a
 * time, and counts what it did with each. No I/O: the caller feeds it lines
 * in order and writes the rows it returns.
 *
 *   kvm_msr                                  -> rdmsr / wrmsr (a #GP access is kept and counted)
 *   kvm_nested_vmenter, kvm_nested_vmrun     -> vmentry
 *   kvm_nested_vmexit_inject (not an MSR)    -> vmexit, the reason as value
 *   kvm_nested_vmexit_inject (MSR_READ/…)    -> skipped: the event has no MSR index
 *   kvm_exit, kvm_entry, kvm_nested_vmexit   -> no row: only their `vcpu N` is learned
 *   anything else                            -> skipped, by reason
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
  isLostEventsLine,
  isMsrExit,
  KVM_MSR_SHAPE,
  type LineFormat,
  parseExitReason,
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
  };
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
  ) {}

  /** A line too long to be a trace line (its text was not kept). */
  tooLong(): void {
    this.stats.lines++;
    this.stats.skipped.tooLong++;
  }

  /**
   * Takes line number `stats.lines + 1` (without its line end) and returns
   * its CSV row with a trailing newline, or null when it gives none.
   */
  line(text: string): string | null {
    const stats = this.stats;
    const lineNo = ++stats.lines;
    const trimmed = text.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return this.skipLine("blank");
    const parsed = parseTraceLine(text);
    if (parsed === null) return this.skipLine(isLostEventsLine(text) ? "lost" : "notTrace");
    const event = parsed.event;
    if (event === "kvm_msr") {
      const access = parseKvmMsr(parsed.payload);
      if (access === null) return this.malformed(lineNo, parsed, KVM_MSR_SHAPE);
      const vcpu = this.vcpuOf(parsed);
      if (vcpu === null) return this.skipLine("vcpuRange");
      if (access.write) stats.wrmsr++;
      else stats.rdmsr++;
      if (access.gp) stats.gp++;
      return `${access.write ? "wrmsr" : "rdmsr"},${vcpu},${access.msr},${access.value},${parsed.timestamp}\n`;
    }
    if (ENTRY_EVENTS.has(event)) {
      const vcpu = this.vcpuOf(parsed);
      if (vcpu === null) return this.skipLine("vcpuRange");
      stats.vmentry++;
      return `vmentry,${vcpu},,,${parsed.timestamp}\n`;
    }
    if (event === "kvm_nested_vmexit_inject") {
      const reason = parseExitReason(parsed.payload);
      if (reason === null) return this.malformed(lineNo, parsed, VMEXIT_INJECT_SHAPE);
      if (isMsrExit(reason)) {
        this.count(parsed);
        return this.skipLine("msrExit");
      }
      const vcpu = this.vcpuOf(parsed);
      if (vcpu === null) return this.skipLine("vcpuRange");
      stats.vmexit++;
      return `vmexit,${vcpu},,${reason},${parsed.timestamp}\n`;
    }
    if (HINT_EVENTS.has(event)) {
      this.count(parsed);
      const key = parsed.pid ?? "";
      this.rank(key);
      const vcpu = vcpuFromPayload(parsed.payload);
      if (vcpu !== null && vcpu < MAX_VCPUS) this.learn(key, vcpu);
      stats.hints++;
      return null;
    }
    return this.skipLine("otherEvent");
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
  private vcpuOf(line: TraceLine): number | null {
    this.count(line);
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
    this.stats.vcpuSources[source]++;
    this.stats.vcpus.add(vcpu);
    return vcpu;
  }
}

/** A payload as an error message quotes it: shortened, without control characters. */
function shown(payload: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const clean = payload.replace(/[\u0000-\u001f\u007f"]/g, (c) => (c === '"' ? "'" : " "));
  return clean.length <= MAX_SHOWN_PAYLOAD ? clean : `${clean.slice(0, MAX_SHOWN_PAYLOAD)}…`;
}
