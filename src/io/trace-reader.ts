/**
 * Streams a CSV trace (SPEC section 3) into a callback, one shared event
 * object at a time, so a trace larger than memory replays. Plain lines go
 * through the fast scanner; from the first line that is not plain (quotes,
 * odd bytes) csv-parse reads the rest, with the same results either way.
 */
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { Options as CsvOptions } from "csv-parse";
import type { TraceEvent } from "../engine/events.js";
import { ReplayError } from "../engine/replay.js";
import { at, InputError, reason } from "./errors.js";
import { FastScanner, type Handover, MAX_LINE, TOO_LONG } from "./fast-scanner.js";
import { LineIndex } from "./line-index.js";
import { SnapshotStore } from "./snapshot.js";
import { TextChecker } from "./text-check.js";
import { type FieldLocator, TraceRows } from "./trace-rows.js";
import { GzipError, STDIN, traceChunks } from "./trace-source.js";

export interface TraceStats {
  /** Events handed to the callback. */
  events: number;
  /** Lines read, comments and blank lines included. */
  lines: number;
}

export interface ReadTraceOptions {
  /** The path as the user wrote it, or "-" for stdin: errors name it, snapshots resolve against its folder. */
  readonly file: string;
  /** Defaults to the file (or stdin for "-"). */
  readonly input?: Readable;
  /** Called once per event; may throw (a ReplayError becomes file:line). */
  readonly onEvent: (ev: TraceEvent) => void;
  /** "csv-parse" reads with csv-parse only: the reference path the fast scanner must equal. */
  readonly reader?: "fast" | "csv-parse";
  /** Awaited before each chunk is read: lets a slower consumer hold the reader back. */
  readonly pace?: () => Promise<void> | undefined;
  /** Told how many bytes of the input (compressed, if it is) were read so far. */
  readonly onBytes?: (bytes: number) => void;
  /** Folders besides the trace's own that its snapshots may be in. */
  readonly snapshotDirs?: readonly string[];
  /** --lenient: bad rows are skipped and counted here instead of stopping the read. */
  readonly skipped?: SkippedRows;
}

/** Rows --lenient skipped: how many, and the first ten errors. */
export interface SkippedRows {
  rows: number;
  first: string[];
}

/** How an input is named in messages. */
export function shownName(file: string): string {
  return file === STDIN ? "<stdin>" : file;
}

export async function readTrace(options: ReadTraceOptions): Promise<TraceStats> {
  const file = shownName(options.file);
  // A piped trace names its snapshots relative to the current folder.
  const snapshots = new SnapshotStore(options.file === STDIN ? "." : dirname(file), options.snapshotDirs);
  const rows = new TraceRows(file, (name) =>
    snapshots.load(name, joinShown(options.file === STDIN ? "." : file, name)),
  );
  let onEvent = options.onEvent;
  const skipped = options.skipped;
  if (skipped) {
    // --lenient: a bad row, or an event the machine cannot take, is skipped and noted.
    const note = (error: InputError) => {
      skipped.rows++;
      if (skipped.first.length < 10) skipped.first.push(error.message);
    };
    rows.onBadRow = note;
    const apply = options.onEvent;
    onEvent = (ev) => {
      try {
        apply(ev);
      } catch (error) {
        if (!(error instanceof ReplayError)) throw error;
        note(new InputError(`${at(file, error.line)}${error.message}`));
      }
    };
  }
  const chunks = traceChunks(options.file, options.input, options.onBytes)[Symbol.asyncIterator]();
  let stats: TraceStats;
  try {
    stats =
      options.reader === "csv-parse"
        ? await readWithCsvParse(chunks, rows, onEvent, {
            lineOffset: 0,
            afterHeader: false,
            events: 0,
            atFileStart: true,
          })
        : await readFast(chunks, rows, onEvent, options.pace);
  } catch (error) {
    throw asInputError(error, file);
  } finally {
    await chunks.return?.();
  }
  if (!rows.hasHeader) {
    throw new InputError(
      `${at(file)}the trace is empty: expected a header line naming the columns (e.g. event,vcpu,msr,value)`,
    );
  }
  if (stats.events === 0) throw new InputError(`${at(file, rows.headerLine)}the trace has a header but no events`);
  return stats;
}

