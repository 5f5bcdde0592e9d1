/**
 * nvmx-replay as a library: the package's whole public surface (docs/api.md).
 * Nothing else is exported; every other module is private and may change.
 */

export { compareTrace, IN_MEMORY } from "./api/compare-trace.js";
export {
  COST_KEYS,
  DEFAULT_COST_MODEL,
  DEFAULT_STRATEGIES,
  DIR_R,
  DIR_W,
  EVENT_NAMES,
  PAGE_SIZE,
  RESULT_FIELDS,
  STRATEGY_NAMES,
} from "./api/constants.js";
export { L0_PROFILE_NAMES, L1_PROFILE_NAMES, l0Profile, l1Profile, loadSnapshot } from "./api/loaders.js";
export { STREAM_NAME, type TraceInput } from "./api/source.js";
export { traceEvents } from "./api/trace-events.js";
export type {
  BitmapPage,
  CompareOptionsEcho,
  CompareResult,
  CompareTraceOptions,
  CyclesEntry,
  TraceEvent,
  TraceEventsOptions,
} from "./api/types.js";
export {
  type ConformanceFailure,
  type ConformanceOptions,
  type ConformanceReport,
  checkStrategy,
} from "./engine/conformance.js";
export { defineStrategy } from "./engine/define-strategy.js";
export type { EventName } from "./engine/events.js";
export type { L0Bitmaps } from "./engine/machine.js";
export type { CostKey, CostModel, CycleSplit, MergeCost, StrategyResult } from "./engine/results.js";
export {
  Delivery,
  type MachineView,
  type NestedL0,
  type Strategy,
  type StrategyCounters,
  type VcpuView,
} from "./engine/strategy.js";
