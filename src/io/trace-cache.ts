/**
 * The cache of packed traces (issue 15 item 2): a CSV trace replayed a
 * second time is read from its packed form (io/packed), written as a side
 * effect of the first replay's one read of the CSV.
 *
 * An entry is one file, `KEY.nvmx`: the packed trace, then a trailer (JSON,
 * its length as a u32, TRAILER_MAGIC). KEY hashes the CSV's identity
 * (device, inode, size, mtime and ctime: utimes can restore an mtime, never
 * a ctime) and the packed format's version. The trailer repeats the identity
 * and adds what the key cannot know before the CSV is read: a CRC-32 of the
 * file as stored (gzip or not), taken while the first run reads it and
 * checked again before the entry is used; the snapshots the trace loaded,
 * by name, with a CRC-32 of each (loaded again, through the run's own
 * folders, before use: an edited snapshot is a miss); and whether events
 * carry `t`.
 *
 * An entry is written to a temporary file in the cache folder and renamed
 * into place, so a reader never sees a partial one and two racing runs each
 * leave a whole one (the last rename wins). A reader keeps the entry open
 * from its checks to its last byte, so a rename or an eviction meanwhile
 * changes nothing it reads. An entry that fails its checks (a bad trailer, a
 * chunk's CRC-32) is deleted and the CSV read instead, with a note.
 *
 * Nothing here ever fails a run: a cache folder that cannot be written, a
 * full disk, a CSV that changed while it was read, all cost only the entry.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { threadId } from "node:worker_threads";
import { CACHE_DIR_MODE, type CacheSpec, STALE_TEMP_MS, TEMP_SUFFIX } from "./cache-spec.js";
import { InputError, reason } from "./errors.js";
import { crc32, VERSION } from "./packed/format.js";
import { looksPacked } from "./packed/magic.js";
import { readPacked } from "./packed/reader.js";
import { PackWriter } from "./packed/writer.js";
import { printable } from "./printable.js";
import { SnapshotStore } from "./snapshot.js";
import type { ReadTraceOptions, TraceStats } from "./trace-reader.js";
import { fileChunks, STDIN } from "./trace-source.js";

/** Bytes of packed trace waiting to be written before the reader waits for the disk. */
const MAX_BACKLOG_BYTES = 16 << 20;
/** Reads of an entry's body (the CSV's own CRC-32 reads as the trace reader does: fileChunks). */
const READ_BYTES = 1 << 20;
/** The last bytes of an entry: ASCII "NVMXCACH". */
const TRAILER_MAGIC = Buffer.from("NVMXCACH", "latin1");
/** The trailer's JSON length (u32) and TRAILER_MAGIC. */
const TRAILER_TAIL_BYTES = 4 + 8;
/** A trailer longer than this is damage, not a list of snapshots. */
const MAX_TRAILER_BYTES = 16 << 20;
/** Bumped when the trailer's fields change meaning. */
const TRAILER_VERSION = 1;
const ENTRY_SUFFIX = ".nvmx";
/** The key's length in hex digits (128 bits of SHA-256). */
const KEY_HEX = 32;

/** What an entry's trailer holds. */
interface Trailer {
  readonly v: number;
  readonly identity: Identity;
  /** CRC-32 of the trace file as stored. */
  readonly crc: number;
  /** Every event carries `t`. */
  readonly timestamps: boolean;
  readonly events: number;
  /** The snapshots the trace loaded: the name its rows give, and a CRC-32 of the page. */
  readonly snapshots: readonly { readonly name: string; readonly crc: number }[];
  /** When it was written (ms since the epoch). */
  readonly written: number;
}

/** A file's identity, as decimal strings (bigint stat: nanosecond times, 64-bit inodes). */
interface Identity {
  readonly dev: string;
  readonly ino: string;
  readonly size: string;
  readonly mtime: string;
  readonly ctime: string;
}

type Read = (options: ReadTraceOptions) => Promise<TraceStats>;

/**
 * readTrace with the cache: the entry when one is good for this file, its
 * snapshots and this run; otherwise the file, read once, its packed form
 * written on the way. `read` is readTrace itself (called without the cache).
 */
