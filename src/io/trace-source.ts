/**
 * Opens a trace for reading: a file, or `-` for stdin; gzip is recognised by
 * its magic bytes (1f 8b), whatever the name, and decompressed on the fly.
 *
 * The chunks of a plain file are read into two reused buffers: a chunk is
 * valid until the next one is asked for, and a consumer that keeps bytes
 * longer copies them.
 */
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { Readable as ReadableStream } from "node:stream";

/** Big reads: fewer chunks to stitch lines across. */
const CHUNK = 1 << 20;

export const STDIN = "-";

/** A gzip stream that does not decompress: truncated or corrupt. */
export class GzipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GzipError";
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The trace's bytes, decompressed if need be. */
export function traceChunks(
  file: string,
  input?: Readable,
  onBytes?: (bytes: number) => void,
  onRaw?: (chunk: Buffer) => void,
): AsyncIterable<Buffer> {
  const raw = input ? streamChunks(input) : file === STDIN ? streamChunks(process.stdin) : fileChunks(file);
  // onRaw (the cache's CRC-32 of the file as stored) sees each chunk before gunzip.
  const tapped = onRaw ? tap(raw, onRaw) : raw;
  return gunzipIfNeeded(onBytes ? counted(tapped, onBytes) : tapped);
}

async function* tap(chunks: AsyncGenerator<Buffer>, onRaw: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      onRaw(next.value);
      yield next.value;
    }
  } finally {
    await chunks.return(undefined);
  }
}

async function* counted(chunks: AsyncGenerator<Buffer>, onBytes: (bytes: number) => void): AsyncGenerator<Buffer> {
  let bytes = 0;
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done) return;
      bytes += next.value.length;
      onBytes(bytes);
      yield next.value;
    }
  } finally {
    await chunks.return(undefined);
  }
}

/** Reads ahead into a second buffer while the consumer works on the first. */
export async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, "r");
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let which = 0;
  let pending = handle.read(buffers[0] as Buffer, 0, CHUNK, null);
  try {
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) return;
      which ^= 1;
      pending = handle.read(buffers[which] as Buffer, 0, CHUNK, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await pending.catch(() => undefined);
    await handle.close();
  }
}

async function* streamChunks(stream: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
  } finally {
    if (stream !== process.stdin) stream.destroy();
  }
}

async function* gunzipIfNeeded(chunks: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    // Enough bytes to tell gzip (a pipe may deliver one byte first).
    let head: Buffer = Buffer.alloc(0);
    while (head.length < 2) {
      const next = await chunks.next();
      if (next.done) break;
      head = head.length === 0 && next.value.length >= 2 ? next.value : Buffer.concat([head, next.value]);
    }
    if (!isGzip(head)) {
      if (head.length > 0) yield head;
      yield* remaining(chunks);
      return;
    }
    // zlib reads asynchronously, so it gets copies of the reused buffer.
    const compressed = ReadableStream.from(copies(head, chunks), { objectMode: false });
    // node:zlib only for a gzip trace: not every command's start-up.
    const { createGunzip } = await import("node:zlib");
    const gunzip = createGunzip({ chunkSize: CHUNK });
    compressed.on("error", (error) => gunzip.destroy(error));
    compressed.pipe(gunzip);
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      if (code.startsWith("Z_") || code === "ERR_ZLIB_INITIALIZATION_FAILED") {
        throw new GzipError(`the gzip stream is truncated or corrupt (${(error as Error).message})`);
      }
      throw error;
    } finally {
      compressed.destroy();
      gunzip.destroy();
    }
  } finally {
    await chunks.return(undefined);
  }
}

async function* remaining(chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (;;) {
    const next = await chunks.next();
    if (next.done) return;
    yield next.value;
  }
}

async function* copies(head: Buffer, chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield Buffer.from(head);
  for await (const chunk of remaining(chunks)) yield Buffer.from(chunk);
}
