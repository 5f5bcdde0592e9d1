/**
 * Streams a CSV trace (SPEC section 3) through csv-parse into a callback, one
 * shared event object at a time, so a trace larger than memory replays.
 */
import { createReadStream } from "node:fs";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parse } from "csv-parse";
import type { TraceEvent } from "../engine/events.js";
import { ReplayError } from "../engine/replay.js";
import { InputError, at, reason } from "./errors.js";
import { SnapshotStore } from "./snapshot.js";
import { type FieldLocator, TraceRows } from "./trace-rows.js";

export interface TraceStats {
  /** Events handed to the callback. */
  events: number;
  /** Lines read, comments and blank lines included. */
  lines: number;
}

interface ParsedRecord {
  readonly fields: string[];
  readonly quoted: boolean[];
  readonly endLine: number;
}

export interface ReadTraceOptions {
  /** The path as the user wrote it: errors name it, snapshots resolve against its folder. */
  readonly file: string;
  /** Defaults to a file stream of `file`. */
  readonly input?: Readable;
  /** Called once per event; may throw (a ReplayError becomes file:line). */
  readonly onEvent: (ev: TraceEvent) => void;
}

export async function readTrace(options: ReadTraceOptions): Promise<TraceStats> {
  const { file, onEvent } = options;
  const snapshots = new SnapshotStore(dirname(file));
  const rows = new TraceRows(file, (name) => snapshots.load(name, joinShown(file, name)));
  const stats: TraceStats = { events: 0, lines: 0 };
  // Per field of the record being parsed: was it quoted? csv-parse tells `cast`,
  // and `on_record` copies it into the record, since parsing runs ahead of us.
  const quoting: boolean[] = [];
  const parser = parse({
    bom: true,
    comment: "#",
    comment_no_infix: true,
    skip_empty_lines: true,
    relax_column_count_less: true,
    record_delimiter: ["\r\n", "\n"],
    cast: (value, context) => {
      quoting[context.index] = context.quoting;
      return value;
    },
    on_record: (record, context) => {
      const fields = record as string[];
      const parsed: ParsedRecord = { fields, quoted: quoting.slice(0, fields.length), endLine: context.lines };
      return parsed as unknown as string[];
    },
  });
  // csv-parse counts a CRLF inside a quoted field as two lines; we count one.
  let extraLines = 0;
  const input = options.input ?? createReadStream(file);
  // pipeline() may reject with an AbortError of its own when the consumer throws: keep ours.
  let failure: unknown;
  try {
    await pipeline(input, parser, async (records: AsyncIterable<ParsedRecord>) => {
      try {
        for await (const { fields: record, quoted, endLine } of records) {
        for (let i = 0; i < record.length; i++) if (quoted[i]) extraLines += count(record[i] as string, "\r\n");
        stats.lines = endLine - extraLines;
        if (record.length === 1 && (record[0] as string).trim() === "") continue; // a line of spaces
        const locate = locator(record, quoted, stats.lines);
        if (!rows.hasHeader) {
          rows.header(record, locate);
          continue;
        }
        const ev = rows.row(record, locate);
        try {
          onEvent(ev);
        } catch (error) {
          if (error instanceof ReplayError) throw new InputError(`${at(file, error.line)}${error.message}`);
          throw error;
        }
        stats.events++;
        }
      } catch (error) {
        failure = error;
        throw error;
      }
    });
  } catch (error) {
    throw asInputError(failure ?? error, file);
  }
  if (!rows.hasHeader) {
    throw new InputError(`${at(file)}the trace is empty: expected a header line naming the columns (e.g. event,vcpu,msr,value)`);
  }
  if (stats.events === 0) throw new InputError(`${at(file, stats.lines)}the trace has a header but no events`);
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

function asInputError(error: unknown, file: string): Error {
  if (error instanceof InputError) return error;
  const csv = error as CsvErrorLike;
  if (typeof csv?.code === "string" && csv.code.startsWith("CSV_")) {
    // csv-parse messages end with their own position: keep ours.
    const message = csv.message.replace(/^Invalid [^:]*: /, "").replace(/,? ?(at|on) line \d+.*$/s, "");
    return new InputError(`${at(file, csv.lines)}not valid CSV: ${message}`);
  }
  return new InputError(`${at(file)}${reason(error)}`);
}
