/**
 * `import`'s I/O: streams kernel trace text (a file or stdin, gzip or not)
 * line by line through the Importer and streams the rows out, to stdout or
 * to `-o FILE` by the rules of every output (src/io/output.ts: a temporary
 * file renamed over it once complete; a FIFO or device written into). Memory
 * does not grow with the input: only a line that spans two chunks is copied.
 */
import { at, InputError, reason } from "../io/errors.js";
import { refuseOverwritingInput } from "../io/output.js";
import { printable } from "../io/printable.js";
import { FileSink, type Sink, StdoutSink } from "../io/sink.js";
import { STDIN, traceChunks } from "../io/trace-source.js";
import { count as formatCount } from "../render/text-table.js";
import { type ImportedRow, Importer, type ImportStats, rowCount, SKIP_LABELS } from "./importer.js";
import { MAX_MERGE_ROWS, type MergeResult, mergedHeaderLines, mergeViews } from "./merge.js";
import { commentBlock, headerComments, l2Blurb, trailerComments } from "./summary.js";

/** A longer line is not trace text (a binary file, most likely): it is skipped unread. */
export const MAX_LINE = 64 * 1024;
/** Rows are handed to the output in batches of about this many characters. */
const BATCH = 256 * 1024;
const NL = 0x0a;

export interface ImportOptions {
  /** A path, or `-` for stdin. */
  readonly file: string;
  /** Write here (atomically) instead of stdout. */
  readonly output?: string;
  readonly strict: boolean;
}

/**
 * How an input is named in messages and in the trace's header comments: its
 * control characters escaped, since a newline in a file name would otherwise
 * end the `#` comment and inject rows into the trace written.
 */
export function shownInput(file: string): string {
  return file === STDIN ? "<stdin>" : printable(file);
}

export async function importTrace(options: ImportOptions): Promise<ImportStats> {
  const file = shownInput(options.file);
  if (options.output !== undefined && options.file !== STDIN) refuseOverwritingInput(options.output, [options.file]);
  const sink = options.output === undefined ? new StdoutSink() : await FileSink.open(options.output);
  const importer = new Importer(file, options.strict);
  const rows = new RowBatcher(importer, sink, () => headerComments(file, importer.stats.view ?? "l0"));
  try {
    const splitter = new LineSplitter();
    let first = true;
    for await (const chunk of traceChunks(options.file)) {
      if (first) {
        first = false;
        refuseBinaryTrace(chunk, file);
      }
      splitter.push(chunk, rows.onLine);
      await rows.flushIfFull();
      if (sink.closed) break; // the reader of stdout went away: nothing more to do
    }
    splitter.finish(rows.onLine);
    await rows.flush();
    if (rowCount(importer.stats) === 0) throw new InputError(`${at(file)}${nothingToImport(importer.stats)}`);
    await sink.write(trailerComments(importer.stats));
    await sink.commit();
  } catch (error) {
    await sink.abort();
    throw error instanceof InputError ? error : new InputError(`${at(file)}${reason(error)}`);
  }
  return importer.stats;
}

/**
 * Lines in, CSV rows out to a sink in batches of about BATCH characters, the
 * header (opening comments and the CSV header) written before the first
 * batch: what import and record share. The header is asked for then, when the
 * rows so far tell which view the input is.
 */
export class RowBatcher {
  private batch = "";
  private headerWritten = false;

  constructor(
    private readonly importer: Importer,
    private readonly sink: Sink,
    private readonly header: () => string,
  ) {}

  /** For LineSplitter: a line of text, or null for one too long to keep. */
  readonly onLine = (text: string | null): void => {
    if (text === null) {
      this.importer.tooLong();
      return;
    }
    const row = this.importer.line(text);
    if (row !== null) this.batch += row;
  };

  /** Hands the batch to the sink once it holds about BATCH characters. */
  async flushIfFull(): Promise<void> {
    if (this.batch.length >= BATCH) await this.flush();
  }

