/**
 * docs/api.md cannot rot: every example it shows is a file in examples/api/,
 * shown whole, and running it against the built package (it imports
 * "nvmx-replay", which resolves to dist/ by package.json "exports") prints
 * the output shown under it. The figures themselves are worked in the docs'
 * prose from the README's tables.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";

const DOC = readFileSync(join(ROOT, "docs", "api.md"), "utf8");
/** "`examples/api/NAME.mjs`:", its code block, a line, then its output block. */
const EXAMPLE = /`(examples\/api\/[a-z-]+\.mjs)`:\n\n```js\n([\s\S]*?)```\n\n[^\n]*\n\n```text\n([\s\S]*?)```/g;
const shown = [...DOC.matchAll(EXAMPLE)].map(([, file = "", code = "", output = ""]) => ({ file, code, output }));

describe("docs/api.md", () => {
  it("shows every example in examples/api/, once", () => {
    const files = readdirSync(join(ROOT, "examples", "api")).map((f) => `examples/api/${f}`);
    expect(shown.map((e) => e.file).sort()).toEqual(files.sort());
  });

  for (const { file, code, output } of shown) {
    it(`${file} is shown whole and prints what the docs say`, () => {
      expect(readFileSync(join(ROOT, file), "utf8")).toBe(code);
      const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: "utf8", timeout: 25_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(output);
    });
  }
});
