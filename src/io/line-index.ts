/**
 * Line numbers by byte offset, for the csv-parse path: csv-parse counts every
 * CR as a line end, we count LF only (SPEC: lines end with \n or \r\n), so
 * lines are found from the offsets csv-parse reports (`bytes`), counting LFs.
 * Offsets are asked in increasing order; chunks are dropped once passed.
 */
export class LineIndex {
  private readonly chunks: Uint8Array[] = [];
  /** Global offset of chunks[0]. */
  private base = 0;
  /** Global offset counted up to, and the LFs before it. */
  private scanned = 0;
  private lfs = 0;
  private lastByte = -1;
  private total = 0;

  /** Whether any CR came by: without one, csv-parse's own line count is right. */
  sawCR = false;

  add(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (!this.sawCR && chunk.indexOf(0x0d) >= 0) this.sawCR = true;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The line on which the text before offset `end` ends (a line end there closes that line). */
  lineEndingAt(end: number): number {
    this.advance(Math.min(end, this.total));
    return this.lfs + 1 - (this.lastByte === 0x0a ? 1 : 0);
  }

  /** The line holding the byte at offset `at` (where csv-parse stopped on an error). */
  lineAt(at: number): number {
    this.advance(Math.min(at, this.total));
    return this.lfs + 1;
  }

  /** Lines in everything added: LF-ended ones, and a last one without an LF. */
  lines(): number {
    return this.lineEndingAt(this.total);
  }

  private advance(to: number): void {
    while (this.scanned < to) {
      const chunk = this.chunks[0] as Uint8Array;
      const from = this.scanned - this.base;
      const stop = Math.min(chunk.length, to - this.base);
      for (let i = from; i < stop; i++) if (chunk[i] === 0x0a) this.lfs++;
      this.lastByte = chunk[stop - 1] as number;
      this.scanned = this.base + stop;
      if (stop === chunk.length) {
        this.chunks.shift();
        this.base += chunk.length;
      }
    }
  }
}
