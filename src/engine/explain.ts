/**
 * `explain`: why one access went where it did, under each strategy (docs/model.md
 * §6). The events before it are replayed as `compare` replays them
 * (the same front and back); the access itself is applied through the same
 * back, and each strategy's counters before and after it are compared, so
 * the entry, merge, delivery and violation shown are exactly the replay's.
 * Pure: it takes events and returns plain data.
 */
import { ReplayBack } from "./back.js";
import { bitPosition, testBit } from "./bitmap.js";
import { Ev, type Mode, type TraceEvent } from "./events.js";
import { ReplayFront } from "./front.js";
import { type L0Bitmaps, NO_BITMAP_PTR } from "./machine.js";
import type { StrategyResult } from "./results.js";
import type { Strategy } from "./strategy.js";
import { type ViolationKind, violationKind } from "./violations.js";

/** Events per batch between the front and the back: explain flushes before the access anyway. */
const CAPACITY = 4096;

export interface ExplainOptions {
  readonly strategies: readonly Strategy[];
  readonly l0: L0Bitmaps;
  readonly l1Bitmap?: Uint8Array | null;
  /** `--l1-override`: what every store to a bitmap page writes instead (FrontOptions.l1Override). */
  readonly l1Override?: Uint8Array | null;
}

/** The access and what the machine says about it, the same for every strategy. */
export interface AccessFacts {
  readonly line: number;
  readonly vcpu: number;
  readonly msr: number;
  readonly write: boolean;
  /** The MSR has a bit in an MSR bitmap (docs/model.md §2); without one every access exits. */
  readonly hasBit: boolean;
  /** vmcs12's "use MSR bitmaps" and MSR-bitmap address (null: never set), and L1's mode. */
  readonly useBitmap: boolean;
  readonly bitmapPtr: number | null;
  readonly mode: Mode;
  /** L1's bit for (MSR, direction) in the page at bitmap_ptr; null with no bit, no pointer or no page there. */
  readonly l1Bit: boolean | null;
  /** L0's bit for the vCPU's mode (the profile or L0 bitmaps, then its overrides); null with no bit. */
  readonly l0Bit: boolean | null;
  /** How many `l0-set` events changed this vCPU's L0 bitmap. */
  readonly l0Overrides: number;
  /** docs/model.md §6: use_bitmap = 0, or no bit, or L1's bit is 1. (Under no-bitmap L1 wants everything.) */
  readonly l1Wants: boolean;
  /** docs/model.md §6: no bit, or L0's bit is 1. */
  readonly l0Wants: boolean;
}

export type DeliveryName = "none" | "l0" | "l1";

/** How one strategy saw the access. */
export interface StrategyView {
  readonly strategy: string;
  /** L2 was not running on the vCPU under this strategy: a nested entry came first. */
  readonly entered: boolean;
  /** That entry built vmcs02's bitmap (merges += 1). */
  readonly merged: boolean;
  /** That entry checked L1's page's dirty bit (merged-dirty). */
  readonly dirtyCheck: boolean;
  /** vmcs02 has an MSR bitmap; without one every access exits. */
  readonly withBitmap: boolean;
  /** vmcs02's bit for (MSR, direction) after the access's entry; null without a bitmap or a bit. */
  readonly vmcs02Bit: boolean | null;
  readonly delivery: DeliveryName;
  /** Which rule of docs/model.md §6 sent it there, in its words. */
  readonly rule: string;
  /** L1 wants it under this strategy (no-bitmap: always). */
  readonly l1Wants: boolean;
  /**
   * "violation"; "not judged" when it went wrongly to a bit another vCPU's L1
   * changed while L2 ran here (docs/model.md §6); "no violation" otherwise.
   */
  readonly verdict: "violation" | "no violation" | "not judged";
  /** What went wrong, for a violation or an access not judged. */
  readonly what: ViolationKind | null;
}

export interface Explanation {
  readonly access: AccessFacts;
  readonly strategies: readonly StrategyView[];
}

/** Replays events up to an access, then explains that access. */
export class AccessExplainer {
  private readonly back: ReplayBack;
  private readonly front: ReplayFront;
  private readonly strategies: readonly Strategy[];

  constructor(options: ExplainOptions) {
    this.strategies = options.strategies;
    this.back = new ReplayBack({ strategies: options.strategies, l0: options.l0, l1Bitmap: options.l1Bitmap ?? null });
    this.front = new ReplayFront({
      l0: options.l0,
      l1Bitmap: options.l1Bitmap ?? null,
      l1Override: options.l1Override ?? null,
      capacity: CAPACITY,
      emit: (batch) => {
        this.back.consume(batch); // done with it: the front reuses it
        return undefined;
      },
    });
  }

