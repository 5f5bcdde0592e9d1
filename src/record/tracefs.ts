/**
 * tracefs for `record`: finding (or mounting) it, and one tracing instance of
 * our own with the msr events enabled in it.
 *
 * The global buffer is never touched: an instance (instances/NAME, a mkdir)
 * has its own ring buffer and its own event switches, so whatever else traces
 * on the machine is neither disturbed nor recorded into (kernel
 * Documentation/trace/ftrace.rst, "Instances"). Removing the instance (rmdir)
 * frees its buffer and disables its events.
 *
 * Every step that changes the kernel's state is synchronous, so that it can
 * be undone from a signal handler or an `exit` listener, where nothing
 * asynchronous runs any more.
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { InputError } from "../io/errors.js";
import { isRunning } from "../io/output.js";

/** Where tracefs is mounted today (kernel Documentation/trace/ftrace.rst, since 4.1). */
export const TRACEFS_MOUNT_POINT = "/sys/kernel/tracing";

/** The events `record` enables: they fire inside this kernel for its RDMSR, WRMSR and RDPMC (arch/x86/lib/msr.c). */
export const MSR_SYSTEM = "msr";
export const MSR_EVENTS = ["read_msr", "write_msr", "rdpmc"] as const;

/** Instances made by `record` are named `nvmx-replay-PID` (`-N` added if the name is taken). */
const INSTANCE_PREFIX = "nvmx-replay-";
const OUR_INSTANCE = /^nvmx-replay-(\d+)(?:-\d+)?$/;
/** Names tried before giving up when `nvmx-replay-PID` and its suffixed forms exist. */
const MAX_NAME_TRIES = 100;

/** rmdir of an instance fails with EBUSY while a reader still holds trace_pipe: tries, this far apart. */
const RMDIR_TRIES = 50;
const RMDIR_RETRY_MS = 20;

/** `record: ` before every message of the command. */
export const RECORD = "record: ";

/**
 * The tracefs mount point from /proc/self/mounts: /sys/kernel/tracing when
 * tracefs is mounted there, else the first tracefs mount (an old system may
 * have it only under /sys/kernel/debug/tracing), else null.
 */
export function findTracefs(mounts: string = readMounts()): string | null {
  const points: string[] = [];
  for (const line of mounts.split("\n")) {
    const fields = line.split(" ");
    if (fields[2] === "tracefs" && fields[1] !== undefined) points.push(unescapeMount(fields[1]));
  }
  if (points.includes(TRACEFS_MOUNT_POINT)) return TRACEFS_MOUNT_POINT;
  return points[0] ?? null;
}

function readMounts(): string {
  try {
    return readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return "";
  }
}

