// What the benchmark and the soak share: the project's paths, the cached
// `linux-mixed` traces in .bench-cache/ (git-ignored), and a few formatters.
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CACHE = join(ROOT, ".bench-cache");
export const BIN = join(ROOT, "bin", "nvmx-replay.js");
export const WORKLOAD = "linux-mixed";
export const VCPUS = 4;
export const SEED = 1;
export const M = 1_000_000;

export const shown = (path) => relative(ROOT, path) || ".";
export const int = (n) => Math.round(n).toLocaleString("en-US");
export const label = (events) => (events % M === 0 ? `${events / M}M` : String(events));

/** `log` and `die` for a script, its messages prefixed with its name, on stderr. */
export function messages(name) {
  return {
    log: (text) => process.stderr.write(`${name}: ${text}\n`),
    die: (text) => {
      process.stderr.write(`${name}: error: ${text}\n`);
      process.exit(1);
    },
  };
}

/** The first `bytes` bytes of a file, as latin1 text. */
export function head(path, bytes = 4096) {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, 0);
    return buffer.toString("latin1", 0, n);
  } finally {
    closeSync(fd);
  }
}

/** Where the trace of `events` events lives, the `gen` arguments that make it, and whether it is there. */
export function cachedTrace(events) {
  const file = join(CACHE, `${WORKLOAD}-${VCPUS}v-s${SEED}-${label(events)}.csv`);
  const snapshot = file.replace(/\.csv$/, ".l1.json");
  const expected = [
    `# nvmx-replay gen trace: workload ${WORKLOAD}\n`,
    `# parameters: events=${events} vcpus=${VCPUS} seed=${SEED}\n`,
  ];
  return {
    file,
    genArgs: [
      BIN,
      "gen",
      WORKLOAD,
      "--events",
      String(events),
      "--vcpus",
      String(VCPUS),
      "--seed",
      String(SEED),
      "-o",
      file,
    ],
    ready: () => existsSync(file) && existsSync(snapshot) && expected.every((line) => head(file).includes(line)),
    expected: expected.map((l) => l.trim()).join(" / "),
  };
}
