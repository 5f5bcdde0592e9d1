/**
 * Turns trace rows (already split into fields) into engine events (docs/model.md
 * §3). Knows the header, the columns each event needs and every range
 * check; the CSV tokenizer in trace-reader.ts only supplies fields and where
 * each one starts.
 */
import { DIR_R, DIR_RW, DIR_W, hasBit } from "../engine/bitmap.js";
import {
  blankEvent,
  EVENT_NAMES,
  Ev,
  type EventCode,
  MODE_LEGACY,
  MODE_LONGMODE,
  type TraceEvent,
} from "../engine/events.js";
import { MAX_VCPUS } from "../engine/machine.js";
import { at, InputError } from "./errors.js";
import { hex, isU64, parseUnsigned, U32_MAX } from "./numbers.js";

export const COLUMNS = ["event", "vcpu", "msr", "value", "page", "dir", "file", "t"] as const;
export type Column = (typeof COLUMNS)[number];

/** Guest-physical addresses are at most 52 bits (SDM: MAXPHYADDR <= 52). */
const MAX_GPA = 2 ** 52 - 1;
const PAGE_MASK = 0xfff;

/**
 * A timestamp `t` when one is needed: seconds, digits with an optional
 * fraction, as ftrace, trace-cmd and perf print them and `import` writes them.
 */
export const TIMESTAMP = /^[0-9]+(\.[0-9]+)?$/;

const EVENT_CODES = new Map<string, EventCode>(EVENT_NAMES.map((name, code) => [name, code as EventCode]));
const DIRS = new Map<string, number>([
  ["r", DIR_R],
  ["w", DIR_W],
  ["rw", DIR_RW],
]);

/** Where a field starts, for error messages. */
export type FieldLocator = (index: number) => { line: number; column: number };

/** Reads a bitmap snapshot named in a `file` field; throws InputError. */
export type SnapshotLoader = (name: string) => Uint8Array;

/** What a time window says of a header without t. */
function noTimestampColumn(option: string): string {
  return (
    `${option} needs a timestamp on every row, but the header has no t column ` +
    "(give a window in events instead, e.g. --window 10k)"
  );
}

export class TraceRows {
  /** Field index of each column, or -1. */
  private readonly index: Record<Column, number> = {
    event: -1,
    vcpu: -1,
    msr: -1,
    value: -1,
    page: -1,
    dir: -1,
    file: -1,
    t: -1,
  };
  /** The header's line number, 0 until it is read. */
  headerLine = 0;
  /**
   * The option that needs each row's `t` decoded (e.g. "--window 50ms"), or
   * null: then `t` is carried through, never interpreted (docs/model.md §3).
   * Set before the header is read.
   */
  timestamps: string | null = null;
  private columnCount = 0;
  private readonly ev: TraceEvent = blankEvent();
  private fields: readonly string[] = [];
  private locate: FieldLocator = () => ({ line: 0, column: 0 });

  constructor(
    /** The trace as errors name it. */
    readonly file: string,
    private readonly loadSnapshot: SnapshotLoader,
  ) {}

  get hasHeader(): boolean {
    return this.headerLine !== 0;
  }

  /** How many columns the header names (0 before it). */
  get columns(): number {
    return this.columnCount;
  }

  /** Field index of a column, or -1 when the header lacks it. */
  columnIndex(column: Column): number {
    return this.index[column];
  }

  /** The shared event every decode fills (the fast scanner fills it too). */
  get event(): TraceEvent {
    return this.ev;
  }

