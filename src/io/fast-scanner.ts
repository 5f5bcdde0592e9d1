/**
 * The fast path of the trace reader: decodes plain, unquoted CSV straight
 * from bytes, in one pass, with no allocation per row for the hot events
 * (rdmsr, wrmsr, vmexit, vmentry). It only ever accepts what the csv-parse
 * path would accept, with the same result:
 * - a row it cannot decode by itself (a rare event, spaces, an odd number) is
 *   handed, as strings, to the TraceRows decoder the csv-parse path uses, so
 *   errors are word for word the same;
 * - a line that is not plain (a quote, a control or non-ASCII byte, more
 *   fields than the header) starts a record it hands, whole, to the record
 *   decoder (csv-parse on that record alone), then it goes on with the next
 *   line. The record ends at the first line end outside quotes; it is kept
 *   until then within the same limits as a line (MAX_LINE a line, MAX_ROW
 *   the record), so an unclosed quote cannot make it keep the input.
 */

import type { TraceEvent } from "../engine/events.js";
import { Ev, type EventCode } from "../engine/events.js";
import { MAX_VCPUS } from "../engine/machine.js";
import { at, InputError } from "./errors.js";
import { TextChecker } from "./text-check.js";
import type { FieldLocator, TraceRows } from "./trace-rows.js";

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const HASH = 0x23;
const COMMA = 0x2c;
const TILDE = 0x7e;
const ZERO = 0x30;
/**
 * Byte values and lengths the hot paths compare with, as enum members: the
 * bundler (esbuild) writes each member's value in where it is used, so they
 * cost what a literal does. (A module-level const is bundled as a var, which
 * V8 loads on every use: naming these as consts made `compare` about 9%
 * slower.)
 */
enum Byte {
  NINE = 0x39,
  UPPER_A = 0x41,
  LOWER_A = 0x61,
  LOWER_Z = 0x7a,
  LOWER_X = 0x78,
  /**
   * ASCII's case bit: a letter ORed with it is its lower case, so
   * `(b | LOWER_CASE_BIT) === LOWER_X` takes the x of `0x` and `0X` alike.
   */
  LOWER_CASE_BIT = 0x20,
  // The letters of the hot events' names (rdmsr, wrmsr, vmexit, vmentry), as eventCode() reads them.
  LETTER_D = 0x64,
  LETTER_E = 0x65,
  LETTER_I = 0x69,
  LETTER_M = 0x6d,
  LETTER_N = 0x6e,
  LETTER_R = 0x72,
  LETTER_S = 0x73,
  LETTER_T = 0x74,
  LETTER_V = 0x76,
  LETTER_W = 0x77,
  LETTER_Y = 0x79,
  // The UTF-8 byte order mark, EF BB BF, dropped at the start of a trace only.
  BOM_0 = 0xef,
  BOM_1 = 0xbb,
  BOM_2 = 0xbf,
}

enum Radix {
  DECIMAL = 10,
  HEXADECIMAL = 16,
}

/** The longest fields decoded here (anything longer goes to the string decoder), and the BOM's length. */
enum Length {
  /** `0x`, before hex digits. */
  HEX_PREFIX = 2,
  BOM = 3,
  /** A vCPU: at most 4 digits (0-4095, MAX_VCPUS). */
  VCPU_DIGITS = 4,
  /** An MSR in hex: `0x` and at most 8 digits (leading zeros make it longer). */
  MSR_HEX_CHARS = 10,
  /** A 64-bit value: at most 16 significant hex digits, or 19 decimal ones (20 may pass 2^64). */
  VALUE_HEX_DIGITS = 16,
  VALUE_DIGITS = 19,
}

/** An MSR index: 32 bits, so at most 10 decimal digits (4294967295). */
enum MsrIndex {
  MAX = 0xffff_ffff,
  DIGITS = 10,
}

/** In the canonical header `event,vcpu,msr,value,…`, the value is the fourth field. */
enum CanonicalField {
  VALUE = 4,
}

const LINE_END = Buffer.from([NL]);

/** The longest line a trace may have (an error, not a crash, beyond it). */
export const MAX_LINE = 1 << 20;
export const TOO_LONG = `a line longer than 1 MiB (${MAX_LINE} bytes): is this a trace?`;

/** More fields than this on a line is not plain: csv-parse decides. */
const MAX_FIELDS = 64;

