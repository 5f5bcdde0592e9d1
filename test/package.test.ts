/**
 * The package as a user gets it (issue 14): `npm pack`, installed into a
 * scratch project with the registry out of reach (--offline: everything it
 * runs is bundled in dist/, so it declares no dependencies to fetch), then
 * `npx nvmx-replay compare` on a trace it ships, a script importing it with
 * its types checked by the project's tsc, and the docs' examples run from the
 * installed copy. Needs the built dist/ (`npm test` builds first).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";

/** Packing, installing and type-checking take some seconds each on a busy 2-core machine. */
const SLOW = 120_000;

let scratch = "";
let installed = "";

function run(command: string, args: readonly string[], cwd: string) {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: SLOW });
  if (r.error) throw r.error;
  return r;
}

/** The project's own tsc, as a user's project would run its own. */
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

function typeCheck(file: string) {
  return run(
    process.execPath,
    [
      TSC,
      "--noEmit",
      "--strict",
      "--target",
      "es2022",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--types",
      "node",
      // The user's @types/node: the types import node:stream.
      "--typeRoots",
      join(ROOT, "node_modules", "@types"),
      file,
    ],
    scratch,
  );
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "nvmx-package-"));
  const pack = run("npm", ["pack", "--pack-destination", scratch, "--silent"], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  const [tarball] = readdirSync(scratch).filter((f) => f.endsWith(".tgz"));
  expect(tarball).toBeDefined();
  writeFileSync(join(scratch, "package.json"), '{ "name": "scratch", "private": true, "type": "module" }\n');
  const install = run(
    "npm",
    ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", `./${tarball}`],
    scratch,
  );
  expect(install.status, install.stderr).toBe(0);
  installed = join(scratch, "node_modules", "nvmx-replay");
}, SLOW);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("installs alone: nothing bundled in dist/ is installed again", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
    expect(
      readdirSync(join(scratch, "node_modules")).filter((d) => d !== ".bin" && d !== ".package-lock.json"),
    ).toEqual(["nvmx-replay"]);
  });

  it("ships the docs the help texts point to, and no sources", () => {
    for (const doc of ["README.md", "docs/recording.md", "docs/workloads.md", "docs/l1-profiles.md", "docs/api.md"]) {
      expect(readFileSync(join(installed, doc), "utf8").length, doc).toBeGreaterThan(0);
    }
    expect(readdirSync(installed)).not.toContain("src");
  });

  it(
    "runs npx nvmx-replay compare on a trace it ships",
    () => {
      const r = run(
        "npx",
        ["--offline", "nvmx-replay", "compare", "node_modules/nvmx-replay/traces/linux-kvm.csv"],
        scratch,
      );
      expect(r.status, r.stderr).toBe(0);
      // The README's compare table of this trace: its first line and merged's est_cycles.
      expect(r.stdout.split("\n")[0]).toBe(
        "node_modules/nvmx-replay/traces/linux-kvm.csv: 3,963 events, 4 vCPUs, L0 profile kvm-2013",
      );
      expect(r.stdout).toMatch(/^est_cycles\s+37,110,000\s+11,392,500\s+10,225,000\s+11,531,000\s+11,138,000$/m);
    },
    SLOW,
  );

  it(
    "is imported with its types: a script type-checks, runs, and a type error is caught",
    () => {
      const script = [
        'import { compareTrace, type CompareResult, type StrategyResult } from "nvmx-replay";',
        'const report: CompareResult = await compareTrace("node_modules/nvmx-replay/traces/linux-kvm.csv", {',
        '  strategies: ["merged"],',
        "});",
        "const merged: StrategyResult | undefined = report.results[0];",
        "console.log(merged?.strategy, merged?.est_cycles);",
        "",
      ].join("\n");
      writeFileSync(join(scratch, "use.mts"), script);
      const checked = typeCheck("use.mts");
      expect(checked.status, checked.stdout + checked.stderr).toBe(0);
      // The same script, types stripped, runs: merged's est_cycles in the README's table.
      writeFileSync(join(scratch, "use.mjs"), script.replace(/, type \w+/g, "").replace(/: \w+( \| undefined)?/g, ""));
      const ran = run(process.execPath, ["use.mjs"], scratch);
      expect(ran.stderr).toBe("");
      expect(ran.stdout).toBe("merged 10225000\n");
      // The types are real, not `any`: est_cycles is a number, not a string.
      writeFileSync(
        join(scratch, "wrong.mts"),
        'import { compareTrace } from "nvmx-replay";\nconst r = await compareTrace("t.csv");\nconst s: string = r.results[0]!.est_cycles;\nconsole.log(s);\n',
      );
      const wrong = typeCheck("wrong.mts");
      expect(wrong.status).not.toBe(0);
      expect(wrong.stdout).toMatch(/wrong\.mts\(3,7\): error TS2322: Type 'number' is not assignable to type 'string'/);
    },
    SLOW,
  );

  it(
    "runs the docs' examples from the installed copy, as from the project",
    () => {
      for (const example of readdirSync(join(installed, "examples", "api"))) {
        const here = run(process.execPath, [join("examples", "api", example)], ROOT);
        const there = run(process.execPath, [join(installed, "examples", "api", example)], scratch);
        expect(there.stderr, example).toBe("");
        expect(there.stdout, example).toBe(here.stdout);
      }
    },
    SLOW,
  );
});