/** /proc/self/mounts writes space, tab, newline and backslash as octal escapes (`\040`). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Mounts tracefs at TRACEFS_MOUNT_POINT, or says in one line how to. */
export function mountTracefs(): void {
  try {
    execFileSync("mount", ["-t", "tracefs", "nodev", TRACEFS_MOUNT_POINT], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    throw new InputError(
      `${RECORD}tracefs is not mounted and mounting it failed (${commandFailure(error)}); ` +
        `the kernel needs CONFIG_TRACING, or mount it yourself: mount -t tracefs nodev ${TRACEFS_MOUNT_POINT}`,
    );
  }
}

/** Unmounts what mountTracefs() mounted; returns why it could not, or null. */
export function unmountTracefs(): string | null {
  try {
    execFileSync("umount", [TRACEFS_MOUNT_POINT], { stdio: ["ignore", "ignore", "pipe"] });
    return null;
  } catch (error) {
    return commandFailure(error);
  }
}

/** The first line a failed mount/umount printed, or its error. */
function commandFailure(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString("utf8").trim().split("\n")[0];
  if (stderr) return stderr;
  return error instanceof Error ? (error.message.split("\n")[0] ?? "failed") : String(error);
}

/** Refuses a kernel without the msr tracepoints, in one line. */
export function checkMsrEvents(root: string): void {
  const missing = MSR_EVENTS.filter((event) => !existsSync(join(root, "events", MSR_SYSTEM, event)));
  if (missing.length === 0) return;
  throw new InputError(
    `${RECORD}this kernel lacks the msr tracepoints (${join(root, "events", MSR_SYSTEM)}: no ${missing.join(", ")}); ` +
      "they need CONFIG_TRACEPOINTS (Linux 4.5 or later, x86): record on a kernel built with them",
  );
}

/** Events the kernel could not keep, from the instance's per_cpu/cpuN/stats. */
export interface LostEvents {
  /** Events overwritten in a full ring buffer before they were read ("overrun"). */
  readonly overrun: number;
  /** Events dropped because the buffer was full and not overwritable ("dropped events"). */
  readonly dropped: number;
}

/**
 * Sums the lost-event counters of every CPU's `stats` file in `dir` (an
 * instance): lines like `overrun: 12` and `dropped events: 0`.
 */
export function lostEvents(dir: string): LostEvents {
  let overrun = 0;
  let dropped = 0;
  const perCpu = join(dir, "per_cpu");
  let cpus: string[];
  try {
    cpus = readdirSync(perCpu).filter((name) => /^cpu\d+$/.test(name));
  } catch {
    return { overrun, dropped };
  }
  for (const cpu of cpus) {
    let text: string;
    try {
      text = readFileSync(join(perCpu, cpu, "stats"), "utf8");
    } catch {
      continue;
    }
    overrun += statValue(text, "overrun");
    dropped += statValue(text, "dropped events");
  }
  return { overrun, dropped };
}

function statValue(text: string, key: string): number {
  const match = new RegExp(`^${key}: (\\d+)$`, "m").exec(text);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/** One tracing instance of ours. Every method is synchronous (see the top of the file). */
export class TraceInstance {
  private pipe: number | null = null;
  private removed = false;

  private constructor(
    /** instances/NAME under the tracefs root. */
    readonly dir: string,
    readonly name: string,
  ) {}

  /**
   * Makes `instances/nvmx-replay-PID`, first removing the instances that runs
   * killed outright (SIGKILL: no clean-up ran) left: those named after a pid
   * that no longer runs. An instance in use cannot be removed (EBUSY) and is left.
   */
  static create(root: string): TraceInstance {
    const instances = join(root, "instances");
    if (!existsSync(instances)) {
      throw new InputError(
        `${RECORD}${instances} does not exist: this kernel's tracefs has no instances (Linux 3.14 or later)`,
      );
    }
    removeStaleInstances(instances);
    for (let n = 0; n < MAX_NAME_TRIES; n++) {
      const name = `${INSTANCE_PREFIX}${process.pid}${n === 0 ? "" : `-${n}`}`;
      const dir = join(instances, name);
      try {
        mkdirSync(dir);
        return new TraceInstance(dir, name);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw new InputError(
          `${RECORD}cannot create the tracing instance ${dir}: ${(error as Error).message.split("\n")[0]}`,
        );
      }
    }
    throw new InputError(
      `${RECORD}cannot create a tracing instance: ${instances}/${INSTANCE_PREFIX}${process.pid}-* all exist`,
    );
  }

  /** The ring buffer's size, per CPU, in KiB. */
  setBufferKb(kb: number): void {
    this.write("buffer_size_kb", String(kb));
  }

  enableMsrEvents(): void {
    for (const event of MSR_EVENTS) this.write(join("events", MSR_SYSTEM, event, "enable"), "1");
  }

  /** Stops the events (and the buffer): what is in the buffer can still be read. */
  stop(): void {
    this.tryWrite(join("events", MSR_SYSTEM, "enable"), "0");
    this.tryWrite("tracing_on", "0");
  }

  /** Opens trace_pipe non-blocking: a read of an empty buffer fails with EAGAIN instead of waiting. */
  openPipe(): number {
    this.pipe = openSync(join(this.dir, "trace_pipe"), constants.O_RDONLY | constants.O_NONBLOCK);
    return this.pipe;
  }

  closePipe(): void {
    if (this.pipe === null) return;
    try {
      closeSync(this.pipe);
    } catch {
      // closed already
    }
    this.pipe = null;
  }

  lost(): LostEvents {
    return lostEvents(this.dir);
  }

  /** Stops, closes, removes; returns why the instance could not be removed, or null. Runs once. */
  remove(): string | null {
    if (this.removed) return null;
    this.removed = true;
    this.stop();
    this.closePipe();
    for (let tries = 1; ; tries++) {
      try {
        rmdirSync(this.dir);
        return null;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return null;
        // A read still in flight on another thread holds trace_pipe for a moment.
        if (code !== "EBUSY" || tries >= RMDIR_TRIES) return (error as Error).message.split("\n")[0] ?? String(code);
        sleepSync(RMDIR_RETRY_MS);
      }
    }
  }

  private write(file: string, value: string): void {
    try {
      writeFileSync(join(this.dir, file), value);
    } catch (error) {
      throw new InputError(
        `${RECORD}cannot write ${value} to ${join(this.dir, file)}: ${(error as Error).message.split("\n")[0]}`,
      );
    }
  }

  private tryWrite(file: string, value: string): void {
    try {
      writeFileSync(join(this.dir, file), value);
    } catch {
      // gone already, or never made: nothing to stop
    }
  }
}

function removeStaleInstances(instances: string): void {
  let names: string[];
  try {
    names = readdirSync(instances);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = OUR_INSTANCE.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isRunning(Number(pid))) continue;
    try {
      rmdirSync(join(instances, name));
    } catch {
      // in use (EBUSY): someone reads it, leave it
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)), 0, 0, ms);
}
