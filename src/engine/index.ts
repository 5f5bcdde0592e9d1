/** The engine's public face: pure, no I/O. */

export { type BackOptions, ReplayBack } from "./back.js";
export { type Batch, clearBatch, type MachineEvent, newBatch } from "./batch.js";
export * from "./bitmap.js";
export * from "./events.js";
export { type FrontOptions, ReplayError, ReplayFront } from "./front.js";
export { type L0Bitmaps, L1_BITMAP_GPA, MAX_VCPUS } from "./machine.js";
export { type MsrBreakdown, type MsrStats, msrRow } from "./msr-counts.js";
export { DEFAULT_L0_PROFILE, findL0Profile, L0_PROFILES, type L0Profile } from "./profiles.js";
export { Replay, type ReplayOptions } from "./replay.js";
export * from "./results.js";
export { DEFAULT_COMPARE, findStrategy, STRATEGIES } from "./strategies/index.js";
export { Delivery, type NestedL0, type Strategy } from "./strategy.js";
