/**
 * The oracle's bit position without branches (src/engine/back.ts judge,
 * from the BitLayout enum of src/engine/bitmap.ts) against bitPosition()'s
 * branches and the SDM table (docs/model.md §2): first the few lines of
 * arithmetic, written again here from the enum, at every range edge and
 * over random 32-bit MSRs; then the engine itself, whose deliveries and
 * violations follow the position it computes for each access.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReplayBack } from "../src/engine/back.js";
import { BitLayout, bitPosition, PAGE_SIZE } from "../src/engine/bitmap.js";
import type { TraceEvent } from "../src/engine/events.js";
import { ReplayFront } from "../src/engine/front.js";
import type { L0Bitmaps } from "../src/engine/machine.js";
import { DEFAULT_COST_MODEL } from "../src/engine/results.js";
import type { Strategy } from "../src/engine/strategy.js";
import { type DirName, load, passAllPage, ptr, rd, sdmByteBit, strategiesNamed, use, wr } from "./helpers/events.js";

/**
 * back.ts judge()'s position and no-bit flag for an access, as it computes
 * them (written again from the enum, not imported: judge() is a closure's
 * loop). `write` is bit 0 of the event code (rdmsr 0, wrmsr 1).
 */
function arithmetic(msr: number, write: boolean): { position: number; noBit: number } {
  const range = msr >>> BitLayout.AREA_BITS;
  const high = ((range ^ BitLayout.HIGH_RANGE) - 1) >>> 31;
  const noBit = (((range - 1) >>> 31) | high) ^ 1;
  const position =
    ((write ? 1 : 0) << BitLayout.WRITE_AREA_BIT) | (high << BitLayout.AREA_BITS) | (msr & BitLayout.IN_AREA);
  return { position, noBit };
}

/** The position from the SDM table (helpers/events.ts, which does not use bitmap.ts), or -1 for no bit. */
function sdmPosition(msr: number, write: boolean): number {
  const at = sdmByteBit(msr, write);
  return at === null ? -1 : at.byte * 8 + at.bit;
}

/**
 * The ends and edges of both ranges, their neighbours outside them, and
 * MSRs traces use: TSC, TSC_DEADLINE, EFER, FS_BASE, a Hyper-V and a KVM
 * paravirtual MSR (no bit).
 */
const EDGES = [
  0x0, 0x1, 0x7, 0x8, 0x10, 0x6e0, 0x1ff8, 0x1fff, 0x2000, 0x2001, 0x3fff, 0x4000, 0xbfff_ffff, 0xc000_0000,
  0xc000_0001, 0xc000_0080, 0xc000_0100, 0xc000_1fff, 0xc000_2000, 0xc000_3fff, 0xc000_4000, 0x4000_0000, 0x4b56_4d01,
  0x8000_0000, 0xdfff_ffff, 0xfffe_0000, 0xffff_e000, 0xffff_ffff,
];

describe("the arithmetic form of bitPosition() (back.ts judge, BitLayout)", () => {
  it("BitLayout's members are the SDM layout's numbers", () => {
    // docs/model.md §2: an area is 0x400 bytes (0x2000 bits), the high range starts at 0xC0000000,
    // the write areas at byte 0x800, n = msr & 0x1FFF.
    expect(1 << BitLayout.AREA_BITS).toBe(0x400 * 8);
    expect(BitLayout.HIGH_RANGE * 2 ** BitLayout.AREA_BITS).toBe(0xc000_0000);
    expect(1 << BitLayout.WRITE_AREA_BIT).toBe(0x800 * 8);
    expect(BitLayout.IN_AREA).toBe(0x1fff);
  });

  for (const msr of EDGES) {
    for (const write of [false, true]) {
      it(`0x${msr.toString(16)} ${write ? "write" : "read"}: bitPosition()'s answer and the SDM table's`, () => {
        const expected = bitPosition(msr, write);
        expect(expected).toBe(sdmPosition(msr, write));
        const { position, noBit } = arithmetic(msr, write);
        expect(noBit).toBe(expected < 0 ? 1 : 0);
        if (expected >= 0) expect(position).toBe(expected);
        // With no bit the position is read but not used: it must still fall inside the page.
        expect(position).toBeGreaterThanOrEqual(0);
        expect(position).toBeLessThan(PAGE_SIZE * 8);
      });
    }
  }

  it("agrees with bitPosition() on random 32-bit MSRs, both directions", () => {
    // Uniform MSRs almost never have a bit; half the draws are near a range's ends instead.
    const near = (base: number) => fc.integer({ min: -0x40, max: 0x2040 }).map((d) => (base + d) >>> 0);
    const msrArb = fc.oneof(
      fc.integer({ min: 0, max: 0xffff_ffff }),
      near(0),
      near(0xc000_0000),
      fc.integer({ min: 0, max: 0xffff_ffff }).map((m) => ((m & 0x1fff) | 0xc000_0000) >>> 0),
    );
    fc.assert(
      fc.property(msrArb, fc.boolean(), (msr, write) => {
        const expected = bitPosition(msr, write);
        const { position, noBit } = arithmetic(msr, write);
        expect(noBit).toBe(expected < 0 ? 1 : 0);
        if (expected >= 0) expect(position).toBe(expected);
        expect(position >>> 15).toBe(0);
      }),
      { numRuns: 20_000 },
    );
  });
});

