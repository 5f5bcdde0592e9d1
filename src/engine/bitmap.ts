/**
 * The VMX MSR bitmap: one 4 KiB page, four 1 KiB areas (Intel SDM Vol. 3C,
 * "MSR-Bitmap Address"):
 *
 *   0x000-0x3FF  read,  MSRs 0x00000000-0x00001FFF
 *   0x400-0x7FF  read,  MSRs 0xC0000000-0xC0001FFF
 *   0x800-0xBFF  write, MSRs 0x00000000-0x00001FFF
 *   0xC00-0xFFF  write, MSRs 0xC0000000-0xC0001FFF
 *
 * Bit n of an area (n = msr & 0x1FFF) is bit n & 7 of byte n >> 3. A set bit
 * means the access exits. An MSR outside both ranges has no bit and always
 * exits.
 */

export const PAGE_SIZE = 4096;

/** Directions, as a bit set: an access is R or W; bitmap edits may name both. */
export const DIR_R = 1;
export const DIR_W = 2;
export const DIR_RW = 3;

export type Dir = typeof DIR_R | typeof DIR_W | typeof DIR_RW;

const LOW_FIRST = 0x0000_0000;
const LOW_LAST = 0x0000_1fff;
const HIGH_FIRST = 0xc000_0000;
const HIGH_LAST = 0xc000_1fff;

const AREA_READ_LOW = 0x000;
const AREA_READ_HIGH = 0x400;
const WRITE_AREA_OFFSET = 0x800;

/** Bits in a byte of the page (SDM: bit n of an area is bit n & 7 of byte n >> 3). */
const BITS_PER_BYTE = 8;
/**
 * How a bit position (0-32767) addresses the page: bit position & BitAddress.BIT_IN_BYTE
 * (least significant first) of byte position >> BitAddress.BYTE_SHIFT (2^3 =
 * BITS_PER_BYTE bits a byte). Enum members, not consts, so the bundler writes
 * their values in where the replay's hot loops use them (src/engine/back.ts):
 * a module-level const is bundled as a var, which V8 loads on every use.
 */
export enum BitAddress {
  BYTE_SHIFT = 3,
  BIT_IN_BYTE = 7,
}
/** n, an MSR's bit within its area: msr & MSR_IN_AREA (each area covers 0x2000 MSRs, 0x400 bytes). */
const MSR_IN_AREA = 0x1fff;

/**
 * bitPosition() as arithmetic, for the replay's oracle (back.ts judge),
 * which takes every access in turn: a branch on the MSR's range or on the
 * direction goes whichever way the trace's mix of MSRs says, and a
 * mispredicted branch costs more than the whole computation. Each area has
 * 2^AREA_BITS bits, one per MSR of its range, so a position is
 * WRITE_AREA_BIT (the write areas start at byte 0x800, bit 0x800 * 8 =
 * 1 << 14), then the high range's bit (its areas start 0x400 bytes, 1 <<
 * AREA_BITS bits, after the low range's), then n = msr & IN_AREA. Enum
 * members, so that their values are written in (BitAddress says why).
 */
export enum BitLayout {
  /** log2 of an area's bits; also msr >>> AREA_BITS is 0 in the low range, HIGH_RANGE in the high one. */
  AREA_BITS = 13,
  /** HIGH_FIRST >>> AREA_BITS (0xC0000000 >>> 13). */
  HIGH_RANGE = 0x60000,
  WRITE_AREA_BIT = 14,
  /** MSR_IN_AREA. */
  IN_AREA = 0x1fff,
}
/** Bytes of a 32-bit word: orPages() and its kin go a word at a time. */
const WORD_BYTES = 4;
/** A byte whose every bit is set (intercept) or clear (pass through). */
const ALL_ONES = 0xff;
const ALL_ZEROS = 0x00;

/** True when the MSR has a bit in the bitmap (it lies in one of the two ranges). */
export function hasBit(msr: number): boolean {
  return (msr >= LOW_FIRST && msr <= LOW_LAST) || (msr >= HIGH_FIRST && msr <= HIGH_LAST);
}

/**
 * Bit position (0-32767) of an access in the page, or -1 when the MSR has no bit.
 * `write` picks the write areas.
 */