// What the hot path does with each column.
const ROLE_OTHER = 0;
const ROLE_EVENT = 1;
const ROLE_VCPU = 2;
const ROLE_MSR = 3;
const ROLE_VALUE = 4;
/** `t`, only when the rows need timestamps (TraceRows.timestamps); otherwise ROLE_OTHER. */
const ROLE_T = 5;

/**
 * The most digits of a timestamp decoded here: as a whole number they stay
 * below 2^53, so digits / 10^fraction is one correctly rounded division,
 * the same double as Number(text) on the string path. Longer ones go there.
 */
const MAX_TIME_DIGITS = 15;
const DOT = 0x2e;
/** 10^n for n up to MAX_TIME_DIGITS, each exact as a double. */
const POW10 = Array.from({ length: MAX_TIME_DIGITS + 1 }, (_, n) => 10 ** n);

/** Hex digit values; -1 for anything else. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < Radix.DECIMAL; i++) HEX[ZERO + i] = i;
for (let i = 0; i < Radix.HEXADECIMAL - Radix.DECIMAL; i++) {
  HEX[Byte.UPPER_A + i] = Radix.DECIMAL + i;
  HEX[Byte.LOWER_A + i] = Radix.DECIMAL + i;
}

/**
 * A CSV row may span lines (a quoted field holding a line end), but never
 * more than this: beyond it the row is refused, so that an unclosed quote
 * cannot make the reader keep the rest of a trace in memory. Twice the line
 * limit, so that csv-parse's own limit (MAX_LINE characters of field text in
 * a row) is met first on any row of ordinary text and gives the exact error.
 */
export const MAX_ROW = 2 * MAX_LINE;
export const ROW_TOO_LONG = `a CSV row longer than 2 MiB (${MAX_ROW} bytes) over several lines: is a quote left open?`;

/**
 * Where the fast path stopped: this line and everything after need the
 * record decoder, which the caller loads and installs (`fallback`) before
 * pushing `rest` again.
 */
export interface Handover {
  /** The bytes from the start of the line the scanner could not take (a copy). */
  readonly rest: Buffer;
  /** That line's number (1-based). */
  readonly line: number;
  /** The input had ended: push `rest`, then call finish() again. */
  readonly atEnd: boolean;
}

/**
 * Decodes one CSV record the scanner cannot take (quotes, odd bytes, more
 * fields than the header): csv-parse does the CSV, TraceRows the rest, as
 * on the reference path, so results and errors are csv-parse's.
 */
export interface RecordDecoder {
  /**
   * Decodes `bytes`, whole lines starting on line `firstLine` (the last one
   * without its "\n" only when the input ends there), and returns the events
   * it delivered. Throws the error the reference path would report.
   * With `probe`, the bytes are the start of a record cut short: only an
   * error within them is thrown (a quote left open is not one) and nothing
   * is delivered.
   */
  take(bytes: Buffer, firstLine: number, mode: "record" | "last" | "probe"): number;
}

/** lines(): the rest of the buffer was kept as the start of an open record. */
const CARRIED = -2;

export class FastScanner {
  /** Lines fully handled so far. */
  line = 0;
  /** Events handed to the callback. */
  events = 0;
  /** The header line as it was (null until read, or "" when the record decoder read it). */
  headerText: string | null = null;
  /** Decodes the records that are not plain; until it is installed, such a record ends the scan (a Handover). */
  fallback: RecordDecoder | null = null;
  /** Bytes of a line that began in an earlier chunk (a copy). */
  private carry: Buffer | null = null;
  /**
   * The start of a record that is not plain and did not end in its chunk
   * (a quoted field goes on past a line end): its parts, their length, and
   * the bytes of its last line so far. Null when there is none.
   */
  private record: Buffer[] | null = null;
  private recordBytes = 0;
  private recordLineBytes = 0;
  /** Quotes seen in the open record, mod 2: a line end with an even count ends it (RFC 4180). */
  private quotes = 0;
  private bomChecked = false;
  /** finish() is taking a last line, whose "\n" it added. */
  private finishing = false;
  private readonly roles = new Uint8Array(MAX_FIELDS);
  private columns = 0;
  /** The header begins event,vcpu,msr,value: takeCanonical applies. */
  private canonical = false;
  /** 1 while a row still needs its timestamp decoded (TraceRows.timestamps), 0 when none is needed. */
  private timeNeeded = 0;
  /** Field starts of the current line; starts[n] is one past the end + 1. */
  private readonly starts = new Int32Array(MAX_FIELDS + 1);
  private fields = 0;
  private buf: Buffer = Buffer.alloc(0);
  private lineStart = 0;
  private lineEnd = 0;
  private readonly locate: FieldLocator = (i) => ({ line: this.line, column: this.columnOf(i) });

