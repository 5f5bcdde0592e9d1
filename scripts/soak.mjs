#!/usr/bin/env node
// scripts/soak.mjs — the memory soak test: `npm run soak` (which builds first).
//
//   npm run soak                       100M events of linux-mixed (4 vCPUs, seed 1)
//   npm run soak -- --events 30M       a shorter run (k, M, G suffixes; 1.5M works)
//
// Streams a generated trace through what `compare` runs (the pipelined replay of
// dist/pipeline.js: this thread reads the trace and runs the replay's front, a
// worker the four default strategies) and prints, every 10M events, the events so
// far, the elapsed seconds, the rate, the RSS now and the peak RSS of the process
// (process.resourceUsage().maxRSS: the worker thread counts too). Then a verdict:
// FLAT if the peak at the end is within 20% of the peak at the first mark (10M
// events; N/10 for runs under 20M), GROWING otherwise. Memory must not grow with
// the trace: a streaming reader and a replay whose state is bounded by vCPUs and
// pages, not events.
//
// The trace is generated once with the project's own `nvmx-replay gen` into
// .bench-cache/ (git-ignored; the same names as scripts/bench.mjs) and reused
// while its header comment matches. 100M events is about 2.3 GB: free disk space
// is checked first. Exits 0 whatever the verdict; 1 if it cannot run (no disk
// space, a failed build, gen or replay), 2 on a bad option.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CACHE, cachedTrace, int, label, M, messages, ROOT, SEED, shown, VCPUS, WORKLOAD } from "./lib/cache.mjs";

const { log, die } = messages("soak");

const DIST = join(ROOT, "dist");

const MARK = 10 * M;
/** linux-mixed writes about 23.3 bytes per event; ask for a margin over that. */
const BYTES_PER_EVENT = 26;
/** The verdict's limit: growth of peak RSS from the first mark to the end. */
const MAX_GROWTH = 0.2;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------
// options

function usage() {
  return "usage: node scripts/soak.mjs [--events N]   (npm run soak -- [--events N])\n  N: events, e.g. 100M (default), 30M, 1.5M, 500k\n";
}

function badOption(text) {
  process.stderr.write(`soak: error: ${text}\n${usage()}`);
  process.exit(2);
}

/** `100M`, `1.5M`, `500k`, `1G` or an integer; null if it is none of these. */
function parseCount(text) {
  const match = /^(\d+(?:\.\d+)?)([kMG]?)$/.exec(text.trim());
  if (!match) return null;
  const n = Number(match[1]) * { "": 1, k: 1e3, M: 1e6, G: 1e9 }[match[2]];
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}

function parseArgs(argv) {
  const options = { events: 100 * M };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      process.stdout.write(usage());
      process.exit(0);
    } else if (arg === "--events" || arg.startsWith("--events=")) {
      const value = arg === "--events" ? argv[++i] : arg.slice("--events=".length);
      const n = value === undefined ? null : parseCount(value);
      if (n === null)
        badOption(
          `--events needs a count of events such as 100M, 30M or 500000, got ${value === undefined ? "nothing" : `"${value}"`}`,
        );
      options.events = n;
    } else badOption(`unknown option "${arg}"`);
  }
  return options;
}

// ---------------------------------------------------------------------------
// helpers

const gb = (bytes) => `${(bytes / 1e9).toFixed(1)} GB`;
const mib = (bytes) => (bytes / MiB).toFixed(1);

// ---------------------------------------------------------------------------
// the trace

