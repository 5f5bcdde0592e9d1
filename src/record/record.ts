/**
 * `record`: the L2 view, recorded on the machine this runs on. The kernel's
 * own msr tracepoints (msr:read_msr, msr:write_msr, msr:rdpmc) fire for
 * every RDMSR/WRMSR/RDPMC its traced accessors execute; read inside a nested
 * guest, that is the access stream L2 makes (see docs/recording.md for what
 * it misses). They are recorded in a tracefs instance of our own, read from
 * its trace_pipe line by line, turned into rows by the importer and written
 * as they come: memory stays flat however long the recording runs.
 *
 * The kernel's tracing state is left as found on every exit path (cleanup.ts):
 * the instance is removed, and tracefs unmounted if we mounted it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { read, readFileSync } from "node:fs";
import { cpus, constants as osConstants, release } from "node:os";
import { Importer, type ImportStats, rowCount } from "../import/importer.js";
import { LineSplitter, RowBatcher } from "../import/run.js";
import { commentBlock, l2Blurb, trailerComments } from "../import/summary.js";
import { InputError } from "../io/errors.js";
import { printable } from "../io/printable.js";
import { FileSink, type Sink, StdoutSink } from "../io/sink.js";
import { count } from "../render/text-table.js";
import { Cleanup } from "./cleanup.js";
import {
  checkMsrEvents,
  findTracefs,
  type LostEvents,
  mountTracefs,
  RECORD,
  TRACEFS_MOUNT_POINT,
  TraceInstance,
  unmountTracefs,
} from "./tracefs.js";

/** How long to wait when trace_pipe is empty before reading again. */
const POLL_MS = 50;
/** One read of trace_pipe; the kernel returns at most about a page per read anyway. */
const READ_BYTES = 64 * 1024;
/** The shell's status for a command killed by signal N is 128 + N. */
const SIGNAL_STATUS_BASE = 128;
const MS_PER_S = 1000;
/** The name the trace is given in messages when it goes to stdout. */
const RECORDING = "<recording>";

export interface RecordOptions {
  /** A file (by output.ts's rules), or undefined for stdout. */
  readonly output: string | undefined;
  /** Record for this many seconds (exclusive with `command`). */
  readonly duration: number | undefined;
  /** Run this command (argv) and record while it runs. */
  readonly command: readonly string[] | undefined;
  readonly bufferKb: number;
  /** A warning line for the user (stderr). */
  readonly warn: (line: string) => void;
  /** Called as lines arrive, with the trace lines read so far and the seconds since the start. */
  readonly onProgress?: (lines: number, seconds: number) => void;
}

export interface RecordResult {
  readonly stats: ImportStats;
  readonly seconds: number;
  readonly lost: LostEvents;
  readonly instance: string;
  /** 0, or the command's non-zero status (128 + N when a signal N killed it). */
  readonly status: number;
}

export async function record(options: RecordOptions): Promise<RecordResult> {
  if (process.platform !== "linux") {
    throw new InputError(`${RECORD}needs Linux: it records the kernel's msr tracepoints`);
  }
  if (process.getuid?.() !== 0) {
    throw new InputError(
      `${RECORD}needs root (tracefs and its instances belong to root): run it as root, e.g. sudo nvmx-replay record …`,
    );
  }
  const cleanup = new Cleanup();
  cleanup.install();
  let sink: Sink | null = null;
  try {
    // The output is opened before anything is changed: a bad -o fails with the kernel untouched.
    sink = options.output === undefined ? new StdoutSink() : await FileSink.open(options.output);
    const instance = prepare(cleanup, options);
    return await run(instance, sink, cleanup, options);
  } catch (error) {
    await sink?.abort();
    throw error;
  } finally {
    cleanup.run();
  }
}

/** tracefs found or mounted, the msr events checked, our instance made and enabled; each step undone by `cleanup`. */
function prepare(cleanup: Cleanup, options: RecordOptions): TraceInstance {
  let root = findTracefs();
  if (root === null) {
    mountTracefs();
    root = TRACEFS_MOUNT_POINT;
    cleanup.push(() => {
      const why = unmountTracefs();
      if (why !== null)
        options.warn(
          `${RECORD}warning: could not unmount tracefs from ${TRACEFS_MOUNT_POINT}, which it mounted: ${why}`,
        );
    });
  }
  checkMsrEvents(root);
  const instance = TraceInstance.create(root);
  cleanup.push(() => {
    const why = instance.remove();
    if (why !== null)
      options.warn(`${RECORD}warning: could not remove the tracing instance ${instance.dir}: ${why}; rmdir it`);
  });
  instance.setBufferKb(options.bufferKb);
  return instance;
}

