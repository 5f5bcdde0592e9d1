/**
 * The compile cache (src/cli/start.ts): the CLI's compiled code kept under
 * `compile/` in the cache folder. A run with none writes one entry; a run
 * with a good one uses it and leaves it alone; a damaged, truncated or
 * foreign entry is never handed on as it is but replaced, with the same
 * output; the folder keeps four entries; the cache's switch turns it off;
 * a folder that cannot be written costs nothing but the speed.
 *
 * Whether V8 took an entry cannot be seen from outside, so these tests read
 * what the loader does about it: an entry is written only when there was no
 * usable one, so an entry left untouched was used, and a rewritten one was
 * refused.
 */
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliResult, ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs();
const ARGS = ["compare", "traces/linux-kvm.csv", "-f", "csv", "--no-cache"];
/** An entry's header: "NVMXCC1\n", the data's length (u32 LE), its hash (u32 LE), 4 reserved bytes. */
const MAGIC = "NVMXCC1\n";
const HEADER = 20;
/** An hour ago: older than any entry a run writes now. */
const OLD = Math.floor(Date.now() / 1000) - 3600;

function run(cache: string, env: Record<string, string> = {}): CliResult {
  return runCli(ARGS, { env: { NVMX_REPLAY_NO_CACHE: undefined, NVMX_REPLAY_CACHE_DIR: cache, ...env } });
}

/** What the same command prints with no cache at all. */
const plain = runCli(ARGS);

function compileDir(cache: string): string {
  return join(cache, "compile");
}

function names(cache: string): string[] {
  try {
    return readdirSync(compileDir(cache)).sort();
  } catch {
    return [];
  }
}

/** The one entry a run wrote, checked for its name and header. */
function theEntry(cache: string): string {
  const [name, ...more] = names(cache);
  expect(more).toEqual([]);
  // Named by the bundle's content hash (16 hex digits), Node's version and the CPU architecture.
  expect(name).toBe(`cli-${bundleHash()}-${process.version}-${process.arch}.bin`);
  const path = join(compileDir(cache), name as string);
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 8).toString("latin1")).toBe(MAGIC);
  expect(bytes.readUInt32LE(8)).toBe(bytes.length - HEADER);
  expect(bytes.length - HEADER).toBeGreaterThan(10_000);
  return path;
}

/** The hash in dist/cli.cjs's first line, as the build wrote it. */
function bundleHash(): string {
  const first = readFileSync(join(ROOT, "dist", "cli.cjs"), "utf8").split("\n", 1)[0] ?? "";
  const hash = /content hash: ([0-9a-f]{16})$/.exec(first)?.[1];
  expect(hash, first).toBeDefined();
  return hash as string;
}

/** FNV-1a (offset basis 0x811c9dc5, prime 0x01000193) over little-endian 32-bit words, then the tail's bytes. */
function fnvWords(data: Buffer): number {
  let hash = 0x811c9dc5;
  const whole = data.length - (data.length % 4);
  for (let i = 0; i < whole; i += 4) hash = Math.imul(hash ^ data.readUInt32LE(i), 0x01000193);
  for (let i = whole; i < data.length; i++) hash = Math.imul(hash ^ (data[i] as number), 0x01000193);
  return hash >>> 0;
}

function expectSameRun(result: CliResult): void {
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toBe(plain.stdout);
  expect(result.stderr).toBe(plain.stderr);
}