/** The trace of `events` events in the cache, generated with `nvmx-replay gen` unless it is there already. */
function trace(events) {
  const { file, genArgs, ready, expected } = cachedTrace(events);
  if (ready()) {
    log(`reusing ${shown(file)} (${gb(statSync(file).size)})`);
    return file;
  }
  // gen writes a temporary file beside the trace and renames it: the old one (if any) goes only then.
  const need = events * BYTES_PER_EVENT;
  const { bavail, bsize } = statfsSync(CACHE);
  const free = bavail * bsize;
  if (free < need) {
    die(
      `not enough free disk space for the trace: ${label(events)} events need about ${gb(need)} in ${shown(CACHE)}/, and only ${gb(free)} is free (try a shorter run: --events 30M)`,
    );
  }
  log(`generating ${shown(file)} (${int(events)} events, about ${gb(events * 23.3)}; ${gb(free)} free)…`);
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, genArgs, {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (child.error) die(`nvmx-replay gen: ${child.error.message}`);
  if (child.status !== 0) die(`nvmx-replay gen exited with ${child.status ?? child.signal}`);
  if (!ready()) die(`${shown(file)} was generated but its header does not say ${expected}`);
  log(`  done in ${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`);
  return file;
}

// ---------------------------------------------------------------------------
// main

const options = parseArgs(process.argv.slice(2));
if (!existsSync(join(DIST, "pipeline.js"))) die("dist/ is missing: run `npm run build` first (npm run soak does)");
mkdirSync(CACHE, { recursive: true });

const file = trace(options.events);
const { replayPipelined } = await import(pathToFileURL(join(DIST, "pipeline.js")).href);
const { DEFAULT_COMPARE, DEFAULT_COST_MODEL, findL0Profile } = await import(
  pathToFileURL(join(DIST, "engine.js")).href
);
/** What `compare` runs by default. */
const STRATEGIES = [...DEFAULT_COMPARE];

const every = options.events >= 2 * MARK ? MARK : Math.max(1, Math.floor(options.events / 10));
if (every !== MARK) log(`a run under ${label(2 * MARK)} events: a line every ${int(every)} events`);

const spec = {
  strategies: STRATEGIES,
  l0: findL0Profile("kvm-2013").bitmaps(),
  l1Bitmap: null,
  cost: DEFAULT_COST_MODEL,
  breakdown: false,
};

const columns = ["events", "elapsed s", "events/s", "RSS MiB", "peak RSS MiB"];
const widths = [14, 10, 12, 9, 13];
const row = (cells) => cells.map((cell, i) => String(cell).padStart(widths[i])).join("  ");
process.stdout.write(
  `soak: ${WORKLOAD}, ${label(options.events)} events, ${VCPUS} vCPUs, seed ${SEED}; compare --strategies ${STRATEGIES.join(",")} (pipelined); ${shown(file)}\n`,
);
process.stdout.write(`${row(columns)}\n`);

/** Peak RSS in bytes (maxRSS is in KiB). */
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const samples = []; // { events, peak } at each line
const start = process.hrtime.bigint();
function report(events) {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = process.memoryUsage().rss;
  const peak = peakRss();
  samples.push({ events, peak });
  process.stdout.write(`${row([int(events), seconds.toFixed(1), int(events / seconds), mib(rss), mib(peak)])}\n`);
}

let next = every;
let outcome;
try {
  outcome = await replayPipelined(file, spec, {
    // Once per chunk read (1 MiB, about 45k events): a line at the first chunk past each mark.
    onProgress: (_bytes, events) => {
      if (events < next) return;
      report(events);
      while (next <= events) next += every;
    },
  });
} catch (error) {
  die(`the replay failed: ${error instanceof Error ? error.message : String(error)}`);
}
if (outcome.events !== options.events) die(`the replay took ${int(outcome.events)} events, not ${int(options.events)}`);
// The last chunk's events come after its progress call: the end gets its own line.
report(outcome.events);

const first = samples[0];
const last = samples[samples.length - 1];
const growth = last.peak / first.peak - 1;
const verdict = growth <= MAX_GROWTH ? "FLAT" : "GROWING";
const pct = (x) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
process.stdout.write(
  `verdict: ${verdict}: peak RSS ${mib(first.peak)} MiB at ${int(first.events)} events, ${mib(last.peak)} MiB at ${int(last.events)} (${pct(growth)}; flat means within +${MAX_GROWTH * 100}%)\n`,
);
