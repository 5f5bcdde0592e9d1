/**
 * Several traces at once: a worker per core, each replaying whole traces
 * (reader, front and back in one thread), handed out in the order given.
 *
 * A trace that fails with an input error either stops the run (the default:
 * all or nothing) or is recorded and the rest go on (`keepGoing`). Either way
 * the error reported is that of the first bad trace in the order given, not
 * the first to fail in time, so it does not depend on --jobs: after a failure
 * no later trace is started, and the earlier ones still running are finished.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { InputError } from "../io/errors.js";
import { WORKER_URL } from "./pipeline.js";
import type { FromWorker, ReplaySpec, ToWorker, TraceFailure, TraceOutcome } from "./protocol.js";

export interface PoolOptions {
  /** Told each trace's outcome (or failure) as it ends, and how many have ended. */
  readonly onDone?: (trace: string, done: number) => void;
  /** Record a trace's input error and replay the others. */
  readonly keepGoing?: boolean;
}

export async function replayMany(
  files: readonly string[],
  spec: ReplaySpec,
  jobs: number = availableParallelism(),
  options: PoolOptions = {},
): Promise<(TraceOutcome | TraceFailure)[]> {
  const outcomes: (TraceOutcome | TraceFailure)[] = new Array(files.length);
  const size = Math.max(1, Math.min(jobs, files.length));
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  let running = 0;
  /** The first trace, in the order given, that failed (stops the run unless keepGoing). */
  let firstBad = files.length;
  try {
    await new Promise<void>((resolve, reject) => {
      const finish = () => {
        const bad = outcomes[firstBad];
        if (!options.keepGoing && bad && "error" in bad) reject(new InputError(bad.error));
        else resolve();
      };
      const start = (worker: Worker) => {
        const stopping = !options.keepGoing && firstBad < files.length;
        if (next >= files.length || (stopping && next > firstBad)) {
          if (running === 0) finish();
          return;
        }
        const index = next++;
        const file = files[index] as string;
        running++;
        const ended = (outcome: TraceOutcome | TraceFailure) => {
          worker.off("message", onMessage);
          outcomes[index] = outcome;
          running--;
          options.onDone?.(outcome.trace, ++done);
          start(worker);
        };
        const onMessage = (message: FromWorker) => {
          if (message.type === "outcome") ended(message.outcome);
          else if (message.type === "error") {
            if (!message.input) reject(new Error(`${file}: ${message.message}`));
            else {
              firstBad = Math.min(firstBad, index);
              ended({ trace: file, error: message.message });
            }
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
  // Without keepGoing the run stopped at the first bad trace; with it, every slot is filled.
  return outcomes.filter((o) => o !== undefined);
}
