/**
 * Several traces at once: a worker per core, each replaying whole traces
 * (reader, front and back in one thread), handed out in the order given.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { InputError } from "../io/errors.js";
import { WORKER_URL } from "./pipeline.js";
import type { FromWorker, ReplaySpec, ToWorker, TraceOutcome } from "./protocol.js";

export async function replayMany(
  files: readonly string[],
  spec: ReplaySpec,
  jobs: number = availableParallelism(),
  onDone?: (outcome: TraceOutcome, done: number) => void,
): Promise<TraceOutcome[]> {
  const outcomes: TraceOutcome[] = new Array(files.length);
  const size = Math.max(1, Math.min(jobs, files.length));
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const start = (worker: Worker) => {
        if (next >= files.length) return;
        const index = next++;
        const file = files[index] as string;
        const onMessage = (message: FromWorker) => {
          if (message.type === "outcome") {
            worker.off("message", onMessage);
            outcomes[index] = message.outcome;
            onDone?.(message.outcome, ++done);
            if (done === files.length) resolve();
            else start(worker);
          } else if (message.type === "error") {
            reject(message.input ? new InputError(message.message) : new Error(`${file}: ${message.message}`));
          }
        };
        worker.on("message", onMessage);
        worker.postMessage({ type: "trace", file, spec } satisfies ToWorker);
      };
      for (let i = 0; i < size; i++) {
        const worker = new Worker(WORKER_URL);
        worker.on("error", reject);
        workers.push(worker);
        start(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return outcomes;
}
