/**
 * Streams a CSV trace (docs/model.md §3) into a callback, one shared event
 * object at a time, so a trace larger than memory replays. Plain lines go
 * through the fast scanner; a record that is not plain (quotes, odd bytes)
 * goes through csv-parse on its own, with the same results either way.
 * Reading the whole input with csv-parse (`reader: "csv-parse"`) is the
 * reference the tests hold the fast reader to.
 */
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { Options as CsvOptions } from "csv-parse";
import type { TraceEvent } from "../engine/events.js";
import type { EventColumns } from "../engine/front.js";
import { ReplayError } from "../engine/replay.js";
import type { CacheSpec } from "./cache-spec.js";
import { at, InputError, reason } from "./errors.js";
import { FastScanner, MAX_LINE, type RecordDecoder, TOO_LONG } from "./fast-scanner.js";
import { LineIndex } from "./line-index.js";
import { looksPacked } from "./packed/magic.js";
import { SnapshotStore } from "./snapshot.js";
import { TextChecker } from "./text-check.js";
import { type FieldLocator, TraceRows } from "./trace-rows.js";
import { GzipError, STDIN, traceChunks } from "./trace-source.js";

export interface TraceStats {
  /** Events handed to the callback, less those --lenient skipped (an entry the machine refused). */
  events: number;
  /** Lines read, comments and blank lines included. */
  lines: number;
  /** The cache: the line to say on stderr about it (read or written), if it played a part. */
  cacheNote?: string;
}