  /** The first non-comment, non-blank row: column names, in any order. */
  header(fields: readonly string[], locate: FieldLocator): void {
    fields.forEach((raw, i) => {
      const name = raw.trim();
      const column = COLUMNS.find((c) => c === name);
      const { line, column: col } = locate(i);
      if (column === undefined) {
        throw new InputError(
          `${at(this.file, line, col)}unknown column "${name}" in the header (expected ${COLUMNS.join(", ")})`,
        );
      }
      if (this.index[column] >= 0)
        throw new InputError(`${at(this.file, line, col)}column ${name} appears twice in the header`);
      this.index[column] = i;
    });
    this.headerLine = locate(0).line;
    this.columnCount = fields.length;
    if (this.index.event < 0) {
      throw new InputError(
        `${at(this.file, this.headerLine)}the header has no "event" column (it names the columns, e.g. event,vcpu,msr,value)`,
      );
    }
    if (this.timestamps !== null && this.index.t < 0) {
      if (this.onTimestampProblem !== null) {
        // pack: no t to keep; what a time window would say is kept instead.
        this.onTimestampProblem({ line: this.headerLine, column: 0, message: noTimestampColumn(this.timestamps) });
        return;
      }
      throw new InputError(`${at(this.file, this.headerLine)}${noTimestampColumn(this.timestamps)}`);
    }
  }

  /**
   * `pack`: a row without a valid `t` (or a header without the column) is
   * no error; it is told here instead, with what a time window would report,
   * and the row's `t` is NaN. Set before the header is read, with timestamps.
   */
  onTimestampProblem: ((problem: { line: number; column: number; message: string }) => void) | null = null;

  /**
   * --lenient: told about each bad row instead of stopping. Without it, row()
   * and rowOrSkip() throw.
   */
  onBadRow: ((error: InputError) => void) | null = null;

  /** The first record is the header (null); every later one, rowOrSkip(). */
  take(fields: readonly string[], locate: FieldLocator): TraceEvent | null {
    if (this.hasHeader) return this.rowOrSkip(fields, locate);
    this.header(fields, locate);
    return null;
  }

  /** row(), or null for a bad row when onBadRow takes it. */
  rowOrSkip(fields: readonly string[], locate: FieldLocator): TraceEvent | null {
    if (this.onBadRow === null) return this.row(fields, locate);
    try {
      return this.row(fields, locate);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.onBadRow(error);
      return null;
    }
  }

  /** Decodes one row into the shared event object, which is valid until the next call. */
  row(fields: readonly string[], locate: FieldLocator): TraceEvent {
    this.fields = fields;
    this.locate = locate;
    if (fields.length > this.columnCount) {
      const { line, column } = locate(this.columnCount);
      throw new InputError(
        `${at(this.file, line, column)}${fields.length} fields, but the header (line ${this.headerLine}) names ${this.columnCount} columns`,
      );
    }
    const ev = this.ev;
    const name = this.text("event");
    const code = EVENT_CODES.get(name);
    if (code === undefined) {
      if (name === "") this.fail("event", "the event is missing");
      this.fail("event", `"${name}" is not an event (expected one of ${EVENT_NAMES.join(", ")})`);
    }
    ev.code = code;
    ev.line = locate(0).line;
    ev.content = null;
    ev.vcpu = this.optionalNumber("vcpu", MAX_VCPUS - 1, "a vCPU number (0-4095)", 0);
    if (this.timestamps !== null) ev.t = this.time(this.timestamps);
    switch (code) {
      case Ev.rdmsr:
        ev.msr = this.msr(false);
        this.optionalU64();
        break;
      case Ev.wrmsr:
        ev.msr = this.msr(false);
        this.required("value", "a 64-bit value");
        this.optionalU64();
        break;
      case Ev.vmexit:
      case Ev.vmentry:
        break;
      case Ev.bitmapLoad:
        ev.page = this.page();
        ev.content = this.snapshot();
        break;
      case Ev.bitmapSet:
      case Ev.l0Set:
        ev.page = code === Ev.bitmapSet ? this.page() : 0;
        ev.msr = this.msr(true);
        ev.dir = this.dir();
        ev.flag = this.flag();
        break;
      case Ev.bitmapPtr:
        ev.page = this.page();
        break;
      case Ev.useBitmap:
        ev.flag = this.flag();
        break;
      case Ev.l1Mode: {
        const mode = this.required("value", "a mode (longmode or legacy)");
        if (mode === "longmode") ev.flag = MODE_LONGMODE;
        else if (mode === "legacy") ev.flag = MODE_LEGACY;
        else this.fail("value", `"${mode}" is not a mode (expected longmode or legacy)`);
        break;
      }
    }
    return ev;
  }

  private text(column: Column): string {
    const i = this.index[column];
    return i < 0 ? "" : (this.fields[i] ?? "").trim();
  }

