/** The public shapes of the library's results (docs/api.md). */
import type { EventName } from "../engine/events.js";
import type { CostModel, CycleSplit, StrategyResult } from "../engine/results.js";
import type { Strategy } from "../engine/strategy.js";
import type { ReportOptions } from "../report.js";

/**
 * The settings a result depends on: `compare --format json`'s "options",
 * the very shape the CLI's renderer writes (src/report.ts), so the two
 * cannot drift apart.
 */
export type CompareOptionsEcho = ReportOptions;

/** One result's est_cycles split into its terms, which add up to it. */
export type CyclesEntry = { readonly strategy: string } & CycleSplit;

/**
 * What compareTrace() resolves to: exactly what `nvmx-replay compare --format
 * json` prints for one trace (schema 2).
 */
export interface CompareResult {
  readonly schema: 2;
  readonly trace: string;
  readonly events: number;
  readonly vcpus: number;
  readonly options: CompareOptionsEcho;
  /** One per strategy, in the order asked. */
  readonly results: StrategyResult[];
  readonly cycles: CyclesEntry[];
  /** `lenient` only: whether rows were skipped, and how many. */
  readonly partial?: boolean;
  readonly skipped_rows?: number;
}

/**
 * One row of a trace as traceEvents() yields it: a fresh object per event.
 * Fields an event does not use are 0 (`content` null, `t` NaN).
 */
export interface TraceEvent {
  /** The trace's `event` column. */
  readonly event: EventName;
  /** The line the row is on (1 is the first line of the file). */
  readonly line: number;
  readonly vcpu: number;
  /** rdmsr, wrmsr, bitmap-set, l0-set: the MSR index. */
  readonly msr: number;
  /** bitmap-set, l0-set: DIR_R, DIR_W or both (DIR_R | DIR_W). */
  readonly dir: number;
  /** bitmap-set, l0-set: 1 intercept, 0 pass; use-bitmap: 0 or 1; l1-mode: 0 long mode, 1 legacy. */
  readonly flag: number;
  /** bitmap-load, bitmap-set, bitmap-ptr: the guest-physical address of L1's bitmap page. */
  readonly page: number;
  /** bitmap-load: the page's new content (4096 bytes, a copy of its own). */
  readonly content: Uint8Array | null;
  /** The `t` column in seconds when asked for (`timestamps: true`), NaN otherwise. */
  readonly t: number;
}

/** A bitmap page: a snapshot file (.bin or .json, docs/model.md §4), or its 4096 bytes. */
export type BitmapPage = string | Uint8Array;

/** compareTrace()'s options, the CLI's set-up options by their library names (README "compare and replay take"). */
export interface CompareTraceOptions {
  /** Built-in names, Strategy objects or both, in the order wanted; "all" for every built-in one. Default: DEFAULT_STRATEGIES. */
  readonly strategies?: "all" | readonly (string | Strategy)[];
  /** The built-in L0 profile (L0_PROFILE_NAMES); default "kvm-2013". */
  readonly l0Profile?: string;
  /** vmcs01's bitmap in both L1 modes, instead of the profile's (--l0-bitmap). */
  readonly l0Bitmap?: BitmapPage;
  /** vmcs01's bitmap in legacy mode (--l0-bitmap-legacy). */
  readonly l0BitmapLegacy?: BitmapPage;
  /** L1's bitmap at GPA 0x1000 on every vCPU (--l1-bitmap); not with l1Profile. */
  readonly l1Bitmap?: BitmapPage;
  /** A real hypervisor's L1 bitmap (L1_PROFILE_NAMES, --l1-profile); not with l1Bitmap. */
  readonly l1Profile?: string;
  /** What every store to a bitmap page writes instead: an L1 profile name, a snapshot file, or the page (--l1-override). */
  readonly l1Override?: BitmapPage;
  /** Any subset of the cost keys, whole cycles; the rest are DEFAULT_COST_MODEL's. */
  readonly costModel?: Partial<CostModel>;
  /** Skip bad rows instead of stopping; the result then has "partial" and "skipped_rows". */
  readonly lenient?: boolean;
  /** Folders besides the trace's own that its snapshots may be in (--snapshots-dir). */
  readonly snapshotDirs?: readonly string[];
  /** How a stream is named in the result and in errors; default STREAM_NAME. */
  readonly name?: string;
}

/** traceEvents()'s options. */
export interface TraceEventsOptions {
  /** Skip bad rows instead of stopping. */
  readonly lenient?: boolean;
  /** Folders besides the trace's own that its snapshots may be in. */
  readonly snapshotDirs?: readonly string[];
  /** How a stream is named in errors; default STREAM_NAME. */
  readonly name?: string;
  /** Decode the `t` column (seconds) into TraceEvent.t; the header must then have a `t` column. */
  readonly timestamps?: boolean;
}
