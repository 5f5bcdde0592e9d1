import { describe, expect, it } from "vitest";
import {
  bitPosition,
  DIR_R,
  DIR_RW,
  DIR_W,
  filledPage,
  hasBit,
  intercepts,
  orPages,
  PAGE_SIZE,
  testBit,
  writeBit,
  writeMsrBits,
} from "../src/engine/bitmap.js";
import { findL0Profile, L0_PROFILES } from "../src/engine/profiles.js";
import { bitmapPage, type MsrEntry } from "./helpers/events.js";

/**
 * docs/model.md §2 (SDM "MSR-Bitmap Address"):
 *   0x000-0x3FF read  low   0x00000000-0x00001FFF
 *   0x400-0x7FF read  high  0xC0000000-0xC0001FFF
 *   0x800-0xBFF write low
 *   0xC00-0xFFF write high
 * n = msr & 0x1FFF; bit n of an area is bit n & 7 of byte (area start + n >> 3).
 * Each row below was worked out by hand from that table.
 */
const EDGES: ReadonlyArray<{ msr: number; read: [byte: number, bit: number]; write: [byte: number, bit: number] }> = [
  // n = 0: first byte of each low area, bit 0.
  { msr: 0x0, read: [0x000, 0], write: [0x800, 0] },
  // n = 1: same byte, bit 1.
  { msr: 0x1, read: [0x000, 1], write: [0x800, 1] },
  // n = 7: last bit of the first byte.
  { msr: 0x7, read: [0x000, 7], write: [0x800, 7] },
  // n = 8: 8 >> 3 = 1, 8 & 7 = 0: the next byte.
  { msr: 0x8, read: [0x001, 0], write: [0x801, 0] },
  // n = 0x1FFF: 0x1FFF >> 3 = 0x3FF, bit 7: the last byte of each low area.
  { msr: 0x1fff, read: [0x3ff, 7], write: [0xbff, 7] },
  // High range, n = 0: first byte of the high areas (0x400 read, 0xC00 write).
  { msr: 0xc000_0000, read: [0x400, 0], write: [0xc00, 0] },
  { msr: 0xc000_0001, read: [0x400, 1], write: [0xc00, 1] },
  // n = 0x1FFF: 0x400 + 0x3FF = 0x7FF, 0xC00 + 0x3FF = 0xFFF (the page's last byte).
  { msr: 0xc000_1fff, read: [0x7ff, 7], write: [0xfff, 7] },
];

const NO_BIT = [0x2000, 0xbfff_ffff, 0xc000_2000, 0x4000_0000, 0xffff_ffff];

/** The offsets of the non-zero bytes of a page. */
function nonZeroBytes(page: Uint8Array): number[] {
  const out: number[] = [];
  page.forEach((b, i) => {
    if (b !== 0) out.push(i);
  });
  return out;
}

describe("MSR bitmap layout at every area edge (docs/model.md §2)", () => {
  for (const { msr, read, write } of EDGES) {
    for (const [dirName, isWrite, [byte, bit]] of [
      ["read", false, read],
      ["write", true, write],
    ] as const) {
      const name = `${dirName} of 0x${msr.toString(16)} is byte 0x${byte.toString(16)} bit ${bit}`;

      it(`${name}: writeMsrBits sets exactly that bit in a zero page`, () => {
        const page = new Uint8Array(PAGE_SIZE);
        const changed = writeMsrBits(page, msr, isWrite ? DIR_W : DIR_R, true);
        expect(changed).toBe(isWrite ? DIR_W : DIR_R);
        expect(nonZeroBytes(page)).toEqual([byte]);
        expect(page[byte]).toBe(1 << bit);
      });

      it(`${name}: bitPosition and writeBit agree`, () => {
        expect(hasBit(msr)).toBe(true);
        expect(bitPosition(msr, isWrite)).toBe(byte * 8 + bit);
        const page = new Uint8Array(PAGE_SIZE);
        writeBit(page, bitPosition(msr, isWrite), true);
        expect(nonZeroBytes(page)).toEqual([byte]);
        expect(page[byte]).toBe(1 << bit);
      });

      it(`${name}: intercepts reads that bit and only that bit`, () => {
        // One hand-set bit in a zero page: this access exits, the other direction does not.
        const one = new Uint8Array(PAGE_SIZE);
        one[byte] = 1 << bit;
        expect(intercepts(one, msr, isWrite)).toBe(true);
        expect(intercepts(one, msr, !isWrite)).toBe(false);
        expect(testBit(one, byte * 8 + bit)).toBe(true);
        // Every bit but that one: only this access passes.
        const allButOne = new Uint8Array(PAGE_SIZE).fill(0xff);
        allButOne[byte] = 0xff & ~(1 << bit);
        expect(intercepts(allButOne, msr, isWrite)).toBe(false);
        expect(intercepts(allButOne, msr, !isWrite)).toBe(true);
      });
    }
  }

  it("the hand-set bit of one MSR does not make its neighbours exit", () => {
    const page = new Uint8Array(PAGE_SIZE);
    page[0x400] = 1 << 1; // read of 0xC0000001
    expect(intercepts(page, 0xc000_0001, false)).toBe(true);
    expect(intercepts(page, 0xc000_0000, false)).toBe(false);
    expect(intercepts(page, 0xc000_0002, false)).toBe(false);
    expect(intercepts(page, 0x1, false)).toBe(false); // same n, low area
    expect(intercepts(page, 0xc000_0001, true)).toBe(false);
  });

  for (const msr of NO_BIT) {
    it(`0x${msr.toString(16)} has no bit and always exits`, () => {
      expect(hasBit(msr)).toBe(false);
      expect(bitPosition(msr, false)).toBe(-1);
      expect(bitPosition(msr, true)).toBe(-1);
      const zero = new Uint8Array(PAGE_SIZE);
      expect(intercepts(zero, msr, false)).toBe(true);
      expect(intercepts(zero, msr, true)).toBe(true);
    });
  }
});