/** The fast scanner, handing the rest to csv-parse at the first line it cannot take. */
async function readFast(
  chunks: AsyncIterator<Buffer>,
  rows: TraceRows,
  onEvent: (ev: TraceEvent) => void,
  pace?: () => Promise<void> | undefined,
): Promise<TraceStats> {
  const fast = new FastScanner(rows, onEvent);
  let handover: Handover | null = null;
  for (;;) {
    const wait = pace?.();
    if (wait) await wait;
    const next = await chunks.next();
    handover = next.done ? fast.finish() : fast.push(next.value);
    if (handover !== null || next.done) break;
  }
  if (handover === null) return { events: fast.events, lines: fast.line };
  // csv-parse restarts on the header (so it checks record lengths against it), then the rest.
  const header = fast.headerText;
  const first = header === null ? handover.rest : Buffer.concat([Buffer.from(`${header}\n`, "latin1"), handover.rest]);
  return readWithCsvParse(prepend(first, chunks), rows, onEvent, {
    lineOffset: handover.line - (header === null ? 1 : 2),
    afterHeader: header !== null,
    events: fast.events,
    atFileStart: false,
  });
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* remaining(rest);
}

/** csv-parse holds on to chunks, and a plain file's chunks share one buffer: copies. */
async function* remaining(chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (;;) {
    const next = await chunks.next();
    if (next.done) return;
    yield Buffer.from(next.value);
  }
}

interface CsvStart {
  /** Added to csv-parse's line numbers. */
  readonly lineOffset: number;
  /** The first record is the header again, already taken: skip it. */
  readonly afterHeader: boolean;
  /** Events already delivered. */
  readonly events: number;
  /**
   * The bytes start the file, so a UTF-8 BOM there is dropped. After a
   * handover they do not: the scanner has dropped the file's BOM, and one
   * further on is a character (U+FEFF) for csv-parse as for the scanner.
   */
  readonly atFileStart: boolean;
}

/** csv-parse as both of its uses here read a trace. */
const CSV_OPTIONS: CsvOptions = {
  comment: "#",
  comment_no_infix: true,
  skip_empty_lines: true,
  // Rows may have fewer fields than the header; TraceRows refuses more. (csv-parse
  // would measure rows against the first record, which may be a line of spaces.)
  relax_column_count: true,
  record_delimiter: ["\r\n", "\n"],
  max_record_size: MAX_LINE,
};

/** The reference reader: csv-parse does the CSV, TraceRows the rest. */
async function readWithCsvParse(
  chunks: AsyncIterator<Buffer>,
  rows: TraceRows,
  onEvent: (ev: TraceEvent) => void,
  start: CsvStart,
): Promise<TraceStats> {
  const stats: TraceStats = { events: start.events, lines: start.lineOffset };
  let skipHeader = start.afterHeader;
  // Per field of the record being parsed: was it quoted? csv-parse tells `cast`.
  const quoted: boolean[] = [];
  // Lines come from byte offsets: csv-parse's own count takes CRs for line ends.
  const lineIndex = new LineIndex();
  // Loaded only when a trace needs it: plain traces never do.
  const { parse } = await import("csv-parse");
  const parser = parse({
    ...CSV_OPTIONS,
    bom: start.atFileStart,
    cast: (value, context) => {
      quoted[context.index] = context.quoting;
      return value;
    },
    // Each record is decoded as soon as it is parsed, so the first error in the
    // file is the one reported, whatever csv-parse finds further on.
    on_record: (record, context) => {
      const fields = record as string[];
      stats.lines = lineIndex.lineEndingAt(context.bytes) + start.lineOffset;
      if (fields.length === 1 && (fields[0] as string).trim() === "") return null; // a line of spaces
      if (skipHeader) {
        skipHeader = false;
        return null;
      }
      const locate = locator(fields, quoted, stats.lines);
      if (!rows.hasHeader) rows.header(fields, locate);
      else {
        const ev = rows.rowOrSkip(fields, locate);
        if (ev !== null) {
          onEvent(ev);
          stats.events++;
        }
      }
      return null;
    },
  });
  // Chunks are written straight to the parser, which decodes them (on_record)
  // before write() returns: errors come in file order.
  const failed = () => parser.errored ?? null;
  parser.on("error", () => {}); // read through failed(), in file order
  const text = new TextChecker(start.atFileStart);
  // Whole lines only reach the parser, each checked as text first, so a bad
  // byte is reported before any part of its line is decoded.
  const feed = async (bytes: Buffer, last: boolean) => {
    const problem = text.check(bytes) ?? (last ? text.finish() : null);
    const good = problem ? bytes.subarray(0, problem.lineStart) : bytes;
    lineIndex.add(good);
    if (problem || last) {
      parser.end(good);
      await finished(parser, { readable: false }).catch(() => undefined);
    } else parser.write(good);
    const error = failed();
    if (error) throw error; // an earlier line's error comes first
    if (problem)
      throw new InputError(`${at(rows.file, problem.line + start.lineOffset, problem.column)}${problem.message}`);
  };
  try {
    let pending: Buffer = Buffer.alloc(0);
    for await (const chunk of remaining(chunks)) {
      const bytes = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      const cut = bytes.lastIndexOf(0x0a) + 1;
      pending = bytes.subarray(cut);
      if (cut > 0) await feed(bytes.subarray(0, cut), false);
    }
    await feed(pending, true);
  } catch (error) {
    if (isCsvError(error)) error.lines = (await csvErrorLine(error, lineIndex, start.atFileStart)) + start.lineOffset;
    throw error;
  }
  stats.lines = lineIndex.lines() + start.lineOffset;
  return stats;
}

