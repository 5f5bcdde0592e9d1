/**
 * `explain TRACE --line N`: reads the trace in this thread (no worker: it
 * is one access) up to and including line N, replaying the events before it,
 * and stops reading there. Line N must hold an access (rdmsr or wrmsr); any
 * other line gets a one-line error saying what it is.
 */
import { Readable } from "node:stream";
import { EVENT_NAMES, Ev, type TraceEvent } from "../engine/events.js";
import { AccessExplainer, type Explanation } from "../engine/explain.js";
import { at, InputError } from "../io/errors.js";
import { loadStrategyModules } from "../io/strategy-modules.js";
import { readTrace, shownName } from "../io/trace-reader.js";
import { traceChunks } from "../io/trace-source.js";
import { packedTotals, whyNoAccessPacked } from "./explain-packed.js";
import type { ReplaySpec } from "./protocol.js";

/**
 * Stops the reader once the line is reached. An InputError, because the
 * reader passes those through as they are (any other error it rewraps);
 * caught below, never shown.
 */
class StopReading extends InputError {
  constructor() {
    super("internal: stop reading");
  }
}

const NOT_AN_ACCESS = "not an access (rdmsr or wrmsr)";

export async function explainLine(file: string, line: number, spec: ReplaySpec): Promise<Explanation> {
  const shown = shownName(file);
  const explainer = new AccessExplainer({
    strategies: (await loadStrategyModules(spec.strategyModules ?? [])).named(spec.strategies),
    l0: spec.l0,
    l1Bitmap: spec.l1Bitmap,
    l1Override: spec.l1Override,
  });
  const tap = new LineTap(line);
  // A packed trace has no lines of text to watch: its totals say what a line without an event is.
  const packed = await packedTotals(file);
  let explanation: Explanation | null = null;
  const onEvent = (ev: TraceEvent) => {
    if (ev.line < line) {
      explainer.apply(ev);
      return;
    }
    if (ev.line === line) {
      if (ev.code !== Ev.rdmsr && ev.code !== Ev.wrmsr) {
        throw new InputError(`${at(shown, line)}line ${line} is a ${EVENT_NAMES[ev.code]} row, ${NOT_AN_ACCESS}`);
      }
      explanation = explainer.explain(ev);
    }
    // Line N is explained, or it held no event: nothing after it matters.
    throw new StopReading();
  };
  try {
    await readTrace({
      file,
      ...(packed ? {} : { input: Readable.from(tap.through(traceChunks(file)), { highWaterMark: 1 }) }),
      onEvent,
      snapshotDirs: spec.snapshotDirs,
      outputs: spec.outputs,
      ...(spec.lenient ? { skipped: { rows: 0, first: [] } } : {}),
    });
  } catch (error) {
    if (!(error instanceof StopReading)) throw error;
  }
  if (explanation !== null) return explanation;
  throw new InputError(packed ? whyNoAccessPacked(shown, line, packed, NOT_AN_ACCESS) : tap.whyNoAccess(shown));
}

/** Bytes of a line kept to tell what it is (a comment, blank, the header). */
const KEPT = 64;
const NL = 0x0a;
const BOM = "\ufeff";

/**
 * Watches the trace's bytes on their way to the reader, up to line N: how
 * many lines there are, which is the header (the first line that is neither
 * a comment nor blank, docs/model.md §3) and how line N starts. The reader
 * itself does not say what a line without an event was.
 */
class LineTap {
  /** Lines ended so far. */
  private ended = 0;
  /** Bytes after the last line end (a last line without one). */
  private partial = false;
  private headerLine = 0;
  /** The start of the line being read, while it may matter. */
  private current: Buffer[] = [];
  private currentBytes = 0;
  private lineText: string | null = null;

  constructor(private readonly line: number) {}

  async *through(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      // The source reuses its buffers: the reader gets a copy it may keep.
      const copy = Buffer.from(chunk);
      if (this.ended < this.line) this.scan(copy);
      // Line N cannot hold an event (a comment, blank, the header): the rest is not needed.
      if (this.lineText !== null && (kind(this.lineText) !== "content" || this.line === this.headerLine)) {
        throw new StopReading();
      }
      yield copy;
    }
    if (this.ended < this.line && this.partial) this.endLine();
  }

  private scan(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && this.ended < this.line) {
      const nl = chunk.indexOf(NL, pos);
      const end = nl < 0 ? chunk.length : nl;
      if (this.matters() && this.currentBytes < KEPT) {
        const piece = chunk.subarray(pos, Math.min(end, pos + KEPT - this.currentBytes));
        this.current.push(Buffer.from(piece));
        this.currentBytes += piece.length;
      }
      if (nl < 0) {
        this.partial = true;
        return;
      }
      this.endLine();
      pos = nl + 1;
    }
  }

  /** The line being read is line N, or the header is not found yet. */
  private matters(): boolean {
    return this.headerLine === 0 || this.ended + 1 === this.line;
  }

  private endLine(): void {
    const number = this.ended + 1;
    let text = Buffer.concat(this.current).toString("utf8");
    if (number === 1 && text.startsWith(BOM)) text = text.slice(BOM.length);
    text = text.replace(/\r$/, "");
    this.current = [];
    this.currentBytes = 0;
    this.partial = false;
    this.ended = number;
    if (this.headerLine === 0 && kind(text) === "content") this.headerLine = number;
    if (number === this.line) this.lineText = text;
  }

  /** Why line N holds no access: it is past the end, a comment, blank, the header, or no row of its own. */
  whyNoAccess(file: string): string {
    const n = this.line;
    if (this.lineText === null) {
      const lines = this.ended === 1 ? "1 line" : `${this.ended} lines`;
      return `${at(file)}line ${n} is past the end: the trace has ${lines}`;
    }
    const what = kind(this.lineText);
    if (what === "comment") return `${at(file, n)}line ${n} is a comment, ${NOT_AN_ACCESS}`;
    if (what === "blank") return `${at(file, n)}line ${n} is blank, ${NOT_AN_ACCESS}`;
    if (n === this.headerLine) return `${at(file, n)}line ${n} is the header (it names the columns), ${NOT_AN_ACCESS}`;
    return (
      `${at(file, n)}line ${n} holds no event of its own (part of a quoted row that began on an earlier line, ` +
      `or a row --lenient skipped), ${NOT_AN_ACCESS}`
    );
  }
}

/** docs/model.md §3: lines starting with # are comments; a line of spaces is blank. */
function kind(text: string): "comment" | "blank" | "content" {
  if (text.startsWith("#")) return "comment";
  return text.trim() === "" ? "blank" : "content";
}
