/**
 * `-o FILE`, for every command: one mechanism, so that every output follows
 * the same rules.
 *
 * - A regular file (or a new one) is written to a temporary file beside it,
 *   renamed over it once complete: a failed or killed run leaves neither a
 *   partial file nor a damaged old one. The new file keeps the old one's
 *   permission mode. A link is followed: the file it points at is replaced,
 *   the link stays.
 * - A FIFO or a character device (/dev/null, /dev/stdout, a FIFO someone
 *   reads) is written into as a stream, as the shell's `>` would: renaming a
 *   file over it would replace the device node itself (as root, `-o /dev/null`
 *   would have replaced the system's /dev/null). A FIFO nobody reads is
 *   refused at once rather than waited on for ever.
 * - A folder, a block device (a disk) or a socket is refused.
 *
 * The destination is opened (the temporary file created) when the command
 * starts, so a folder that does not exist or cannot be written fails before
 * any work is done. A temporary file left behind by a run killed with SIGKILL
 * (whose clean-up never ran) carries that run's pid in its name; the next run
 * writing the same output removes it once that process is gone.
 */
import { once } from "node:events";
import { constants, createWriteStream, realpathSync, type Stats, unlinkSync, type WriteStream } from "node:fs";
import { type FileHandle, lstat, open, readdir, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { finished } from "node:stream/promises";
import { at, InputError, reason } from "./errors.js";
import { kindOf } from "./json-file.js";

/** How stdout is named in messages. */
export const STDOUT_NAME = "<stdout>";

/** `-o -`: the output goes to stdout, as with no -o at all. */
export const STDOUT_ARG = "-";

/** The file `-o` names, or undefined for stdout (no -o, or `-o -`). */
export function outputFile(output: string | undefined): string | undefined {
  return output === STDOUT_ARG ? undefined : output;
}

/** A failed write to stdout, as the one line the user sees. */
export function stdoutWriteError(error: unknown): InputError {
  return new InputError(`${at(STDOUT_NAME)}cannot write the output: ${reason(error)}`);
}

/**
 * Bytes the system allows in one file name (Linux's NAME_MAX, also the limit
 * of macOS and the usual file systems).
 */
export const NAME_MAX = 255;
/** Hex digits of the random part of a temporary name. */
const TEMP_RANDOM_BYTES = 4;
/** The widest pid: 32 bits in decimal. */
const PID_DIGITS = 10;
/** What a temporary name adds to the output's base name: `.` + `.PID` + `.RANDOM` + `.tmp`. */
const TEMP_OVERHEAD = 1 + 1 + PID_DIGITS + 1 + TEMP_RANDOM_BYTES * 2 + ".tmp".length;
/** Chunks queued before write() waits for the disk. */
const HIGH_WATER_MARK = 4 << 20;

/** Writes `content` to `path` by the rules above, in one go. */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const file = await OutputFile.open(path);
  await file.write(content);
  await file.commit();
}

/** An output being written: write() chunks in order, then commit() or abort(). */
export class OutputFile {
  private readonly untrack: () => void;
  private failure: unknown = null;
  private done = false;

  /**
   * Opens the destination (see the top of this file); an error is an
   * InputError naming `path`.
   */
  static async open(path: string): Promise<OutputFile> {
    if (path === "") throw new InputError(`${at("-o")}names no file`);
    const fail = (error: unknown): InputError => {
      if (error instanceof InputError) return error;
      // Creating the temporary file is the first thing that needs the folder.
      const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "its folder does not exist" : reason(error);
      return new InputError(`${at(path)}cannot write the output: ${why}`);
    };
    try {
      const target = await followLink(path);
      const existing = await stat(target).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return null;
        throw error;
      });
      if (existing === null || existing.isFile()) return await OutputFile.replacing(path, target, existing);
      if (existing.isFIFO() || existing.isCharacterDevice()) return await OutputFile.streaming(path, target, existing);
      if (existing.isDirectory()) throw new InputError(`${at(path)}cannot write the output: is a folder, not a file`);
      throw new InputError(`${at(path)}refusing to write the output over ${kindOf(existing)}`);
    } catch (error) {
      throw fail(error);
    }
  }

  /** A temporary file beside `target`, renamed over it at commit. */
  private static async replacing(path: string, target: string, existing: Stats | null): Promise<OutputFile> {
    await removeStaleTemps(target);
    const temp = tempBeside(target);
    const untrack = trackTemp(temp);
    let handle: FileHandle | null = null;
    try {
      // O_EXCL: never write through something that appeared under the temporary name.
      handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
      if (existing !== null) {
        // The replacement keeps the file's mode (exactly: open's mode is cut by the umask) and, as
        // far as allowed, its owner.
        await handle.chmod(existing.mode & PERMISSION_BITS);
        if (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()) {
          await handle.chown(existing.uid, existing.gid).catch(() => {});
        }
      }
    } catch (error) {
      await handle?.close().catch(() => {});
      await unlink(temp).catch(() => {});
      untrack();
      throw error;
    }
    return new OutputFile(path, handle, { temp, target }, untrack);
  }

  /** A FIFO or character device, written into. */
  private static async streaming(path: string, target: string, existing: Stats): Promise<OutputFile> {
    const flags = constants.O_WRONLY | (constants.O_NOCTTY ?? 0);
    if (existing.isFIFO()) {
      // Without a reader a blocking open waits for ever; a non-blocking one fails (ENXIO) at once.
      const probe = await open(target, flags | (constants.O_NONBLOCK ?? 0)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENXIO") {
          throw new InputError(`${at(path)}cannot write the output: a FIFO (named pipe) that nobody reads`);
        }
        throw error;
      });
      // Writes on a non-blocking pipe fail when it is full: reopen it blocking (a reader is there).
      const handle = await open(target, flags).finally(() => probe.close());
      return OutputFile.checkedStream(path, handle);
    }
    return OutputFile.checkedStream(path, await open(target, flags));
  }

  /** What was opened must still be a FIFO or a device: never write into a regular file unreplaced. */
  private static async checkedStream(path: string, handle: FileHandle): Promise<OutputFile> {
    const opened = await handle.stat().catch(() => null);
    if (opened === null || !(opened.isFIFO() || opened.isCharacterDevice())) {
      await handle.close().catch(() => {});
      throw new InputError(`${at(path)}cannot write the output: the file changed while it was being opened`);
    }
    return new OutputFile(path, handle, null, () => {});
  }

  private readonly stream: WriteStream;

  private constructor(
    readonly path: string,
    handle: FileHandle,
    /** Null when writing into a FIFO or device. */
    private readonly replace: { readonly temp: string; readonly target: string } | null,
    untrack: () => void,
  ) {
    this.untrack = untrack;
    this.stream = createWriteStream("", { fd: handle, highWaterMark: HIGH_WATER_MARK });
    this.stream.on("error", (error) => {
      this.failure ??= error;
    });
  }

  /** Queues a chunk; resolves at once unless the queue is full, then once it drains. */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.failure) throw await this.failed(this.failure);
    if (!this.stream.write(chunk)) {
      try {
        await once(this.stream, "drain");
      } catch (error) {
        throw await this.failed(this.failure ?? error);
      }
    }
  }

  /** Flushes and closes; a replaced file is renamed over its target. */
  async commit(): Promise<void> {
    try {
      this.stream.end();
      await finished(this.stream);
      if (this.failure) throw this.failure;
      if (this.replace) await rename(this.replace.temp, this.replace.target);
      this.done = true;
      this.untrack();
    } catch (error) {
      throw await this.failed(this.failure ?? error);
    }
  }

  /** Gives up: closes the file and removes the temporary one (a stream cannot be taken back). */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    await finished(this.stream).catch(() => {});
    if (this.replace) await unlink(this.replace.temp).catch(() => {});
    this.untrack();
  }

  private async failed(error: unknown): Promise<InputError> {
    await this.abort();
    return error instanceof InputError
      ? error
      : new InputError(`${at(this.path)}cannot write the output: ${reason(error)}`);
  }
}