/** Snapshot paths are shown as the trace's folder joined with the name. */
function joinShown(file: string, name: string): string {
  const dir = dirname(file);
  return dir === "." || name.startsWith("/") ? name : `${dir}/${name}`;
}

/**
 * Where each field of a record starts. csv-parse gives the line on which the
 * record ends; fields are re-measured (with their quotes) to find the rest.
 */
function locator(record: readonly string[], quoted: readonly boolean[], endLine: number): FieldLocator {
  return (index) => {
    const widths = record.map((value, i) => (quoted[i] ? `"${value.replaceAll('"', '""')}"` : value));
    let line = endLine - widths.reduce((n, text) => n + count(text, "\n"), 0);
    let column = 1;
    for (let i = 0; i < Math.min(index, widths.length); i++) {
      const text = widths[i] as string;
      const newline = text.lastIndexOf("\n");
      if (newline >= 0) {
        line += count(text, "\n");
        column = text.length - newline;
      } else column += text.length;
      column += 1; // the comma
    }
    return { line, column };
  };
}

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

interface CsvErrorLike {
  code: string;
  message: string;
  lines?: number;
}

/** csv-parse's own errors (its class is loaded lazily, so they are told by shape). */
function isCsvError(error: unknown): error is CsvErrorLike {
  const e = error as CsvErrorLike | null;
  return e !== null && typeof e === "object" && typeof e.code === "string" && typeof e.lines === "number";
}

/**
 * The line of a csv-parse error, found by parsing again. (csv-parse's own
 * count takes a CR for a line end inside quotes but not in a CRLF that ends a
 * record, and the offset it reports is where the last field began.) The
 * record that failed starts where the last good one ended: the error is on
 * the last line of the shortest run of whole lines from there that fails.
 */
async function csvErrorLine(error: CsvErrorLike, lineIndex: LineIndex, bomAtStart: boolean): Promise<number> {
  // A quote still open at the end is reported on the last line.
  if (error.code === "CSV_QUOTE_NOT_CLOSED") return lineIndex.lines();
  const { bytes, line, atStart } = lineIndex.rest();
  const ends: number[] = [];
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) ends.push(i + 1);
  if (ends[ends.length - 1] !== bytes.length) ends.push(bytes.length);
  const { parse } = await import("csv-parse/sync");
  const fails = (lines: number) => {
    try {
      parse(bytes.subarray(0, ends[lines - 1]), { ...CSV_OPTIONS, bom: bomAtStart && atStart });
      return false;
    } catch (again) {
      return isCsvError(again) && again.code !== "CSV_QUOTE_NOT_CLOSED";
    }
  };
  let low = 1;
  let high = ends.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (fails(mid)) high = mid;
    else low = mid + 1;
  }
  return line + low - 1;
}

function asInputError(error: unknown, file: string): Error {
  if (error instanceof InputError) return error;
  if (error instanceof ReplayError) return new InputError(`${at(file, error.line)}${error.message}`);
  if (error instanceof GzipError) return new InputError(`${at(file)}${error.message}`);
  if (isCsvError(error) && error.code === "CSV_MAX_RECORD_SIZE")
    return new InputError(`${at(file, error.lines)}${TOO_LONG}`);
  if (isCsvError(error)) {
    // Keep csv-parse's words, without its own position: ours leads the line.
    const message = error.message.replace(/\s*(at|on) line \d+/g, "").replace(/\s+/g, " ");
    return new InputError(`${at(file, error.lines)}not valid CSV: ${message}`);
  }
  return new InputError(`${at(file)}${reason(error)}`);
}
