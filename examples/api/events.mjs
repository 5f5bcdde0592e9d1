// traceEvents(): a trace's rows as plain objects, one per event, with their lines.
import { createReadStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { traceEvents } from "nvmx-replay";

const trace = fileURLToPath(new URL("../../traces/real/ipi.csv.gz", import.meta.url));
// A stream works as well as a path; gzip is recognised by its first bytes.
const perMsr = new Map();
let first;
for await (const ev of traceEvents(createReadStream(trace), { name: "ipi.csv.gz" })) {
  if (ev.event !== "wrmsr") continue;
  first ??= ev;
  perMsr.set(ev.msr, (perMsr.get(ev.msr) ?? 0) + 1);
}
console.log(`first write: line ${first.line}, vCPU ${first.vcpu}, MSR 0x${first.msr.toString(16)}`);
for (const [msr, n] of [...perMsr].sort((a, b) => b[1] - a[1])) console.log(`0x${msr.toString(16)}: ${n} writes`);
