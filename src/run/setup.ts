/**
 * Turns the set-up choices (L0's and L1's bitmaps, the cost model, the
 * folders snapshots may come from) into what a replay needs, reading the
 * files they name. Shared by every command that replays, and free of the
 * command line: the choices are plain data, already validated.
 */
import { statSync } from "node:fs";
import { findL1Profile } from "../bitmaps/l1-profiles.js";
import type { L0Bitmaps } from "../engine/machine.js";
import { findL0Profile } from "../engine/profiles.js";
import { type CostModel, DEFAULT_COST_MODEL } from "../engine/results.js";
import { cacheSpecFromEnv } from "../io/cache-spec.js";
import { isInlineCostModel, readCostModel } from "../io/cost-model.js";
import { at, InputError, reason } from "../io/errors.js";
import { outputFile } from "../io/output.js";
import { readSnapshot } from "../io/snapshot.js";
import type { ReportOptions } from "../report.js";
import type { ReplaySpec } from "./protocol.js";

/** L1's bitmap: a snapshot file or an L1 profile's name, one at most. */
export interface L1Choice {
  readonly l1Bitmap?: string | undefined;
  readonly l1Profile?: string | undefined;
}

/** What the set-up options chose (the CLI's --l1-bitmap, --l0-profile, --cost-model…). */
export interface SetupChoices extends L1Choice {
  readonly l1Override?: string | undefined;
  readonly snapshotsDir: readonly string[];
  readonly lenient: boolean;
  readonly l0Profile: string;
  readonly l0Bitmap?: string | undefined;
  readonly l0BitmapLegacy?: string | undefined;
  readonly costModel?: string | undefined;
  /** --strategy-module: ES modules whose strategies join the built-ins (the worker loads them too). */
  readonly strategyModule?: readonly string[];
  /** --no-cache gives false: no packed form read or written (io/trace-cache.ts). */
  readonly cache?: boolean;
}

export interface Setup {
  readonly l0: L0Bitmaps;
  readonly l1Bitmap: Uint8Array | null;
  /** --l1-override's page: what every store to a bitmap page writes instead. */
  readonly l1Override: Uint8Array | null;
  readonly cost: CostModel;
  /** Every file the setup read, so `-o` can refuse to overwrite one. */
  readonly files: readonly string[];
}

export function loadSetup(options: SetupChoices): Setup {
  checkSnapshotDirs(options.snapshotsDir);
  return {
    ...loadBitmaps(options),
    cost: options.costModel ? readCostModel(options.costModel) : DEFAULT_COST_MODEL,
    files: [
      options.l1Bitmap,
      l1OverrideFile(options.l1Override),
      options.l0Bitmap,
      options.l0BitmapLegacy,
      costModelFile(options.costModel),
      ...(options.strategyModule ?? []),
    ].filter((f): f is string => f !== undefined),
  };
}

/** A bitmap page as the set-up names it: a snapshot file, or (the library's) the bytes themselves. */
export type PageChoice = string | Uint8Array;

/** The bitmaps the set-up chooses, from the command line (files) or the library (files or bytes). */
export interface BitmapChoices {
  readonly l0Profile: string;
  readonly l0Bitmap?: PageChoice | undefined;
  readonly l0BitmapLegacy?: PageChoice | undefined;
  readonly l1Bitmap?: PageChoice | undefined;
  readonly l1Profile?: string | undefined;
  readonly l1Override?: PageChoice | undefined;
}

/**
 * vmcs01's bitmaps (the profile's, then --l0-bitmap for both modes, then
 * --l0-bitmap-legacy for legacy mode), L1's page (--l1-bitmap or
 * --l1-profile) and --l1-override's. An empty file name is no file.
 */
