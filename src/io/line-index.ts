/**
 * Line numbers for the csv-parse path, where lines end with LF only (docs/model.md §3:
 * \n or \r\n; csv-parse's own count takes CRs for line ends in some places).
 * Records are placed by the byte offsets csv-parse reports; the bytes after
 * the last one are kept (`rest`) to place an error. Offsets are asked in
 * increasing order; chunks are dropped once passed.
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

  add(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The line on which the text before offset `end` ends (a line end there closes that line). */
  lineEndingAt(end: number): number {
    this.advance(Math.min(end, this.total));
    return this.lfs + 1 - (this.lastByte === 0x0a ? 1 : 0);
  }

  /**
   * The bytes added past the last offset asked about, the line they start on
   * (the offsets asked about are ends of records, so a line's start), and
   * whether they start the input.
   */
  rest(): { bytes: Buffer; line: number; atStart: boolean } {
    const from = this.scanned - this.base;
    const parts = this.chunks.map((chunk, i) => (i === 0 ? chunk.subarray(from) : chunk));
    return { bytes: Buffer.concat(parts), line: this.lfs + 1, atStart: this.scanned === 0 };
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