  /** An event before the access (it may throw a ReplayError, as a replay would). */
  apply(ev: TraceEvent): void {
    this.front.apply(ev);
  }

  /** Applies the access `ev` (rdmsr or wrmsr) and says what each strategy did with it. */
  explain(ev: TraceEvent): Explanation {
    if (ev.code !== Ev.rdmsr && ev.code !== Ev.wrmsr) throw new Error("internal: explain takes an access");
    this.front.flush();
    const access = this.facts(ev);
    const before = this.back.results();
    this.front.apply(ev);
    this.front.flush();
    const after = this.back.results();
    const position = bitPosition(ev.msr, access.write);
    const strategies = this.strategies.map((strategy, i) => {
      const b = before[i] as StrategyResult;
      const a = after[i] as StrategyResult;
      const view = this.back.l2View(i, ev.vcpu, position);
      const delivery: DeliveryName = a.l1_exits > b.l1_exits ? "l1" : a.l0_handled > b.l0_handled ? "l0" : "none";
      const l1Wants = strategy.hidesMsrBitmaps === true || access.l1Wants;
      const what = violationKind(l1Wants, access.l0Wants, DELIVERY_CODE[delivery]);
      const violation = a.violations > b.violations;
      return {
        strategy: strategy.name,
        entered: a.entries > b.entries,
        merged: a.merges > b.merges,
        dirtyCheck: a.dirty_checks > b.dirty_checks,
        withBitmap: view.withBitmap,
        vmcs02Bit: view.withBitmap && access.hasBit ? view.bit : null,
        delivery,
        rule: rule(strategy, this.back.runsWithoutBitmap(i), access, view.withBitmap, view.bit, delivery, l1Wants),
        l1Wants,
        verdict: violation ? "violation" : what !== null ? "not judged" : "no violation",
        what,
      } satisfies StrategyView;
    });
    return { access, strategies };
  }

  /** What the machine says about the access before it happens. */
  private facts(ev: TraceEvent): AccessFacts {
    const machine = this.back.machine;
    const state = machine.vcpu(ev.vcpu);
    const write = ev.code === Ev.wrmsr;
    const position = bitPosition(ev.msr, write);
    const hasBit = position >= 0;
    const page = state.bitmapPtr === NO_BITMAP_PTR ? undefined : machine.memory.get(state.bitmapPtr);
    const l1Bit = hasBit && page !== undefined ? testBit(page, position) : null;
    const l0Bit = hasBit ? testBit(state.l0Bitmap(), position) : null;
    return {
      line: ev.line,
      vcpu: ev.vcpu,
      msr: ev.msr,
      write,
      hasBit,
      useBitmap: state.useBitmap,
      bitmapPtr: state.bitmapPtr === NO_BITMAP_PTR ? null : state.bitmapPtr,
      mode: state.mode,
      l1Bit,
      l0Bit,
      l0Overrides: state.l0Overrides,
      l1Wants: !state.useBitmap || !hasBit || l1Bit === true,
      l0Wants: !hasBit || l0Bit === true,
    };
  }
}

const DELIVERY_CODE = { none: 0, l0: 1, l1: 2 } as const;

/**
 * The rule of docs/model.md §6 that sent the access where it went, in its
 * words: the strategy's row of the delivery table, and for the merged family
 * which of its conditions held.
 */
function rule(
  strategy: Strategy,
  withoutBitmap: boolean,
  access: AccessFacts,
  withBitmap: boolean,
  bit: boolean,
  delivery: DeliveryName,
  l1Wants: boolean,
): string {
  const reflect = l1Wants ? "L1 wants it: reflected to L1" : "L1 does not want it: handled by L0";
  if (strategy.hidesMsrBitmaps) return `${strategy.name}: always l1`;
  if (withoutBitmap) return `${strategy.name}: ${l1Wants ? "L1 wants it" : "L1 does not want it"}`;
  if (!access.useBitmap) return `use_bitmap = 0 (L2 runs with no bitmap): exits, ${reflect}`;
  if (!access.hasBit) return `the MSR has no bit: exits, ${reflect}`;
  if (!withBitmap) return `vmcs02 has no bitmap: exits, ${reflect}`;
  if (bit) return `vmcs02's bit is 1, ${reflect}`;
  // The shadow's bit is 0: the CPU lets the access complete in L2.
  return delivery === "none"
    ? "use_bitmap = 1 and vmcs02's bit is 0: completes in L2"
    : `vmcs02's bit is 0, ${reflect}`;
}