export interface ReadTraceOptions {
  /** The path as the user wrote it, or "-" for stdin: errors name it, snapshots resolve against its folder. */
  readonly file: string;
  /** Defaults to the file (or stdin for "-"). */
  readonly input?: Readable;
  /** Called once per event; may throw (a ReplayError becomes file:line). */
  readonly onEvent: (ev: TraceEvent) => void;
  /**
   * A packed trace's L2 events and vmentries in runs of columns instead of
   * one by one through onEvent (ReadPackedOptions.onColumns); a CSV trace
   * and --lenient (which skips single events) use onEvent only.
   */
  readonly onColumns?: (columns: EventColumns, from: number, to: number) => void;
  /** "csv-parse" reads with csv-parse only: the reference path the fast scanner must equal (tests only: it keeps no line limit of its own). */
  readonly reader?: "fast" | "csv-parse";
  /** Awaited before each chunk is read: lets a slower consumer hold the reader back. */
  readonly pace?: () => Promise<void> | undefined;
  /** Told how many bytes of the input (compressed, if it is) were read so far. */
  readonly onBytes?: (bytes: number) => void;
  /** Folders besides the trace's own that its snapshots may be in. */
  readonly snapshotDirs?: readonly string[];
  /** The run's output files (-o): a snapshot that is one of them is refused. */
  readonly outputs?: readonly string[];
  /** --lenient: bad rows are skipped and counted here instead of stopping the read. */
  readonly skipped?: SkippedRows;
  /**
   * The option that needs each event's `t` (TraceEvent.t), e.g. "--window
   * 50ms": a header without t, or a row without a valid one, is then an
   * error naming it. Without it `t` is not decoded.
   */
  readonly timestamps?: string;
  /**
   * `pack`: with `timestamps`, a row without a valid `t` is no error but told
   * here (TraceRows.onTimestampProblem), and its `t` is NaN.
   */
  readonly onTimestampProblem?: (problem: { line: number; column: number; message: string }) => void;
  /** Told the header's line once the whole trace is read (a packed trace's: that of its CSV). */
  readonly onHeaderLine?: (line: number) => void;
  /** The cache of packed forms (io/trace-cache.ts); null or absent: no cache. */
  readonly cache?: CacheSpec | null | undefined;
  /** The cache: each chunk of the file as stored (before gunzip). */
  readonly onRawChunk?: (chunk: Buffer) => void;
  /** The cache: each snapshot the trace loads, by the name it gives, once per load. */
  readonly onSnapshot?: (name: string, page: Uint8Array) => void;
  /** The cache: the input turned out to be a packed trace already. */
  readonly onPacked?: () => void;
  /**
   * Told once, before the first event, whether the events come from a
   * packed form (a packed file, or the cache's entry for a CSV) or from
   * parsing text: a packed read costs its thread less (pipeline.ts).
   */
  readonly onFormat?: (packed: boolean) => void;
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
  if (options.cache) {
    // Loaded only when a run uses the cache: it needs node:crypto (cache-spec.ts says why).
    const { readTraceCached } = await import("./trace-cache.js");
    return readTraceCached({ ...options, cache: options.cache }, readTrace);
  }
  const file = shownName(options.file);
  // A piped trace names its snapshots relative to the current folder.
  const snapshots = new SnapshotStore(
    options.file === STDIN ? "." : dirname(file),
    options.snapshotDirs,
    options.outputs,
  );
  const onSnapshot = options.onSnapshot;
  const rows = new TraceRows(file, (name) => {
    const page = snapshots.load(name, joinShown(options.file === STDIN ? "." : file, name));
    onSnapshot?.(name, page);
    return page;
  });
  if (options.timestamps !== undefined) rows.timestamps = options.timestamps;
  if (options.onTimestampProblem !== undefined) rows.onTimestampProblem = options.onTimestampProblem;
  let onEvent = options.onEvent;
  const skipped = options.skipped;
  /** Events --lenient skipped because the machine could not take them: read, but no event of the replay. */
  let refused = 0;
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
        refused++;
        note(new InputError(`${at(file, error.line)}${error.message}`));
      }
    };
  }
  const chunks = traceChunks(options.file, options.input, options.onBytes, options.onRawChunk)[Symbol.asyncIterator]();
  let stats: TraceStats;
  try {
    // A packed trace (io/packed) is told by its first byte, whatever its name, as gzip is.
    const first = await chunks.next();
    const source = first.done ? chunks : prepend(first.value, chunks);
    const packed = !first.done && looksPacked(first.value);
    options.onFormat?.(packed);
    if (packed) {
      options.onPacked?.();
      // The packed reader, and node:zlib with it, only for a packed trace.
      const { readPacked } = await import("./packed/reader.js");
      const totals = await readPacked(source, {
        file,
        onEvent,
        onColumns: skipped ? undefined : options.onColumns,
        timestamps: options.timestamps,
        pace: options.pace,
      });
      options.onHeaderLine?.(totals.headerLine);
      return { events: totals.events - refused, lines: totals.lines };
    }
    stats =
      options.reader === "csv-parse"
        ? await readWithCsvParse(source, rows, onEvent)
        : await readFast(source, rows, onEvent, options.pace);
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
  options.onHeaderLine?.(rows.headerLine);
  return { ...stats, events: stats.events - refused };
}

/**
 * The fast scanner. A record it cannot take (quotes, odd bytes) goes through
 * csv-parse on its own, and the scanner goes on with the next line: one
 * quoted field costs that record's decoding, not the rest of the trace's.
 */
async function readFast(
  chunks: AsyncIterator<Buffer>,
  rows: TraceRows,
  onEvent: (ev: TraceEvent) => void,
  pace?: () => Promise<void> | undefined,
): Promise<TraceStats> {
  const fast = new FastScanner(rows, onEvent);
  for (;;) {
    const wait = pace?.();
    if (wait) await wait;
    const next = await chunks.next();
    const handover = next.done ? fast.finish() : fast.push(next.value);
    if (handover !== null) {
      // The first record that needs csv-parse: load it (plain traces never do) and go on
      // from that line; with the decoder in place the scanner hands nothing over again.
      const { parse } = await import("csv-parse/sync");
      fast.fallback = new CsvRecords(parse, rows, onEvent);
      fast.push(handover.rest);
      if (handover.atEnd) fast.finish();
    }
    if (next.done) break;
  }
  return { events: fast.events, lines: fast.line };
}

type SyncParse = typeof import("csv-parse/sync").parse;

/**
 * Decodes single records for the fast scanner with csv-parse, exactly as
 * the reference path decodes them: each is checked as text line by line
 * first, parsed with the same options, placed by the same locator. A record
 * is parsed on its own: csv-parse is at a record boundary between records,
 * so it reads each the same way as within the whole input.
 */
