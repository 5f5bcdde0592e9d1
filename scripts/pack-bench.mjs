#!/usr/bin/env node
// scripts/pack-bench.mjs — the measurement behind the packed format's choice
// (docs/packed.md): Apache Arrow IPC against the tool's own layout, on the
// linux-mixed trace that `npm run bench` uses (10M events by default), each
// figure the median of several whole-process runs (wall time, Node's start-up
// included), the formats' runs taken in turn so that a drift of the shared
// machine's speed hits them alike.
//
//   npm run build && node scripts/pack-bench.mjs [--runs 5] [--events 10000000]
//
// It bundles scripts/bench/pack-harness.mjs with src/ and apache-arrow (a
// devDependency, only for this) into .bench-cache/, and measures:
// - writing: `nvmx-replay pack` against the harness's Arrow writer, both from the CSV;
// - the files' sizes;
// - decoding every event into the replay's front (the machine, the entry checks):
//   the CSV, the packed file and the Arrow file, each through the same harness;
// - `compare -q` with the default strategies on the CSV and on the packed file;
// - what each decoder adds to a bundle (esbuild, minified): Arrow's reader against ours.
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { BIN, CACHE, cachedTrace, int, M, messages, ROOT, shown } from "./lib/cache.mjs";

const { log, die } = messages("pack-bench");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const RUNS = option("--runs", 5);
const EVENTS = option("--events", 10 * M);

mkdirSync(CACHE, { recursive: true });
const trace = cachedTrace(EVENTS);
if (!trace.ready()) {
  log(`generating ${shown(trace.file)} (${trace.expected})`);
  run(trace.genArgs, "gen");
}
const packed = trace.file.replace(/\.csv$/, ".nvmx");
const arrow = trace.file.replace(/\.csv$/, ".arrow");
const harness = join(CACHE, "pack-harness.bundle.mjs");
await build({
  absWorkingDir: ROOT,
  entryPoints: ["scripts/bench/pack-harness.mjs"],
  outfile: harness,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
});

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function run(argv, what) {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, argv, {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (child.status !== 0) die(`${what} exited with ${child.status ?? child.signal}:\n${child.stderr}`);
  const rss = /maxrss_kib=(\d+)/.exec(child.stderr);
  return { seconds, rss: rss ? Number(rss[1]) / 1024 : Number.NaN };
}

/** Each measurement RUNS times, taken in turn; medians. */
function measure(list) {
  const times = list.map(() => []);
  const rss = list.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    list.forEach((m, i) => {
      const { seconds, rss: mib } = run(m.argv, m.what);
      times[i].push(seconds);
      rss[i].push(mib);
    });
  }
  return list.map((m, i) => ({ ...m, seconds: median(times[i]), rss: median(rss[i]) }));
}

log(`writing (${RUNS} runs each)`);
const writes = measure([
  { what: "pack (own layout)", argv: [BIN, "pack", trace.file, "-o", packed, "-q"], file: packed },
  { what: "Arrow IPC file", argv: [harness, "write-arrow", trace.file, arrow], file: arrow },
]);
log(`decoding (${RUNS} runs each)`);
const decodes = measure([
  { what: "CSV (readTrace)", argv: [harness, "decode-csv", trace.file] },
  { what: "own layout (readTrace)", argv: [harness, "decode-own", packed] },
  {
    what: "own layout (readTrace, in columns, as the commands read it)",
    argv: [harness, "decode-own-columns", packed],
  },
  { what: "Arrow IPC (RecordBatchReader)", argv: [harness, "decode-arrow", arrow] },
  { what: "`node -e 0` (start-up alone)", argv: ["-e", "0"] },
]);
const compares = measure([
  { what: "compare -q, CSV", argv: [BIN, "compare", "-q", trace.file] },
  { what: "compare -q, packed", argv: [BIN, "compare", "-q", packed] },
]);

/** Bytes a bundle needs for a decoder: esbuild, minified, everything it imports. */
async function bundleBytes(contents) {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: "js" },
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "node",
    logLevel: "silent",
  });
  return result.outputFiles[0].contents.length;
}
const arrowBytes = await bundleBytes('export { RecordBatchReader } from "apache-arrow";');
const ownBytes = await bundleBytes('export { readPacked } from "./src/io/packed/reader.ts";');

const s = (x) => x.toFixed(3);
const lines = [
  `pack-bench: ${int(EVENTS)} events of ${shown(trace.file)} (${(statSync(trace.file).size / 1e6).toFixed(1)} MB), medians of ${RUNS} whole-process runs`,
  "",
  "| write, from the CSV | median s | file size |",
  "|---|---|---|",
  ...writes.map((w) => `| ${w.what} | ${s(w.seconds)} | ${(statSync(w.file).size / 1e6).toFixed(1)} MB |`),
  "",
  "| decode every event into the front | median s | events/s | peak RSS |",
  "|---|---|---|---|",
  ...decodes.map(
    (d) =>
      `| ${d.what} | ${s(d.seconds)} | ${d.argv[0] === "-e" ? "" : int(EVENTS / d.seconds)} | ${Number.isNaN(d.rss) ? "" : `${d.rss.toFixed(1)} MiB`} |`,
  ),
  ...compares.map((c) => `| ${c.what} | ${s(c.seconds)} | ${int(EVENTS / c.seconds)} | |`),
  "",
  `decoder in a minified bundle: Arrow's RecordBatchReader ${int(arrowBytes)} bytes, ours ${int(ownBytes)} bytes`,
];
process.stdout.write(`${lines.join("\n")}\n`);
