import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cli.js";

/** Small traces several test files work by hand (docs/model.md §6), and the bundled ones. */

/**
 * L0 kvm-2013: passes FS_BASE (0xc0000100) both ways, intercepts TSC (0x10)
 * and TSC_DEADLINE (0x6e0). L1's page 0x2000 starts all zeros (passes
 * everything); line 3 sets its write bit of 0x6e0: L1 wants that write.
 *   line 6  wrmsr FS_BASE: entry 1 (a merge under merged-eager and sparse).
 *           vmcs02: 0 OR 0 = 0 (FS_BASE is on sparse's allow-list) -> no exit.
 *           l1-filter: no bitmap, exits; L1 does not want it -> l0_handled.
 *   line 7  wrmsr FS_BASE: as line 6, no entry.
 *   line 8  rdmsr TSC: L0 intercepts -> exit everywhere; L1 does not want
 *           it -> l0_handled everywhere.
 *   line 9  wrmsr TSC_DEADLINE: exits everywhere, L1 wants it -> l1_exits;
 *           L2 stops.
 *   line 10 wrmsr FS_BASE: entry 2 (a second merge), as line 6.
 * l1-filter:    l0_handled 4, l1_exits 1, merges 0
 *               est = 1500*4 + 15000 = 21000
 * merged-eager: l0_handled 1, l1_exits 1, merges 2 (at merge, 1000)
 *               est = 1500 + 15000 + 2000 = 18500
 * sparse:       l0_handled 1, l1_exits 1, merges 2 (at merge_sparse, 700)
 *               est = 1500 + 15000 + 1400 = 17900
 */
export const COSTS_TRACE = [
  "event,vcpu,msr,value,page,dir",
  "bitmap-set,0,0xc0000100,0,0x2000,rw",
  "bitmap-set,0,0x6e0,1,0x2000,w",
  "bitmap-ptr,0,,,0x2000,",
  "use-bitmap,0,,1,,",
  "wrmsr,0,0xc0000100,0x1,,",
  "wrmsr,0,0xc0000100,0x2,,",
  "rdmsr,0,0x10,,,",
  "wrmsr,0,0x6e0,0x5,,",
  "wrmsr,0,0xc0000100,0x3,,",
  "",
].join("\n");

/**
 * Every bundled trace, with the options it replays under: the synthetic ones
 * carry L1's pages, the recorded ones (traces/real/, the L2 view) need an L1 profile.
 */
export const BUNDLED_TRACES: readonly { readonly trace: string; readonly options: readonly string[] }[] = [
  ...readdirSync(join(ROOT, "traces"))
    .filter((f) => f.endsWith(".csv"))
    .map((f) => ({ trace: join("traces", f), options: [] })),
  ...readdirSync(join(ROOT, "traces", "real"))
    .filter((f) => f.endsWith(".csv.gz"))
    .map((f) => ({ trace: join("traces", "real", f), options: ["--l1-profile", "kvm"] })),
];