/** rwx for user, group and others, with setuid, setgid and sticky. */
const PERMISSION_BITS = 0o7777;

/** The file a link points at (links of links too); the path itself when it is no link or dangles. */
async function followLink(path: string): Promise<string> {
  const info = await lstat(path).catch(() => null);
  if (info?.isSymbolicLink() !== true) return path;
  return realpath(path).catch(() => path);
}

/**
 * A temporary file's name beside `path`: `.NAME.PID.RANDOM.tmp`, hidden, unique
 * to this process, and within NAME_MAX bytes however long NAME is (a long NAME
 * is shortened, at a character boundary).
 */
export function tempBeside(path: string): string {
  // The Web Crypto global, not node:crypto: that module costs every command's start-up a few ms to load.
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(TEMP_RANDOM_BYTES))).toString("hex");
  return join(dirname(path), `.${tempStem(basename(path))}.${process.pid}.${random}.tmp`);
}

/** The part of a temporary name taken from the output's name: the same for every run. */
function tempStem(base: string): string {
  const budget = NAME_MAX - TEMP_OVERHEAD;
  if (Buffer.byteLength(base) <= budget) return base;
  let stem = "";
  let bytes = 0;
  for (const c of base) {
    const size = Buffer.byteLength(c);
    if (bytes + size > budget) break;
    stem += c;
    bytes += size;
  }
  return stem;
}

/**
 * Removes the temporary files of `path` that runs killed outright (SIGKILL,
 * a power cut: no clean-up ran) left beside it: those whose pid is no longer
 * a running process. A live pid, even an unrelated one that reused the
 * number, keeps its file: it is left rather than risk a running write.
 */
async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${tempStem(basename(path))}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = TEMP_SUFFIX.exec(name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    const file = join(dir, name);
    const ours = pid === process.pid;
    if ((ours && !temps.has(file)) || (!ours && !isRunning(pid))) await unlink(file).catch(() => {});
  }
}

const TEMP_SUFFIX = new RegExp(`^(\\d{1,${PID_DIGITS}})\\.[0-9a-f]{${TEMP_RANDOM_BYTES * 2}}\\.tmp$`);

/** Whether a process with this pid exists (EPERM: it does, as another user). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Temporary files being written. SIGINT, SIGTERM or SIGHUP removes them before
// the process dies, and so does any exit before they were committed (an error
// after the output was opened), so a run leaves the old output as it was and
// nothing else. SIGKILL leaves them: removeStaleTemps() finds them later.
const temps = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function removeTemps(): void {
  for (const temp of temps) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
  temps.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeTemps();
  for (const s of SIGNALS) process.off(s, onSignal);
  process.kill(process.pid, signal); // die of the signal, as without the handler
}

/** Removes `temp` if the process ends before the returned function is called. */
export function trackTemp(temp: string): () => void {
  if (temps.size === 0) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on("exit", removeTemps);
  }
  temps.add(temp);
  return () => {
    if (!temps.delete(temp)) return;
    if (temps.size === 0) {
      for (const s of SIGNALS) process.off(s, onSignal);
      process.off("exit", removeTemps);
    }
  };
}

/** Refuses an output path that names one of the inputs (it would be destroyed). */
export function refuseOverwritingInput(output: string, inputs: readonly (string | null | undefined)[]): void {
  const target = canonical(output);
  for (const input of inputs) {
    if (input && canonical(input) === target) {
      throw new InputError(`${at(output)}refusing to write the output over an input file`);
    }
  }
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
