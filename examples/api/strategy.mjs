// A strategy of your own, run beside the built-in ones (the interface: docs/strategies.md).
import { fileURLToPath } from "node:url";
import { checkStrategy, compareTrace, defineStrategy } from "nvmx-replay";

/**
 * L2 never runs with a bitmap, so every access exits to L0 (as l1-filter),
 * but L0 pays a full merge at every nested entry anyway: what an L0 that
 * rebuilt vmcs02's bitmap and then ignored it would cost.
 */
const wasteful = defineStrategy({
  name: "wasteful-filter",
  summary: "no bitmap for L2, and a merge at every entry",
  origin: "nobody: an example",
  create(_machine, counters) {
    return {
      entry() {
        counters.merges++;
        return null; // no bitmap: every access exits to L0
      },
    };
  },
});

const trace = fileURLToPath(new URL("../../traces/linux-kvm.csv", import.meta.url));
const report = await compareTrace(trace, { strategies: ["l1-filter", wasteful] });
for (const [i, r] of report.results.entries()) {
  console.log(`${r.strategy}: est_cycles ${r.est_cycles}, of which merges ${report.cycles[i].merges}`);
}
// The checks --strategy-module authors run: random traces, no access may slip past.
const conformance = checkStrategy(wasteful);
console.log(
  `conformance: ${conformance.ok ? "ok" : "failed"}, ${conformance.traces} traces, ${conformance.violations} violations`,
);