// ---------------------------------------------------------------------------
// Through the engine.

/** L1's page. */
const P = 0x5000;

/**
 * A strategy that runs L2 on a page the test gives (unsafe: it ignores L1
 * and L0), so that where an access goes shows vmcs02's bit at the position
 * the engine computed, and whether it is a violation shows the oracle's
 * reading of L1's and L0's bits there.
 */
function fixedVmcs02(page: Uint8Array): Strategy {
  return {
    name: "fixed-vmcs02",
    summary: "runs L2 on a page the test gives",
    origin: "a test",
    unsafe: true,
    create: () => ({ entry: (_v, state) => (state.useBitmap ? page : null) }),
  };
}

/** A page with exactly one bit set: MSR `msr` in direction `dir`, from the SDM table. */
function oneBit(msr: number, dir: "r" | "w"): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE);
  const at = sdmByteBit(msr, dir === "w");
  if (at === null) throw new Error(`test bug: 0x${msr.toString(16)} has no bit`);
  page[at.byte] = 1 << at.bit;
  return page;
}

type Delivered = "none" | "l0" | "l1";

interface Outcome {
  readonly strategy: string;
  readonly delivered: Delivered;
  readonly violation: string | null;
}

/**
 * One access (after L1 points vCPU 0 at P, which holds `l1`) under l1-filter,
 * merged and fixedVmcs02(vmcs02), with L0's bitmap `l0` in both modes: where
 * each strategy delivered it, and the violation it was, if any.
 */
function access(probe: TraceEvent, l1: Uint8Array, l0: Uint8Array, vmcs02: Uint8Array): Outcome[] {
  const bitmaps: L0Bitmaps = { longmode: l0, legacy: l0 };
  const back = new ReplayBack({
    strategies: [...strategiesNamed(["l1-filter", "merged"]), fixedVmcs02(vmcs02)],
    l0: bitmaps,
    violations: true,
  });
  const front = new ReplayFront({
    l0: bitmaps,
    lines: true,
    emit: (batch) => {
      back.consume(batch);
      return undefined;
    },
  });
  const events = [load(0, P, l1), ptr(0, P), use(0, 1), probe];
  events.forEach((ev, i) => {
    front.apply({ ...ev, line: i + 1 });
  });
  front.flush();
  const violations = back.violations();
  return back.results(DEFAULT_COST_MODEL).map((r, i) => {
    // One access: exactly one of these counters is 1.
    expect(r.accesses).toBe(1);
    const delivered: Delivered = r.no_exit === 1 ? "none" : r.l1_exits === 1 ? "l1" : "l0";
    const v = violations[i];
    expect(v?.total).toBe(r.violations);
    return { strategy: r.strategy, delivered, violation: v?.first[0]?.kind ?? null };
  });
}

const ZEROS = () => new Uint8Array(PAGE_SIZE);

/** The MSRs with a bit at the ends and edges of both ranges, each given a bit of its own in turn. */
const TARGETS = [0x0, 0x1, 0x7, 0x8, 0x10, 0x6e0, 0x1ff8, 0x1fff, 0xc000_0000, 0xc000_0001, 0xc000_0100, 0xc000_1fff];

/**
 * The accesses to try against a target's bit: the target both ways, its
 * neighbours (past a range's end they have no bit), the MSR with the same
 * n in the other range, and those 0x2000 either side (the same n, no bit).
 */
function probesOf(msr: number): { msr: number; dir: "r" | "w" }[] {
  const msrs = [msr, msr - 1, msr + 1, (msr ^ 0xc000_0000) >>> 0, msr + 0x2000, msr - 0x2000].filter(
    (m) => m >= 0 && m <= 0xffff_ffff,
  );
  return msrs.flatMap((m) => [
    { msr: m, dir: "r" as const },
    { msr: m, dir: "w" as const },
  ]);
}

const event = (msr: number, dir: "r" | "w") => (dir === "w" ? wr(0, msr) : rd(0, msr));
const show = (msr: number, dir: DirName) => `0x${msr.toString(16)} ${dir}`;

/**
 * What docs/model.md §6 says of one access, given whether it hits the one
 * bit set (`hit`) and whether its MSR has a bit (`hasBit`, from the SDM
 * table): an MSR with no bit always exits, and L1 wants it.
 */
