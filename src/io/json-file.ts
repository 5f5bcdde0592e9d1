/** Reading a small JSON file, with line:column in syntax errors. */
import { readFileSync } from "node:fs";
import { at, InputError, reason } from "./errors.js";

export function readJsonFile(path: string, shownAs: string = path): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new InputError(`${at(shownAs)}${reason(error)}`);
  }
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
