#!/usr/bin/env node
// scripts/workloads/ipi-pingpong.mjs: the workload of traces/real/ipi.csv.gz.
// Two threads wake each other 20,000 times through a futex (Atomics.wait/notify):
// each wake-up of a thread sleeping on the other vCPU sends it an IPI.
import { isMainThread, Worker, workerData } from "node:worker_threads";

const ROUNDS = 20000;
if (isMainThread) {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(new URL(import.meta.url), { workerData: shared });
  for (let i = 0; i < ROUNDS; i++) {
    Atomics.store(shared, 0, 1);
    Atomics.notify(shared, 0);
    Atomics.wait(shared, 1, 0);
    Atomics.store(shared, 1, 0);
  }
  await w.terminate();
} else {
  const shared = workerData;
  for (let i = 0; i < ROUNDS; i++) {
    Atomics.wait(shared, 0, 0);
    Atomics.store(shared, 0, 0);
    Atomics.store(shared, 1, 1);
    Atomics.notify(shared, 1);
  }
}
