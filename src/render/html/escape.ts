/**
 * Text into HTML. Everything the page shows from outside (trace and file
 * names, MSR names, messages) goes through here: a trace named
 * `<script>….csv` must show as text, never run, in a file meant to be mailed
 * around and opened by others.
 */
import { printable } from "../../io/printable.js";

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text for an element's content or a quoted attribute value; control characters shown escaped (`\n`, `\x1b`). */
export function html(text: string): string {
  return printable(text).replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/**
 * JSON inside `<script type="application/json">`: `<` is written `\u003c`, so
 * no `</script>` in the data can end the element early, and U+2028/U+2029 are
 * escaped too. JSON.parse of the element's text gives the data back as it was.
 */
export function scriptJson(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
