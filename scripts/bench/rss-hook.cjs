// scripts/bench/rss-hook.cjs — preloaded with `node --require` in front of
// bin/nvmx-replay.js by scripts/bench.mjs, so the benchmark runs the bin
// itself (what a global install runs) and still learns its peak RSS: on exit
// it writes `maxrss_kib=N` to stderr (process.resourceUsage().maxRSS, KiB;
// worker threads included, they share the process). CommonJS, like the bin:
// a preload given with --import would start Node's ES module loader, some
// 5 ms that a run of the bin alone does not spend.
process.on("exit", () => {
  process.stderr.write(`maxrss_kib=${process.resourceUsage().maxRSS}\n`);
});
