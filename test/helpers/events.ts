/**
 * Builders so engine tests read like traces. Each builder returns a fresh
 * TraceEvent. `run` replays a list of events through named strategies and
 * returns their results keyed by strategy name; `table` turns rows of numbers
 * (in docs/model.md §7 column order) into the same shape, so a test states every
 * counter of every strategy.
 *
 * Bitmap pages are built here from the SDM table in docs/model.md §2, on purpose
 * without the engine's bitmap.ts, so the tests do not share its arithmetic.
 */
import { Ev, type EventCode, MODE_LEGACY, MODE_LONGMODE, type TraceEvent } from "../../src/engine/events.js";
import type { L0Bitmaps } from "../../src/engine/machine.js";
import { findL0Profile } from "../../src/engine/profiles.js";
import { Replay } from "../../src/engine/replay.js";
import { type CostModel, DEFAULT_COST_MODEL, type StrategyResult } from "../../src/engine/results.js";
import { findStrategy, STRATEGIES } from "../../src/engine/strategies/index.js";
import type { Strategy } from "../../src/engine/strategy.js";

export type DirName = "r" | "w" | "rw";
export type StrategyName =
  | "no-bitmap"
  | "l1-filter"
  | "merged"
  | "merged-eager"
  | "merged-stale"
  | "sparse"
  | "sparse-clean"
  | "merged-dirty"
  | "merged-eager-x2apic";

/** Every strategy, in the order of docs/model.md §8, written out here by hand. */
export const ALL_STRATEGIES: readonly StrategyName[] = [
  "no-bitmap",
  "l1-filter",
  "merged",
  "merged-eager",
  "merged-stale",
  "sparse",
  "sparse-clean",
  "merged-dirty",
  "merged-eager-x2apic",
];

/** DIR_R = 1, DIR_W = 2, DIR_RW = 3 (a bit set), written out here by hand. */
export function dirBits(dir: DirName): number {
  return dir === "r" ? 1 : dir === "w" ? 2 : 3;
}

function event(code: EventCode, fields: Partial<TraceEvent> = {}): TraceEvent {
  return { code, vcpu: 0, msr: 0, dir: 0, flag: 0, page: 0, content: null, line: 0, t: Number.NaN, ...fields };
}

export const rd = (vcpu: number, msr: number): TraceEvent => event(Ev.rdmsr, { vcpu, msr });
export const wr = (vcpu: number, msr: number): TraceEvent => event(Ev.wrmsr, { vcpu, msr });
export const vmexit = (vcpu: number): TraceEvent => event(Ev.vmexit, { vcpu });
export const vmentry = (vcpu: number): TraceEvent => event(Ev.vmentry, { vcpu });
/** bitmap-load: L1 writes the whole page at gpa (the content is copied). */
export const load = (vcpu: number, gpa: number, content: Uint8Array): TraceEvent =>
  event(Ev.bitmapLoad, { vcpu, page: gpa, content: content.slice() });
/** bitmap-set: value 1 intercepts, 0 passes. */
export const set = (vcpu: number, gpa: number, msr: number, dir: DirName, value: 0 | 1): TraceEvent =>
  event(Ev.bitmapSet, { vcpu, page: gpa, msr, dir: dirBits(dir), flag: value });
export const ptr = (vcpu: number, gpa: number): TraceEvent => event(Ev.bitmapPtr, { vcpu, page: gpa });
export const use = (vcpu: number, value: 0 | 1): TraceEvent => event(Ev.useBitmap, { vcpu, flag: value });
export const mode = (vcpu: number, m: "longmode" | "legacy"): TraceEvent =>
  event(Ev.l1Mode, { vcpu, flag: m === "legacy" ? MODE_LEGACY : MODE_LONGMODE });
/** l0-set: value 1 intercepts, 0 passes. */
export const l0set = (vcpu: number, msr: number, dir: DirName, value: 0 | 1): TraceEvent =>
  event(Ev.l0Set, { vcpu, msr, dir: dirBits(dir), flag: value });

/** The same event, with the trace line the reader would have given it. */
export function at(line: number, ev: TraceEvent): TraceEvent {
  return { ...ev, line };
}

// ---------------------------------------------------------------------------
// Bitmap pages, from docs/model.md §2.

/** Byte and bit of an access in the page, or null for an MSR with no bit. */
export function sdmByteBit(msr: number, write: boolean): { byte: number; bit: number } | null {
  let base: number;
  if (msr >= 0 && msr <= 0x1fff) base = write ? 0x800 : 0x000;
  else if (msr >= 0xc000_0000 && msr <= 0xc000_1fff) base = write ? 0xc00 : 0x400;
  else return null;
  const n = msr - (msr >= 0xc000_0000 ? 0xc000_0000 : 0);
  return { byte: base + Math.floor(n / 8), bit: n % 8 };
}

