/** The workloads `gen` knows: a new one is one module and one line here. */
import { bitmapChurn } from "./bitmap-churn.js";
import { boot } from "./boot.js";
import { linuxIdle } from "./linux-idle.js";
import { linuxMixed } from "./linux-mixed.js";
import type { Workload } from "./workload.js";

export const WORKLOADS: readonly Workload[] = [linuxIdle, linuxMixed, bitmapChurn, boot];

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