  constructor(
    private readonly rows: TraceRows,
    private readonly onEvent: (ev: TraceEvent) => void,
  ) {}

  /**
   * Takes the next chunk, which the caller may reuse once this returns.
   * Returns a Handover when a record needs the decoder and none is installed.
   */
  push(chunk: Buffer): Handover | null {
    // Lines within a chunk are then shorter than MAX_LINE; longer ones are carried.
    if (chunk.length > MAX_LINE) {
      for (let at = 0; at < chunk.length; at += MAX_LINE) {
        const handover = this.push(chunk.subarray(at, Math.min(at + MAX_LINE, chunk.length)));
        if (handover !== null) {
          return { ...handover, rest: Buffer.concat([handover.rest, chunk.subarray(at + MAX_LINE)]) };
        }
      }
      return null;
    }
    let pos = 0;
    if (!this.bomChecked) {
      if (this.carry !== null) chunk = Buffer.concat([this.carry, chunk]);
      this.carry = null;
      if (chunk.length < Length.BOM) {
        this.carry = Buffer.from(chunk);
        return null;
      }
      this.bomChecked = true;
      // csv-parse's `bom` option drops a UTF-8 BOM the same way.
      if (chunk[0] === Byte.BOM_0 && chunk[1] === Byte.BOM_1 && chunk[2] === Byte.BOM_2) pos = Length.BOM;
    }
    if (this.record !== null) {
      // Go on with the record the last chunk left open.
      const end = this.recordEnd(chunk, 0);
      if (end < 0) return null;
      this.takeRecord(Buffer.concat([...this.closeRecord(), chunk.subarray(0, end + 1)]), "record");
      pos = end + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (this.carry !== null) {
      // Finish the line the last chunk left open.
      if (last < 0) {
        this.carryOn(this.carry, chunk);
        return null;
      }
      if (this.carry.length + chunk.indexOf(NL) > MAX_LINE) this.tooLong();
      const first = chunk.indexOf(NL);
      const line = Buffer.concat([this.carry, chunk.subarray(0, first + 1)]);
      this.carry = null;
      const stopped = this.lines(line, 0, line.length - 1);
      if (stopped >= 0) return this.handover(Buffer.concat([line, chunk.subarray(first + 1)]), 0);
      // A record that began on that line and goes on in this chunk.
      if (stopped === CARRIED) return this.push(chunk.subarray(first + 1));
      pos = first + 1;
    }
    if (last < pos) {
      this.carryOn(null, chunk.subarray(pos));
      return null;
    }
    const stopped = this.lines(chunk, pos, last);
    if (stopped >= 0) return this.handover(chunk, stopped);
    if (stopped === CARRIED) return null;
    if (last + 1 < chunk.length) this.carry = Buffer.from(chunk.subarray(last + 1));
    return null;
  }

  /** Keeps the start of a line for the next chunk; refuses to keep more than MAX_LINE. */
  private carryOn(carry: Buffer | null, more: Buffer): void {
    if ((carry?.length ?? 0) + more.length > MAX_LINE) this.tooLong();
    this.carry = carry === null ? Buffer.from(more) : Buffer.concat([carry, more]);
  }

  private tooLong(): never {
    throw new InputError(`${at(this.rows.file, this.line + 1)}${TOO_LONG}`);
  }

  /** The input ended: takes a last line with no line end. */
  finish(): Handover | null {
    this.finishing = true;
    if (this.record !== null) {
      // A record still open: the decoder reports the quote left open (or what comes before it).
      this.takeRecord(Buffer.concat(this.closeRecord()), "last");
      return null;
    }
    const carry = this.carry;
    this.carry = null;
    if (carry === null || carry.length === 0) return null;
    let start = 0;
    const bom =
      carry.length >= Length.BOM && carry[0] === Byte.BOM_0 && carry[1] === Byte.BOM_1 && carry[2] === Byte.BOM_2;
    if (!this.bomChecked && bom) start = Length.BOM;
    if (start === carry.length) return null;
    const rest = carry.subarray(start);
    const line = Buffer.concat([rest, Buffer.from([NL])]);
    // (Several lines when the whole input is shorter than a BOM.)
    this.buf = line;
    let pos = 0;
    while (pos < line.length) {
      const next = this.takeLine(line, pos);
      if (next < 0) break;
      pos = next;
    }
    if (pos >= line.length) return null;
    // Decoded without the "\n" added here: a CR before the end is data, not a line end.
    if (this.fallback === null) return { ...this.handover(rest, pos), atEnd: true };
    this.takeRecord(rest.subarray(pos), "last");
    return null;
  }

  private handover(buf: Buffer, at: number): Handover {
    return { rest: Buffer.from(buf.subarray(at)), line: this.line + 1, atEnd: false };
  }

  /**
   * Takes the lines in [pos, last], where buf[last] is "\n". Returns -1 when
   * done, the start of a line it cannot take when there is no decoder, or
   * CARRIED when a record that is not plain goes on past the buffer.
   */
  private lines(buf: Buffer, pos: number, last: number): number {
    this.buf = buf;
    while (pos <= last) {
      const next = this.takeLine(buf, pos);
      if (next >= 0) {
        pos = next;
        continue;
      }
      if (this.fallback === null) return pos;
      this.startRecord();
      let end = this.recordEnd(buf, pos);
      if (end < 0) return CARRIED;
      this.closeRecord();
      // The records after it that are not plain either join it: csv-parse is called once
      // for a run of them, not once a row (a trace quoted throughout is one run a chunk).
      while (end < last && !plainLine(buf, end + 1)) {
        const next = quotedEnd(buf, end + 1);
        if (next < 0) break; // ends in a later chunk: the next record taken alone
        end = next;
      }
      this.takeRecord(buf.subarray(pos, end + 1), "record");
      this.buf = buf;
      pos = end + 1;
    }
    return -1;
  }

  private startRecord(): void {
    this.record = [];
    this.recordBytes = 0;
    this.recordLineBytes = 0;
    this.quotes = 0;
  }

  /** The open record's parts, and no record open any more. */
  private closeRecord(): Buffer[] {
    const parts = this.record ?? [];
    this.record = null;
    return parts;
  }

  /**
   * Looks for the end of the open record in buf from `from`: the first "\n"
   * outside quotes. RFC 4180 doubles a quote inside a quoted field, so that
   * is where the quotes seen are even; a stray quote makes csv-parse fail on
   * the record anyway, wherever it is cut. Returns its index, or -1 after
   * keeping the rest of buf in the record (a copy), within the limits.
   */
  private recordEnd(buf: Buffer, from: number): number {
    let quotes = this.quotes;
    let lineBytes = this.recordLineBytes;
    // Past this index the record is longer than MAX_ROW.
    const rowEnd = from + MAX_ROW - this.recordBytes;
    for (let p = from; p < buf.length; p++) {
      const b = buf[p] as number;
      if (p >= rowEnd) this.recordTooLong(buf.subarray(from, p + 1), ROW_TOO_LONG);
      if (b === QUOTE) quotes ^= 1;
      else if (b === NL) {
        if (quotes === 0) return p;
        lineBytes = -1;
      }
      if (++lineBytes > MAX_LINE) this.recordTooLong(buf.subarray(from, p + 1), TOO_LONG);
    }
    this.quotes = quotes;
    this.recordLineBytes = lineBytes;
    (this.record as Buffer[]).push(Buffer.from(buf.subarray(from)));
    this.recordBytes += buf.length - from;
    return -1;
  }

  /**
   * The open record passed a limit at its last byte: csv-parse's own error
   * within it comes first (its limit, a stray quote, bad text), as on the
   * reference path; otherwise the limit's, on the line of that byte.
   */
  private recordTooLong(more: Buffer, message: string): never {
    const bytes = Buffer.concat([...(this.record as Buffer[]), more]);
    this.record = null;
    (this.fallback as RecordDecoder).take(bytes, this.line + 1, "probe");
    throw new InputError(`${at(this.rows.file, this.line + 1 + lineEnds(bytes, bytes.length - 1))}${message}`);
  }

  /** A whole record through the decoder. */
  private takeRecord(bytes: Buffer, mode: "record" | "last"): void {
    this.events += (this.fallback as RecordDecoder).take(bytes, this.line + 1, mode);
    this.line += lineEnds(bytes, bytes.length) + (mode === "last" && bytes[bytes.length - 1] !== NL ? 1 : 0);
    if (this.headerText === null && this.rows.hasHeader) this.adoptHeader();
  }

  /**
   * One line starting at pos (it ends with "\n" somewhere). Returns the start
   * of the next line, or -1 to hand over.
   */
  private takeLine(buf: Buffer, pos: number): number {
    const _start = pos;
    const b = buf[pos] as number;
    if (b === HASH) {
      // Skipped, but a trace is text: a comment must be valid UTF-8 without NUL,
      // as on csv-parse's path.
      const end = buf.indexOf(NL, pos);
      for (let p = pos; p < end; p++) {
        const c = buf[p] as number;
        if (c > TILDE || c === 0) {
          // With its "\n" as csv-parse's path sees it, unless finish() added that "\n".
          const checker = new TextChecker();
          const problem =
            checker.check(buf.subarray(pos, end)) ?? (this.finishing ? checker.finish() : checker.check(LINE_END));
          if (problem) throw new InputError(`${at(this.rows.file, this.line + 1, problem.column)}${problem.message}`);
          break;
        }
      }
      this.line++;
      return end + 1;
    }
    if (b === NL || (b === CR && buf[pos + 1] === NL)) {
      this.line++;
      return pos + (b === NL ? 1 : 2);
    }
    if (this.headerText === null) return this.takeHeader(buf, pos);
    return this.canonical ? this.takeCanonical(buf, pos) : this.takeAny(buf, pos);
  }

  /**
   * A row under the header our generator and bundled traces write,
   * `event,vcpu,msr,value,…`, decoded without looking up column roles. Any
   * surprise sends the row to takeAny, which starts it over.
   */
  private takeCanonical(buf: Buffer, start: number): number {
    let p = start;
    let b: number;
    while ((b = buf[p] as number) >= Byte.LOWER_A && b <= Byte.LOWER_Z) p++; // a-z
    if (b !== COMMA) return this.takeAny(buf, start);
    // The hot events, told apart by length and a letter or two; eventCode() checks all of it.
    const len = p - start;
    const c1 = buf[start + 1];
    let code: number;
    if (
      len === 5 &&
      c1 === Byte.LETTER_R &&
      buf[start] === Byte.LETTER_W &&
      buf[start + 2] === Byte.LETTER_M &&
      buf[start + 3] === Byte.LETTER_S &&
      buf[start + 4] === Byte.LETTER_R
    ) {
      code = Ev.wrmsr;
    } else code = eventCode(buf, start, len);
    if (code < 0) return this.takeAny(buf, start);
    const vcpuStart = ++p;
    let vcpu = 0;
    while ((b = buf[p] as number) >= ZERO && b <= Byte.NINE) {
      vcpu = vcpu * Radix.DECIMAL + (b - ZERO);
      p++;
    }
    if (p - vcpuStart > Length.VCPU_DIGITS || vcpu >= MAX_VCPUS) return this.takeAny(buf, start);
    let msr = -1;
    let value = 0;
    let fields = 2;
    if (b === COMMA) {
      const msrStart = ++p;
      fields++;
      b = buf[p] as number;
      let n = 0;
      if (b === ZERO && ((buf[p + 1] as number) | Byte.LOWER_CASE_BIT) === Byte.LOWER_X) {
        p += Length.HEX_PREFIX;
        let d: number;
        while ((d = HEX[buf[p] as number] as number) >= 0) {
          n = n * Radix.HEXADECIMAL + d;
          p++;
        }
        if (p - msrStart > Length.HEX_PREFIX && p - msrStart <= Length.MSR_HEX_CHARS) msr = n;
      } else {
        while ((b = buf[p] as number) >= ZERO && b <= Byte.NINE) {
          n = n * Radix.DECIMAL + (b - ZERO);
          p++;
        }
        if (p > msrStart && p - msrStart <= MsrIndex.DIGITS && n <= MsrIndex.MAX) msr = n;
      }
      b = buf[p] as number;
      if (b === COMMA) {
        const valueStart = ++p;
        fields++;
        b = buf[p] as number;
        if (b === ZERO && ((buf[p + 1] as number) | Byte.LOWER_CASE_BIT) === Byte.LOWER_X) {
          p += Length.HEX_PREFIX;
          while (buf[p] === ZERO) p++; // leading zeros do not count
          const significant = p;
          while ((HEX[buf[p] as number] as number) >= 0) p++;
          value = p > valueStart + Length.HEX_PREFIX && p - significant <= Length.VALUE_HEX_DIGITS ? 1 : -1;
        } else {
          while ((b = buf[p] as number) >= ZERO && b <= Byte.NINE) p++;
          value = p === valueStart ? 0 : p - valueStart <= Length.VALUE_DIGITS ? 1 : -1;
        }
        // The rest of the row: fields the hot events ignore, plain bytes only.
        while ((b = buf[p] as number) !== NL) {
          if (b === COMMA) {
            if (++fields > this.columns) return -1;
          } else if (b === QUOTE || b > TILDE || (b < SPACE && !(b === CR && buf[p + 1] === NL))) return -1;
          else if (fields === CanonicalField.VALUE) value = -1; // the value field went on past its number
          p++;
        }
      } else if (b !== NL && !(b === CR && buf[p + 1] === NL)) return this.takeAny(buf, start);
    } else if (b !== NL && !(b === CR && buf[p + 1] === NL)) return this.takeAny(buf, start);
    if (fields > this.columns) return -1;
    // p is at "\n" or "\r\n".
    const end = buf[p] === CR ? p : buf[p - 1] === CR && buf[p] === NL ? p - 1 : p;
    const next = end + (buf[end] === CR ? 2 : 1);
    this.line++;
    if (code === Ev.rdmsr || code === Ev.wrmsr) {
      if (msr < 0 || value < 0 || (code === Ev.wrmsr && value === 0)) return this.slowFrom(buf, start, end, next);
      const ev = this.rows.event;
      ev.msr = msr;
    }
    const ev = this.rows.event;
    ev.code = code as EventCode;
    ev.vcpu = vcpu;
    ev.line = this.line;
    ev.content = null;
    this.onEvent(ev);
    this.events++;
    return next;
  }

  /** Splits the line [start, end) into fields and decodes it with the string decoder. */
  private slowFrom(buf: Buffer, start: number, end: number, next: number): number {
    const starts = this.starts;
    let f = 0;
    starts[0] = start;
    for (let p = start; p < end; p++) if (buf[p] === COMMA) starts[++f] = p + 1;
    this.fields = f + 1;
    starts[this.fields] = end + 1;
    this.lineStart = start;
    this.lineEnd = end;
    return this.decodeSlow(next);
  }

  /** A row under any header: the role of each column looked up as it comes. */
  private takeAny(buf: Buffer, pos: number): number {
    const start = pos;
    let b: number;
    const roles = this.roles;
    const starts = this.starts;
    const columns = this.columns;
    let f = 0;
    // What the hot path decoded; -1 where a field was absent or not plain.
    let code = -1;
    let vcpu = 0; // an empty or absent vcpu is 0
    let msr = -1;
    let value = 0; // 0 absent or empty, 1 a 64-bit value, -1 anything else
    // A row that needs its timestamp stays "bad" until its t field decodes here.
    let timeBad = this.timeNeeded;
    let time = Number.NaN;
    for (;;) {
      if (f >= columns) return -1; // more fields than the header: csv-parse reports it
      starts[f] = pos;
      b = buf[pos] as number;
      const role = roles[f];
      const fieldStart = pos;
      let parsed = 0; // the role's result, valid if the field ends right after it
      if (role === ROLE_VCPU) {
        while ((b = buf[pos] as number) >= ZERO && b <= Byte.NINE) {
          parsed = parsed * Radix.DECIMAL + (b - ZERO);
          pos++;
        }
        if (pos - fieldStart > Length.VCPU_DIGITS || parsed >= MAX_VCPUS) parsed = -1;
      } else if (role === ROLE_MSR) {
        parsed = -1;
        if (b === ZERO && ((buf[pos + 1] as number) | Byte.LOWER_CASE_BIT) === Byte.LOWER_X) {
          pos += Length.HEX_PREFIX;
          let n = 0;
          let d: number;
          while ((d = HEX[buf[pos] as number] as number) >= 0) {
            n = n * Radix.HEXADECIMAL + d;
            pos++;
          }
          // Up to 8 digits here; longer spellings go to the string decoder.
          if (pos - fieldStart > Length.HEX_PREFIX && pos - fieldStart <= Length.MSR_HEX_CHARS) parsed = n;
        } else {
          let n = 0;
          while ((b = buf[pos] as number) >= ZERO && b <= Byte.NINE) {
            n = n * Radix.DECIMAL + (b - ZERO);
            pos++;
          }
          if (pos > fieldStart && pos - fieldStart <= MsrIndex.DIGITS && n <= MsrIndex.MAX) parsed = n;
        }
      } else if (role === ROLE_VALUE) {
        if (b === ZERO && ((buf[pos + 1] as number) | Byte.LOWER_CASE_BIT) === Byte.LOWER_X) {
          pos += Length.HEX_PREFIX;
          const digits = pos;
          let significant = 0;
          let d: number;
          while ((d = HEX[buf[pos] as number] as number) >= 0) {
            if (significant > 0 || d !== 0) significant++;
            pos++;
          }
          parsed = pos > digits && significant <= Length.VALUE_HEX_DIGITS ? 1 : -1;
        } else {
          while ((b = buf[pos] as number) >= ZERO && b <= Byte.NINE) pos++;
          // 20 digits may pass 2^64: the string decoder decides.
          parsed = pos === fieldStart ? 0 : pos - fieldStart <= Length.VALUE_DIGITS ? 1 : -1;
        }
      } else if (role === ROLE_EVENT) {
        while ((b = buf[pos] as number) >= Byte.LOWER_A && b <= Byte.LOWER_Z) pos++; // a-z
        parsed = eventCode(buf, fieldStart, pos - fieldStart);
      } else if (role === ROLE_T) {
        // Seconds, digits[.digits] (TraceRows' TIMESTAMP); anything else, the string decoder judges.
        let n = 0;
        while ((b = buf[pos] as number) >= ZERO && b <= Byte.NINE) {
          n = n * Radix.DECIMAL + (b - ZERO);
          pos++;
        }
        const whole = pos - fieldStart;
        let fraction = 0;
        if (b === DOT && whole > 0) {
          pos++;
          while ((b = buf[pos] as number) >= ZERO && b <= Byte.NINE) {
            n = n * Radix.DECIMAL + (b - ZERO);
            pos++;
          }
          fraction = pos - fieldStart - whole - 1;
          if (fraction === 0) n = -1; // "5." is not a timestamp
        }
        parsed = whole > 0 && n >= 0 && whole + fraction <= MAX_TIME_DIGITS ? 1 : -1;
        if (parsed === 1) time = n / (POW10[fraction] as number);
      }
      b = buf[pos] as number;
      const ended = b === COMMA || b === NL || (b === CR && buf[pos + 1] === NL);
      if (!ended) {
        // Not what the role reads (or a column the hot path ignores): skip it, plain bytes only.
        parsed = -1;
        while (!((b = buf[pos] as number) === COMMA || b === NL || (b === CR && buf[pos + 1] === NL))) {
          if (b === QUOTE || b > TILDE || b < SPACE) return -1;
          pos++;
        }
      }
      if (role === ROLE_EVENT) code = parsed;
      else if (role === ROLE_VCPU) vcpu = parsed;
      else if (role === ROLE_MSR) msr = parsed;
      else if (role === ROLE_VALUE) value = parsed;
      else if (role === ROLE_T) timeBad = parsed === 1 ? 0 : 1;
      f++;
      if (b === COMMA) {
        pos++;
        continue;
      }
      // End of line: pos is at "\n", or at the "\r" of "\r\n".
      this.lineEnd = pos;
      starts[f] = pos + 1;
      pos += b === CR ? 2 : 1;
      break;
    }
    this.line++;
    this.fields = f;
    this.lineStart = start;
    if (code < 0 || vcpu < 0 || timeBad !== 0) return this.decodeSlow(pos);
    const ev = this.rows.event;
    ev.t = time;
    if (code === Ev.rdmsr || code === Ev.wrmsr) {
      if (msr < 0 || value < 0 || (code === Ev.wrmsr && value === 0)) return this.decodeSlow(pos);
      ev.msr = msr;
    }
    ev.code = code as EventCode;
    ev.vcpu = vcpu;
    ev.line = this.line;
    ev.content = null;
    this.onEvent(ev);
    this.events++;
    return pos;
  }

  /** A row the hot path does not decode: the string decoder decides (or skips a blank line). */
  private decodeSlow(next: number): number {
    const fields = this.strings();
    if (fields.length === 1 && (fields[0] as string).trim() === "") return next; // a line of spaces
    const ev = this.rows.rowOrSkip(fields, this.locate);
    if (ev !== null) {
      this.onEvent(ev);
      this.events++;
    }
    return next;
  }

  private takeHeader(buf: Buffer, pos: number): number {
    const start = pos;
    const starts = this.starts;
    let f = 0;
    starts[0] = pos;
    let b: number;
    while ((b = buf[pos] as number) !== NL) {
      if (b === COMMA) {
        if (++f >= MAX_FIELDS) return -1;
        starts[f] = pos + 1;
      } else if (b === QUOTE || b > TILDE || (b < SPACE && !(b === CR && buf[pos + 1] === NL))) return -1;
      pos++;
    }
    const end = buf[pos - 1] === CR ? pos - 1 : pos;
    this.fields = f + 1;
    starts[this.fields] = end + 1;
    this.lineStart = start;
    this.lineEnd = end;
    this.line++;
    const fields = this.strings();
    if (fields.length === 1 && (fields[0] as string).trim() === "") return pos + 1;
    this.rows.header(fields, this.locate);
    this.headerText = buf.toString("latin1", start, end);
    this.adoptHeader();
    return pos + 1;
  }

  /** Looks up the column roles of the header TraceRows has just taken (from this scanner or the decoder). */
  private adoptHeader(): void {
    this.headerText ??= "";
    this.columns = this.rows.columns;
    this.roles.fill(ROLE_OTHER);
    const roleOf: [Parameters<TraceRows["columnIndex"]>[0], number][] = [
      ["event", ROLE_EVENT],
      ["vcpu", ROLE_VCPU],
      ["msr", ROLE_MSR],
      ["value", ROLE_VALUE],
    ];
    for (const [column, role] of roleOf) {
      const i = this.rows.columnIndex(column);
      if (i >= 0) this.roles[i] = role;
    }
    this.canonical = roleOf.every(([column], i) => this.rows.columnIndex(column) === i);
    // Timestamps wanted: takeAny decodes t (takeCanonical skips the columns after value).
    // TraceRows refused a header without t already.
    const t = this.rows.columnIndex("t");
    if (this.rows.timestamps !== null && t >= 0) {
      this.roles[t] = ROLE_T;
      this.timeNeeded = 1;
      this.canonical = false;
    }
  }

  /** Column of field i, as the csv-parse path computes it for unquoted fields. */
  private columnOf(i: number): number {
    if (i < this.fields) return (this.starts[i] as number) - this.lineStart + 1;
    return this.lineEnd - this.lineStart + 2;
  }

  private strings(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.fields; i++) {
      out.push(this.buf.toString("latin1", this.starts[i] as number, (this.starts[i + 1] as number) - 1));
    }
    return out;
  }
}

