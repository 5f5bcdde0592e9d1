// scripts/build-types.mjs — dist/index.d.ts, the library's types (src/index.ts):
// one file holding what src/index.ts exports and the declarations those need,
// none of them exported besides. dts-bundle-generator (a devDependency, pinned)
// compiles src/index.ts with tsconfig.json and inlines the types it reaches,
// so no internal module's .d.ts ships, and a user's deep import has nothing
// to find. Called by scripts/build.mjs after the bundle is written.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** Writes dist/index.d.ts; sets process.exitCode when it cannot. */
export function buildTypes(root) {
  const generator = join(root, "node_modules", "dts-bundle-generator", "dist", "bin", "dts-bundle-generator.js");
  const run = spawnSync(
    process.execPath,
    [
      generator,
      "--project",
      join(root, "tsconfig.json"),
      "--out-file",
      join(root, "dist", "index.d.ts"),
      "--no-banner",
      "--silent",
      // Only what src/index.ts exports is exported; the types it needs are declared, not exported.
      "--export-referenced-types",
      "false",
      join(root, "src", "index.ts"),
    ],
    { stdio: "inherit" },
  );
  if (run.status !== 0) {
    process.stderr.write("build: the library's types (dist/index.d.ts) could not be generated (above)\n");
    process.exitCode = 1;
  }
}
