/**
 * `gen`'s trace output: chunks streamed, with backpressure, into `-o FILE` by
 * the rules every output follows (src/io/output.ts): a temporary file beside
 * it renamed over it once complete (a failed run leaves neither a partial file
 * nor a damaged old one), a FIFO or device written into, never replaced.
 */
export { OutputFile as AtomicStreamWriter } from "../io/output.js";
