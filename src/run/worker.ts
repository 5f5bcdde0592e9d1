/**
 * A replay worker thread: a BackHost (back-host.ts) on the thread's port,
 * either the back half of a replay whose front runs in the main thread, or
 * a whole replay of one trace.
 */
import { parentPort } from "node:worker_threads";
import { BackHost } from "./back-host.js";
import type { FromWorker, ToWorker } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("run/worker.js is a worker thread's entry point");

const host = new BackHost((message: FromWorker) => port.postMessage(message));
port.on("message", (message: ToWorker) => host.receive(message));
