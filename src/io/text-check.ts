/**
 * A trace is UTF-8 text: NUL bytes and invalid UTF-8 are errors, found as
 * bytes stream by, with the line and column (in characters) where they are.
 * Only the csv-parse path needs it: the fast scanner hands over any line
 * with a byte outside printable ASCII.
 */

export interface TextProblem {
  /** Offset in the chunk of the first byte of the line holding the problem. */
  readonly lineStart: number;
  /** 1-based, counted from where the checker started. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export class TextChecker {
  /** At the file's start: a UTF-8 BOM there is no character (csv-parse drops it). */
  constructor(private readonly atFileStart = false) {}

  private offset = 0;
  private bom = 0;
  private line = 1;
  private column = 1;
  /** Continuation bytes still expected, and the bounds of the next one. */
  private needed = 0;
  private low = 0x80;
  private high = 0xbf;

  /** The first problem in the chunk, or null; the checker has read the chunk either way. */
  check(chunk: Uint8Array): TextProblem | null {
    let lineStart = 0;
    for (let i = 0; i < chunk.length; i++, this.offset++) {
      const b = chunk[i] as number;
      if (this.atFileStart && this.offset < 3 && b === BOM[this.offset] && this.bom === this.offset) this.bom++;
      if (this.needed > 0) {
        if (b < this.low || b > this.high)
          return this.problem(lineStart, `invalid UTF-8 (byte 0x${hex(b)} where a continuation byte belongs)`);
        this.low = 0x80;
        this.high = 0xbf;
        if (--this.needed === 0) this.column++;
        continue;
      }
      if (b < 0x80) {
        if (b === 0) return this.problem(lineStart, "a NUL byte: a trace is text (is this a binary file?)");
        if (b === 0x0a) {
          this.line++;
          this.column = 1;
          lineStart = i + 1;
        } else this.column++;
        continue;
      }
      // Lead bytes (Unicode 15, table 3-7: well-formed UTF-8 byte sequences).
      if (b >= 0xc2 && b <= 0xdf) this.needed = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        this.needed = 2;
        if (b === 0xe0) this.low = 0xa0;
        if (b === 0xed) this.high = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        this.needed = 3;
        if (b === 0xf0) this.low = 0x90;
        if (b === 0xf4) this.high = 0x8f;
      } else return this.problem(lineStart, `invalid UTF-8 (byte 0x${hex(b)})`);
    }
    return null;
  }

  /** The input ended: a sequence cut short is invalid too. */
  finish(): TextProblem | null {
    return this.needed > 0 ? this.problem(0, "invalid UTF-8 (the input ends inside a character)") : null;
  }

  private problem(lineStart: number, message: string): TextProblem {
    // Line 1's columns start after a BOM.
    const column = this.line === 1 && this.bom === 3 ? this.column - 1 : this.column;
    return { lineStart, line: this.line, column, message };
  }
}

const BOM = [0xef, 0xbb, 0xbf];

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