export async function readTraceCached(
  options: ReadTraceOptions & { cache: CacheSpec },
  read: Read,
): Promise<TraceStats> {
  const plain: ReadTraceOptions = { ...options, cache: null };
  // Stdin has no identity; a stream, or the reference reader, are the tests' and the library's.
  if (options.file === STDIN || options.input || options.reader === "csv-parse" || options.onTimestampProblem) {
    return read(plain);
  }
  const identity = await csvIdentity(options.file);
  if (identity === null) return read(plain); // missing, not a regular file, or already packed: the reader says
  const cache = options.cache;
  const entry = join(cache.dir, `${keyOf(identity)}${ENTRY_SUFFIX}`);
  const found = await lookUp(entry, identity, options);
  if (found.kind === "hit") return readEntry(found, options, read);
  const stats = await readAndWrite(entry, identity, options, read);
  if (found.kind !== "damaged") return stats;
  const rest = stats.cacheNote?.replace(/^cache: /, "") ?? "";
  const again = rest.startsWith("wrote ") ? "wrote it again" : rest;
  return { ...stats, cacheNote: again === "" ? found.note : `${found.note}; ${again}` };
}

/** The identity of a regular file that is not a packed trace already, or null. */
async function csvIdentity(file: string): Promise<Identity | null> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(file, "r");
    const s = await handle.stat({ bigint: true });
    if (!s.isFile()) return null;
    const head = Buffer.alloc(1);
    const { bytesRead } = await handle.read(head, 0, 1, 0);
    if (bytesRead === 1 && looksPacked(head)) return null;
    return {
      dev: String(s.dev),
      ino: String(s.ino),
      size: String(s.size),
      mtime: String(s.mtimeNs),
      ctime: String(s.ctimeNs),
    };
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function keyOf(identity: Identity): string {
  const text = JSON.stringify({ packed: VERSION, trailer: TRAILER_VERSION, ...identity });
  return createHash("sha256").update(text).digest("hex").slice(0, KEY_HEX);
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtime === b.mtime && a.ctime === b.ctime;
}

type LookUp =
  | { readonly kind: "miss" }
  | { readonly kind: "damaged"; readonly note: string }
  | { readonly kind: "hit"; readonly handle: FileHandle; readonly packedBytes: number; readonly trailer: Trailer };

/** Thrown inside lookUp for an entry that is damaged (deleted), as against stale (a miss, overwritten). */
class Damaged extends Error {}

async function lookUp(entry: string, identity: Identity, options: ReadTraceOptions): Promise<LookUp> {
  let handle: FileHandle;
  try {
    handle = await open(entry, "r");
  } catch {
    return { kind: "miss" };
  }
  let keep = false;
  try {
    const size = (await handle.stat()).size;
    const { trailer, packedBytes } = await readTrailer(handle, size);
    // Stale, not damaged: a miss, and this run's entry replaces it.
    if (!sameIdentity(trailer.identity, identity)) return { kind: "miss" };
    if (options.timestamps !== undefined && !trailer.timestamps) return { kind: "miss" };
    if (!snapshotsMatch(trailer, options)) return { kind: "miss" };
    // Every chunk's CRC-32 and the totals, before the replay sees one event: a damaged
    // entry found half-way could not fall back to the CSV. Checked while the CSV's own
    // CRC-32 is taken: each waits on its reads, so together they take about as long as one.
    const [crc, totals] = await Promise.all([
      fileCrc(options.file),
      readPacked(entryChunks(handle, packedBytes), {
        file: entry,
        onEvent: () => undefined,
        totalsOnly: true,
      }).catch(
        (error: unknown) =>
          new Damaged(error instanceof InputError ? error.message.replace(`${entry}: `, "") : reason(error)),
      ),
    ]);
    // Stale first: an entry for another content is replaced, whatever its state.
    if (crc !== trailer.crc) return { kind: "miss" };
    if (totals instanceof Damaged) throw totals;
    if (totals.events !== trailer.events) throw new Damaged("its event count differs from its trailer's");
    // Least recently used goes first: the mtime says when an entry was last used.
    const now = new Date();
    await handle.utimes(now, now).catch(() => undefined);
    keep = true;
    return { kind: "hit", handle, packedBytes, trailer };
  } catch (error) {
    if (!(error instanceof Damaged)) return { kind: "miss" };
    await unlink(entry).catch(() => undefined);
    return {
      kind: "damaged",
      note: `cache: deleted a damaged entry for ${printable(options.file)} (${error.message}) and read the CSV`,
    };
  } finally {
    if (!keep) await handle.close().catch(() => undefined);
  }
}

