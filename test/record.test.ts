/**
 * `nvmx-replay record`: the usage rules, the one-line refusals, and real
 * recordings on this machine (root and tracefs needed; skipped with the
 * reason otherwise), each checking that the kernel's tracing state is as
 * it was before: no instance left, tracefs mounted or not as before, the
 * global msr events and tracing switch untouched.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../src/io/errors.js";
import { shellWords } from "../src/record/record.js";
import { checkMsrEvents, findTracefs, lostEvents, TRACEFS_MOUNT_POINT } from "../src/record/tracefs.js";
import { BIN, lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs();

/** The nobody user and group, for the not-root refusal. */
const NOBODY = 65534;
/** Polls for the child's instance this often, at most this many times (a bound, not a timed assertion). */
const POLL_MS = 50;
const POLL_TRIES = 300;

/** Why a real recording cannot run here, or null when it can. */
function unusable(): string | null {
  if (process.platform !== "linux") return "record needs Linux";
  if (process.getuid?.() !== 0) return "record needs root (tests not run as root)";
  const root = findTracefs();
  if (root === null) {
    // record would mount it; the kernel must have it.
    const fs = readFileSync("/proc/filesystems", "utf8");
    return /\btracefs\b/.test(fs) ? null : "this kernel has no tracefs";
  }
  return existsSync(join(root, "events", "msr", "write_msr")) ? null : "this kernel has no msr tracepoints";
}

interface TracingState {
  readonly mounted: string | null;
  readonly instances: string[];
  /** The global buffer's msr events switch, tracing_on and size, when tracefs is mounted. */
  readonly msrEnable: string | null;
  readonly tracingOn: string | null;
  readonly bufferSizeKb: string | null;
}

function tracingState(): TracingState {
  const mounted = findTracefs();
  const read = (file: string): string | null => (mounted === null ? null : readFileSync(join(mounted, file), "utf8"));
  return {
    mounted,
    instances: mounted === null ? [] : readdirSync(join(mounted, "instances")).sort(),
    msrEnable: read("events/msr/enable"),
    tracingOn: read("tracing_on"),
    bufferSizeKb: read("buffer_size_kb"),
  };
}

/** Waits until `done()` holds, polling at most POLL_TRIES times (a bound, not a timed assertion). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < POLL_TRIES && !done(); i++) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

/** Whether `pid` is a live process (a zombie counts as gone). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The rows of a recorded trace whose event is `event` and MSR `msr`. */
function rowsOf(csv: string, event: string, msr: string): string[] {
  return lines(csv).filter((l) => l.startsWith(`${event},`) && l.split(",")[2] === msr);
}

/** The x2APIC TSC_DEADLINE MSR (0x6E0): Linux's timer writes it on every tick, idle or not. */
const TSC_DEADLINE = "0x6e0";

describe("record: usage", () => {
  it("refuses both --duration and a command, in one line (exit 2)", () => {
    const r = runCli(["record", "--duration", "1", "--", "true"]);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual(["error: give --duration or a command to run after --, not both"]);
    expect(r.stdout).toBe("");
  });

  it("refuses neither --duration nor a command: a recording needs an end (exit 2)", () => {
    const r = runCli(["record"]);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([
      "error: give --duration SECONDS or a command to run after -- (record needs an end)",
    ]);
  });

  it.each([["0"], ["-1"], ["abc"], ["Infinity"], ["3000000"]])("refuses --duration %s (exit 2)", (value) => {
    const r = runCli(["record", `--duration=${value}`]);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([
      "error: option --duration: expected a number of seconds above 0, at most 2147483",
    ]);
  });

  it.each([["63"], ["1.5"], ["262145"]])("refuses --buffer-kb %s (exit 2)", (value) => {
    const r = runCli(["record", "--duration", "1", "--buffer-kb", value]);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual(["error: option --buffer-kb: expected a whole number of KiB from 64 to 262144"]);
  });

  it("says to run it as root when it is not (exit 1, nothing touched)", (ctx) => {
    if (process.platform !== "linux") ctx.skip("record needs Linux");
    const before = tracingState();
    const args = [BIN, "record", "--duration", "1"];
    // As root, run the child as nobody; otherwise this process already is not root.
    const asRoot = process.getuid?.() === 0;
    const r = spawnSync(process.execPath, args, {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 25_000,
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      "record: needs root (tracefs and its instances belong to root): run it as root, e.g. sudo nvmx-replay record …",
    ]);
    expect(tracingState()).toEqual(before);
  });
});

