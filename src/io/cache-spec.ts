/**
 * Where the cache of packed traces is (io/trace-cache.ts), as the
 * environment says: apart from the cache itself, which a run loads only when
 * it uses the cache (it needs node:crypto, whose loading every command's
 * start-up would pay).
 */
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { InputError } from "./errors.js";
import { printable } from "./printable.js";

/** Where the cache is and how big it may grow: plain data, so it crosses to worker threads in a ReplaySpec. */
export interface CacheSpec {
  readonly dir: string;
  /** Entries are evicted, least recently used first, after a write takes the folder past this. */
  readonly maxBytes: number;
}

/**
 * The cache folder, when a run creates it (the trace cache's entries, or the
 * compile cache's, whichever comes first): its owner's only, as entries hold
 * the traces' events.
 */
export const CACHE_DIR_MODE = 0o700;
/** How a temporary file in the cache folder ends, while it is written and before its rename. */
export const TEMP_SUFFIX = ".tmp";
/** A temporary file in the cache folder older than this was left by a run that died: a later write removes it. */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/** The bound when NVMX_REPLAY_CACHE_MAX_BYTES does not set one: some 25 traces of 10M events (75 MB each). */
export const DEFAULT_CACHE_MAX_BYTES = 2 * 1024 ** 3;
/**
 * The cache as the environment places it: $NVMX_REPLAY_CACHE_DIR, else
 * $XDG_CACHE_HOME/nvmx-replay (the XDG base-directory spec: an absolute path
 * only), else ~/.cache/nvmx-replay; null when NVMX_REPLAY_NO_CACHE is set
 * (as --no-cache). NVMX_REPLAY_CACHE_MAX_BYTES sets the bound.
 */
export function cacheSpecFromEnv(env: NodeJS.ProcessEnv = process.env): CacheSpec | null {
  const off = env.NVMX_REPLAY_NO_CACHE;
  if (off !== undefined && off !== "" && off !== "0") return null;
  const xdg = env.XDG_CACHE_HOME;
  const dir =
    env.NVMX_REPLAY_CACHE_DIR ||
    (xdg && isAbsolute(xdg) ? join(xdg, "nvmx-replay") : join(homedir(), ".cache", "nvmx-replay"));
  const max = env.NVMX_REPLAY_CACHE_MAX_BYTES;
  if (max === undefined || max === "") return { dir, maxBytes: DEFAULT_CACHE_MAX_BYTES };
  if (!/^\d+$/.test(max) || !Number.isSafeInteger(Number(max))) {
    throw new InputError(`NVMX_REPLAY_CACHE_MAX_BYTES: expected a whole number of bytes, not "${printable(max)}"`);
  }
  return { dir, maxBytes: Number(max) };
}
