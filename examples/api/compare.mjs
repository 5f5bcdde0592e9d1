// compareTrace(): one trace under several strategies, the object `compare --format json` prints.
import { fileURLToPath } from "node:url";
import { compareTrace } from "nvmx-replay";

const trace = fileURLToPath(new URL("../../traces/linux-kvm.csv", import.meta.url));
const report = await compareTrace(trace, {
  strategies: ["l1-filter", "merged", "sparse"],
  costModel: { merge: 2000 }, // any subset of the cost keys; the rest keep their defaults
});
console.log(`${report.events} events, ${report.vcpus} vCPUs`);
for (const r of report.results) {
  console.log(`${r.strategy.padEnd(10)} l0_exits ${r.l0_exits}  merges ${r.merges}  est_cycles ${r.est_cycles}`);
}