describe("orPages", () => {
  it("ORs two pages into a third, every byte including the last", () => {
    const a = new Uint8Array(PAGE_SIZE);
    const b = new Uint8Array(PAGE_SIZE);
    a[0] = 0x0f;
    b[0] = 0xf0;
    a[1] = 0x81;
    b[1] = 0x01;
    a[2] = 0x00;
    b[2] = 0x00;
    a[0x7ff] = 0x10;
    b[0x800] = 0x20;
    a[0xffe] = 0x55;
    b[0xffe] = 0xaa;
    a[0xfff] = 0x80;
    b[0xfff] = 0x01;
    const dst = new Uint8Array(PAGE_SIZE).fill(0x77); // old content must not survive
    orPages(dst, a, b);
    expect(dst[0]).toBe(0xff);
    expect(dst[1]).toBe(0x81);
    expect(dst[2]).toBe(0x00);
    expect(dst[0x7ff]).toBe(0x10);
    expect(dst[0x800]).toBe(0x20);
    expect(dst[0xffe]).toBe(0xff);
    expect(dst[0xfff]).toBe(0x81);
    for (let i = 0; i < PAGE_SIZE; i++) expect(dst[i]).toBe((a[i] as number) | (b[i] as number));
    // The inputs are untouched.
    expect(a[0]).toBe(0x0f);
    expect(b[0]).toBe(0xf0);
  });

  it("an all-ones operand gives all ones; two zero pages give zeros", () => {
    const dst = new Uint8Array(PAGE_SIZE);
    orPages(dst, new Uint8Array(PAGE_SIZE), filledPage(true));
    expect(dst.every((x) => x === 0xff)).toBe(true);
    orPages(dst, filledPage(false), filledPage(false));
    expect(dst.every((x) => x === 0)).toBe(true);
  });
});

describe("writeMsrBits returns the directions it changed", () => {
  it("reports only bits whose value changed", () => {
    const page = new Uint8Array(PAGE_SIZE);
    expect(writeMsrBits(page, 0x10, DIR_RW, true)).toBe(DIR_RW); // both 0 -> 1
    expect(writeMsrBits(page, 0x10, DIR_RW, true)).toBe(0); // already 1
    expect(writeMsrBits(page, 0x10, DIR_R, false)).toBe(DIR_R); // read 1 -> 0
    expect(writeMsrBits(page, 0x10, DIR_RW, true)).toBe(DIR_R); // write already 1
    expect(writeMsrBits(page, 0x10, DIR_W, false)).toBe(DIR_W);
    expect(writeMsrBits(page, 0x10, DIR_W, false)).toBe(0);
    // 0x10: n = 0x10, byte 2 bit 0 in both low areas; read is 1, write is 0 now.
    expect(nonZeroBytes(page)).toEqual([0x002]);
    expect(page[0x002]).toBe(1);
  });

  it("changes nothing else in the page", () => {
    const page = filledPage(true);
    expect(writeMsrBits(page, 0xc000_1fff, DIR_W, false)).toBe(DIR_W);
    expect(page[0xfff]).toBe(0x7f);
    let ones = 0;
    page.forEach((b, i) => {
      if (i !== 0xfff) ones += b === 0xff ? 1 : 0;
    });
    expect(ones).toBe(PAGE_SIZE - 1);
  });
});

