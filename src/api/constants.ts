/**
 * The constants a script needs, as frozen copies: the engine's own objects
 * stay private, so a script that changes what it was given cannot change the
 * replay's defaults.
 */
import { DIR_R as ENGINE_DIR_R, DIR_W as ENGINE_DIR_W, PAGE_SIZE as ENGINE_PAGE_SIZE } from "../engine/bitmap.js";
import { EVENT_NAMES as ENGINE_EVENT_NAMES } from "../engine/events.js";
import {
  type CostModel,
  COST_KEYS as ENGINE_COST_KEYS,
  DEFAULT_COST_MODEL as ENGINE_COST_MODEL,
  RESULT_FIELDS as ENGINE_RESULT_FIELDS,
} from "../engine/results.js";
import { DEFAULT_COMPARE, STRATEGIES } from "../engine/strategies/index.js";

/** Every built-in strategy, in the order `nvmx-replay strategies` lists them and "all" runs them (docs/model.md §8). */
export const STRATEGY_NAMES: readonly string[] = Object.freeze(STRATEGIES.map((s) => s.name));

/** What compareTrace() runs when not told otherwise: `compare`'s default list. */
export const DEFAULT_STRATEGIES: readonly string[] = Object.freeze([...DEFAULT_COMPARE]);

/** The cost model's defaults in cycles (README "Cost model"); `costModel` overrides any subset. */
export const DEFAULT_COST_MODEL: Readonly<CostModel> = Object.freeze({ ...ENGINE_COST_MODEL });

/** The cost model's keys, in the order the docs list them. */
export const COST_KEYS = Object.freeze([...ENGINE_COST_KEYS] as const);

/** A result's keys in order (the CSV header of `compare --format csv`). */
export const RESULT_FIELDS = Object.freeze([...ENGINE_RESULT_FIELDS] as const);

/** The trace's event names (docs/model.md §3), what TraceEvent.event holds. */
export const EVENT_NAMES = Object.freeze([...ENGINE_EVENT_NAMES] as const);

/** TraceEvent.dir bits: the read and the write half of an MSR's bitmap bits (SDM 25.6.9). */
export const DIR_R: 1 = ENGINE_DIR_R;
export const DIR_W: 2 = ENGINE_DIR_W;

/** Bytes in a bitmap page (a .bin snapshot, l0Bitmap, l1Bitmap). */
export const PAGE_SIZE: 4096 = ENGINE_PAGE_SIZE;
