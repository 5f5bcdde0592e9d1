/**
 * An error in what the user gave us (a trace, a snapshot, a cost model, a
 * file that cannot be read or written). Its message is the whole line the
 * user sees, already prefixed with file:line:column where there is one.
 */
export class InputError extends Error {
  constructor(message: string) {
    // One line, whatever a quoted field or a file held: control characters are escaped.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
    super(message.replace(/[\u0000-\u001f\u007f]/g, escapeControl));
    this.name = "InputError";
  }
}

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeControl(c: string): string {
  return NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/** `file:line:column: ` with whatever parts are known. */
export function at(file: string, line?: number, column?: number): string {
  if (line === undefined) return `${file}: `;
  if (column === undefined) return `${file}:${line}: `;
  return `${file}:${line}:${column}: `;
}

/** The message of an unknown thrown value, for wrapping system errors. */
export function reason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "no such file";
    if (code === "EACCES" || code === "EPERM") return "permission denied";
    if (code === "EISDIR") return "is a folder, not a file";
    return error.message;
  }
  return String(error);
}
