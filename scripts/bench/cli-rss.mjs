#!/usr/bin/env node
// scripts/bench/cli-rss.mjs — starts the built CLI (dist/start.cjs) as
// bin/nvmx-replay.js does, and on exit writes the process's peak RSS to stderr
// as `maxrss_kib=N` (process.resourceUsage().maxRSS, KiB; worker threads
// included, they share the process). Used by scripts/bench.mjs.
//
//   node scripts/bench/cli-rss.mjs compare TRACE [options…]
import { start } from "../../dist/start.cjs";

process.on("exit", () => {
  process.stderr.write(`maxrss_kib=${process.resourceUsage().maxRSS}\n`);
});

await start(process.argv);
