/**
 * Text from the user (a file name, a quoted field) made safe to print: on a
 * terminal, an escape sequence in a file name could move the cursor or set a
 * title, and a newline would forge a line of output. Control characters
 * (C0 and DEL, and the C1 range that some terminals also obey) are shown
 * escaped instead: `\n`, `\r`, `\t`, or `\xNN` / `\u{NN}`.
 */
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** C0 controls, DEL and the C1 controls U+0080-U+009F. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function escapeControl(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`);
}

export function printable(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/**
 * A cell a spreadsheet opens as text, not as a formula: one starting with
 * `=`, `+`, `-` or `@` (or a tab or CR, which some spreadsheets skip before
 * those) gets a leading `'`, as OWASP's CSV-injection advice has it.
 */
export function spreadsheetSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}
