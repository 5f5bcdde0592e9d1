/**
 * `gen`'s engine: runs a workload into a trace file and its snapshots.
 * Memory does not grow with the event count: rows are built in ~1 MiB chunks
 * that are written (with backpressure) as they fill.
 */

import { type Stats, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { at, InputError } from "../io/errors.js";
import { kindOf } from "../io/json-file.js";
import { writeFileAtomic } from "../io/output.js";
import { Rng, seedState } from "./rng.js";
import { csvField, HEADER, Rows } from "./rows.js";
import type { GenParams, Workload } from "./workload.js";
import { AtomicStreamWriter } from "./writer.js";

/** Chunk size at which rows are handed to the writer (characters = bytes, rows are ASCII). */
const CHUNK = 1 << 20;

export interface GenerateOptions extends GenParams {
  readonly workload: Workload;
  /** The trace file to write; snapshots go beside it. */
  readonly output: string;
}

export interface GenerateResult {
  readonly events: number;
  readonly trace: string;
  /** Snapshot paths written (beside the trace). */
  readonly snapshots: readonly string[];
}

/** `mixed.csv` → `mixed.l1.json`: the snapshot file names of a trace, by key. */
export function snapshotNames(output: string, workload: Workload): Record<string, string> {
  const base = basename(output);
  const ext = extname(base);
  const stem = ext === "" ? base : base.slice(0, -ext.length);
  return Object.fromEntries(workload.snapshots.map((s) => [s.key, `${stem}.${s.key}.json`]));
}

/** A word for a shell command line, quoted only if it must be. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.,:/=+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The `#` comment lines that open a trace. */
export function headerComment(o: GenerateOptions, names: Readonly<Record<string, string>>): string {
  const w = o.workload;
  const lines = [
    `nvmx-replay gen trace: workload ${w.name}`,
    `parameters: events=${o.events} vcpus=${o.vcpus} seed=${o.seed}`,
    "",
    ...w.models,
    "",
    ...w.snapshots.map((s) => `snapshot ${names[s.key]}: ${s.about}`),
    "",
    "regenerate (in this folder):",
    `  nvmx-replay gen ${w.name} --events ${o.events} --vcpus ${o.vcpus} --seed ${o.seed} -o ${shellWord(basename(o.output))}`,
  ];
  return lines.map((l) => (l === "" ? "#\n" : `# ${l}\n`)).join("");
}

export async function generateTrace(o: GenerateOptions): Promise<GenerateResult> {
  refuseSpecialOutput(o.output);
  const names = snapshotNames(o.output, o.workload);
  const files = Object.fromEntries(Object.entries(names).map(([key, name]) => [key, csvField(name)]));
  const source = o.workload.create({
    params: { events: o.events, vcpus: o.vcpus, seed: o.seed },
    rng: new Rng(seedState(o.seed, o.workload.name)),
    files,
  });
  const out = new Rows(o.events);
  const writer = await AtomicStreamWriter.open(o.output);
  try {
    out.text = headerComment(o, names) + HEADER;
    while (!out.done) {
      while (!out.done && out.text.length < CHUNK) source.burst(out);
      await writer.write(out.take());
    }
    // Snapshots first, then the trace appears: a trace on disk always has its snapshots.
    const dir = dirname(o.output);
    const snapshots: string[] = [];
    for (const s of o.workload.snapshots) {
      const path = join(dir, names[s.key] as string);
      await writeFileAtomic(path, `${JSON.stringify(s.bitmap, null, 2)}\n`);
      snapshots.push(path);
    }
    await writer.commit();
    return { events: out.count, trace: o.output, snapshots };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * A trace goes with snapshots written beside it, so its -o must be a regular
 * file (or none yet): into /dev/null or a FIFO the snapshots would land in
 * /dev or beside the pipe, and the trace would name files nobody can read.
 */
function refuseSpecialOutput(output: string): void {
  let stats: Stats;
  try {
    stats = statSync(output);
  } catch {
    return; // nothing there yet: the writer reports what it cannot create
  }
  if (!stats.isFile()) {
    throw new InputError(
      `${at(output)}gen writes a trace and its snapshots beside it: -o names a regular file, not ${kindOf(stats)}`,
    );
  }
}
