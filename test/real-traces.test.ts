/**
 * The recorded traces in traces/real/: each opens with where, what and when it
 * was recorded, stays small, and replays.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "./helpers/cli.js";

const DIR = join(ROOT, "traces", "real");
const TRACES = readdirSync(DIR).filter((f) => f.endsWith(".csv.gz"));
const MAX_BYTES = 5 * 1024 * 1024;

describe("traces/real", () => {
  it("holds at least three recordings", () => {
    expect(TRACES.length).toBeGreaterThanOrEqual(3);
  });

  it.each(TRACES)("%s says where, what and when, is under 5 MB and replays", (name) => {
    const file = join(DIR, name);
    expect(statSync(file).size).toBeLessThan(MAX_BYTES);
    const comments = gunzipSync(readFileSync(file))
      .toString("utf8")
      .split("\n")
      .filter((l) => l.startsWith("# "));
    for (const key of ["kernel", "cpu", "vcpus", "workload", "duration", "date"]) {
      expect(
        comments.some((l) => l.startsWith(`# ${key}: `)),
        key,
      ).toBe(true);
    }
    const r = runCli(["compare", join("traces", "real", name), "--l1-profile", "kvm", "-f", "json"], { cwd: ROOT });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { events: number; results: { violations: number }[] };
    expect(out.events).toBeGreaterThan(1000);
    expect(out.results.every((x) => x.violations === 0)).toBe(true);
  });
});
