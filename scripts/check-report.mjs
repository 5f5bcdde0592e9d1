#!/usr/bin/env node
// scripts/check-report.mjs — `npm run check:report`: opens a report in a real
// browser (headless Chromium, driven by puppeteer-core) and checks what a
// reader would see: every chart rendered (an <svg> with a non-zero size in
// each figure), no console error, no network request (every request but the
// page itself is refused and reported), and no sideways scrolling of the
// page on a 360-pixel-wide phone screen. Then saves a PNG screenshot.
//
//   node scripts/check-report.mjs                      builds a report of the bundled
//                                                      linux-kvm.csv (needs `npm run build`)
//                                                      and saves docs/report.png
//   node scripts/check-report.mjs --html FILE          checks FILE instead
//   node scripts/check-report.mjs --screenshot FILE    saves the screenshot there
//   node scripts/check-report.mjs --no-screenshot
//
// The browser is Debian's `chromium` (no browser download): CHROMIUM if set,
// else `chromium` on PATH, else /usr/bin/chromium. Exit status: 0 all checks
// passed, 1 a check failed (each failure on its own line), 2 no Chromium.
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Exit status when no Chromium is found (the vitest wrapper skips on it). */
export const EXIT_NO_CHROMIUM = 2;
/** A desktop window for the screenshot, and a small phone's width for the narrow-screen check. */
const DESKTOP = { width: 1000, height: 800 };
const PHONE = { width: 360, height: 740 };
/** How long the page may take to load, in ms: it is a local file with no script. */
const LOAD_TIMEOUT_MS = 20_000;

/** Debian's chromium: $CHROMIUM, `which chromium`, or /usr/bin/chromium; undefined when none runs. */
export function findChromium(env = process.env) {
  const candidates = [];
  if (env.CHROMIUM) candidates.push(env.CHROMIUM);
  const which = spawnSync("which", ["chromium"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim() !== "") candidates.push(which.stdout.trim());
  candidates.push("/usr/bin/chromium");
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not this one
    }
  }
  return undefined;
}

function parseArgs(argv) {
  const args = { html: undefined, screenshot: join(ROOT, "docs", "report.png") };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--html") args.html = argv[++i];
    else if (arg === "--screenshot") args.screenshot = argv[++i];
    else if (arg === "--no-screenshot") args.screenshot = undefined;
    else throw new Error(`check-report: unknown argument ${arg}`);
  }
  return args;
}

/** Writes the bundled linux-kvm.csv's report with the built CLI; returns its path. */
function buildReport(dir) {
  const out = join(dir, "report.html");
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "bin", "nvmx-replay.js"), "report", "traces/linux-kvm.csv", "-o", out, "--quiet"],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`check-report: nvmx-replay report failed: ${run.stderr.trim()}`);
  return out;
}

/** Opens `file` in Chromium and returns every check that failed (empty when all passed). */
export async function checkReport(file, { chromium, screenshot }) {
  const { default: puppeteer } = await import("puppeteer-core");
  const failures = [];
  const url = pathToFileURL(resolve(file)).href;
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // As root (CI) Chromium needs --no-sandbox; /dev/shm may be small in containers.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport(DESKTOP);
    await page.setRequestInterception(true);
    page.on("request", (request) => {
      if (request.url() === url) {
        request.continue();
        return;
      }
      failures.push(`network request: ${request.url()}`);
      request.abort();
    });
    page.on("console", (message) => {
      if (message.type() === "error") failures.push(`console error: ${message.text()}`);
    });
    page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
    await page.goto(url, { waitUntil: "load", timeout: LOAD_TIMEOUT_MS });
    const charts = await page.$$eval("figure.chart", (figures) =>
      figures.map((figure) => {
        const svg = figure.querySelector("svg");
        const box = svg?.getBoundingClientRect();
        return { id: figure.id, width: box?.width ?? 0, height: box?.height ?? 0 };
      }),
    );
    if (charts.length === 0) failures.push("no chart (figure.chart) in the page");
    for (const chart of charts) {
      if (!(chart.width > 0 && chart.height > 0)) {
        failures.push(`chart ${chart.id}: not rendered (${chart.width} x ${chart.height})`);
      }
    }
    const svgs = await page.$$eval("svg", (all) => all.filter((s) => !s.parentElement?.closest("svg")).length);
    if (svgs !== charts.length) failures.push(`${svgs} <svg> elements, but ${charts.length} charts`);
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    await page.setViewport(PHONE);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > PHONE.width) failures.push(`on a ${PHONE.width}-pixel-wide screen the page is ${wide} pixels wide`);
    return { failures, charts: charts.length };
  } finally {
    await browser.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const chromium = findChromium();
  if (!chromium) {
    process.stderr.write("check-report: no Chromium (set CHROMIUM, or apt-get install chromium)\n");
    process.exitCode = EXIT_NO_CHROMIUM;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "nvmx-check-report-"));
  try {
    const file = args.html ?? buildReport(dir);
    const { failures, charts } = await checkReport(file, { chromium, screenshot: args.screenshot });
    for (const failure of failures) process.stderr.write(`check-report: ${failure}\n`);
    if (failures.length > 0) {
      process.exitCode = 1;
      return;
    }
    const shot = args.screenshot ? `, screenshot ${args.screenshot}` : "";
    process.stdout.write(`check-report: ${charts} charts rendered, no console error, no network request${shot}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`check-report: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
