/**
 * `-o FILE`: the output is written to a temporary file beside the target and
 * renamed over it, so a failed run leaves neither a partial file nor a
 * damaged old one.
 */
import { randomBytes } from "node:crypto";
import { realpathSync, unlinkSync } from "node:fs";
import { rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { at, InputError, reason } from "./errors.js";

export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temp = tempBeside(path);
  const untrack = trackTemp(temp);
  try {
    await writeFile(temp, content, { flag: "wx" });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw new InputError(`${at(path)}cannot write the output: ${reason(error)}`);
  } finally {
    untrack();
  }
}

/** A temporary file's name beside `path`, hidden and unique to this process. */
export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

// Temporary files being written: SIGINT or SIGTERM removes them before the
// process ends, so a killed run leaves the old output as it was and nothing else.
const temps = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const temp of temps) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
  temps.clear();
  for (const s of SIGNALS) process.off(s, onSignal);
  process.kill(process.pid, signal); // die of the signal, as without the handler
}

/** Removes `temp` if a signal ends the process before the returned function is called. */
export function trackTemp(temp: string): () => void {
  if (temps.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  temps.add(temp);
  return () => {
    temps.delete(temp);
    if (temps.size === 0) for (const s of SIGNALS) process.off(s, onSignal);
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
