/**
 * Every built-in bitmap by name: the L0 profiles (vmcs01's bitmap, one per L1
 * mode, src/engine/profiles.ts) and the L1 profiles (vmcs12's bitmap, one
 * page, ./l1-profiles.ts). Their names do not overlap. Pure: no I/O.
 */
import { findL0Profile, L0_PROFILES } from "../engine/profiles.js";
import { findL1Profile, L1_PROFILES } from "./l1-profiles.js";

export const MODES = ["longmode", "legacy"] as const;
export type Mode = (typeof MODES)[number];

export interface BuiltinEntry {
  readonly name: string;
  readonly level: "L0" | "L1";
  readonly summary: string;
}

export const BUILTIN_BITMAPS: readonly BuiltinEntry[] = [
  ...L0_PROFILES.map((p) => ({ name: p.name, level: "L0" as const, summary: p.summary })),
  ...L1_PROFILES.map((p) => ({ name: p.name, level: "L1" as const, summary: p.summary })),
];

export const BUILTIN_NAMES = BUILTIN_BITMAPS.map((b) => b.name);

/**
 * The page of a built-in bitmap, or an error message: an unknown name, or a
 * mode given for an L1 profile (which has a single page). An L0 profile
 * without a mode gives its long-mode page.
 */
export function builtinBitmap(name: string, mode?: Mode): Uint8Array | string {
  const l0 = findL0Profile(name);
  if (l0) return l0.bitmaps()[mode ?? "longmode"];
  const l1 = findL1Profile(name);
  if (l1) {
    if (mode !== undefined) {
      return `"${name}" is an L1 profile, a single page: a mode applies to the L0 profiles only (${L0_PROFILES.map((p) => p.name).join(", ")})`;
    }
    return l1.bitmap();
  }
  return `unknown profile "${name}" (expected one of ${BUILTIN_NAMES.join(", ")})`;
}

/** `name  level  summary` lines, aligned. */
export function builtinList(): string {
  const width = Math.max(...BUILTIN_BITMAPS.map((b) => b.name.length));
  return `${BUILTIN_BITMAPS.map((b) => `${b.name.padEnd(width)}  ${b.level}  ${b.summary}`).join("\n")}\n`;
}