function expected(
  where: "l1" | "l0" | "vmcs02",
  hit: boolean,
  hasBit: boolean,
): Record<string, Omit<Outcome, "strategy">> {
  if (!hasBit) {
    const toL1 = { delivered: "l1" as const, violation: null };
    return { "l1-filter": toL1, merged: toL1, "fixed-vmcs02": toL1 };
  }
  if (where === "l1") {
    // L1's bit: l1-filter reflects what L1 wants; merged's vmcs02 holds L1's bit (L0 passes all);
    // fixed-vmcs02 runs on zeros, so what L1 wants completes in L2: a violation.
    return {
      "l1-filter": { delivered: hit ? "l1" : "l0", violation: null },
      merged: { delivered: hit ? "l1" : "none", violation: null },
      "fixed-vmcs02": { delivered: "none", violation: hit ? "L1 wants it, delivered to none" : null },
    };
  }
  if (where === "l0") {
    // L0's bit: L1 wants nothing; merged's vmcs02 holds L0's bit, so that access exits to L0;
    // on zeros, what L0 wants completes in L2: a violation.
    return {
      "l1-filter": { delivered: "l0", violation: null },
      merged: { delivered: hit ? "l0" : "none", violation: null },
      "fixed-vmcs02": { delivered: "none", violation: hit ? "L0 wants it, delivered to none" : null },
    };
  }
  // vmcs02's bit only: nobody wants anything; that access exits to L0, the rest complete in L2.
  return {
    "l1-filter": { delivered: "l0", violation: null },
    merged: { delivered: "none", violation: null },
    "fixed-vmcs02": { delivered: hit ? "l0" : "none", violation: null },
  };
}

describe("the engine reads each page at the access's own bit", () => {
  for (const where of ["l1", "l0", "vmcs02"] as const) {
    describe(`one bit set in ${where === "l1" ? "L1's page" : where === "l0" ? "L0's bitmap" : "vmcs02"}`, () => {
      for (const target of TARGETS) {
        for (const dir of ["r", "w"] as const) {
          it(`at ${show(target, dir)}: only that access sees it`, () => {
            const bit = oneBit(target, dir);
            const l1 = where === "l1" ? bit : ZEROS();
            const l0 = where === "l0" ? bit : passAllPage();
            const vmcs02 = where === "vmcs02" ? bit : ZEROS();
            for (const probe of probesOf(target)) {
              const hit = probe.msr === target && probe.dir === dir;
              const hasBit = sdmByteBit(probe.msr, false) !== null;
              const got = Object.fromEntries(
                access(event(probe.msr, probe.dir), l1, l0, vmcs02).map(({ strategy, ...o }) => [strategy, o]),
              );
              expect(got, show(probe.msr, probe.dir)).toEqual(expected(where, hit, hasBit));
            }
          });
        }
      }
    });
  }

  it("an MSR with no bit exits to L1 whatever the pages hold (the position read for it is not used)", () => {
    // Pages all ones and all zeros: if the no-bit flag were lost, the bit read at the
    // made-up position would decide, and one of the two would differ.
    const ones = new Uint8Array(PAGE_SIZE).fill(0xff);
    for (const msr of EDGES.filter((m) => sdmByteBit(m, false) === null)) {
      for (const dir of ["r", "w"] as const) {
        for (const [l1, l0, vmcs02] of [
          [ZEROS(), passAllPage(), ZEROS()],
          [ones, ones, ones],
        ] as const) {
          const got = access(event(msr, dir), l1, l0, vmcs02);
          expect(
            got.map((o) => [o.delivered, o.violation]),
            show(msr, dir),
          ).toEqual([
            ["l1", null],
            ["l1", null],
            ["l1", null],
          ]);
        }
      }
    }
  });

  it("over random MSRs: an access sees L1's one bit exactly when bitPosition() says it is that bit", () => {
    const inRange = fc.oneof(fc.integer({ min: 0, max: 0x1fff }), fc.integer({ min: 0xc000_0000, max: 0xc000_1fff }));
    const dirArb = fc.constantFrom<"r" | "w">("r", "w");
    // The probe: the target, a neighbour, the other range's twin, or any 32-bit MSR.
    const probeArb = (target: number) =>
      fc.oneof(
        fc.constant(target),
        fc.constantFrom(target - 1, target + 1, (target ^ 0xc000_0000) >>> 0),
        fc.integer({ min: 0, max: 0xffff_ffff }),
      );
    fc.assert(
      fc.property(
        inRange.chain((t) => fc.tuple(fc.constant(t), probeArb(t))),
        dirArb,
        dirArb,
        ([target, probe], dir, probeDir) => {
          if (probe < 0 || probe > 0xffff_ffff) return;
          const position = bitPosition(probe, probeDir === "w");
          const hit = position >= 0 && position === bitPosition(target, dir === "w");
          const got = access(event(probe, probeDir), oneBit(target, dir), passAllPage(), ZEROS());
          expect(Object.fromEntries(got.map(({ strategy, ...o }) => [strategy, o]))).toEqual(
            expected("l1", hit, position >= 0),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