async function run(
  instance: TraceInstance,
  sink: Sink,
  cleanup: Cleanup,
  options: RecordOptions,
): Promise<RecordResult> {
  const name = options.output === undefined ? RECORDING : printable(options.output);
  const importer = new Importer(name, false);
  const fd = instance.openPipe();
  instance.enableMsrEvents();
  const started = Date.now();
  const header = headerComments(options, started);

  const rows = new RowBatcher(importer, sink, () => header);

  // The end: the duration, or the command's exit.
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = (): void => {
    stopped = true;
    wake?.();
  };
  let timer: NodeJS.Timeout | null = null;
  let child: ChildProcess | null = null;
  let childStatus = 0;
  let spawnError: Error | null = null;
  if (options.command !== undefined) {
    const [file, ...args] = options.command;
    // With the trace on stdout, the command's stdout would mix with it: it goes to stderr then.
    child = spawn(file ?? "", args, {
      stdio: ["inherit", options.output === undefined ? process.stderr : "inherit", "inherit"],
    });
    child.on("error", (error) => {
      spawnError = error;
      stop();
    });
    child.on("exit", (code, signal) => {
      childStatus = code ?? SIGNAL_STATUS_BASE + (signal === null ? 0 : (osConstants.signals[signal] ?? 0));
      child = null;
      stop();
    });
    // Ctrl-C reaches the command from the terminal; a signal sent to record alone is passed on.
    cleanup.beforeSignal = (signal) => {
      child?.kill(signal);
    };
  } else {
    timer = setTimeout(stop, (options.duration ?? 0) * MS_PER_S);
  }

  const buffer = Buffer.allocUnsafe(READ_BYTES);
  const splitter = new LineSplitter();
  const readAll = async (): Promise<void> => {
    for (;;) {
      const n = await readSome(fd, buffer);
      if (n === 0) return;
      splitter.push(buffer.subarray(0, n), rows.onLine);
      await rows.flushIfFull();
      options.onProgress?.(importer.stats.lines, (Date.now() - started) / MS_PER_S);
    }
  };
  try {
    while (!stopped) {
      if (sink.closed) {
        // The reader of stdout went away (`| head`): end as if the time were up.
        child?.kill("SIGTERM");
        break;
      }
      await readAll();
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const pause = setTimeout(done, POLL_MS);
        function done(): void {
          clearTimeout(pause);
          wake = null;
          resolve();
        }
        wake = done;
      });
      options.onProgress?.(importer.stats.lines, (Date.now() - started) / MS_PER_S);
    }
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  if (spawnError !== null) {
    throw new InputError(`${RECORD}cannot run ${shellWords(options.command ?? [])}: ${spawnWords(spawnError)}`);
  }
  // Stop the events, then read what the buffer still holds: with nothing writing, the pipe runs dry.
  instance.stop();
  await readAll();
  splitter.finish(rows.onLine);
  const seconds = (Date.now() - started) / MS_PER_S;
  const lost = instance.lost();
  instance.closePipe();
  await rows.flush();
  if (rowCount(importer.stats) === 0) {
    throw new InputError(
      `${RECORD}no MSR access was recorded in ${seconds.toFixed(1)} s (${count(importer.stats.lines)} trace lines read); nothing written`,
    );
  }
  await sink.write(
    `# record: ${seconds.toFixed(3)} s; lost events: ${count(lost.overrun + lost.dropped)} (ring-buffer overrun ${count(lost.overrun)}, dropped ${count(lost.dropped)})\n`,
  );
  await sink.write(trailerComments(importer.stats));
  await sink.commit();
  return { stats: importer.stats, seconds, lost, instance: instance.name, status: childStatus };
}

/** One non-blocking read: the bytes read, 0 when trace_pipe is empty now. */
function readSome(fd: number, buffer: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
      if (error === null) resolve(bytes);
      else if (error.code === "EAGAIN") resolve(0);
      else reject(new InputError(`${RECORD}cannot read trace_pipe: ${error.message.split("\n")[0]}`));
    });
  });
}

/** The comment block that opens a recorded trace: where, what and when (the list). */
export function headerComments(options: RecordOptions, started: number): string {
  const workload = options.command === undefined ? `idle, ${options.duration} s` : shellWords(options.command);
  const duration =
    options.command === undefined
      ? `${options.duration} s (--duration)`
      : "while the command ran (the measured time is at the end of the file)";
  const lines = [
    "Recorded by nvmx-replay record: the L2 view, this kernel's msr:read_msr, msr:write_msr and msr:rdpmc",
    "tracepoints (every CPU, every task), from a tracefs instance of its own. vCPU = the CPU column.",
    `kernel: ${release()}`,
    `cpu: ${cpuModel()}`,
    `vcpus: ${cpus().length}`,
    `workload: ${workload}`,
    `duration: ${duration}`,
    `date: ${new Date(started).toISOString()}`,
    "",
    ...l2Blurb(),
  ];
  return commentBlock(lines.map(printable));
}

/** /proc/cpuinfo's first "model name" (x86), or "unknown". */
function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match?.[1]) return match[1].trim();
  } catch {
    // no /proc: unknown
  }
  return cpus()[0]?.model ?? "unknown";
}

/** argv as a shell would take it back: words quoted only where needed, control characters escaped. */
export function shellWords(argv: readonly string[]): string {
  return printable(
    argv.map((word) => (/^[\w./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`)).join(" "),
  );
}

function spawnWords(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such command";
  if (code === "EACCES") return "permission denied (not executable?)";
  return error.message.split("\n")[0] ?? String(code);
}
