/**
 * Two views merged (`import L2.txt --exits OTHER.txt`): the access stream of
 * a recording made inside L2 (msr:read_msr/write_msr) and the exits of a
 * recording made on a host, interleaved by time into one trace.
 *
 * The other recording is one of:
 *   - an L0 view (it holds kvm_nested_* events): kvm_nested_vmexit_inject with
 *     a reason other than an MSR access -> vmexit, kvm_nested_vmenter/vmrun ->
 *     vmentry. Injected MSR exits are accesses, already in the L2 view.
 *   - an L1 view (KVM as L1; no kvm_nested_* event): kvm_exit with a reason
 *     other than an MSR access is an exit of L2 to L1 -> vmexit; kvm_entry is
 *     L1 entering L2 -> vmentry. Its MSR exits are the reflected accesses.
 * In both, kvm_msr writes serve only to find the clock offset. vCPU numbers
 * are taken as the same in both views: the host's `vcpu N` / `CPU N/KVM` /
 * thread order (the importer's rules) is L2's CPU N.
 *
 * Clock offset: L2 time = other time + offset. Unless given, it is found
 * from the MSR writes seen in both views: a write is a match when its (vCPU,
 * MSR, value) occurs exactly once in each (TSC_DEADLINE, 0x6e0, values are
 * unique); each match gives an offset, the median is taken. Fewer than
 * MIN_MATCHES matches, or a spread (max - min of the offsets) wide enough
 * that some exit could fall before or after an L2 event of its vCPU, is an
 * error suggesting --clock-offset. Only the order within a vCPU matters: the
 * rows merged (accesses, exits, entries) act on their own vCPU alone.
 *
 * The merge holds both recordings' rows in memory (at most MAX_MERGE_ROWS):
 * the offset must be known before the first row is written.
 */
import { at, InputError } from "../io/errors.js";
import { count } from "../render/text-table.js";
import { formatRow, type ImportedRow, type ImportStats } from "./importer.js";

/** Fewer matched writes than this cannot tell a real offset from a coincidence. */
export const MIN_MATCHES = 3;
/** Rows held in memory by a merge (both views): about 200 bytes each, so some 400 MB at most. */
export const MAX_MERGE_ROWS = 2_000_000;

const NS_PER_S = 1_000_000_000;
const NS_DIGITS = 9;
/** Times are printed with at least microseconds, as ftrace prints them. */
const MIN_DECIMALS = 6;

/** Which host the other recording was made on. */
export type OtherView = "l0" | "l1";

export const OTHER_VIEW_LABELS: Readonly<Record<OtherView, string>> = {
  l0: "L0 view: kvm_nested_vmexit_inject / kvm_nested_vmenter of the host",
  l1: "L1 view: kvm_exit / kvm_entry of KVM running L2",
};

