import { printable } from "./printable.js";

/**
 * An error in what the user gave us (a trace, a snapshot, a cost model, a
 * file that cannot be read or written). Its message is the whole line the
 * user sees, already prefixed with file:line:column where there is one.
 */
export class InputError extends Error {
  constructor(message: string) {
    // One line of bounded length, whatever a quoted field or a file held.
    super(oneLine(message));
    this.name = "InputError";
  }
}

/**
 * The most characters of user-supplied text a message quotes. A value (an MSR
 * spec, a JSON key, a file name) longer than this is cut, with a count of the
 * rest: a 20 MB string in a snapshot must not become a 20 MB error line.
 */
export const MAX_QUOTED = 200;

/**
 * The longest message line: room for a file:line:column prefix, a few quoted
 * values (MAX_QUOTED each) and the explanation. A longer one, which only a
 * message quoting raw text without clip() can produce, is cut in the middle,
 * keeping its start (where it is) and its end (what is wrong).
 */
export const MAX_MESSAGE = 1000;
const MESSAGE_TAIL = 200;

/** `text`, cut to MAX_QUOTED characters with a count of the rest. Nothing is escaped here. */
export function clip(text: string, max: number = MAX_QUOTED): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * A message as one bounded line: control characters escaped (as `\n`, `\x1b`),
 * and no longer than MAX_MESSAGE characters.
 */
export function oneLine(message: string): string {
  const escaped = printable(message);
  if (escaped.length <= MAX_MESSAGE) return escaped;
  const head = MAX_MESSAGE - MESSAGE_TAIL;
  const cut = escaped.length - head - MESSAGE_TAIL;
  return `${escaped.slice(0, head)}… (${cut} more characters) …${escaped.slice(-MESSAGE_TAIL)}`;
}

/** `file:line:column: ` with whatever parts are known. */
export function at(file: string, line?: number, column?: number): string {
  if (line === undefined) return `${file}: `;
  if (column === undefined) return `${file}:${line}: `;
  return `${file}:${line}:${column}: `;
}

/** Plain words for the system errors a file can meet; others keep the system's own words. */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a folder, not a file",
  ENOTDIR: "a part of the path is not a folder",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EFBIG: "file too large",
  ENAMETOOLONG: "file name too long",
  EIO: "input/output error",
};

/** The message of an unknown thrown value, for wrapping system errors. */
export function reason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const words = code === undefined ? undefined : ERRNO_WORDS[code];
    if (words !== undefined) return words;
    // Node's "ECODE: words, syscall 'path'": the words are the reason; the path is named already.
    const system = /^E[A-Z0-9]+: ([^,]+)/.exec(error.message);
    return system?.[1] ?? error.message;
  }
  return String(error);
}
