/** Turns the shared options into what the engine needs, reading the files they name. */
import type { L0Bitmaps } from "../engine/machine.js";
import { findL0Profile } from "../engine/profiles.js";
import { type CostModel, DEFAULT_COST_MODEL } from "../engine/results.js";
import { readCostModel } from "../io/cost-model.js";
import { readSnapshot } from "../io/snapshot.js";
import type { Report, ReportOptions } from "../report.js";
import { type Destination, destination } from "./emit.js";
import { replayPipelined } from "../run/pipeline.js";
import type { OutputOptions, SetupOptions } from "./options.js";

export interface Setup {
  readonly l0: L0Bitmaps;
  readonly l1Bitmap: Uint8Array | null;
  readonly cost: CostModel;
  /** Every file the setup read, so `-o` can refuse to overwrite one. */
  readonly files: readonly string[];
}

export function loadSetup(options: SetupOptions): Setup {
  const profile = findL0Profile(options.l0Profile);
  if (!profile) throw new Error(`internal: profile ${options.l0Profile} validated but not found`);
  let { longmode, legacy } = profile.bitmaps();
  if (options.l0Bitmap) longmode = legacy = readSnapshot(options.l0Bitmap);
  if (options.l0BitmapLegacy) legacy = readSnapshot(options.l0BitmapLegacy);
  return {
    l0: { longmode, legacy },
    l1Bitmap: options.l1Bitmap ? readSnapshot(options.l1Bitmap) : null,
    cost: options.costModel ? readCostModel(options.costModel) : DEFAULT_COST_MODEL,
    files: [options.l1Bitmap, options.l0Bitmap, options.l0BitmapLegacy, options.costModel].filter(
      (f): f is string => f !== undefined,
    ),
  };
}

function reportOptions(options: SetupOptions, strategies: readonly string[], setup: Setup): ReportOptions {
  return {
    strategies,
    l0_profile: options.l0Profile,
    l0_bitmap: options.l0Bitmap ?? null,
    l0_bitmap_legacy: options.l0BitmapLegacy ?? null,
    l1_bitmap: options.l1Bitmap ?? null,
    cost_model: setup.cost,
  };
}


/**
 * What `compare` and `replay` share: read the setup, check the output path,
 * stream the trace through the strategies, collect the report.
 */
export async function replayReport(
  trace: string,
  options: SetupOptions & OutputOptions,
  names: readonly string[],
  breakdown: boolean,
): Promise<{ report: Report; out: Destination }> {
  const setup = loadSetup(options);
  const out = destination(options.output, [trace, ...setup.files]);
  const spec = { strategies: names, l0: setup.l0, l1Bitmap: setup.l1Bitmap, cost: setup.cost, breakdown };
  const outcome = await replayPipelined(trace, spec);
  const report: Report = {
    trace,
    events: outcome.events,
    vcpus: outcome.vcpus,
    options: reportOptions(options, names, setup),
    results: outcome.results,
    ...(outcome.msrs ? { msrs: outcome.msrs } : {}),
  };
  return { report, out };
}