/** A timestamp in whole nanoseconds, or null when it is not `<secs>[.<fraction>]`. */
export function parseSeconds(text: string): number | null {
  const m = /^([+-]?)(\d{1,12})(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return null;
  const fraction = (m[3] ?? "").slice(0, NS_DIGITS).padEnd(NS_DIGITS, "0");
  const ns = Number(m[2]) * NS_PER_S + Number(fraction);
  return m[1] === "-" ? -ns : ns;
}

/** Nanoseconds as seconds, with 6 to 9 decimals (trailing zeros beyond the 6th dropped). */
export function formatSeconds(ns: number): string {
  const sign = ns < 0 ? "-" : "";
  const abs = Math.abs(Math.round(ns));
  const whole = Math.floor(abs / NS_PER_S);
  let fraction = String(abs % NS_PER_S).padStart(NS_DIGITS, "0");
  while (fraction.length > MIN_DECIMALS && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
  return `${sign}${whole}.${fraction}`;
}

export interface MergeInput {
  /** The L2 recording as messages name it, its rows (in file order) and stats. */
  readonly l2File: string;
  readonly l2Rows: readonly ImportedRow[];
  /** The other recording, read with `exitEvents`. */
  readonly otherFile: string;
  readonly otherRows: readonly ImportedRow[];
  /** Given with --clock-offset (nanoseconds), else found. */
  readonly offsetNs?: number;
}

export interface MergeResult {
  /** The CSV rows, in order, each with its newline. */
  readonly rows: string[];
  readonly otherView: OtherView;
  readonly offsetNs: number;
  /** Whether --clock-offset gave the offset. */
  readonly given: boolean;
  /** Writes matched (0 when given). */
  readonly matches: number;
  /** max - min of the matched offsets (null when given). */
  readonly spreadNs: number | null;
  readonly accesses: number;
  readonly vmexit: number;
  readonly vmentry: number;
  /** Exits and entries outside the L2 recording's time span, dropped. */
  readonly outside: number;
}

interface Timed {
  readonly ns: number;
  readonly row: ImportedRow;
  /** 0: from L2, 1: from the other view; at equal times the L2 row comes first. */
  readonly side: 0 | 1;
}

/** The merged rows. Throws an InputError (one line) when the offset cannot be trusted. */
export function mergeViews(input: MergeInput): MergeResult {
  const { l2File, otherFile } = input;
  const l2 = input.l2Rows.map((row): Timed => ({ ns: timeOf(l2File, row), row, side: 0 }));
  const otherView: OtherView = input.otherRows.some((r) => r.from === "nested") ? "l0" : "l1";
  const isExit = (r: ImportedRow): boolean =>
    otherView === "l0" ? r.from === "nested" : r.from === "exit" || r.from === "entry";
  const exits: Timed[] = [];
  const otherWrites: Timed[] = [];
  for (const row of input.otherRows) {
    if (isExit(row)) exits.push({ ns: timeOf(otherFile, row), row, side: 1 });
    else if (row.event === "wrmsr") otherWrites.push({ ns: timeOf(otherFile, row), row, side: 1 });
  }
  if (exits.length === 0) {
    throw new InputError(
      `${at(otherFile)}nothing to merge: no exit of L2 in it (kvm_nested_vmexit_inject, kvm_nested_vmenter, ` +
        "or kvm_exit with a reason other than an MSR access)",
    );
  }

  let offsetNs: number;
  let matches = 0;
  let spreadNs: number | null = null;
  if (input.offsetNs !== undefined) offsetNs = input.offsetNs;
  else {
    const offsets = matchOffsets(l2, otherWrites);
    matches = offsets.length;
    const hint = `give it with --clock-offset SECONDS (L2 time = ${otherFile} time + SECONDS)`;
    if (matches < MIN_MATCHES) {
      throw new InputError(
        `${at(l2File)}cannot find the clock offset: ${matches} MSR write${matches === 1 ? "" : "s"} matched ` +
          `${otherFile} (same vCPU, MSR and value, once in each), at least ${MIN_MATCHES} are needed; ${hint}`,
      );
    }
    offsetNs = median(offsets);
    const min = offsets[0] as number;
    const max = offsets[offsets.length - 1] as number;
    spreadNs = max - min;
    if (spreadNs > 0) {
      const clash = ambiguous(l2, exits, min, max);
      if (clash !== null) {
        const [exit, event] = clash;
        throw new InputError(
          `${at(l2File)}the clock offset is ambiguous: ${matches} matched writes give offsets from ` +
            `${formatSeconds(min)} to ${formatSeconds(max)} s (spread ${formatSeconds(spreadNs)} s), so the ` +
            `${exit.row.event} at ${otherFile}:${exit.row.line} (vCPU ${exit.row.vcpu}) could come before or after ` +
            `${l2File}:${event.row.line}; ${hint}`,
        );
      }
    }
  }

  const first = l2.reduce((m, r) => Math.min(m, r.ns), Number.POSITIVE_INFINITY);
  const last = l2.reduce((m, r) => Math.max(m, r.ns), Number.NEGATIVE_INFINITY);
  const timed: Timed[] = [...l2];
  let outside = 0;
  let vmexit = 0;
  let vmentry = 0;
  for (const exit of exits) {
    const ns = exit.ns + offsetNs;
    // Before the L2 recording began or after it ended, what L2 did is unknown.
    if (ns < first || ns > last) {
      outside++;
      continue;
    }
    if (exit.row.event === "vmexit") vmexit++;
    else vmentry++;
    timed.push({ ns, row: { ...exit.row, t: formatSeconds(ns) }, side: 1 });
  }
  // Array.prototype.sort is stable: at equal times the L2 row first, then each file's order.
  timed.sort((a, b) => a.ns - b.ns || a.side - b.side);
  return {
    rows: timed.map((r) => formatRow(r.row)),
    otherView,
    offsetNs,
    given: input.offsetNs !== undefined,
    matches,
    spreadNs,
    accesses: l2.length,
    vmexit,
    vmentry,
    outside,
  };
}

/** The offsets (L2 - other, ns) of the writes whose (vCPU, MSR, value) occurs once in each view, sorted. */
function matchOffsets(l2: readonly Timed[], otherWrites: readonly Timed[]): number[] {
  const once = (rows: readonly Timed[]): Map<string, number | null> => {
    const seen = new Map<string, number | null>();
    for (const { ns, row } of rows) {
      if (row.event !== "wrmsr") continue;
      const key = `${row.vcpu},${row.msr},${row.value}`;
      seen.set(key, seen.has(key) ? null : ns); // null: seen twice, not a match
    }
    return seen;
  };
  const mine = once(l2);
  const theirs = once(otherWrites);
  const offsets: number[] = [];
  for (const [key, ns] of mine) {
    const other = theirs.get(key);
    if (ns !== null && other !== undefined && other !== null) offsets.push(ns - other);
  }
  return offsets.sort((a, b) => a - b);
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid] as number;
  return Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

/**
 * The first exit that some offset within [min, max] would place on the other
 * side of an L2 event of its vCPU (or at the same time), with that event; null if none.
 */
function ambiguous(l2: readonly Timed[], exits: readonly Timed[], min: number, max: number): [Timed, Timed] | null {
  const byVcpu = new Map<number, Timed[]>();
  for (const r of l2) {
    let list = byVcpu.get(r.row.vcpu);
    if (list === undefined) {
      list = [];
      byVcpu.set(r.row.vcpu, list);
    }
    list.push(r);
  }
  for (const list of byVcpu.values()) list.sort((a, b) => a.ns - b.ns);
  for (const exit of exits) {
    const list = byVcpu.get(exit.row.vcpu);
    if (list === undefined) continue;
    const lo = exit.ns + min;
    const hi = exit.ns + max;
    // The first L2 event at or after lo.
    let a = 0;
    let b = list.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if ((list[m] as Timed).ns < lo) a = m + 1;
      else b = m;
    }
    const event = list[a];
    if (event !== undefined && event.ns <= hi) return [exit, event];
  }
  return null;
}

function timeOf(file: string, row: ImportedRow): number {
  const ns = parseSeconds(row.t);
  if (ns === null) {
    throw new InputError(
      `${at(file, row.line)}${row.t === "" ? "no timestamp (the short layout)" : `timestamp "${row.t}" is not seconds`}: ` +
        "merging two recordings needs the time of every event",
    );
  }
  return ns;
}

/** The comment lines of a merged trace. */
export function mergedHeaderLines(l2File: string, otherFile: string, result: MergeResult): string[] {
  const offset = `${formatSeconds(result.offsetNs)} s`;
  return [
    `Imported by nvmx-replay import from ${l2File} (recorded inside L2), with the exits of ${otherFile}`,
    `(${OTHER_VIEW_LABELS[result.otherView]}).`,
    result.given
      ? `Clock offset ${offset} (given with --clock-offset): L2 time = ${otherFile} time + offset.`
      : `Clock offset ${offset}: L2 time = ${otherFile} time + offset, the median of ${count(result.matches)} MSR writes ` +
        `seen in both, spread ${formatSeconds(result.spreadNs ?? 0)} s.`,
    `vmexit/vmentry rows come from ${otherFile}, their t converted to L2's clock; vCPU numbers are taken as the same.`,
  ];
}

/** The summary printed on stderr after a merge. */
export function renderMergeSummary(
  l2File: string,
  otherFile: string,
  output: string | null,
  l2: ImportStats,
  other: ImportStats,
  result: MergeResult,
): string {
  const offset = result.given
    ? `${formatSeconds(result.offsetNs)} s, given with --clock-offset`
    : `${formatSeconds(result.offsetNs)} s, median of ${count(result.matches)} matched MSR writes, spread ${formatSeconds(result.spreadNs ?? 0)} s`;
  return [
    `nvmx-replay import: ${l2File} with the exits of ${otherFile} -> ${output ?? "stdout"}`,
    `  ${l2File}: L2 view: msr tracepoints inside the guest; ${count(l2.lines)} lines, ${count(result.accesses)} accesses ` +
      `(rdmsr ${count(l2.rdmsr)}, wrmsr ${count(l2.wrmsr)}, #GP ${count(l2.gp)}), rdpmc ${count(l2.rdpmc)} (no row), ` +
      `text after payload ${count(l2.trailing)}`,
    `  ${otherFile}: ${OTHER_VIEW_LABELS[result.otherView]}; ${count(other.lines)} lines`,
    `  clock offset (L2 time = ${otherFile} time + offset): ${offset}`,
    `  exits merged: vmexit ${count(result.vmexit)}, vmentry ${count(result.vmentry)}; ` +
      `outside ${l2File}'s time span, dropped: ${count(result.outside)}`,
    `  wrote ${count(result.rows.length)} rows; no bitmap rows: give L1's bitmap to compare/replay with --l1-bitmap FILE`,
    "",
  ].join("\n");
}