  /** Hands what is batched to the sink (the header first, once). */
  async flush(): Promise<void> {
    if (this.batch === "") return;
    if (!this.headerWritten) {
      this.headerWritten = true;
      await this.sink.write(this.header());
    }
    const text = this.batch;
    this.batch = "";
    await this.sink.write(text);
  }
}

function nothingToImport(stats: ImportStats): string {
  const seen = (Object.entries(stats.skipped) as [keyof typeof SKIP_LABELS, number][])
    .filter(([, count]) => count > 0)
    .map(([key, count]) => `${SKIP_LABELS[key]} ${formatCount(count)}`);
  return (
    `nothing to import: none of its ${formatCount(stats.lines)} lines is a kvm_msr, kvm_nested_vmenter, ` +
    `kvm_nested_vmrun or kvm_nested_vmexit_inject event that can be replayed` +
    `${seen.length > 0 ? ` (${seen.join(", ")})` : ""}; see docs/recording.md for how to record one`
  );
}

/** trace-cmd's and perf's binary files are not text: say what to run on them. */
function refuseBinaryTrace(head: Buffer, file: string): void {
  // trace.dat: 0x17 0x08 0x44 "tracing"; perf.data: "PERFILE2" (older: "PERFFILE").
  if (
    head.length >= 10 &&
    head[0] === 0x17 &&
    head[1] === 0x08 &&
    head[2] === 0x44 &&
    head.toString("latin1", 3, 10) === "tracing"
  ) {
    throw new InputError(
      `${at(file)}this is trace-cmd's binary file (trace.dat): import the text of \`trace-cmd report -i ${file}\``,
    );
  }
  const magic = head.toString("latin1", 0, 8);
  if (magic === "PERFILE2" || magic === "PERFFILE") {
    throw new InputError(
      `${at(file)}this is perf's binary file (perf.data): import the text of \`perf script -i ${file}\``,
    );
  }
}

/**
 * Splits chunks into lines (without `\n` or `\r\n`), decoded as UTF-8. A line
 * longer than MAX_LINE is reported as null and its bytes are not kept.
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLength = 0;
  private overlong = false;

  push(chunk: Buffer, onLine: (text: string | null) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      this.emit(chunk, start, nl, onLine);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  /** The last line, when the input does not end with a line end. */
  finish(onLine: (text: string | null) => void): void {
    if (this.carryLength > 0 || this.overlong) this.emit(Buffer.alloc(0), 0, 0, onLine);
  }

  private keep(bytes: Buffer): void {
    if (this.overlong) return;
    if (this.carryLength + bytes.length > MAX_LINE) {
      this.overlong = true;
      this.carry = [];
      this.carryLength = 0;
      return;
    }
    // The source reuses its buffers: keep a copy.
    this.carry.push(Buffer.from(bytes));
    this.carryLength += bytes.length;
  }

  private emit(chunk: Buffer, start: number, end: number, onLine: (text: string | null) => void): void {
    if (this.overlong || this.carryLength + (end - start) > MAX_LINE) {
      this.overlong = false;
      this.carry = [];
      this.carryLength = 0;
      onLine(null);
      return;
    }
    let text: string;
    if (this.carryLength === 0) text = chunk.toString("utf8", start, end);
    else {
      text = Buffer.concat([...this.carry, chunk.subarray(start, end)]).toString("utf8");
      this.carry = [];
      this.carryLength = 0;
    }
    onLine(text.endsWith("\r") ? text.slice(0, -1) : text);
  }
}

export interface MergeImportOptions extends ImportOptions {
  /** The host's recording whose exits are merged in (`--exits`). */
  readonly exits: string;
  /** `--clock-offset`, in nanoseconds: L2 time = other time + offset. */
  readonly offsetNs?: number;
}

export interface MergeImportStats {
  readonly l2: ImportStats;
  readonly other: ImportStats;
  readonly result: MergeResult;
}