async function readTrailer(handle: FileHandle, size: number): Promise<{ trailer: Trailer; packedBytes: number }> {
  if (size < TRAILER_TAIL_BYTES) throw new Damaged(`${size} bytes, too short for an entry`);
  const tail = Buffer.alloc(TRAILER_TAIL_BYTES);
  await handle.read(tail, 0, TRAILER_TAIL_BYTES, size - TRAILER_TAIL_BYTES);
  if (!tail.subarray(4).equals(TRAILER_MAGIC)) throw new Damaged("no trailer");
  const length = tail.readUInt32LE(0);
  if (length > MAX_TRAILER_BYTES || length > size - TRAILER_TAIL_BYTES) throw new Damaged("a bad trailer length");
  const packedBytes = size - TRAILER_TAIL_BYTES - length;
  const json = Buffer.alloc(length);
  await handle.read(json, 0, length, packedBytes);
  let trailer: Trailer;
  try {
    trailer = JSON.parse(json.toString("utf8")) as Trailer;
  } catch {
    throw new Damaged("a trailer that is not JSON");
  }
  if (trailer?.v !== TRAILER_VERSION || typeof trailer.identity !== "object" || !Array.isArray(trailer.snapshots)) {
    throw new Damaged("a trailer of another version");
  }
  return { trailer, packedBytes };
}

/** The snapshots load (through this run's folders, -o refused) with the contents the entry embedded. */
function snapshotsMatch(trailer: Trailer, options: ReadTraceOptions): boolean {
  if (trailer.snapshots.length === 0) return true;
  const store = new SnapshotStore(dirname(options.file), options.snapshotDirs, options.outputs);
  try {
    return trailer.snapshots.every((s) => crc32(store.load(s.name, s.name)) === s.crc);
  } catch {
    return false; // the CSV's read reports it, at its line
  }
}

/** The file's CRC-32, each read issued before the last one's bytes are summed (fileChunks reads ahead). */
async function fileCrc(file: string): Promise<number> {
  let crc = 0;
  for await (const chunk of fileChunks(file)) crc = crc32(chunk, crc);
  return crc;
}