export function loadBitmaps(c: BitmapChoices): Pick<Setup, "l0" | "l1Bitmap" | "l1Override"> {
  const profile = findL0Profile(c.l0Profile);
  if (!profile) throw new Error(`internal: profile ${c.l0Profile} validated but not found`);
  let { longmode, legacy } = profile.bitmaps();
  if (given(c.l0Bitmap)) longmode = legacy = page(c.l0Bitmap);
  if (given(c.l0BitmapLegacy)) legacy = page(c.l0BitmapLegacy);
  return { l0: { longmode, legacy }, l1Bitmap: l1Bitmap(c), l1Override: l1Override(c.l1Override) };
}

function given(value: PageChoice | undefined): value is PageChoice {
  return value !== undefined && value !== "";
}

/** A page from a snapshot file, or a copy of the bytes given (the replay must not see the caller change them). */
function page(value: PageChoice): Uint8Array {
  return typeof value === "string" ? readSnapshot(value) : new Uint8Array(value);
}

/**
 * --l1-override NAME|FILE: an L1 profile when NAME is one (a file of that
 * name is then given as ./NAME), else a snapshot file like --l1-bitmap's.
 */
function l1Override(value: PageChoice | undefined): Uint8Array | null {
  if (!given(value)) return null;
  return (typeof value === "string" ? findL1Profile(value)?.bitmap() : undefined) ?? page(value);
}

/** The file --l1-override names, if it names one (not a profile). */
function l1OverrideFile(value: string | undefined): string | undefined {
  return value === undefined || findL1Profile(value) !== undefined ? undefined : value;
}

/** The file --cost-model names, if it names one (not inline JSON). */
function costModelFile(value: string | undefined): string | undefined {
  return value === undefined || isInlineCostModel(value) ? undefined : value;
}

/**
 * --snapshots-dir (the library's snapshotDirs: `option` names it) names
 * folders a trace may load snapshots from: one that is missing (a typo,
 * most likely) is an error now, not a puzzling "outside the trace's folder"
 * later.
 */
export function checkSnapshotDirs(dirs: readonly string[], option = "--snapshots-dir"): void {
  for (const dir of dirs) {
    let isFolder: boolean;
    try {
      isFolder = statSync(dir).isDirectory();
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      throw new InputError(`${at(dir)}${option}: ${missing ? "no such folder" : reason(error)}`);
    }
    if (!isFolder) throw new InputError(`${at(dir)}${option}: not a folder`);
  }
}

/** L1's bitmap from --l1-bitmap FILE or --l1-profile NAME (the options allow one at most). */
export function l1Bitmap(options: Pick<BitmapChoices, "l1Bitmap" | "l1Profile">): Uint8Array | null {
  if (given(options.l1Bitmap)) return page(options.l1Bitmap);
  if (options.l1Profile) return findL1Profile(options.l1Profile)?.bitmap() ?? null;
  return null;
}

/** The set-up as every output echoes it ("options"). */
export function reportOptions(options: SetupChoices, strategies: readonly string[], setup: Setup): ReportOptions {
  return {
    strategies,
    l0_profile: options.l0Profile,
    l0_bitmap: options.l0Bitmap ?? null,
    l0_bitmap_legacy: options.l0BitmapLegacy ?? null,
    l1_bitmap: options.l1Bitmap ?? null,
    l1_profile: options.l1Profile ?? null,
    l1_override: options.l1Override ?? null,
    cost_model: setup.cost,
  };
}

/** What every replay of these options needs, whatever it is asked to count besides (the caller adds that). */
export function replaySpec(
  options: SetupChoices & { readonly output?: string | undefined },
  setup: Setup,
  names: readonly string[],
): ReplaySpec {
  return {
    strategies: names,
    l0: setup.l0,
    l1Bitmap: setup.l1Bitmap,
    l1Override: setup.l1Override,
    cost: setup.cost,
    breakdown: false,
    snapshotDirs: options.snapshotsDir,
    outputs: [outputFile(options.output)].filter((f): f is string => f !== undefined),
    lenient: options.lenient,
    strategyModules: options.strategyModule ?? [],
    cache: options.cache === false ? null : cacheSpecFromEnv(),
  };
}
