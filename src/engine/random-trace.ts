/**
 * Small random traces for checkStrategy() (conformance.ts): every event kind
 * of docs/model.md §3, valid by construction (every page a vmcs12 can point at
 * exists before the first event, so no entry fails), reproducible from a
 * seed. Pure: events in memory, no file.
 */
import { DIR_R, DIR_RW, DIR_W, PAGE_SIZE } from "./bitmap.js";
import { Ev, type EventCode, MODE_LEGACY, MODE_LONGMODE, type TraceEvent } from "./events.js";

/** What a random trace is made of. */
export interface RandomTraceOptions {
  /** Events after the set-up rows (default 400). */
  readonly events?: number;
  /** vCPUs 0 … vcpus-1 (default 3: enough for the cross-vCPU rule). */
  readonly vcpus?: number;
}

export const DEFAULT_RANDOM_EVENTS = 400;
export const DEFAULT_RANDOM_VCPUS = 3;

/**
 * The bitmap pages L1 may point at: fewer pages than vCPUs, so that vCPUs
 * share pages and a store on one concerns another's shadow.
 */
const PAGES = [0x1000, 0x2000] as const;

/**
 * The MSRs accessed: pass-through candidates of every strategy's layout
 * (FS_BASE/GS_BASE/KERNEL_GS_BASE on the sparse allow-list, SPEC_CTRL,
 * SYSENTER_*, TSC), the x2APIC range (Xen's trap, the sparse x2APIC reads),
 * TSC_DEADLINE, and one MSR with no bit (always exits).
 */
const MSRS = [
  0x10, 0x48, 0x174, 0x176, 0x6e0, 0x808, 0x80b, 0x830, 0xc000_0100, 0xc000_0101, 0xc000_0102, 0x4000_0000,
] as const;
const MSRS_WITH_A_BIT = MSRS.filter((msr) => msr !== 0x4000_0000);

/** Relative weights of the event kinds after the set-up: mostly accesses, every kind often enough. */
const WEIGHTS: readonly [EventCode, number][] = [
  [Ev.rdmsr, 30],
  [Ev.wrmsr, 30],
  [Ev.vmexit, 8],
  [Ev.vmentry, 4],
  [Ev.bitmapSet, 10],
  [Ev.bitmapLoad, 2],
  [Ev.bitmapPtr, 4],
  [Ev.useBitmap, 4],
  [Ev.l1Mode, 2],
  [Ev.l0Set, 6],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);

/** The event kind at `r` (0 <= r < TOTAL_WEIGHT) along the weights. */
function weighted(r: number): EventCode {
  let rest = r;
  for (const [code, weight] of WEIGHTS) {
    if (rest < weight) return code;
    rest -= weight;
  }
  return Ev.rdmsr;
}

/** Mulberry32: a tiny seeded PRNG, enough to spread events (not for anything secret). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A random trace: the set-up (every page loaded, every vCPU pointed at one), then `events` random events. */
export function randomTrace(seed: number, options: RandomTraceOptions = {}): TraceEvent[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const vcpus = options.vcpus ?? DEFAULT_RANDOM_VCPUS;
  const count = options.events ?? DEFAULT_RANDOM_EVENTS;
  const events: TraceEvent[] = [];
  let line = 1; // the header
  const event = (code: EventCode, fields: Partial<TraceEvent>) => {
    events.push({ code, vcpu: 0, msr: 0, dir: 0, flag: 0, page: 0, content: null, line: ++line, t: 0, ...fields });
  };
  const page = () => {
    // Dense (most MSRs intercepted) or sparse (most passed through), so both kinds of L1 show up.
    const density = pick([0.2, 0.8]);
    return Uint8Array.from({ length: PAGE_SIZE }, () => {
      let byte = 0;
      for (let bit = 0; bit < 8; bit++) if (random() < density) byte |= 1 << bit;
      return byte;
    });
  };
  for (const gpa of PAGES) event(Ev.bitmapLoad, { page: gpa, content: page() });
  for (let v = 0; v < vcpus; v++) {
    event(Ev.bitmapPtr, { vcpu: v, page: pick(PAGES) });
    event(Ev.useBitmap, { vcpu: v, flag: random() < 0.8 ? 1 : 0 });
  }
  for (let i = 0; i < count; i++) {
    const code = weighted(random() * TOTAL_WEIGHT);
    const vcpu = Math.floor(random() * vcpus);
    const dir = pick([DIR_R, DIR_W, DIR_RW]);
    const flag = random() < 0.5 ? 1 : 0;
    switch (code) {
      case Ev.rdmsr:
      case Ev.wrmsr:
        event(code, { vcpu, msr: pick(MSRS) });
        break;
      case Ev.bitmapSet:
        event(code, { vcpu, page: pick(PAGES), msr: pick(MSRS_WITH_A_BIT), dir, flag });
        break;
      case Ev.bitmapLoad:
        event(code, { vcpu, page: pick(PAGES), content: page() });
        break;
      case Ev.bitmapPtr:
        event(code, { vcpu, page: pick(PAGES) });
        break;
      case Ev.useBitmap:
        event(code, { vcpu, flag });
        break;
      case Ev.l1Mode:
        event(code, { vcpu, flag: random() < 0.5 ? MODE_LONGMODE : MODE_LEGACY });
        break;
      case Ev.l0Set:
        event(code, { vcpu, msr: pick(MSRS_WITH_A_BIT), dir, flag });
        break;
      default:
        event(code, { vcpu });
    }
  }
  return events;
}
