/**
 * Reading the small files the options and traces name (bitmap snapshots, cost
 * models): only regular files, and never more than a stated number of bytes.
 * A FIFO would block the read for ever, a device like /dev/zero never ends,
 * and a sparse file can claim gigabytes it would take to read before any size
 * check: all are refused before a byte is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";
import { count } from "../render/text-table.js";
import { at, InputError, reason } from "./errors.js";

/**
 * The largest JSON file read (a snapshot description or a cost model): 16 MiB.
 * The longest description `bitmap show --format json` can print (every other
 * bit set, a range per MSR) is about 0.5 MB, and a hand-made one of 200k
 * ranges about 5 MB; 16 MiB is generous for either, and parsing it stays
 * well under a second and a few hundred MB.
 */
export const MAX_JSON_BYTES = 16 << 20;

// O_NONBLOCK: should a FIFO replace the file between the stat and the open, the
// open returns at once instead of waiting for a writer (the fstat then refuses
// it). On a regular file it changes nothing. O_NOCTTY: a terminal named by
// mistake must not become the process's controlling terminal. (0 where the
// platform lacks the flag.)
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

export interface SizeRule {
  /** The most bytes accepted. */
  readonly max: number;
  /** When only one size is right (a `.bin` page), the message for any other; gets the size found. */
  readonly exact?: { readonly size: number; readonly wrong: (size: number) => string };
}

/**
 * The bytes of a regular file of at most `rule.max` bytes. Anything else is an
 * InputError naming `shownAs`, raised before any byte is read.
 */
export function readRegularFile(path: string, shownAs: string, rule: SizeRule): Buffer {
  let fd: number;
  try {
    // stat first, so that a FIFO or a device is never even opened (opening one
    // can have effects: a tape rewinds, a FIFO's writer is let go).
    refuseIrregular(statSync(path), shownAs);
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw error instanceof InputError ? error : new InputError(`${at(shownAs)}${reason(error)}`);
  }
  try {
    // The file opened may not be the one stat saw: check what is open.
    const stats = fstatSync(fd);
    refuseIrregular(stats, shownAs);
    checkSize(stats.size, shownAs, rule);
    // One byte more than allowed, to notice a file that grew since fstat.
    const buffer = Buffer.alloc(Math.min(stats.size, rule.max) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) break;
    }
    checkSize(length, shownAs, rule);
    return buffer.subarray(0, length);
  } catch (error) {
    throw error instanceof InputError ? error : new InputError(`${at(shownAs)}${reason(error)}`);
  } finally {
    closeSync(fd);
  }
}

function checkSize(size: number, shownAs: string, rule: SizeRule): void {
  if (rule.exact !== undefined) {
    if (size !== rule.exact.size) throw new InputError(`${at(shownAs)}${rule.exact.wrong(size)}`);
  } else if (size > rule.max) {
    throw new InputError(`${at(shownAs)}is ${count(size)} bytes, more than the ${count(rule.max)} read at most`);
  }
}

function refuseIrregular(stats: Stats, shownAs: string): void {
  if (stats.isFile()) return;
  if (stats.isDirectory()) throw new InputError(`${at(shownAs)}is a folder, not a file`);
  throw new InputError(`${at(shownAs)}is ${kindOf(stats)}, not a regular file`);
}

/** What a file that is not a regular file is, in words. */
export function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  if (stats.isDirectory()) return "a folder";
  return "a special file";
}

/** Reads a JSON file of at most `max` bytes, with line:column in syntax errors. */
export function readJsonFile(path: string, shownAs: string = path, max: number = MAX_JSON_BYTES): unknown {
  return parseJsonText(readRegularFile(path, shownAs, { max }).toString("utf8"), shownAs);
}

/** JSON text named `shownAs` in errors, with line:column in syntax errors where Node gives a position. */
export function parseJsonText(text: string, shownAs: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message);
    if (position) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset);
      const line = before.split("\n").length;
      const column = offset - before.lastIndexOf("\n");
      throw new InputError(
        `${at(shownAs, line, column)}invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, "")}`,
      );
    }
    throw new InputError(`${at(shownAs)}invalid JSON: ${message}`);
  }
}