  private fail(column: Column, message: string): never {
    const i = this.index[column];
    const where = this.locate(Math.max(i, 0));
    throw new InputError(`${at(this.file, where.line, where.column)}column ${column}: ${message}`);
  }

  /** The field's text; a missing column or empty field is an error naming what the event needs. */
  private required(column: Column, what: string): string {
    const text = this.text(column);
    if (text !== "") return text;
    const event = EVENT_NAMES[this.ev.code];
    if (this.index[column] < 0) {
      const { line } = this.locate(0);
      throw new InputError(
        `${at(this.file, line)}${event} needs column ${column} (${what}), which the header on line ${this.headerLine} does not have`,
      );
    }
    this.fail(column, `${event} needs ${what}`);
  }

  private optionalNumber(column: Column, max: number, what: string, fallback: number): number {
    const text = this.text(column);
    if (text === "") return fallback;
    const n = parseUnsigned(text, max);
    if (n < 0) this.fail(column, `"${text}" is not ${what}`);
    return n;
  }

  /** The `t` column as seconds, when an option needs it: a decimal number (TIMESTAMP), as ftrace and perf print it. */
  private time(option: string): number {
    const text = this.text("t");
    if (text === "") return this.timeProblem(`${option} needs a timestamp in column t (seconds, e.g. 5348.808119)`);
    const t = TIMESTAMP.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(t)) {
      return this.timeProblem(
        `"${text}" is not a timestamp (seconds, a decimal number such as 5348.808119), which ${option} needs`,
      );
    }
    return t;
  }

  /** A row without a valid `t`: an error, or (pack) told to onTimestampProblem and NaN. */
  private timeProblem(message: string): number {
    if (this.onTimestampProblem === null) this.fail("t", message);
    const where = this.locate(Math.max(this.index.t, 0));
    this.onTimestampProblem({ line: where.line, column: where.column, message: `column t: ${message}` });
    return Number.NaN;
  }

  private msr(needsBit: boolean): number {
    const text = this.required("msr", "an MSR index");
    const msr = parseUnsigned(text, U32_MAX);
    if (msr < 0) this.fail("msr", `"${text}" is not an MSR index (32 bits, hex 0x… or decimal)`);
    if (needsBit && !hasBit(msr)) {
      this.fail(
        "msr",
        `MSR ${hex(msr)} has no bit in the MSR bitmap, so ${EVENT_NAMES[this.ev.code]} cannot change it (only 0x0-0x1fff and 0xc0000000-0xc0001fff have bits)`,
      );
    }
    return msr;
  }

  private optionalU64(): void {
    const text = this.text("value");
    if (text !== "" && !isU64(text)) this.fail("value", `"${text}" is not a 64-bit value (hex 0x… or decimal)`);
  }

  private page(): number {
    const text = this.required("page", "a guest-physical page address");
    const gpa = parseUnsigned(text, Number.MAX_SAFE_INTEGER);
    if (gpa < 0) this.fail("page", `"${text}" is not a guest-physical address (hex 0x… or decimal)`);
    if (gpa > MAX_GPA) this.fail("page", `${hex(gpa)} is beyond the 52-bit guest-physical address space`);
    if (gpa % (PAGE_MASK + 1) !== 0) this.fail("page", `${hex(gpa)} is not 4 KiB aligned (its low 12 bits must be 0)`);
    return gpa;
  }

  private dir(): number {
    const text = this.required("dir", "a direction (r, w or rw)");
    const dir = DIRS.get(text);
    if (dir === undefined) this.fail("dir", `"${text}" is not a direction (expected r, w or rw)`);
    return dir;
  }

  private flag(): number {
    const text = this.required("value", "0 or 1");
    if (text !== "0" && text !== "1") this.fail("value", `"${text}" is not 0 or 1`);
    return text === "1" ? 1 : 0;
  }

  private snapshot(): Uint8Array {
    const name = this.required("file", "a bitmap snapshot (.bin or .json)");
    try {
      return this.loadSnapshot(name);
    } catch (error) {
      if (error instanceof InputError) this.fail("file", error.message);
      throw error;
    }
  }
}
