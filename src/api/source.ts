/**
 * What the library accepts as a trace: a path, a Node Readable, or any
 * AsyncIterable of bytes (a web stream, a generator). The reader takes a
 * Readable; gzip is recognised from the first bytes as for a file
 * (src/io/trace-source.ts).
 */
import { Readable } from "node:stream";
import { InputError } from "../io/errors.js";

/** A trace path, or its bytes as a stream. */
export type TraceInput = string | Readable | AsyncIterable<Uint8Array>;

/** How a stream is named in results and messages when the caller gives no `name`. */
export const STREAM_NAME = "<stream>";

/** The reader's view of an input: the name it shows (and resolves snapshots against), and the bytes if not a file. */
export interface OpenedInput {
  readonly file: string;
  readonly input?: Readable;
}

export function openInput(source: unknown, name: string | undefined, what: string): OpenedInput {
  if (typeof source === "string") {
    if (source === "") throw new InputError(`${what}: the trace path is empty`);
    return { file: source };
  }
  // A stream's snapshots resolve against the current folder, as a piped trace's do (README "Commands").
  const file = name ?? STREAM_NAME;
  if (source instanceof Readable) return { file, input: source };
  if (isAsyncIterable(source)) return { file, input: Readable.from(source, { objectMode: false }) };
  throw new InputError(`${what}: a trace is a path, a Readable or an AsyncIterable of bytes, not ${describe(source)}`);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function"
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
