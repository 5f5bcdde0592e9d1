/**
 * The oracle (docs/model.md §6): for each access, whether L1 wants it and
 * whether L1 or L0 does, from the machine as it is when the access happens.
 * Judged by the back (back.ts) once for every strategy of a thread: once
 * per distinct access of a tile for the strategies that take its summary,
 * once per access for those that go event by event; or by the front
 * (front.ts), once for all threads, for a packed read whose strategies go
 * event by event in the reading thread and a worker.
 */

import type { MachineEvent } from "./batch.js";
import { BitAddress, BitLayout, filledPage } from "./bitmap.js";
import { Ev } from "./events.js";
import { L1_BITMAP_GPA, MAX_VCPUS, type Machine } from "./machine.js";

/**
 * The oracle's answer per access, a judgement: three flag bits, then the
 * access's bit position in the page (0-32767) above them.
 *
 *   bit 0  L1_WANTS  L1 wants it
 *   bit 1  WANTED    L1 or L0 wants it
 *   bit 2  NO_BIT    the MSR has no bit in the bitmap (every access to it exits)
 *   bits 3 and up    the bit position (judgement >> POSITION_SHIFT); with NO_BIT,
 *                    a position in the page that nothing reads (no branch makes it 0)
 *
 * An event that is no access (vmexit, vmentry) gets an answer too, garbage
 * that nothing reads: its MSR slot holds anything, but any value gives a
 * position inside the page, and skipping it would be a branch.
 */
export const L1_WANTS = 1;
export const WANTED = 2;
/** Where an access's bit position sits in its judgement, above the flags. */
export const POSITION_SHIFT = 3;
/**
 * The shift and the mask the loops add to those: enum members, which the
 * bundler writes in as values (bitmap.ts BitAddress says why).
 */
export enum Judged {
  /** Bit 0: a bitmap bit shifted down to it, a 0/1 flag (exit, toL1), or L1_WANTS. */
  BIT0 = 1,
  /** NO_BIT's place, bit 2: judgement >> NO_BIT_SHIFT brings it down to bit 0. */
  NO_BIT_SHIFT = 2,
}

/** Without an MSR bitmap every access exits: as if every bit were set. */
export const NO_BITMAP = filledPage(true);

/** accessPlace()'s no-bit flag sits above the 15 bits of a position. */
export const PLACE_NO_BIT_SHIFT = 15;
/** The position's bits of a place. */
const PLACE_POSITION = (1 << PLACE_NO_BIT_SHIFT) - 1;

/**
 * Where an access falls, as one small integer (its place): its bit position
 * in the page (0-32767, the bits below PLACE_NO_BIT_SHIFT) and, at
 * PLACE_NO_BIT_SHIFT, whether the MSR has no bit at all. Two accesses with the same place are judged the same
 * on a vCPU while the machine does not change (back.ts summarizes a tile by
 * place). `code`: rdmsr 0, wrmsr 1.
 */
export function accessPlace(code: number, msr: number): number {
  // bitPosition() without a branch (bitmap.ts BitLayout). x - 1 >>> 31
  // is 1 only for x = 0 (the range is under 2^19: no wrap-around).
  const range = msr >>> BitLayout.AREA_BITS;
  const high = ((range ^ BitLayout.HIGH_RANGE) - 1) >>> 31;
  const noBit = (((range - 1) >>> 31) | high) ^ Judged.BIT0;
  // rdmsr is code 0 and wrmsr 1: bit 0 of the code is the direction.
  const position =
    ((code & Judged.BIT0) << BitLayout.WRITE_AREA_BIT) | (high << BitLayout.AREA_BITS) | (msr & BitLayout.IN_AREA);
  return (noBit << PLACE_NO_BIT_SHIFT) | position;
}

/**
 * MSRs as int32, a view of the same memory, for the oracle's loops: an MSR
 * of the high range (0xC0000000 and up) read from a Uint32Array is no small
 * integer to V8, and the arithmetic then goes through doubles (accessPlace()
 * and judgement() read only its bits: >>> and &).
 */
export function msrsAsInt32(msrs: Uint32Array): Int32Array {
  return new Int32Array(msrs.buffer, msrs.byteOffset, msrs.length);
}

/**
 * The judgement of one event: `code` (rdmsr 0, wrmsr 1) and `msr`, against
 * what L1 (`l1`: its bitmap, all ones without one) and L0 (`l0`) intercept
 * for its vCPU. Small, for the callers' loops to take in.
 */
export function judgement(code: number, msr: number, l1: Uint8Array, l0: Uint8Array): number {
  const place = accessPlace(code, msr);
  const position = place & PLACE_POSITION;
  const noBit = place >> PLACE_NO_BIT_SHIFT;
  // L1 wants the access when it runs L2 without a bitmap (its view is then
  // all ones), when the MSR has no bit, or when its bit is set in vmcs12's
  // bitmap (KVM: nested_vmx_exit_handled_msr()); otherwise L0 wants it if
  // its own bit is set. The bit at `position` (SDM "MSR-Bitmap Address"): bit
  // position & BitAddress.BIT_IN_BYTE of byte position >> BitAddress.BYTE_SHIFT, brought down to bit 0.
  const byte = position >> BitAddress.BYTE_SHIFT;
  const shift = position & BitAddress.BIT_IN_BYTE;
  const wantsL1 = ((((l1[byte] as number) >> shift) | noBit) & Judged.BIT0) * (L1_WANTS | WANTED);
  const wantsL0 = (((l0[byte] as number) >> shift) & Judged.BIT0) * WANTED;
  return (position << POSITION_SHIFT) | (noBit << Judged.NO_BIT_SHIFT) | wantsL1 | wantsL0;
}

/** What the oracle reads per vCPU, kept in step with a machine that keeps page contents. */
export class OracleViews {
  /** Per vCPU: L1's page (all ones when L1 runs L2 without a bitmap, so it wants everything). */
  readonly l1: Uint8Array[] = new Array<Uint8Array>(MAX_VCPUS).fill(NO_BITMAP);
  /** Per vCPU: L0's bitmap for its mode. */
  readonly l0: Uint8Array[];

  constructor(
    private readonly machine: Machine,
    longmode: Uint8Array,
    /** `--l1-bitmap` was given: every vCPU starts with its page. */
    l1Option: boolean,
  ) {
    this.l0 = new Array<Uint8Array>(MAX_VCPUS).fill(longmode);
    if (l1Option) this.l1.fill(machine.memory.get(L1_BITMAP_GPA) ?? NO_BITMAP);
  }

  /** Whether `ev` will bring a page into existence: asked before the machine applies it. */
  creates(ev: MachineEvent): boolean {
    return (ev.code === Ev.bitmapLoad || ev.code === Ev.bitmapSet) && !this.machine.memory.has(ev.page);
  }

  /**
   * After the machine applied `ev`: what the oracle reads changed for the
   * acting vCPU only (its vmcs12, mode or L0 bitmap; pages change in place),
   * and, when a page came into existence (`created`), for the vCPUs pointing at it.
   */
  applied(ev: MachineEvent, created: boolean): void {
    this.refresh(ev.vcpu);
    if (created) for (const u of this.machine.pointingAt(ev.page)) this.refresh(u);
  }

  private refresh(v: number): void {
    const state = this.machine.vcpu(v);
    this.l1[v] = state.useBitmap ? (this.machine.l1Page(state) ?? NO_BITMAP) : NO_BITMAP;
    this.l0[v] = state.l0Bitmap();
  }
}