/** An MSR, or an MSR and the directions the entry covers (default rw). */
export type MsrEntry = number | readonly [msr: number, dir: DirName];

function setBits(page: Uint8Array, entry: MsrEntry, intercept: boolean): void {
  const [msr, dir] = typeof entry === "number" ? [entry, "rw" as const] : entry;
  const bits = dirBits(dir);
  for (const write of [false, true]) {
    if ((bits & (write ? 2 : 1)) === 0) continue;
    const at = sdmByteBit(msr, write);
    if (at === null) throw new Error(`test bug: MSR 0x${msr.toString(16)} has no bit`);
    const mask = 1 << at.bit;
    page[at.byte] = intercept ? (page[at.byte] as number) | mask : (page[at.byte] as number) & ~mask;
  }
}

/**
 * A bitmap page the way a JSON snapshot describes one: `dflt` first, then the
 * `pass` entries cleared, then the `intercept` entries set.
 */
export function bitmapPage(
  dflt: "intercept" | "pass",
  pass: readonly MsrEntry[] = [],
  intercept: readonly MsrEntry[] = [],
): Uint8Array {
  const page = new Uint8Array(4096).fill(dflt === "intercept" ? 0xff : 0x00);
  for (const e of pass) setBits(page, e, false);
  for (const e of intercept) setBits(page, e, true);
  return page;
}

/** Every bit 1: every access exits. */
export const interceptAllPage = (): Uint8Array => bitmapPage("intercept");
/** Every bit 0: nothing with a bit exits. */
export const passAllPage = (): Uint8Array => bitmapPage("pass");

// ---------------------------------------------------------------------------
// Replaying.

export interface RunOptions {
  /** A built-in profile name (default "kvm-2013") or explicit L0 bitmaps. */
  readonly l0?: string | L0Bitmaps;
  /** `--l1-bitmap`. */
  readonly l1Bitmap?: Uint8Array;
  readonly cost?: CostModel;
}

export function l0Bitmaps(l0: string | L0Bitmaps = "kvm-2013"): L0Bitmaps {
  if (typeof l0 !== "string") return { longmode: l0.longmode.slice(), legacy: l0.legacy.slice() };
  const profile = findL0Profile(l0);
  if (!profile) throw new Error(`test bug: no L0 profile ${l0}`);
  return profile.bitmaps();
}

export function strategiesNamed(names: readonly string[]): Strategy[] {
  return names.map((n) => {
    const s = findStrategy(n);
    if (!s) throw new Error(`test bug: no strategy ${n}`);
    return s;
  });
}

/** A Replay over the given strategies (all nine by default). */
export function newReplay(names: readonly string[] = ALL_STRATEGIES, opts: RunOptions = {}): Replay {
  return new Replay({
    strategies: strategiesNamed(names),
    l0: l0Bitmaps(opts.l0),
    l1Bitmap: opts.l1Bitmap ?? null,
  });
}

/**
 * Replays the events (an event without a line gets its 1-based index) and
 * returns each strategy's results keyed by its name.
 */
export function run(
  names: readonly string[] | "all",
  events: readonly TraceEvent[],
  opts: RunOptions = {},
): Record<string, StrategyResult> {
  const replay = newReplay(names === "all" ? ALL_STRATEGIES : names, opts);
  events.forEach((ev, i) => {
    replay.apply(ev.line === 0 ? { ...ev, line: i + 1 } : ev);
  });
  const out: Record<string, StrategyResult> = {};
  for (const r of replay.results(opts.cost ?? DEFAULT_COST_MODEL)) out[r.strategy] = r;
  return out;
}

/**
 * Expected results, one row per strategy, columns in docs/model.md §7 order:
 * accesses, l0_exits, l1_exits, l0_handled, no_exit, merges, wp_faults,
 * dirty_checks, entries, other_exits, violations, est_cycles.
 */
// biome-ignore format: twelve columns, one per counter, as the tests' tables line them up
export type Row = readonly [number, number, number, number, number, number, number, number, number, number, number, number];

/** Row's columns, in docs/model.md §7 order, written out here by hand. */
const COLUMNS = [
  "accesses",
  "l0_exits",
  "l1_exits",
  "l0_handled",
  "no_exit",
  "merges",
  "wp_faults",
  "dirty_checks",
  "entries",
  "other_exits",
  "violations",
  "est_cycles",
] as const;

export function table(rows: Partial<Record<StrategyName, Row>>): Record<string, StrategyResult> {
  const out: Record<string, StrategyResult> = {};
  for (const [strategy, row] of Object.entries(rows) as [string, Row][]) {
    out[strategy] = { strategy, ...Object.fromEntries(COLUMNS.map((name, i) => [name, row[i]])) } as StrategyResult;
  }
  return out;
}

/** All registered strategy names, for tests that must cover every one. */
export const registeredStrategies = (): string[] => STRATEGIES.map((s) => s.name);