class CsvRecords implements RecordDecoder {
  /** Per field of the record being parsed: was it quoted? csv-parse tells `cast`. */
  private readonly quoted: boolean[] = [];

  constructor(
    private readonly parse: SyncParse,
    private readonly rows: TraceRows,
    private readonly onEvent: (ev: TraceEvent) => void,
  ) {}

  take(bytes: Buffer, firstLine: number, mode: "record" | "last" | "probe"): number {
    const rows = this.rows;
    const quoted = this.quoted;
    const before = firstLine - 1;
    const text = new TextChecker();
    const problem = text.check(bytes) ?? (mode === "last" ? text.finish() : null);
    // As on the reference path, only the lines before a bad byte are parsed.
    const good = problem ? bytes.subarray(0, problem.lineStart) : bytes;
    const probe = mode === "probe" && problem === null;
    if (mode === "record" && problem === null) {
      const events = this.quick(bytes, firstLine);
      if (events >= 0) return events;
    }
    const lineIndex = new LineIndex();
    lineIndex.add(good);
    let events = 0;
    try {
      this.parse(good, {
        ...CSV_OPTIONS,
        bom: false,
        cast: (value, context) => {
          quoted[context.index] = context.quoting;
          return value;
        },
        on_record: (record, context) => {
          const fields = record as string[];
          const line = lineIndex.lineEndingAt(context.bytes) + before;
          if (probe || (fields.length === 1 && (fields[0] as string).trim() === "")) return null;
          const locate = locator(fields, quoted, line);
          const ev = rows.take(fields, locate);
          if (ev !== null) {
            this.onEvent(ev);
            events++;
          }
          return null;
        },
      });
    } catch (error) {
      if (isCsvError(error)) {
        // A record cut short for a probe leaves its quote open: that is no error yet.
        if (probe && error.code === "CSV_QUOTE_NOT_CLOSED") return 0;
        error.lines = csvErrorLine(error, lineIndex, false, this.parse) + before;
      }
      throw error;
    }
    if (problem) throw new InputError(`${at(rows.file, problem.line + before, problem.column)}${problem.message}`);
    return events;
  }

  /**
   * take() for whole records of valid text, without csv-parse's per-field
   * and per-record context objects (which cost it most of its time): the
   * records are parsed bare, then decoded in order. Each record ends at the
   * first "\n" outside quotes, which places it; whether a field was quoted
   * is read from its first byte, and only when an error needs a column.
   * Returns -1, having delivered nothing, when csv-parse finds an error (or
   * the records do not line up): take() then does it the careful way.
   */
  private quick(bytes: Buffer, firstLine: number): number {
    let records: string[][];
    try {
      records = this.parse(bytes, { ...CSV_OPTIONS, bom: false }) as string[][];
    } catch {
      return -1;
    }
    const starts: number[] = [];
    const lines: number[] = [];
    let line = firstLine;
    for (let pos = 0; pos < bytes.length; ) {
      starts.push(pos);
      lines.push(line);
      let quotes = 0;
      let p = pos;
      for (; p < bytes.length; p++) {
        const b = bytes[p];
        if (b === QUOTE) quotes ^= 1;
        else if (b === NL) {
          line++;
          if (quotes === 0) break;
        }
      }
      pos = p + 1;
    }
    if (records.length !== starts.length) return -1;
    const rows = this.rows;
    let events = 0;
    for (let r = 0; r < records.length; r++) {
      const fields = records[r] as string[];
      if (fields.length === 1 && (fields[0] as string).trim() === "") continue; // a line of spaces
      const start = starts[r] as number;
      const first = lines[r] as number;
      let where: FieldLocator | null = null;
      const locate: FieldLocator = (i) => {
        if (i === 0) return { line: first, column: 1 };
        where ??= locator(fields, quotedFields(bytes, start, fields.length), (lines[r + 1] ?? line) - 1);
        return where(i);
      };
      const ev = rows.take(fields, locate);
      if (ev !== null) {
        this.onEvent(ev);
        events++;
      }
    }
    return events;
  }
}

