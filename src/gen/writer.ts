/**
 * A streaming variant of writeFileAtomic (src/io/output.ts): chunks go to a
 * temporary file beside the target, with backpressure, and the file is renamed
 * over the target only once complete. On failure the temporary file is removed,
 * so a failed run leaves neither a partial file nor a damaged old one.
 */

import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { rename, stat, unlink } from "node:fs/promises";
import { finished } from "node:stream/promises";
import { at, InputError, reason } from "../io/errors.js";
import { tempBeside, trackTemp } from "../io/output.js";

export class AtomicStreamWriter {
  readonly temp: string;
  private readonly untrack: () => void;
  private readonly stream: WriteStream;
  private failure: unknown = null;

  /** Creates the temporary file (an error names the target). */
  static async open(path: string): Promise<AtomicStreamWriter> {
    // A folder in the way would only fail at the rename, after all the work.
    const existing = await stat(path).catch(() => null);
    if (existing?.isDirectory()) throw new InputError(`${at(path)}cannot write the output: is a folder, not a file`);
    const writer = new AtomicStreamWriter(path);
    try {
      await once(writer.stream, "open");
    } catch (error) {
      await writer.abort();
      throw writer.wrap(error);
    }
    return writer;
  }

  private constructor(readonly path: string) {
    this.temp = tempBeside(path);
    this.untrack = trackTemp(this.temp);
    this.stream = createWriteStream(this.temp, { flags: "wx", highWaterMark: 4 << 20 });
    this.stream.on("error", (error) => {
      this.failure ??= error;
    });
  }

  /** Writes a chunk; resolves at once unless the stream's buffer is full, then once it drains. */
  async write(chunk: string): Promise<void> {
    if (this.failure) throw this.wrap(this.failure);
    if (!this.stream.write(chunk)) {
      try {
        await once(this.stream, "drain");
      } catch (error) {
        throw this.wrap(this.failure ?? error);
      }
    }
  }

  /** Flushes, closes and renames the file over the target. */
  async commit(): Promise<void> {
    try {
      this.stream.end();
      await finished(this.stream);
      if (this.failure) throw this.failure;
      await rename(this.temp, this.path);
      this.untrack();
    } catch (error) {
      await this.abort();
      throw this.wrap(this.failure ?? error);
    }
  }

  /** Gives up: closes the stream and removes the temporary file. */
  async abort(): Promise<void> {
    this.stream.destroy();
    await finished(this.stream).catch(() => {});
    await unlink(this.temp).catch(() => {});
    this.untrack();
  }

  private wrap(error: unknown): InputError {
    return error instanceof InputError
      ? error
      : new InputError(`${at(this.path)}cannot write the output: ${reason(error)}`);
  }
}
