/**
 * `validate`: a trace read and its every row and nested entry checked, with
 * no strategy running, and summarised.
 */
import { filledPage } from "../engine/bitmap.js";
import { ReplayFront } from "../engine/front.js";
import type { CacheSpec } from "../io/cache-spec.js";
import { readTrace } from "../io/trace-reader.js";
import { TraceSummary } from "../summary.js";

export interface ValidateSpec {
  /** L1's bitmap at GPA 0x1000 on every vCPU (--l1-bitmap, --l1-profile), or none. */
  readonly l1Bitmap: Uint8Array | null;
  /** --snapshots-dir: folders besides the trace's own that its snapshots may be in. */
  readonly snapshotDirs: readonly string[];
  /** -o: the output file, which no snapshot the trace loads may be. */
  readonly outputs: readonly string[];
  /** The cache of packed traces (io/trace-cache.ts); absent or null: --no-cache. */
  readonly cache?: CacheSpec | null;
  /** Told the cache's line for stderr, when it played a part. */
  readonly onCacheNote?: (note: string) => void;
}

export async function validateTrace(file: string, spec: ValidateSpec): Promise<TraceSummary> {
  // No strategies: the front alone checks entries (and keeps no page
  // contents, only which pages exist); L0's bitmap plays no part, and
  // its batches are dropped as they fill.
  const l0 = filledPage(true);
  const machine = new ReplayFront({ l0: { longmode: l0, legacy: l0 }, l1Bitmap: spec.l1Bitmap, emit: () => undefined });
  const summary = new TraceSummary();
  const stats = await readTrace({
    cache: spec.cache,
    file,
    snapshotDirs: spec.snapshotDirs,
    outputs: spec.outputs,
    onEvent: (ev) => {
      machine.apply(ev);
      summary.add(ev);
    },
  });
  if (stats.cacheNote) spec.onCacheNote?.(stats.cacheNote);
  return summary;
}
