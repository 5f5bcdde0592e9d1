/** The engine's public face: pure, no I/O. */
export * from "./bitmap.js";
export * from "./events.js";
export { L1_BITMAP_GPA, MAX_VCPUS, type L0Bitmaps } from "./machine.js";
export { DEFAULT_L0_PROFILE, L0_PROFILES, findL0Profile, type L0Profile } from "./profiles.js";
export { type MsrStats, ReplayBack, type BackOptions } from "./back.js";
export { type Batch, type MachineEvent, clearBatch, newBatch } from "./batch.js";
export { ReplayError, ReplayFront, type FrontOptions } from "./front.js";
export { Replay, type ReplayOptions } from "./replay.js";
export * from "./results.js";
export { DEFAULT_COMPARE, STRATEGIES, findStrategy } from "./strategies/index.js";
export { Delivery, type NestedL0, type Strategy } from "./strategy.js";
