/**
 * Bitmap snapshots (docs/model.md §4): `*.bin`, the 4096-byte page as it sits
 * in memory, or `*.json`, a readable description.
 */
import { realpathSync } from "node:fs";
import { basename, dirname, extname, join, resolve, sep } from "node:path";
import { PAGE_SIZE } from "../engine/bitmap.js";
import { BitmapSpecSchema, buildBitmap } from "./bitmap-spec.js";
import { at, clip, InputError } from "./errors.js";
import { readJsonFile, readRegularFile } from "./json-file.js";
import { firstIssue } from "./zod-errors.js";

/** Reads a snapshot; errors name `shownAs` (the path as the user wrote it). */
export function readSnapshot(path: string, shownAs: string = path): Uint8Array {
  const ext = extname(path).toLowerCase();
  if (ext === ".json") {
    const parsed = BitmapSpecSchema.safeParse(readJsonFile(path, shownAs));
    if (!parsed.success) throw new InputError(`${at(shownAs)}not a bitmap description: ${firstIssue(parsed.error)}`);
    return buildBitmap(parsed.data);
  }
  if (ext === ".bin") {
    // The size is checked before reading: a 2 GB sparse file or /dev/zero is refused at once.
    const bytes = readRegularFile(path, shownAs, {
      max: PAGE_SIZE,
      exact: { size: PAGE_SIZE, wrong: (size) => `a .bin snapshot is exactly ${PAGE_SIZE} bytes, this one is ${size}` },
    });
    // A copy that owns its buffer: Buffers may sit unaligned in a shared pool.
    return new Uint8Array(bytes);
  }
  throw new InputError(
    `${at(shownAs)}a snapshot is a .bin page (4096 bytes) or a .json description, not "${clip(ext) || "no extension"}"`,
  );
}

/**
 * Snapshots named by a trace, resolved against its folder and read once each.
 * A trace may only name files inside its folder or inside a folder the user
 * allowed (--snapshots-dir): a trace from elsewhere cannot make the tool read
 * arbitrary files. Links are followed before the check.
 */
export class SnapshotStore {
  private readonly cache = new Map<string, Uint8Array>();
  private readonly roots: string[];

  /** The run's outputs (-o), which no snapshot may be: the output would replace a file the run read. */
  private readonly outputs: string[];

  constructor(
    private readonly baseDir: string,
    allowed: readonly string[] = [],
    outputs: readonly string[] = [],
  ) {
    this.roots = [baseDir, ...allowed].map((dir) => real(resolve(dir)));
    this.outputs = outputs.map((file) => real(resolve(file)));
  }

  /** Throws InputError naming `shownAs`-style paths (baseDir joined with the name). */
  load(name: string, shownAs: string): Uint8Array {
    const path = resolve(this.baseDir, name);
    let page = this.cache.get(path);
    if (page === undefined) {
      const target = real(path);
      if (!this.roots.some((root) => target === root || target.startsWith(root.endsWith(sep) ? root : root + sep))) {
        throw new InputError(
          `${at(shownAs)}outside the trace's folder; a trace may only name snapshots there, or in a folder given with --snapshots-dir`,
        );
      }
      if (this.outputs.includes(target)) {
        throw new InputError(
          `${at(shownAs)}is the output file (-o): refusing to write the output over a file the run reads`,
        );
      }
      page = readSnapshot(path, shownAs);
      this.cache.set(path, page);
    }
    return page;
  }
}

/** The path with links resolved, as far as it exists. */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(real(parent), basename(path));
  }
}