describe("the compile cache", () => {
  it("a first run writes one entry, whose hash is FNV-1a over its data; a second run uses it and leaves it", () => {
    expect(plain.status, plain.stderr).toBe(0);
    const cache = tempDir();
    expectSameRun(run(cache));
    const path = theEntry(cache);
    const bytes = readFileSync(path);
    expect(bytes.readUInt32LE(12)).toBe(fnvWords(bytes.subarray(HEADER)));
    utimesSync(path, OLD, OLD);
    expectSameRun(run(cache));
    expect(statSync(path).mtimeMs).toBe(OLD * 1000);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it.each([
    [
      "one byte of its data flipped",
      (b: Buffer) => Buffer.concat([b.subarray(0, 5000), Buffer.from([(b[5000] as number) ^ 0xff]), b.subarray(5001)]),
    ],
    ["cut short", (b: Buffer) => b.subarray(0, b.length >> 1)],
    ["shorter than its header", (b: Buffer) => b.subarray(0, 12)],
    ["another magic", (b: Buffer) => Buffer.concat([Buffer.from("NVMXCC2\n"), b.subarray(8)])],
  ])("an entry %s is not used: the run prints the same and writes a good one", (_, damage) => {
    const cache = tempDir();
    expectSameRun(run(cache));
    const path = theEntry(cache);
    const good = readFileSync(path);
    const bad = damage(good);
    writeFileSync(path, bad);
    utimesSync(path, OLD, OLD);
    expectSameRun(run(cache));
    expect(statSync(path).mtimeMs).toBeGreaterThan(OLD * 1000);
    const rewritten = readFileSync(theEntry(cache));
    expect(rewritten.equals(bad)).toBe(false);
    expect(rewritten.readUInt32LE(12)).toBe(fnvWords(rewritten.subarray(HEADER)));
  });

  it("an entry whose own checks pass but which V8 refuses (not V8's data) is replaced", () => {
    const cache = tempDir();
    expectSameRun(run(cache));
    const path = theEntry(cache);
    const junk = Buffer.alloc(4096, 0x5a);
    const header = Buffer.alloc(HEADER);
    header.write(MAGIC, "latin1");
    header.writeUInt32LE(junk.length, 8);
    header.writeUInt32LE(fnvWords(junk), 12);
    writeFileSync(path, Buffer.concat([header, junk]));
    utimesSync(path, OLD, OLD);
    expectSameRun(run(cache));
    expect(statSync(path).mtimeMs).toBeGreaterThan(OLD * 1000);
    expect(readFileSync(path).length).toBeGreaterThan(HEADER + junk.length);
  });

  it("keeps the four newest entries and deletes what a dead run left, but not a temporary file being written", () => {
    const cache = tempDir();
    expectSameRun(run(cache));
    const current = theEntry(cache);
    const dir = compileDir(cache);
    // Entries of other builds, oldest first; the current one removed so that the next run writes.
    const others = ["cli-0000000000000001", "cli-0000000000000002", "cli-0000000000000003", "cli-0000000000000004"];
    others.forEach((name, k) => {
      const path = join(dir, `${name}-v20.0.0-x64.bin`);
      writeFileSync(path, "old");
      utimesSync(path, OLD + k, OLD + k);
    });
    writeFileSync(join(dir, "dead.bin.1.tmp"), "left by a run that died");
    utimesSync(join(dir, "dead.bin.1.tmp"), OLD, OLD);
    writeFileSync(join(dir, "live.bin.2.tmp"), "being written");
    writeFileSync(current, "");
    expectSameRun(run(cache));
    expect(names(cache)).toEqual(
      [
        current.slice(dir.length + 1),
        "cli-0000000000000002-v20.0.0-x64.bin",
        "cli-0000000000000003-v20.0.0-x64.bin",
        "cli-0000000000000004-v20.0.0-x64.bin",
        "live.bin.2.tmp",
      ].sort(),
    );
  });

  it("makes a cache folder it is the first to use its owner's only, as the trace cache does (entries hold traces)", () => {
    const cache = join(tempDir(), "cache");
    expectSameRun(run(cache));
    theEntry(cache);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(statSync(compileDir(cache)).mode & 0o777).toBe(0o700);
  });

  it("NVMX_REPLAY_NO_CACHE turns it off: nothing is written", () => {
    const cache = tempDir();
    expectSameRun(run(cache, { NVMX_REPLAY_NO_CACHE: "1" }));
    expect(names(cache)).toEqual([]);
  });

  it("a cache folder that cannot be written costs nothing but the speed", () => {
    const parent = tempDir();
    // A file where the folder would be: mkdir fails, whoever runs the test (root included).
    writeFileSync(join(parent, "cache"), "not a folder");
    expectSameRun(run(join(parent, "cache")));
  });

  it("a bad NVMX_REPLAY_CACHE_MAX_BYTES does not stop the command that has no use for the trace cache", () => {
    const cache = tempDir();
    const result = runCli(["--version"], {
      env: { NVMX_REPLAY_NO_CACHE: undefined, NVMX_REPLAY_CACHE_DIR: cache, NVMX_REPLAY_CACHE_MAX_BYTES: "lots" },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    expect(names(cache)).toEqual([]);
  });
});