const NL = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** Which fields of the valid CSV record at `start` are quoted (RFC 4180: a quoted field starts with its quote). */
function quotedFields(bytes: Buffer, start: number, count: number): boolean[] {
  const quoted: boolean[] = [];
  let p = start;
  for (let f = 0; f < count; f++) {
    const isQuoted = bytes[p] === QUOTE;
    quoted.push(isQuoted);
    if (isQuoted) {
      // To the closing quote; a doubled one is a quote inside.
      for (p++; p < bytes.length; p++) {
        if (bytes[p] === QUOTE) {
          if (bytes[p + 1] !== QUOTE) break;
          p++;
        }
      }
    }
    while (p < bytes.length && bytes[p] !== COMMA && bytes[p] !== NL) p++;
    p++;
  }
  return quoted;
}

/** The chunk already taken (to tell a packed trace), then the rest. */
function prepend(head: Buffer, rest: AsyncIterator<Buffer>): AsyncIterator<Buffer> {
  let first: Buffer | null = head;
  return {
    next: () => {
      if (first === null) return rest.next();
      const value = first;
      first = null;
      return Promise.resolve({ done: false, value });
    },
  };
}

/** csv-parse holds on to chunks, and a plain file's chunks share one buffer: copies. */
async function* remaining(chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (;;) {
    const next = await chunks.next();
    if (next.done) return;
    yield Buffer.from(next.value);
  }
}

/** csv-parse as every use here reads a trace: the reference reader, the record decoder, the error locator. */
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

/** The reference reader: csv-parse does the CSV of the whole input, TraceRows the rest. */
async function readWithCsvParse(
  chunks: AsyncIterator<Buffer>,
  rows: TraceRows,
  onEvent: (ev: TraceEvent) => void,
): Promise<TraceStats> {
  const stats: TraceStats = { events: 0, lines: 0 };
  // Per field of the record being parsed: was it quoted? csv-parse tells `cast`.
  const quoted: boolean[] = [];
  // Lines come from byte offsets: csv-parse's own count takes CRs for line ends.
  const lineIndex = new LineIndex();
  // Loaded only when a trace needs it: plain traces never do.
  const { parse } = await import("csv-parse");
  const parser = parse({
    ...CSV_OPTIONS,
    bom: true,
    cast: (value, context) => {
      quoted[context.index] = context.quoting;
      return value;
    },
    // Each record is decoded as soon as it is parsed, so the first error in the
    // file is the one reported, whatever csv-parse finds further on.
    on_record: (record, context) => {
      const fields = record as string[];
      stats.lines = lineIndex.lineEndingAt(context.bytes);
      if (fields.length === 1 && (fields[0] as string).trim() === "") return null; // a line of spaces
      const locate = locator(fields, quoted, stats.lines);
      const ev = rows.take(fields, locate);
      if (ev !== null) {
        onEvent(ev);
        stats.events++;
      }
      return null;
    },
  });
  // Chunks are written straight to the parser, which decodes them (on_record)
  // before write() returns: errors come in file order.
  const failed = () => parser.errored ?? null;
  parser.on("error", () => {}); // read through failed(), in file order
  const text = new TextChecker(true);
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
    if (problem) throw new InputError(`${at(rows.file, problem.line, problem.column)}${problem.message}`);
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
    if (isCsvError(error)) {
      const { parse: parseSync } = await import("csv-parse/sync");
      error.lines = csvErrorLine(error, lineIndex, true, parseSync);
    }
    throw error;
  }
  stats.lines = lineIndex.lines();
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
function csvErrorLine(error: CsvErrorLike, lineIndex: LineIndex, bomAtStart: boolean, parse: SyncParse): number {
  // A quote still open at the end is reported on the last line.
  if (error.code === "CSV_QUOTE_NOT_CLOSED") return lineIndex.lines();
  const { bytes, line, atStart } = lineIndex.rest();
  const ends: number[] = [];
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) ends.push(i + 1);
  if (ends[ends.length - 1] !== bytes.length) ends.push(bytes.length);
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
