/**
 * How the command line starts (bin/nvmx-replay.js calls start()): it runs
 * the CLI's bundle, dist/cli.cjs, through a compile cache of its own.
 *
 * Why: compiling the bundle is most of a small run's start-up (some 20 ms
 * to parse it, more for the functions a command runs), and Node 20 has no
 * compile cache for modules (Node 22's module.enableCompileCache() came
 * later). V8 can save what it compiled for a script and take it back
 * (node:vm, `cachedData`), so the CLI is bundled as one CommonJS script for
 * node:vm to compile (scripts/build.mjs) and its compiled code kept in the
 * cache folder, under `compile/` (README, "The compile cache").
 *
 * What V8 checks of cached data is its version and flags and the source's
 * length, not the source itself, nor the data's integrity: so the entry is
 * named by the bundle's content hash (which the build writes into the
 * bundle's first line) and by Node's version, and carries a length and a
 * hash of its own that are checked before V8 sees it. Anything wrong with
 * an entry (missing, damaged, refused by V8) means a normal compile, and an
 * entry written afresh at exit; a folder that cannot be written means no
 * cache, never an error.
 *
 * This module is bundled on its own, as CommonJS (dist/start.cjs), so that
 * starting the CLI loads two files and no ES module (Node starts CommonJS
 * some 5 ms sooner).
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Script } from "node:vm";
import { CACHE_DIR_MODE, cacheSpecFromEnv, STALE_TEMP_MS, TEMP_SUFFIX } from "../io/cache-spec.js";

/** The bundle, beside this module in dist/ (which is CommonJS: it has a __dirname). */
const CLI_BUNDLE = join(__dirname, "cli.cjs");
/** Where in the bundle's first line the build puts its content hash (scripts/build.mjs). */
const BUNDLE_HASH = /content hash: ([0-9a-f]{16})/;

/** An entry: 8 magic bytes, the data's length (u32), its hash (u32), reserved (u32), then V8's data. */
const ENTRY_MAGIC = Buffer.from("NVMXCC1\n", "latin1");
const HEADER_BYTES = 20;
const LENGTH_AT = 8;
const HASH_AT = 12;
/** Entries kept in `compile/` (one per bundle and Node version), newest first: the rest are deleted. */
const KEPT_ENTRIES = 4;

/**
 * The CommonJS wrapper, with two more parameters (scripts/build.mjs): the
 * import() the bundle's io/esm-import.ts calls, and the bundle's URL, its
 * `import.meta.url`.
 */
const WRAPPER_HEAD = "(function (exports, require, module, __filename, __dirname, __importEsm, __cliBundleUrl) { ";
const WRAPPER_TAIL = "\n})";

type CliModule = { main(argv: readonly string[]): Promise<void> };

export async function start(argv: readonly string[]): Promise<void> {
  const source = readFileSync(CLI_BUNDLE, "utf8");
  const entry = entryPath(source);
  const cached = entry === null ? undefined : readEntry(entry);
  const script = new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: CLI_BUNDLE, cachedData: cached });
  // Saved at exit, after the command ran: the data then holds the functions it compiled too.
  if (entry !== null && (cached === undefined || script.cachedDataRejected === true)) {
    process.once("exit", () => writeEntry(entry, script));
  }
  const cli: { exports: Partial<CliModule> } = { exports: {} };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const importEsm = (url: string) => import(url);
  const url = pathToFileURL(CLI_BUNDLE).href;
  wrapper(cli.exports, createRequire(CLI_BUNDLE), cli, CLI_BUNDLE, dirname(CLI_BUNDLE), importEsm, url);
  await (cli.exports as CliModule).main(argv);
}

/** The entry for this bundle and this Node, or null: the cache is off, or the bundle has no hash. */
function entryPath(source: string): string | null {
  const hash = BUNDLE_HASH.exec(source.slice(0, 200))?.[1];
  if (hash === undefined) return null;
  let dir: string;
  try {
    const spec = cacheSpecFromEnv();
    if (spec === null) return null;
    dir = spec.dir;
  } catch {
    return null; // a bad NVMX_REPLAY_CACHE_MAX_BYTES: the command says so when it uses the cache
  }
  return join(dir, "compile", `cli-${hash}-${process.version}-${process.arch}.bin`);
}

/** The entry's V8 data, or undefined when it is missing or fails its own checks. */
function readEntry(path: string): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  if (file.length < HEADER_BYTES || !file.subarray(0, ENTRY_MAGIC.length).equals(ENTRY_MAGIC)) return undefined;
  const data = file.subarray(HEADER_BYTES);
  if (file.readUInt32LE(LENGTH_AT) !== data.length || file.readUInt32LE(HASH_AT) !== dataHash(data)) return undefined;
  return data;
}

/** Writes the entry through a temporary file and a rename, so a racing run reads a whole one or none. */
function writeEntry(path: string, script: Script): void {
  const dir = dirname(path);
  const temp = `${path}.${process.pid}${TEMP_SUFFIX}`;
  try {
    const data = script.createCachedData();
    const header = Buffer.alloc(HEADER_BYTES);
    ENTRY_MAGIC.copy(header);
    header.writeUInt32LE(data.length, LENGTH_AT);
    header.writeUInt32LE(dataHash(data), HASH_AT);
    // The cache folder too, when this run is the first to use it: made as the trace cache makes it.
    mkdirSync(dir, { recursive: true, mode: CACHE_DIR_MODE });
    const fd = openSync(temp, "w");
    try {
      writeSync(fd, header);
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    prune(dir, basename(path));
  } catch {
    // A cache that cannot be written costs only its speed.
    try {
      unlinkSync(temp);
    } catch {}
  }
}

/** Keeps the KEPT_ENTRIES newest entries (`keep` among them) and deletes temporary files runs left. */
function prune(dir: string, keep: string): void {
  const now = Date.now();
  const entries: { name: string; mtime: number }[] = [];
  for (const name of readdirSync(dir)) {
    let mtime: number;
    try {
      mtime = statSync(join(dir, name)).mtimeMs;
    } catch {
      continue;
    }
    if (name.endsWith(TEMP_SUFFIX)) {
      if (now - mtime > STALE_TEMP_MS) unlinkSync(join(dir, name));
    } else if (name !== keep) entries.push({ name, mtime });
  }
  entries.sort((a, b) => b.mtime - a.mtime);
  for (const { name } of entries.slice(KEPT_ENTRIES - 1)) unlinkSync(join(dir, name));
}

/** FNV-1a's 32-bit offset basis and prime, here over 32-bit words rather than bytes. */
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** A hash of the data, to tell a damaged entry (V8 would take it as it is). */
function dataHash(data: Uint8Array): number {
  const aligned = data.byteOffset % 4 === 0 ? data : data.slice();
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length >>> 2);
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ (words[i] as number), FNV_PRIME);
  for (let i = words.length * 4; i < aligned.length; i++) hash = Math.imul(hash ^ (aligned[i] as number), FNV_PRIME);
  return hash >>> 0;
}