describe("record: tracefs helpers", () => {
  it("finds tracefs in /proc/self/mounts, preferring /sys/kernel/tracing, unescaping names", () => {
    const proc = "proc /proc proc rw 0 0\n";
    expect(findTracefs(proc)).toBeNull();
    expect(findTracefs(`${proc}tracefs /sys/kernel/debug/tracing tracefs rw 0 0\n`)).toBe("/sys/kernel/debug/tracing");
    expect(
      findTracefs(`nodev /mnt/my\\040trace tracefs rw 0 0\nnodev ${TRACEFS_MOUNT_POINT} tracefs rw,relatime 0 0\n`),
    ).toBe(TRACEFS_MOUNT_POINT);
    expect(findTracefs("nodev /mnt/my\\040trace tracefs rw 0 0\n")).toBe("/mnt/my trace");
    // debugfs is not tracefs, even where tracing used to live.
    expect(findTracefs("debugfs /sys/kernel/debug debugfs rw 0 0\n")).toBeNull();
  });

  it("refuses a kernel without the msr tracepoints in one line naming CONFIG_TRACEPOINTS", () => {
    const root = tempDir({ "events/sched/sched_switch/enable": "0" });
    let error: unknown = null;
    try {
      checkMsrEvents(root);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toMatch(/^record: this kernel lacks the msr tracepoints \(.*: no read_msr, write_msr, rdpmc\)/);
    expect(message).toContain("CONFIG_TRACEPOINTS");
    // All three present: accepted.
    for (const event of ["read_msr", "write_msr", "rdpmc"])
      mkdirSync(join(root, "events", "msr", event), { recursive: true });
    expect(() => checkMsrEvents(root)).not.toThrow();
  });

  it("sums overrun and dropped events over every CPU's stats", () => {
    const stats = (overrun: number, dropped: number) =>
      `entries: 5\noverrun: ${overrun}\ncommit overrun: 7\nbytes: 36\ndropped events: ${dropped}\nread events: 54\n`;
    const dir = tempDir({
      "per_cpu/cpu0/stats": stats(3, 0),
      "per_cpu/cpu1/stats": stats(10, 2),
      "per_cpu/notacpu/stats": stats(1000, 1000),
    });
    // "commit overrun" is not "overrun"; a folder that is not cpuN is not read.
    expect(lostEvents(dir)).toEqual({ overrun: 13, dropped: 2 });
    expect(lostEvents(join(dir, "missing"))).toEqual({ overrun: 0, dropped: 0 });
  });

  it("names the workload as a shell would take it back, with control characters escaped", () => {
    expect(shellWords(["sh", "-c", "for i in 1 2; do sleep 0.1; done"])).toBe(
      "sh -c 'for i in 1 2; do sleep 0.1; done'",
    );
    expect(shellWords(["echo", "it's"])).toBe("echo 'it'\\''s'");
    expect(shellWords(["make", "-j4", "CC=gcc"])).toBe("make -j4 CC=gcc");
    // A newline would end the # comment and start a row of the trace.
    expect(shellWords(["printf", "a\nwrmsr,0,0x10,1"])).not.toContain("\n");
  });
});

describe("record: real recordings on this machine", () => {
  const why = unusable();

  it("records about a second idle: rows, the header comments, and the tracing state as before", (ctx) => {
    if (why !== null) ctx.skip(why);
    const dir = tempDir();
    const out = join(dir, "idle.csv");
    const before = tracingState();
    const r = runCli(["record", "--duration", "1", "-o", out]);
    expect(tracingState()).toEqual(before);
    expect(r.stdout).toBe("");
    expect(r.status, r.stderr).toBe(0);
    const csv = readFileSync(out, "utf8");
    const text = lines(csv);
    expect(text).toContain(`# kernel: ${release()}`);
    expect(text).toContain(`# vcpus: ${cpus().length}`);
    expect(text).toContain("# workload: idle, 1 s");
    expect(text).toContain("# duration: 1 s (--duration)");
    expect(text.some((l) => /^# cpu: \S/.test(l))).toBe(true);
    expect(text.some((l) => /^# date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l))).toBe(true);
    expect(text.find((l) => !l.startsWith("#"))).toBe("event,vcpu,msr,value,t");
    // The timer is re-armed through TSC_DEADLINE many times a second, even idle.
    expect(rowsOf(csv, "wrmsr", TSC_DEADLINE).length).toBeGreaterThan(0);
    expect(lines(r.stderr).some((l) => /^record: [\d,]+ accesses .* -> /.test(l))).toBe(true);
    // Nothing left beside the output (its temporary file was renamed).
    expect(readdirSync(dir)).toEqual(["idle.csv"]);
  });

  it("records while a command runs, to stdout, the command's output kept off the trace", (ctx) => {
    if (why !== null) ctx.skip(why);
    const before = tracingState();
    const r = runCli(["record", "-q", "--", "sh", "-c", "for i in 1 2 3; do sleep 0.1; done; echo done-here"]);
    expect(tracingState()).toEqual(before);
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout)).toContain("# workload: sh -c 'for i in 1 2 3; do sleep 0.1; done; echo done-here'");
    expect(r.stdout).not.toContain("done-here\n");
    expect(lines(r.stderr)).toContain("done-here");
    expect(rowsOf(r.stdout, "wrmsr", TSC_DEADLINE).length).toBeGreaterThan(0);
  });

  it("passes a failing command's status on, the trace still written", (ctx) => {
    if (why !== null) ctx.skip(why);
    const out = join(tempDir(), "failed.csv");
    const before = tracingState();
    const r = runCli(["record", "-o", out, "--", "sh", "-c", "sleep 0.2; exit 3"]);
    expect(tracingState()).toEqual(before);
    expect(r.status).toBe(3);
    expect(lines(r.stderr)).toContain("record: the command exited with status 3");
    expect(rowsOf(readFileSync(out, "utf8"), "wrmsr", TSC_DEADLINE).length).toBeGreaterThan(0);
  });

  it("refuses a command that cannot run, in one line, leaving nothing behind", (ctx) => {
    if (why !== null) ctx.skip(why);
    const dir = tempDir();
    const before = tracingState();
    const r = runCli(["record", "-o", join(dir, "x.csv"), "--", "no-such-command-nvmx"]);
    expect(tracingState()).toEqual(before);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual(["record: cannot run no-such-command-nvmx: no such command"]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("cleans up on SIGINT in the middle: instance removed, command stopped, no output", async (ctx) => {
    if (why !== null) ctx.skip(why);
    const dir = tempDir();
    const out = join(dir, "interrupted.csv");
    const pidFile = join(tempDir(), "command.pid");
    const before = tracingState();
    const child = spawn(
      process.execPath,
      [BIN, "record", "-o", out, "--", "sh", "-c", `echo $$ > ${pidFile}; exec sleep 20`],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    const instance = (): string => join(findTracefs() ?? TRACEFS_MOUNT_POINT, "instances", `nvmx-replay-${child.pid}`);
    // Wait (bounded) until the recording runs: its instance exists and the command has started.
    await until(() => existsSync(instance()) && existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"));
    expect(existsSync(instance())).toBe(true);
    const commandPid = Number(readFileSync(pidFile, "utf8"));
    child.kill("SIGINT");
    const { code, signal } = await exited;
    expect(stderr).toBe("");
    // It dies of the signal, as a process without a handler would.
    expect({ code, signal }).toEqual({ code: null, signal: "SIGINT" });
    expect(tracingState()).toEqual(before);
    expect(readdirSync(dir)).toEqual([]);
    // The signal was passed on: the command (sleep 20) is gone, well before its 20 s.
    await until(() => !isRunning(commandPid));
    expect(isRunning(commandPid)).toBe(false);
  });
});

describe("record: mounting tracefs itself (a private mount namespace)", () => {
  const why = unusable();
  const unshare = spawnSync("unshare", ["--version"], { stdio: "ignore" }).status === 0;

  /**
   * Runs `script` in a private mount namespace where tracefs is not mounted
   * (unmounted there only: the machine's mount is untouched), so `record`
   * must mount it and unmount it. The script's last line counts tracefs mounts.
   */
  function inNamespace(script: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", `umount ${TRACEFS_MOUNT_POINT} 2>/dev/null; ${script}`],
      { cwd: ROOT, encoding: "utf8", timeout: 25_000, env: { ...process.env, NODE: process.execPath, BIN } },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("mounts tracefs when it is not mounted and unmounts it at the end", (ctx) => {
    if (why !== null) ctx.skip(why);
    if (!unshare) ctx.skip("no unshare(1) to make a private mount namespace");
    const out = join(tempDir(), "mounted.csv");
    const before = tracingState();
    const r = inNamespace(
      `grep -c ' tracefs ' /proc/self/mounts; "$NODE" "$BIN" record -q --duration 1 -o ${out}; echo "status $?"; grep -c ' tracefs ' /proc/self/mounts`,
    );
    expect(tracingState()).toEqual(before);
    expect(lines(r.stdout)).toEqual(["0", "status 0", "0"]);
    expect(rowsOf(readFileSync(out, "utf8"), "wrmsr", TSC_DEADLINE).length).toBeGreaterThan(0);
  });

  it("unmounts what it mounted on SIGTERM too", (ctx) => {
    if (why !== null) ctx.skip(why);
    if (!unshare) ctx.skip("no unshare(1) to make a private mount namespace");
    const before = tracingState();
    // Waits (bounded: 300 × 0.05 s) for the instance, then signals record.
    const r = inNamespace(
      `"$NODE" "$BIN" record -q -o /dev/null -- sleep 20 & p=$!; i=0; ` +
        `while [ ! -d ${TRACEFS_MOUNT_POINT}/instances/nvmx-replay-$p ] && [ $i -lt ${POLL_TRIES} ]; do sleep 0.05; i=$((i+1)); done; ` +
        `[ -d ${TRACEFS_MOUNT_POINT}/instances/nvmx-replay-$p ] && echo recording; kill -TERM $p; wait $p; echo "status $?"; ` +
        `grep -c ' tracefs ' /proc/self/mounts`,
    );
    expect(tracingState()).toEqual(before);
    // 143 = 128 + SIGTERM: died of the signal.
    expect(lines(r.stdout)).toEqual(["recording", "status 143", "0"]);
  });
});