export function bitPosition(msr: number, write: boolean): number {
  let area: number;
  if (msr >= LOW_FIRST && msr <= LOW_LAST) area = AREA_READ_LOW;
  else if (msr >= HIGH_FIRST && msr <= HIGH_LAST) area = AREA_READ_HIGH;
  else return -1;
  if (write) area += WRITE_AREA_OFFSET;
  return area * BITS_PER_BYTE + (msr & MSR_IN_AREA);
}

/** The bit at a position: 1 = the access exits. */
export function testBit(page: Uint8Array, position: number): boolean {
  return ((page[position >> BitAddress.BYTE_SHIFT] as number) & (1 << (position & BitAddress.BIT_IN_BYTE))) !== 0;
}

export function writeBit(page: Uint8Array, position: number, set: boolean): void {
  const byte = position >> BitAddress.BYTE_SHIFT;
  const mask = 1 << (position & BitAddress.BIT_IN_BYTE);
  const old = page[byte] as number;
  page[byte] = set ? old | mask : old & ~mask;
}

/** Whether an access of `msr` exits under `page`; an MSR with no bit always exits. */
export function intercepts(page: Uint8Array, msr: number, write: boolean): boolean {
  const position = bitPosition(msr, write);
  return position < 0 || testBit(page, position);
}

/**
 * Sets (intercept) or clears (pass through) the bits of `msr` for the
 * directions in `dir`. Returns the directions whose bit changed value.
 * The caller has checked that the MSR has a bit.
 */
export function writeMsrBits(page: Uint8Array, msr: number, dir: number, intercept: boolean): number {
  let changed = 0;
  for (const d of [DIR_R, DIR_W]) {
    if ((dir & d) === 0) continue;
    const position = bitPosition(msr, d === DIR_W);
    if (testBit(page, position) !== intercept) {
      writeBit(page, position, intercept);
      changed |= d;
    }
  }
  return changed;
}

/** A page whose every bit is `intercept`. */
export function filledPage(intercept: boolean): Uint8Array {
  return new Uint8Array(PAGE_SIZE).fill(intercept ? ALL_ONES : ALL_ZEROS);
}

/**
 * dst = a OR b, a word at a time: what L0 builds for vmcs02 from vmcs01's and
 * vmcs12's bitmaps (KVM: nested_vmx_prepare_msr_bitmap()). All three are
 * 4096-byte pages that own their buffer, so they are 4-byte aligned.
 */
export function orPages(dst: Uint8Array, a: Uint8Array, b: Uint8Array): void {
  const d = words(dst);
  const x = words(a);
  const y = words(b);
  for (let i = 0; i < d.length; i++) d[i] = (x[i] as number) | (y[i] as number);
}

/** dst |= a XOR b: marks the bits in which two pages differ. */
export function orDifference(dst: Uint8Array, a: Uint8Array, b: Uint8Array): void {
  const d = words(dst);
  const x = words(a);
  const y = words(b);
  for (let i = 0; i < d.length; i++) d[i] = (d[i] as number) | ((x[i] as number) ^ (y[i] as number));
}

/**
 * Where two pages differ: [byte index, a XOR b] pairs of the bytes that
 * differ only. A store that changes one MSR's bits differs in one or two
 * bytes, so marking the difference elsewhere costs that, not a page.
 */
export function pageDifference(a: Uint8Array, b: Uint8Array): number[] {
  const x = words(a);
  const y = words(b);
  const difference: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    for (let byte = i * WORD_BYTES; byte < (i + 1) * WORD_BYTES; byte++) {
      const bits = (a[byte] as number) ^ (b[byte] as number);
      if (bits !== 0) difference.push(byte, bits);
    }
  }
  return difference;
}

/** dst |= a difference from pageDifference(). */
export function orPageDifference(dst: Uint8Array, difference: readonly number[]): void {
  for (let k = 0; k < difference.length; k += 2) {
    const byte = difference[k] as number;
    dst[byte] = (dst[byte] as number) | (difference[k + 1] as number);
  }
}

function words(page: Uint8Array): Uint32Array {
  if (page.length !== PAGE_SIZE) throw new RangeError(`a bitmap page is ${PAGE_SIZE} bytes, not ${page.length}`);
  if (page.byteOffset % WORD_BYTES !== 0)
    throw new RangeError("a bitmap page must be 4-byte aligned (copy it into a new Uint8Array)");
  return new Uint32Array(page.buffer, page.byteOffset, PAGE_SIZE / WORD_BYTES);
}
