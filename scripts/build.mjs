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
//   dist/start.cjs    how bin/nvmx-replay.js starts the command line: it runs
//                     dist/cli.cjs through the compile cache (src/cli/start.ts)
//   dist/cli.cjs      the command line, one CommonJS script (see cliBundle below)
//   dist/worker.js    the replay worker thread
//   dist/pipeline.js  replayPipelined(), for scripts/soak.mjs
//   dist/engine.js    the engine's public API, for scripts
//   dist/report-page.js  the report's page and Vega, which dist/cli.cjs imports
//                     when `report` runs
//   dist/index.js     the library (package.json "exports"), with dist/index.d.ts
//                     (scripts/build-types.mjs: its types and nothing else)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
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

/**
 * In the CLI's CommonJS bundle, src/io/esm-import.ts calls the import()
 * that src/cli/start.ts passes in (`__importEsm`, a parameter of its
 * wrapper): code compiled by node:vm cannot call import() on Node 20.
 */
const esmImportFromStart = {
  name: "esm-import-from-start",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]io[\\/]esm-import\.ts$/ }, () => ({
      contents: "export function importEsm(url) { return __importEsm(url); }",
      loader: "js",
    }));
  },
};

/**
 * In the CLI's CommonJS bundle, the report's page (and Vega, 1.7 MB, whose
 * vega-canvas has a top-level await that CommonJS cannot hold) stays in the
 * ES module dist/report-page.js, imported when `report` runs.
 */
const reportPageOutside = {
  name: "report-page-outside",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]render[\\/]html[\\/]page\.ts$/ }, () => ({
      contents: [
        'import { importEsm } from "../../io/esm-import.js";',
        "export async function renderReportHtml(page, generator) {",
        '  const { renderReportHtml } = await importEsm(new URL("./report-page.js", import.meta.url).href);',
        "  return renderReportHtml(page, generator);",
        "}",
      ].join("\n"),
      loader: "js",
      resolveDir: join(ROOT, "src", "render", "html"),
    }));
  },
};

/** The first line of dist/cli.cjs: src/cli/start.ts names its compile-cache entry by the hash. */
const HASH_PLACEHOLDER = "0".repeat(16);
const CLI_BANNER = `// nvmx-replay command line, content hash: ${HASH_PLACEHOLDER}`;

/**
 * dist/cli.cjs: the command line as one CommonJS script, which
 * src/cli/start.ts compiles with node:vm so that V8 can keep its compiled
 * code (there is no such cache for ES modules on Node 20). Its dynamic
 * imports of our own modules stay lazy (esbuild runs such a module's code on
 * first use); `import.meta.url` is the bundle's own URL (`__cliBundleUrl`,
 * which start.ts's wrapper passes in), so the worker is found beside it. The content hash goes into the first line, in place of
 * the placeholder (same length: the source map still holds).
 */
async function cliBundle() {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ["src/cli/index.ts"],
    outfile: "dist/cli.cjs",
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    sourcemap: true,
    write: false,
    logLevel: "warning",
    define: { "import.meta.url": "__cliBundleUrl" },
    // What import() is left after bundling is of Node's own modules (node:zlib and the like):
    // require() them, as code compiled by node:vm has no import() (ours go through importEsm).
    supported: { "dynamic-import": false },
    // A comment only: a statement before it would take "use strict" out of first place.
    banner: { js: CLI_BANNER },
    plugins: [esmImportFromStart, reportPageOutside, lazyCommanderChildProcess],
  });
  for (const file of result.outputFiles) {
    if (!file.path.endsWith(".cjs")) {
      await writeFile(file.path, file.contents);
      continue;
    }
    const hash = createHash("sha256").update(file.contents).digest("hex").slice(0, HASH_PLACEHOLDER.length);
    await writeFile(file.path, file.text.replace(CLI_BANNER, CLI_BANNER.replace(HASH_PLACEHOLDER, hash)));
  }
}

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
      worker: "src/run/worker.ts",
      "report-page": "src/render/html/page.ts",
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
  await build({
    absWorkingDir: ROOT,
    entryPoints: ["src/cli/start.ts"],
    outfile: "dist/start.cjs",
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
  });
  await cliBundle();
  buildTypes(ROOT);
}
