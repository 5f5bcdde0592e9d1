/**
 * `-o FILE`: the output is written to a temporary file beside the target and
 * renamed over it, so a failed run leaves neither a partial file nor a
 * damaged old one.
 */
import { randomBytes } from "node:crypto";
import { realpathSync } from "node:fs";
import { rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { InputError, at, reason } from "./errors.js";

export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(temp, content, { flag: "wx" });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw new InputError(`${at(path)}cannot write the output: ${reason(error)}`);
  }
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
