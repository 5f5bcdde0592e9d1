/**
 * Issue 13 item 5: the report checked in a real browser. Runs
 * scripts/check-report.mjs (also `npm run check:report`) on the built CLI's
 * report and on pages made here, in Debian's headless Chromium; and checks
 * that the script does fail on a page with a network request, an empty chart
 * or a console error. Skipped, with the reason in the test's name, where no
 * Chromium is installed.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reportPage } from "../src/analysis/report-page.js";
import { zeroCounters } from "../src/engine/results.js";
import { renderReportHtml } from "../src/render/html/page.js";
import type { Report } from "../src/report.js";
import { ROOT, useTempDirs } from "./helpers/cli.js";
import { plainOptions } from "./helpers/report.js";

const tempDir = useTempDirs("each");

/** As scripts/check-report.mjs finds it: $CHROMIUM, `which chromium`, /usr/bin/chromium. */
function findChromium(): string | undefined {
  const which = spawnSync("which", ["chromium"], { encoding: "utf8" });
  const candidates = [process.env.CHROMIUM, which.status === 0 ? which.stdout.trim() : "", "/usr/bin/chromium"];
  return candidates.find((path) => {
    if (!path) return false;
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const chromium = findChromium();
const SKIP = chromium ? "" : " (skipped: no Chromium found; apt-get install chromium, or set CHROMIUM)";

/** Runs the check; a browser start takes a few seconds on a busy machine. */
function check(args: readonly string[]) {
  const run = spawnSync(process.execPath, [join(ROOT, "scripts", "check-report.mjs"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 90_000,
    env: { ...process.env, ...(chromium ? { CHROMIUM: chromium } : {}) },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A page with one figure holding `inside`, for the checks that must fail. */
function bad(inside: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body>
<figure class="chart" id="chart-c1" data-kind="cycles">${inside}</figure></body></html>`;
}

const made: Report = {
  options: plainOptions(["merged", "sparse"]),
  traces: ["a.csv", "b.csv"].map((trace, t) => ({
    trace,
    events: 100,
    vcpus: 2,
    results: ["merged", "sparse"].map((strategy, s) => ({
      strategy,
      ...zeroCounters(),
      l0_exits: 10 + s + t,
      l1_exits: 5,
      l0_handled: 5 + s + t,
      merges: 3 * s,
      est_cycles: 15000 * 5 + 1500 * (5 + s + t) + 700 * 3 * s,
    })),
  })),
};

describe.skipIf(!chromium)(`report in headless Chromium${SKIP}`, () => {
  it("the bundled trace's report: every chart drawn, no console error, no request, fits a phone", () => {
    const r = check(["--no-screenshot"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // linux-kvm.csv is one trace: the cycles and break-even charts, exits over time (to L0, to L1), and the
    // top MSRs of each of the five default strategies.
    expect(r.stdout).toBe("check-report: 9 charts rendered, no console error, no network request\n");
  });

  it("a page with every section (several traces, windows, top MSRs) renders too, and the screenshot is a PNG", async () => {
    const dir = tempDir();
    const windows = {
      unit: "seconds" as const,
      points: Array.from({ length: 50 }, (_, i) => ({
        from: i / 10,
        to: (i + 1) / 10,
        perStrategy: [
          { strategy: "merged", l0_exits: i % 7, l1_exits: i % 3, est_cycles: 1000 },
          { strategy: "sparse", l0_exits: i % 5, l1_exits: i % 2, est_cycles: 900 },
        ],
      })),
    };
    const topMsrs = [
      {
        strategy: "merged",
        rows: [
          { msr: 0x6e0, name: "TSC_DEADLINE", dir: "w" as const, l0_exits: 9, l1_exits: 9, exit_cycles: 135000 },
          { msr: 0x10, name: "TSC", dir: "r" as const, l0_exits: 4, l1_exits: 0, exit_cycles: 6000 },
        ],
      },
    ];
    const html = await renderReportHtml(reportPage(made, [{ windows, topMsrs }]), "nvmx-replay test");
    writeFileSync(join(dir, "page.html"), html);
    const shot = join(dir, "page.png");
    const r = check(["--html", join(dir, "page.html"), "--screenshot", shot]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // across; a.csv: cycles, breakeven, windows ×2, top MSRs; b.csv: cycles, breakeven.
    expect(r.stdout).toMatch(/^check-report: 8 charts rendered, no console error, no network request, screenshot /);
    expect(existsSync(shot)).toBe(true);
  });

  it("fails on a network request", () => {
    const dir = tempDir({ "page.html": bad('<svg width="10" height="10"></svg><img src="http://127.0.0.1:9/x.png">') });
    const r = check(["--html", join(dir, "page.html"), "--no-screenshot"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("check-report: network request: http://127.0.0.1:9/x.png");
  });

  it("fails on a chart that did not render, and on a console error", () => {
    const dir = tempDir({
      "empty.html": bad('<svg width="0" height="0"></svg>'),
      "noisy.html": bad('<svg width="10" height="10"></svg><script>console.error("boom")</script>'),
    });
    const empty = check(["--html", join(dir, "empty.html"), "--no-screenshot"]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain("check-report: chart chart-c1: not rendered (0 x 0)");
    const noisy = check(["--html", join(dir, "noisy.html"), "--no-screenshot"]);
    expect(noisy.status).toBe(1);
    expect(noisy.stderr).toContain("check-report: console error: boom");
  });
});
