/**
 * The bundled traces are data (hand-made once, kept as they are; see
 * traces/README.md): every one validates and replays under every strategy,
 * and each still shows what its opening comments say it was made to show.
 * The figures below are worked from the traces' own rows, not copied from a
 * run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "./helpers/cli.js";

/** Every trace in traces/ and traces/real/, found on disk so a new one cannot be left out. */
const BUNDLED = [
  ...readdirSync(join(ROOT, "traces"))
    .filter((f) => f.endsWith(".csv"))
    .map((f) => `traces/${f}`),
  ...readdirSync(join(ROOT, "traces", "real"))
    .filter((f) => f.endsWith(".csv.gz"))
    .map((f) => `traces/real/${f}`),
];

/** The recorded traces are the L2 view: no bitmap rows, so L1's bitmap is given (README: --l1-profile kvm). */
const setUp = (trace: string) => (trace.startsWith("traces/real/") ? ["--l1-profile", "kvm"] : []);

interface Result {
  strategy: string;
  merges: number;
  wp_faults: number;
  violations: number;
}

function resultsOf(trace: string): Map<string, Result> {
  const r = runCli(["compare", trace, "-s", "all", "-f", "json", ...setUp(trace)]);
  expect(r.status, r.stderr).toBe(0);
  const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
  return new Map(results.map((x) => [x.strategy, x]));
}

/** Rows of one event kind in a bundled trace. */
function rowsOf(trace: string, event: string): number {
  return readFileSync(join(ROOT, trace), "utf8")
    .split("\n")
    .filter((line) => line.startsWith(`${event},`)).length;
}

describe("bundled traces", () => {
  it("are the four synthetic and three recorded ones", () => {
    expect(BUNDLED.sort()).toEqual([
      "traces/bitmap-churn.csv",
      "traces/edge-cases.csv",
      "traces/linux-kvm.csv",
      "traces/multi-vcpu.csv",
      "traces/real/build.csv.gz",
      "traces/real/idle.csv.gz",
      "traces/real/ipi.csv.gz",
    ]);
  });

  it.each(BUNDLED)("%s validates and replays under -s all, with no warning", (trace) => {
    const validated = runCli(["validate", trace, ...setUp(trace)]);
    expect(validated.status, validated.stderr).toBe(0);
    expect(validated.stdout).toMatch(/: valid, [\d,]+ events\n/);
    const replayed = runCli(["compare", trace, "-s", "all", ...setUp(trace)]);
    expect(replayed.status, replayed.stderr).toBe(0);
    expect(replayed.stderr).toBe("");
  });

  it("linux-kvm.csv: L1 never edits its page, so merged merges once per vCPU and faults never", () => {
    // 4 vCPUs, each merging at its first entry (docs/model.md §6); no bitmap-set row, so no store to fault on.
    expect(rowsOf("traces/linux-kvm.csv", "bitmap-set")).toBe(0);
    const r = resultsOf("traces/linux-kvm.csv");
    expect(r.get("merged")).toMatchObject({ merges: 4, wp_faults: 0, violations: 0 });
    for (const result of r.values()) expect(result.violations, result.strategy).toBe(0);
  });

  it("bitmap-churn.csv: one fault and one merge per arm or disarm under merged; merged-stale misses them", () => {
    // 160 bitmap-set rows = 80 arm/disarm pairs (two rows each). The first store of a pair
    // faults (the page is write-protected since the last merge), the second does not: 80
    // faults. Merges: 2 first entries (2 vCPUs) + the 80 entries after a pair = 82.
    expect(rowsOf("traces/bitmap-churn.csv", "bitmap-set")).toBe(160);
    const r = resultsOf("traces/bitmap-churn.csv");
    expect(r.get("merged")).toMatchObject({ merges: 82, wp_faults: 80, violations: 0 });
    // merged-stale merges at the 2 first entries only, so writes L1 armed complete in L2.
    expect(r.get("merged-stale")?.merges).toBe(2);
    expect(r.get("merged-stale")?.violations).toBeGreaterThan(0);
  });

  it("multi-vcpu.csv: one edit per round faults once and re-merges all four vCPUs under merged", () => {
    // 10 rounds, one bitmap-set each on the page all 4 vCPUs share: 10 faults; merges:
    // 4 first entries + 4 vCPUs x 10 rounds = 44. merged-stale: the 4 first entries only.
    expect(rowsOf("traces/multi-vcpu.csv", "bitmap-set")).toBe(10);
    const r = resultsOf("traces/multi-vcpu.csv");
    expect(r.get("merged")).toMatchObject({ merges: 44, wp_faults: 10, violations: 0 });
    expect(r.get("merged-stale")?.merges).toBe(4);
    expect(r.get("merged-stale")?.violations).toBeGreaterThan(0);
  });

  it("edge-cases.csv: no strategy has a violation; editing the idle page B costs merged one fault", () => {
    // Section (e): page B (0x43000) is first created by the bitmap-set of line 168, before
    // any merge of it; vCPU 3's entry on line 170 merges it (write-protected), and the
    // bitmap-set of line 183, made while vCPU 3 points back at 0x42000, faults: exactly one.
    // The bitmap-load rows (lines 30-32) come before any merge, so they fault on nothing.
    const r = resultsOf("traces/edge-cases.csv");
    expect(r.get("merged")?.wp_faults).toBe(1);
    for (const result of r.values()) expect(result.violations, result.strategy).toBe(0);
  });
});
