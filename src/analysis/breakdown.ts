/**
 * `compare --by msr|vcpu`: every strategy's per-MSR or per-vCPU counts
 * (src/engine/by.ts) turned into rows: the exit cycles each row costs, its
 * share of the strategy's total, the filters, the order and --top, and a
 * totals line. Pure: no I/O. Rows stay in columns (index arrays over the
 * engine's typed arrays): a trace may touch millions of MSRs.
 */
import type { BreakdownBy, StrategyBreakdown } from "../engine/by.js";
import { MAX_VCPUS } from "../engine/machine.js";
import type { CostModel } from "../engine/results.js";
import { msrByName } from "../msr/names.js";

/** The counts a row has, and the keys `--sort` takes (docs/model.md §7 names). */
export const BY_COUNTS = ["accesses", "l0_exits", "l1_exits", "l0_handled", "no_exit", "violations"] as const;
export const SORT_KEYS = [...BY_COUNTS, "exit_cycles"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Busiest first: the exits' cost is what a design changes. */
export const DEFAULT_SORT: SortKey = "exit_cycles";

/** What `--by` and its options ask for, validated (src/cli/options.ts). */
export interface ByView extends BreakdownBy {
  readonly sort: SortKey;
  /** --top N: the first N rows per strategy; null keeps them all. */
  readonly top: number | null;
  /** The filters as given on the command line, echoed in JSON; null when not given. */
  readonly vcpuText: string | null;
  readonly msrText: string | null;
}

/** One row's numbers: the counts, their exit cycles and the share (a fraction, 0 to 1). */
export type ByNumbers = Record<SortKey, number>;
export interface ByRow extends ByNumbers {
  /** --by msr: the MSR and direction; --by vcpu: the vCPU. */
  readonly msr?: number;
  readonly write?: boolean;
  readonly vcpu?: number;
  readonly share: number;
}

/** One strategy's rows, in order, after the filters and --top. */
export interface ByTable {
  readonly strategy: string;
  /** Rows shown (at most --top). */
  readonly length: number;
  row(i: number): ByRow;
  /** Rows the filters keep (the totals' rows): rowsTotal - length were cut by --top. */
  readonly rowsTotal: number;
  /** The sum of every row the filters keep, not only those shown. */
  readonly total: ByNumbers;
}

/** The columns of one breakdown, whichever its key. */
interface Columns extends Record<(typeof BY_COUNTS)[number], Float64Array> {
  readonly length: number;
}

/**
 * A row's exit cycles: `l0_exit × l0_handled + l1_exit × l1_exits`, the two
 * terms of est_cycles (docs/model.md §7) an access is charged. Merges, faults
 * and dirty checks happen at entries and stores, not at an access, so no MSR
 * or vCPU row carries them.
 */
export function exitCycles(l0Handled: number, l1Exits: number, cost: CostModel): number {
  return cost.l0_exit * l0Handled + cost.l1_exit * l1Exits;
}

/**
 * The rows of one strategy's breakdown: filtered, in `view.sort` order
 * (descending; ties by accesses descending, then by key ascending: MSR then
 * reads before writes, or vCPU), cut to --top.
 */
export function byTable(breakdown: StrategyBreakdown, view: ByView, cost: CostModel): ByTable {
  const msrs = breakdown.msrs;
  const vcpus = breakdown.vcpus;
  const columns: Columns | undefined = view.by === "msr" ? msrs : vcpus;
  const n = columns?.length ?? 0;
  const cycles = new Float64Array(n);
  /** Sort key of a row for ties: MSR × 2 + write, or the vCPU. */
  const keys = new Float64Array(n);
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const cols = columns as Columns;
    cycles[i] = exitCycles(cols.l0_handled[i] as number, cols.l1_exits[i] as number, cost);
    if (msrs) {
      const msr = msrs.msr[i] as number;
      keys[i] = msr * 2 + (msrs.write[i] as number);
      if (view.msrs !== null && !inList(view.msrs, msr)) continue;
    } else if (vcpus) {
      const vcpu = vcpus.vcpu[i] as number;
      keys[i] = vcpu;
      if (view.vcpus !== null && !inList(view.vcpus, vcpu)) continue;
    }
    kept.push(i);
  }
  const c = columns ?? emptyColumns();
  const column = (key: SortKey): Float64Array => (key === "exit_cycles" ? cycles : c[key]);
  const sortColumn = column(view.sort);
  const accesses = c.accesses;
  const order = Uint32Array.from(kept);
  order.sort(
    (a, b) =>
      (sortColumn[b] as number) - (sortColumn[a] as number) ||
      (accesses[b] as number) - (accesses[a] as number) ||
      (keys[a] as number) - (keys[b] as number),
  );
  const numbersAt = (i: number): ByNumbers => ({
    accesses: c.accesses[i] as number,
    l0_exits: c.l0_exits[i] as number,
    l1_exits: c.l1_exits[i] as number,
    l0_handled: c.l0_handled[i] as number,
    no_exit: c.no_exit[i] as number,
    violations: c.violations[i] as number,
    exit_cycles: cycles[i] as number,
  });
  const total = Object.fromEntries(
    SORT_KEYS.map((key) => {
      const values = column(key);
      let sum = 0;
      for (const i of kept) sum += values[i] as number;
      return [key, sum];
    }),
  ) as ByNumbers;
  const sortTotal = total[view.sort];
  const length = view.top === null ? order.length : Math.min(view.top, order.length);
  return {
    strategy: breakdown.strategy,
    length,
    rowsTotal: order.length,
    total,
    row(i: number): ByRow {
      const at = order[i] as number;
      const numbers = numbersAt(at);
      const share = sortTotal === 0 ? 0 : numbers[view.sort] / sortTotal;
      const key = msrs
        ? { msr: msrs.msr[at] as number, write: msrs.write[at] === 1 }
        : { vcpu: (vcpus as NonNullable<typeof vcpus>).vcpu[at] as number };
      return { ...key, ...numbers, share };
    },
  };
}

