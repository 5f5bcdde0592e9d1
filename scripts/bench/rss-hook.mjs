// scripts/bench/rss-hook.mjs — preloaded with `node --import` in front of
// bin/nvmx-replay.cjs by scripts/bench.mjs, so the benchmark runs the bin
// itself (what a global install runs) and still learns its peak RSS: on exit
// it writes `maxrss_kib=N` to stderr (process.resourceUsage().maxRSS, KiB;
// worker threads included, they share the process).
process.on("exit", () => {
  process.stderr.write(`maxrss_kib=${process.resourceUsage().maxRSS}\n`);
});
