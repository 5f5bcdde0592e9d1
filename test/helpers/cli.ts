/**
 * Test helpers: run the built CLI (`bin/nvmx-replay.js`, which imports dist/)
 * as a child process, and make temporary folders of input files.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach } from "vitest";

/** The project root, found from this file: test/helpers/ -> ../.. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "nvmx-replay.js");

export interface CliResult {
  /** Exit status (null if killed by a signal). */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Extra environment variables; `undefined` removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working folder; the project root by default. */
  readonly cwd?: string;
  /** Bytes for the child's stdin (otherwise stdin is closed). */
  readonly input?: string | Uint8Array;
}

/** Variables that change the CLI's output and that a test must set on purpose. */
const CONTROLLED = ["NO_COLOR", "FORCE_COLOR", "NVMX_DEBUG", "NODE_OPTIONS"];

/** Runs `node bin/nvmx-replay.js ...args` and waits for it. */
export function runCli(args: readonly string[], options: RunOptions = {}): CliResult {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !CONTROLLED.includes(key)) env[key] = value;
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    encoding: "utf8",
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    ...(options.input === undefined ? {} : { input: options.input }),
    timeout: 25_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** File name (may contain `/`) -> content; objects are written as JSON. */
export type TempFiles = Readonly<Record<string, string | Uint8Array | object>>;

/** Makes a fresh folder under the OS temp folder holding `files`; returns its path. */
export type TempDirMaker = (files?: TempFiles) => string;

/** Writes files into a folder (names may contain `/`). */
export function writeFiles(dir: string, files: TempFiles): void {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === "string" || content instanceof Uint8Array) writeFileSync(path, content);
    else writeFileSync(path, `${JSON.stringify(content)}\n`);
  }
}

/**
 * Registers a clean-up (after each test, or after all tests of the file or
 * describe) and returns a maker of temp folders that the clean-up removes.
 * Call it at the top of a test file or inside a describe.
 */
export function useTempDirs(when: "each" | "all" = "each"): TempDirMaker {
  const made: string[] = [];
  const clean = () => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  };
  if (when === "each") afterEach(clean);
  else afterAll(clean);
  return (files = {}) => {
    const dir = mkdtempSync(join(tmpdir(), "nvmx-"));
    made.push(dir);
    writeFiles(dir, files);
    return dir;
  };
}

/** The lines of an output, without the final newline. */
export function lines(text: string): string[] {
  const trimmed = text.endsWith("\n") ? text.slice(0, -1) : text;
  return trimmed === "" ? [] : trimmed.split("\n");
}
