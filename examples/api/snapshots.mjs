// Loaders: bitmaps as 4096-byte pages a script can read, change and replay with.
import { fileURLToPath } from "node:url";
import { compareTrace, l1Profile, loadSnapshot } from "nvmx-replay";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const fromFile = loadSnapshot(here("../../traces/kvm-l1.json"));
const kvm = l1Profile("kvm");
console.log(`traces/kvm-l1.json is the kvm L1 profile: ${Buffer.from(fromFile).equals(Buffer.from(kvm))}`);

// Clear the write bit of TSC_DEADLINE (0x6E0): the write half of the page
// starts at byte 2048 (SDM 25.6.9), one bit per MSR of 0-0x1FFF.
const TSC_DEADLINE = 0x6e0;
const WRITE_HALF = 2048;
const edited = new Uint8Array(kvm);
edited[WRITE_HALF + (TSC_DEADLINE >> 3)] &= ~(1 << (TSC_DEADLINE & 7));

const trace = here("../../traces/real/idle.csv.gz");
for (const [name, page] of [
  ["kvm", kvm],
  ["kvm, TSC_DEADLINE writes passed", edited],
]) {
  const report = await compareTrace(trace, { strategies: ["merged"], l1Bitmap: page });
  const [merged] = report.results;
  console.log(
    `${name}: l1_exits ${merged.l1_exits}, est_cycles ${merged.est_cycles} (l1_bitmap: ${report.options.l1_bitmap})`,
  );
}