function emptyColumns(): Columns {
  const none = new Float64Array(0);
  return {
    length: 0,
    accesses: none,
    l0_exits: none,
    l1_exits: none,
    l0_handled: none,
    no_exit: none,
    violations: none,
  };
}

function inList(ranges: readonly (readonly [number, number])[], n: number): boolean {
  return ranges.some(([from, to]) => n >= from && n <= to);
}

/** Sorted, merged inclusive ranges. */
function merged(ranges: [number, number][]): [number, number][] {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [from, to] of ranges) {
    const last = out[out.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** The biggest MSR index: 32 bits. */
const MAX_MSR = 0xffff_ffff;

/** One MSR: hex 0x…, decimal, or a known name (IA32_TSC_DEADLINE, TSC_DEADLINE). */
function msrItem(text: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(text) || /^\d+$/.test(text)) {
    const n = Number(text);
    return n <= MAX_MSR ? n : undefined;
  }
  return msrByName(text);
}

/**
 * A list of items, each N or N-M, separated by commas; `item` reads an N.
 * Returns the merged ranges, or the one-line reason the first bad item is bad.
 */
function parseList(text: string, item: (s: string) => number | undefined, what: string): [number, number][] | string {
  const ranges: [number, number][] = [];
  const items = text.split(",").map((s) => s.trim());
  for (const raw of items) {
    if (raw === "") return `an empty item in "${text}"`;
    // A range's ends may be names (FS_BASE-KERNEL_GS_BASE): names hold no "-".
    const ends = raw.split("-").map((s) => s.trim());
    if (ends.length > 2) return `"${raw}" is not ${what}`;
    const [from, to = from] = ends.map(item);
    if (from === undefined || to === undefined) return `"${raw}" is not ${what}`;
    if (from > to) return `"${raw}": the range ends below its start`;
    ranges.push([from, to]);
  }
  return merged(ranges);
}

export const MSR_ITEM = "an MSR or a range of them (hex 0x…, decimal, or a name such as IA32_TSC_DEADLINE; A-B)";
export const VCPU_ITEM = `a vCPU or a range of them (0-${MAX_VCPUS - 1}; A-B)`;

/** `--msr LIST`: MSRs as hex, decimal or names, and ranges A-B, comma-separated. */
export function parseMsrList(text: string): [number, number][] | string {
  return parseList(text, msrItem, MSR_ITEM);
}

/** `--vcpu LIST`: vCPU numbers (0-4095) and ranges A-B, comma-separated. */
export function parseVcpuList(text: string): [number, number][] | string {
  return parseList(text, (s) => (/^\d+$/.test(s) && Number(s) < MAX_VCPUS ? Number(s) : undefined), VCPU_ITEM);
}

/** A list option as validated: the text given (echoed) and its ranges. */
export interface ListOption {
  readonly text: string;
  readonly ranges: [number, number][];
}

/** The view `compare --by` asks for, from its validated options; null without --by. */
export function byViewOf(options: {
  by?: "msr" | "vcpu" | undefined;
  sort?: SortKey | undefined;
  top?: number | undefined;
  vcpu?: ListOption | undefined;
  msr?: ListOption | undefined;
}): ByView | null {
  if (options.by === undefined) return null;
  return {
    by: options.by,
    sort: options.sort ?? DEFAULT_SORT,
    top: options.top ?? null,
    vcpus: options.vcpu?.ranges ?? null,
    msrs: options.msr?.ranges ?? null,
    vcpuText: options.vcpu?.text ?? null,
    msrText: options.msr?.text ?? null,
  };
}