/**
 * `import L2 --exits OTHER`: reads both recordings whole (within
 * MAX_MERGE_ROWS), merges them (src/import/merge.ts) and writes the trace.
 */
export async function importMerged(options: MergeImportOptions): Promise<MergeImportStats> {
  const l2File = shownInput(options.file);
  const otherFile = shownInput(options.exits);
  if (options.file === STDIN && options.exits === STDIN) {
    throw new InputError(`${at(l2File)}only one of the two recordings can be read from stdin`);
  }
  if (options.output !== undefined) {
    refuseOverwritingInput(
      options.output,
      [options.file, options.exits].filter((f) => f !== STDIN),
    );
  }
  const sink = options.output === undefined ? new StdoutSink() : await FileSink.open(options.output);
  try {
    const l2 = new Importer(l2File, options.strict);
    const l2Rows = await readRows(options.file, l2File, l2, 0);
    if (l2.stats.view !== "l2") {
      throw new InputError(
        `${at(l2File)}${
          l2.stats.view === null ? "no read_msr or write_msr event in it" : "this is a host's recording (kvm_* events)"
        }: --exits merges into the L2 view (msr tracepoints recorded inside the guest), given first`,
      );
    }
    const other = new Importer(otherFile, options.strict, { exitEvents: true });
    const otherRows = await readRows(options.exits, otherFile, other, l2Rows.length);
    if (other.stats.view === "l2") {
      throw new InputError(
        `${at(otherFile)}this is an L2 recording (msr tracepoints): --exits takes a host's (L1's or L0's kvm_* events)`,
      );
    }
    const result = mergeViews({
      l2File,
      l2Rows,
      otherFile,
      otherRows,
      ...(options.offsetNs === undefined ? {} : { offsetNs: options.offsetNs }),
    });
    await sink.write(commentBlock([...mergedHeaderLines(l2File, otherFile, result), "", ...l2Blurb().slice(0, 3), ""]));
    for (let i = 0; i < result.rows.length && !sink.closed; i += BATCH_ROWS) {
      await sink.write(result.rows.slice(i, i + BATCH_ROWS).join(""));
    }
    await sink.write(
      `# import: ${formatCount(result.accesses)} accesses from ${l2File}, ${formatCount(result.vmexit)} vmexit and ` +
        `${formatCount(result.vmentry)} vmentry from ${otherFile} (${formatCount(result.outside)} outside ${l2File}'s time span dropped)\n`,
    );
    await sink.commit();
    return { l2: l2.stats, other: other.stats, result };
  } catch (error) {
    await sink.abort();
    throw error instanceof InputError ? error : new InputError(`${at(l2File)}${reason(error)}`);
  }
}

/** Rows handed to the output at a time by a merge. */
const BATCH_ROWS = 4096;

/** Every row of a recording, in file order; more than MAX_MERGE_ROWS in all (with `before`) is an error. */
async function readRows(file: string, shown: string, importer: Importer, before: number): Promise<ImportedRow[]> {
  const rows: ImportedRow[] = [];
  const onLine = (text: string | null): void => {
    if (text === null) {
      importer.tooLong();
      return;
    }
    const row = importer.row(text);
    if (row === null) return;
    if (before + rows.length >= MAX_MERGE_ROWS) {
      throw new InputError(
        `${at(shown, importer.stats.lines)}more than ${formatCount(MAX_MERGE_ROWS)} rows to merge: --exits holds both ` +
          "recordings in memory; record a shorter run, or split both by time",
      );
    }
    rows.push(row);
  };
  const splitter = new LineSplitter();
  let first = true;
  for await (const chunk of traceChunks(file)) {
    if (first) {
      first = false;
      refuseBinaryTrace(chunk, shown);
    }
    splitter.push(chunk, onLine);
  }
  splitter.finish(onLine);
  return rows;
}
