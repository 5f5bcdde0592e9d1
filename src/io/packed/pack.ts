/**
 * Packs a trace: reads it as every command does (a CSV, gzip or not, or a
 * packed trace again) and writes the packed form (format.ts) through
 * `write`, a block at a time, so memory stays flat whatever its length.
 * Snapshots are embedded: the packed file needs nothing beside it.
 */
import { type ReadTraceOptions, readTrace } from "../trace-reader.js";
import { OPTION_PLACEHOLDER, type TimestampProblem } from "./format.js";
import { PackWriter } from "./writer.js";

export interface PackOptions extends Pick<ReadTraceOptions, "file" | "snapshotDirs" | "outputs" | "onBytes"> {
  /** Writes the next bytes of the packed file; awaited, so a slow output holds the reader back. */
  readonly write: (bytes: Uint8Array) => Promise<void>;
}

export interface PackStats {
  readonly events: number;
  readonly lines: number;
  /** Every event kept its `t` (the CSV had a valid one on every row). */
  readonly timestamps: boolean;
}

export async function packTrace(options: PackOptions): Promise<PackStats> {
  let writer: PackWriter | null = null;
  let problem: TimestampProblem | null = null;
  let pending: Promise<void> = Promise.resolve();
  let headerLine = 0;
  const drain = () => {
    const pieces = writer?.take() ?? [];
    for (const piece of pieces) pending = pending.then(() => options.write(piece));
    return pending;
  };
  // `t` is decoded where the CSV has it, so that a time window can replay the packed file; a
  // row without one is no error here, but what a time window would say about it is kept.
  const stats = await readTrace({
    file: options.file,
    snapshotDirs: options.snapshotDirs,
    outputs: options.outputs,
    onBytes: options.onBytes,
    timestamps: OPTION_PLACEHOLDER,
    onTimestampProblem: (found) => {
      if (problem !== null) return;
      problem = found;
      writer?.timestampProblem(found);
    },
    onEvent: (ev) => {
      // The header is read: a problem on its line (column 0) is "no t column".
      writer ??= new PackWriter({ timestamps: !(problem !== null && problem.column === 0), timestampProblem: problem });
      writer.add(ev);
    },
    pace: () => drain(),
    onHeaderLine: (line) => {
      headerLine = line;
    },
  });
  const done = writer as PackWriter | null;
  if (done === null) throw new Error("internal: a trace with events but no writer");
  done.end({ lines: stats.lines, headerLine });
  await drain();
  return { events: stats.events, lines: stats.lines, timestamps: problem === null };
}
