/** Snapshot and profile loaders: the bitmaps compareTrace() takes, as data a script can look at or change. */
import { findL1Profile, L1_PROFILES } from "../bitmaps/l1-profiles.js";
import type { L0Bitmaps } from "../engine/machine.js";
import { findL0Profile, L0_PROFILES } from "../engine/profiles.js";
import { InputError } from "../io/errors.js";
import { readSnapshot } from "../io/snapshot.js";

/** The built-in L0 profiles' names (`nvmx-replay profiles`). */
export const L0_PROFILE_NAMES: readonly string[] = Object.freeze(L0_PROFILES.map((p) => p.name));
/** The built-in L1 profiles' names (docs/l1-profiles.md). */
export const L1_PROFILE_NAMES: readonly string[] = Object.freeze(L1_PROFILES.map((p) => p.name));

/** A bitmap snapshot file (docs/model.md §4): a 4096-byte `.bin` page or a `.json` description. */
export function loadSnapshot(path: string): Uint8Array {
  if (typeof path !== "string" || path === "") throw new InputError("loadSnapshot: name a .bin or .json file");
  return readSnapshot(path);
}

/** A built-in L0 profile's bitmaps, one per L1 mode (vmcs01's), as fresh pages. */
export function l0Profile(name: string): L0Bitmaps {
  const profile = findL0Profile(name);
  if (!profile)
    throw new InputError(`l0Profile: unknown L0 profile "${name}" (expected one of ${L0_PROFILE_NAMES.join(", ")})`);
  return profile.bitmaps();
}

/** A built-in L1 profile's bitmap (what a real L1 hypervisor gives L2), as a fresh page. */
export function l1Profile(name: string): Uint8Array {
  const profile = findL1Profile(name);
  if (!profile)
    throw new InputError(`l1Profile: unknown L1 profile "${name}" (expected one of ${L1_PROFILE_NAMES.join(", ")})`);
  return profile.bitmap();
}