describe("built-in L0 profiles (docs/model.md §5)", () => {
  const FS_BASE = 0xc000_0100;
  const GS_BASE = 0xc000_0101;
  const KERNEL_GS_BASE = 0xc000_0102;
  const SYSENTER = [0x174, 0x175, 0x176];
  const TSC = 0x10;
  const SPEC_CTRL = 0x48;
  const PRED_CMD = 0x49;
  const FLUSH_CMD = 0x10b;

  /** What passes, from docs/model.md §5's table; [msr, "r" | "w" | "rw"]. */
  const KVM_2013_LEGACY: MsrEntry[] = [[FS_BASE, "rw"], [GS_BASE, "rw"], ...SYSENTER.map((m): MsrEntry => [m, "rw"])];
  const KVM_2013_LONGMODE: MsrEntry[] = [...KVM_2013_LEGACY, [KERNEL_GS_BASE, "rw"]];
  const KVM_MODERN: MsrEntry[] = [
    ...KVM_2013_LONGMODE,
    [TSC, "r"],
    [SPEC_CTRL, "rw"],
    [PRED_CMD, "w"],
    [FLUSH_CMD, "w"],
  ];

  const expected: Record<string, { longmode: Uint8Array; legacy: Uint8Array }> = {
    "kvm-2013": {
      longmode: bitmapPage("intercept", KVM_2013_LONGMODE),
      legacy: bitmapPage("intercept", KVM_2013_LEGACY),
    },
    "kvm-modern": {
      longmode: bitmapPage("intercept", KVM_MODERN),
      legacy: bitmapPage("intercept", KVM_MODERN),
    },
    "intercept-all": { longmode: bitmapPage("intercept"), legacy: bitmapPage("intercept") },
    "pass-all": { longmode: bitmapPage("pass"), legacy: bitmapPage("pass") },
  };

  it("are exactly the four of docs/model.md §5's table", () => {
    expect(L0_PROFILES.map((p) => p.name).sort()).toEqual(Object.keys(expected).sort());
  });

  for (const [name, pages] of Object.entries(expected)) {
    it(`${name}: both modes' pages match docs/model.md §5 bit for bit`, () => {
      const bitmaps = findL0Profile(name)?.bitmaps();
      expect(bitmaps).toBeDefined();
      expect(Buffer.from(bitmaps!.longmode).equals(Buffer.from(pages.longmode))).toBe(true);
      expect(Buffer.from(bitmaps!.legacy).equals(Buffer.from(pages.legacy))).toBe(true);
    });
  }

  /** [profile, mode, msr, read passes?, write passes?] spot checks, from docs/model.md §5's table. */
  const SPOT: ReadonlyArray<readonly [string, "longmode" | "legacy", number, boolean, boolean]> = [
    ["kvm-2013", "longmode", KERNEL_GS_BASE, true, true],
    ["kvm-2013", "legacy", KERNEL_GS_BASE, false, false],
    ["kvm-2013", "legacy", FS_BASE, true, true],
    ["kvm-2013", "legacy", GS_BASE, true, true],
    ["kvm-2013", "longmode", 0x174, true, true],
    ["kvm-2013", "legacy", 0x176, true, true],
    ["kvm-2013", "longmode", 0x173, false, false], // neighbours are intercepted
    ["kvm-2013", "longmode", 0x177, false, false],
    ["kvm-2013", "longmode", 0xc000_0103, false, false],
    ["kvm-2013", "longmode", TSC, false, false],
    ["kvm-2013", "longmode", 0xc000_0080, false, false], // EFER
    ["kvm-modern", "longmode", TSC, true, false],
    ["kvm-modern", "legacy", TSC, true, false],
    ["kvm-modern", "longmode", SPEC_CTRL, true, true],
    ["kvm-modern", "longmode", PRED_CMD, false, true],
    ["kvm-modern", "legacy", PRED_CMD, false, true],
    ["kvm-modern", "longmode", FLUSH_CMD, false, true],
    ["kvm-modern", "legacy", KERNEL_GS_BASE, true, true], // legacy is the same as longmode
    ["kvm-modern", "legacy", FS_BASE, true, true],
    ["kvm-modern", "longmode", 0x11, false, false],
    ["kvm-modern", "longmode", 0x4a, false, false],
    ["intercept-all", "longmode", FS_BASE, false, false],
    ["intercept-all", "legacy", 0x0, false, false],
    ["pass-all", "longmode", 0x0, true, true],
    ["pass-all", "legacy", 0xc000_1fff, true, true],
    ["pass-all", "longmode", 0x1fff, true, true],
  ];

  for (const [name, m, msr, readPasses, writePasses] of SPOT) {
    it(`${name} ${m}: 0x${msr.toString(16)} read ${readPasses ? "passes" : "exits"}, write ${writePasses ? "passes" : "exits"}`, () => {
      const page = findL0Profile(name)!.bitmaps()[m];
      expect(intercepts(page, msr, false)).toBe(!readPasses);
      expect(intercepts(page, msr, true)).toBe(!writePasses);
    });
  }

  it("no profile can pass an MSR that has no bit, even pass-all", () => {
    for (const p of L0_PROFILES) {
      const b = p.bitmaps();
      for (const msr of NO_BIT) {
        expect(intercepts(b.longmode, msr, false)).toBe(true);
        expect(intercepts(b.legacy, msr, true)).toBe(true);
      }
    }
  });
});