/** The hot events by their bytes; -1 for any other (the string decoder decides). */
function eventCode(buf: Buffer, s: number, len: number): number {
  const c0 = buf[s];
  if (len === 5 && buf[s + 2] === Byte.LETTER_M && buf[s + 3] === Byte.LETTER_S && buf[s + 4] === Byte.LETTER_R) {
    if (c0 === Byte.LETTER_R && buf[s + 1] === Byte.LETTER_D) return Ev.rdmsr; // rdmsr
    if (c0 === Byte.LETTER_W && buf[s + 1] === Byte.LETTER_R) return Ev.wrmsr; // wrmsr
    return -1;
  }
  if (c0 !== Byte.LETTER_V || buf[s + 1] !== Byte.LETTER_M || buf[s + 2] !== Byte.LETTER_E) return -1;
  if (len === 6 && buf[s + 3] === Byte.LOWER_X && buf[s + 4] === Byte.LETTER_I && buf[s + 5] === Byte.LETTER_T)
    return Ev.vmexit; // vmexit
  if (
    len === 7 &&
    buf[s + 3] === Byte.LETTER_N &&
    buf[s + 4] === Byte.LETTER_T &&
    buf[s + 5] === Byte.LETTER_R &&
    buf[s + 6] === Byte.LETTER_Y
  ) {
    return Ev.vmentry; // vmentry
  }
  return -1;
}

/** The "\n"s in buf before `end`. */
function lineEnds(buf: Buffer, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(NL); i >= 0 && i < end; i = buf.indexOf(NL, i + 1)) n++;
  return n;
}

/**
 * Whether the scanner takes the line at pos itself: a comment, a blank line,
 * or a line of printable ASCII without quotes (which may still turn out to
 * have too many fields: the scanner then hands it over).
 */
function plainLine(buf: Buffer, pos: number): boolean {
  if (buf[pos] === HASH) return true;
  for (let p = pos; ; p++) {
    const b = buf[p] as number;
    if (b === NL) return true;
    if (b === QUOTE || b > TILDE || (b < SPACE && !(b === CR && buf[p + 1] === NL))) return false;
  }
}

/** The end of the record starting at pos: its first "\n" outside quotes, or -1 when buf ends first. */
function quotedEnd(buf: Buffer, pos: number): number {
  let quotes = 0;
  for (let p = pos; p < buf.length; p++) {
    const b = buf[p] as number;
    if (b === QUOTE) quotes ^= 1;
    else if (b === NL && quotes === 0) return p;
  }
  return -1;
}