/** The packed part of an entry, in fresh chunks (a reader may hold on to them). */
async function* entryChunks(handle: FileHandle, packedBytes: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < packedBytes; ) {
    const want = Math.min(READ_BYTES, packedBytes - at);
    const buffer = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(buffer, 0, want, at);
    if (bytesRead === 0) return;
    at += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** A hit: the entry read as the packed trace it holds, named as the CSV (its lines are the CSV's). */
async function readEntry(
  found: Extract<LookUp, { kind: "hit" }>,
  options: ReadTraceOptions,
  read: Read,
): Promise<TraceStats> {
  const { handle, packedBytes, trailer } = found;
  const onBytes = options.onBytes;
  // Progress in the CSV's bytes, so that "time left" stays right.
  const scale = Number(trailer.identity.size) / Math.max(packedBytes, 1);
  try {
    const stats = await read({
      ...options,
      cache: null,
      input: Readable.from(entryChunks(handle, packedBytes), { objectMode: false }),
      ...(onBytes ? { onBytes: (bytes: number) => onBytes(Math.round(bytes * scale)) } : {}),
    });
    const written = new Date(trailer.written).toISOString().replace(/\.\d{3}Z$/, "Z");
    return { ...stats, cacheNote: `cache: read ${printable(options.file)}'s packed form (written ${written})` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * A miss: the CSV read once, its events packed on the way into a temporary
 * file, renamed into place when the read ends well. Not kept when rows were
 * skipped (--lenient: the entry would be a different trace), when the file
 * changed while it was read, or when it was a packed trace already.
 */
async function readAndWrite(
  entry: string,
  identity: Identity,
  options: ReadTraceOptions & { cache: CacheSpec },
  read: Read,
): Promise<TraceStats> {
  const dir = options.cache.dir;
  const temp = `${entry.slice(0, -ENTRY_SUFFIX.length)}.${process.pid}.${threadId}.${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`;
  let out: FileHandle;
  try {
    await mkdir(dir, { recursive: true, mode: CACHE_DIR_MODE });
    out = await open(temp, "wx");
  } catch (error) {
    const stats = await read({ ...options, cache: null });
    return { ...stats, cacheNote: `cache: cannot write in ${printable(dir)} (${reason(error)})` };
  }
  const timestamps = options.timestamps !== undefined;
  let writer: PackWriter | null = new PackWriter({ timestamps });
  let failure: unknown = null;
  let pending: Promise<void> = Promise.resolve();
  let backlog = 0;
  const flush = () => {
    const pieces = writer?.take() ?? [];
    if (pieces.length === 0 || failure !== null) return;
    const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
    backlog += length;
    pending = pending
      .then(() => writeAll(out, pieces))
      .then(
        () => {
          backlog -= length;
        },
        (error: unknown) => {
          failure = error;
          writer = null; // nothing more is packed: the entry is lost, the run goes on
        },
      );
  };
  let crc = 0;
  const snapshots = new Map<string, number>();
  let headerLine = 0;
  const onEvent = options.onEvent;
  const pace = options.pace;
  let stats: TraceStats;
  try {
    stats = await read({
      ...options,
      cache: null,
      onEvent: (ev) => {
        writer?.add(ev);
        onEvent(ev);
      },
      onRawChunk: (chunk) => {
        crc = crc32(chunk, crc);
      },
      onSnapshot: (name, page) => {
        if (!snapshots.has(name)) snapshots.set(name, crc32(page));
      },
      onPacked: () => {
        writer = null;
      },
      onHeaderLine: (line) => {
        headerLine = line;
        options.onHeaderLine?.(line);
      },
      pace: () => {
        flush();
        // A slow disk holds the reader back rather than memory growing.
        if (backlog > MAX_BACKLOG_BYTES) return pending.then(() => pace?.());
        return pace?.();
      },
    });
  } catch (error) {
    await discard(out, temp, pending);
    throw error;
  }
  const done = writer as PackWriter | null;
  const skipped = (options.skipped?.rows ?? 0) > 0;
  if (done === null || skipped) {
    await discard(out, temp, pending);
    return stats;
  }
  try {
    done.end({ lines: stats.lines, headerLine });
    flush();
    await pending;
    if (failure !== null) throw failure;
    const after = await csvIdentity(options.file);
    if (after === null || !sameIdentity(after, identity)) {
      await discard(out, temp, pending);
      return { ...stats, cacheNote: `cache: ${printable(options.file)} changed while it was read; nothing was kept` };
    }
    const trailer: Trailer = {
      v: TRAILER_VERSION,
      identity,
      crc,
      timestamps,
      events: stats.events,
      snapshots: [...snapshots].map(([name, crc]) => ({ name, crc })),
      written: Date.now(),
    };
    const json = Buffer.from(JSON.stringify(trailer), "utf8");
    const tail = Buffer.alloc(TRAILER_TAIL_BYTES);
    tail.writeUInt32LE(json.length, 0);
    TRAILER_MAGIC.copy(tail, 4);
    await writeAll(out, [json, tail]);
    await out.close();
    await rename(temp, entry);
  } catch (error) {
    await discard(out, temp, pending);
    return {
      ...stats,
      cacheNote: `cache: could not write ${printable(options.file)}'s packed form (${reason(error)})`,
    };
  }
  await evict(dir, options.cache.maxBytes, entry);
  return { ...stats, cacheNote: `cache: wrote the packed form of ${printable(options.file)}` };
}

/** The pieces in order, with one gathering write where the system takes it whole (no copy into one buffer). */
async function writeAll(handle: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const { bytesWritten } = await handle.writev(pieces as Uint8Array[]);
  if (bytesWritten === total) return;
  // A short write: the rest, from where it stopped.
  const rest = Buffer.concat(pieces).subarray(bytesWritten);
  for (let at = 0; at < rest.length; ) {
    const { bytesWritten: n } = await handle.write(rest, at, rest.length - at);
    at += n;
  }
}

async function discard(out: FileHandle, temp: string, pending: Promise<void>): Promise<void> {
  await pending.catch(() => undefined);
  await out.close().catch(() => undefined);
  await unlink(temp).catch(() => undefined);
}

/**
 * Keeps the folder under its bound: entries go least recently used first
 * (the mtime, which a hit sets), never the one just written. Temporary
 * files of runs that died go too. Racing runs may both delete: a file
 * already gone is no error.
 */
async function evict(dir: string, maxBytes: number, keep: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const now = Date.now();
  const entries: { path: string; stats: Stats }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const stats = await stat(path).catch(() => null);
    if (stats === null || !stats.isFile()) continue;
    if (name.endsWith(ENTRY_SUFFIX)) entries.push({ path, stats });
    else if (name.endsWith(TEMP_SUFFIX) && now - stats.mtimeMs > STALE_TEMP_MS)
      await unlink(path).catch(() => undefined);
  }
  let total = entries.reduce((sum, e) => sum + e.stats.size, 0);
  entries.sort((a, b) => a.stats.mtimeMs - b.stats.mtimeMs);
  for (const e of entries) {
    if (total <= maxBytes) break;
    if (e.path === keep) continue;
    await unlink(e.path).catch(() => undefined);
    total -= e.stats.size;
  }
}
