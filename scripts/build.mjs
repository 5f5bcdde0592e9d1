#!/usr/bin/env node
// scripts/build.mjs — `npm run build`: type-checks src/ (tsc, no output), then
// bundles it with esbuild into dist/, dependencies included.
//
// Why a bundle: a start-up that loads one file instead of about 200 modules
// (ours, zod's, commander's) is about 80 ms shorter, which every command
// pays. The entry points sit side by side in dist/, with the chunks they
// share, so `new URL("./worker.js", import.meta.url)` finds the worker from
// any of them:
//
//   dist/cli.js       the command line (bin/nvmx-replay.js starts it)
//   dist/worker.js    the replay worker thread
//   dist/pipeline.js  replayPipelined(), for scripts/soak.mjs
//   dist/engine.js    the engine's public API, for scripts
//   dist/index.js     the library (package.json "exports"), with dist/index.d.ts
//                     (scripts/build-types.mjs: its types and nothing else)
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildTypes } from "./build-types.mjs";

/** Resolves `canvas` to an empty module (see the `plugins` entry below). */
const noCanvas = {
  name: "no-canvas",
  setup(b) {
    b.onResolve({ filter: /^canvas$/ }, () => ({ path: "canvas", namespace: "no-canvas" }));
    b.onLoad({ filter: /.*/, namespace: "no-canvas" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

/**
 * commander loads node:child_process as it starts, for the executable
 * subcommands (`git-foo` style) that this CLI does not have: a few ms of
 * every command's start-up. Its one `require` of it becomes one made on
 * first use; if the line ever changes, the build stops rather than ship the
 * eager load unseen.
 */
const lazyCommanderChildProcess = {
  name: "lazy-commander-child-process",
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const text = await readFile(args.path, "utf8");
      if (!text.includes(eager))
        throw new Error(`${args.path}: its child_process require changed; see lazyCommanderChildProcess`);
      const lazy =
        "let childProcessModule; const childProcess = { spawn: (...a) => (childProcessModule ??= require('node:child_process')).spawn(...a) };";
      return { contents: text.replace(eager, lazy), loader: "js" };
    });
  },
};

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const tsc = spawnSync(
  process.execPath,
  [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.json")],
  {
    stdio: "inherit",
  },
);
if (tsc.status !== 0) {
  process.stderr.write("build: type errors (above); nothing was bundled\n");
  process.exitCode = 1;
} else {
  rmSync(join(ROOT, "dist"), { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: {
      cli: "src/cli/index.ts",
      worker: "src/run/worker.ts",
      pipeline: "src/run/pipeline.ts",
      engine: "src/engine/index.ts",
      index: "src/index.ts",
    },
    outdir: "dist",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    // commander is CommonJS and calls require("node:events"): an ES module has
    // no require of its own, so the bundle makes one.
    // Vega (report only) measures label widths with the optional `canvas` package when it can load it:
    // bundled as an empty module, so the page is the same whatever else is installed (docs/report.md).
    plugins: [noCanvas, lazyCommanderChildProcess],
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module";\nconst require = __createRequire(import.meta.url);',
    },
  });
  buildTypes(ROOT);
}
