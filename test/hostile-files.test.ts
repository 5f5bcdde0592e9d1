/**
 * Files in and out that are not what they seem (issue 10, items 3, 4, 5, part
 * of 2, 7 and 9): inputs that are FIFOs, devices or huge sparse files; outputs
 * onto FIFOs, device nodes, links, long names and folders that cannot be
 * written; a full stdout; messages quoting megabytes; a newline in a file name.
 *
 * CLI tests run the built program (npm run build first).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { filledPage, PAGE_SIZE, writeMsrBits } from "../src/engine/bitmap.js";
import { BitmapSpecSchema, buildBitmap } from "../src/io/bitmap-spec.js";
import { readSnapshot } from "../src/io/snapshot.js";
import { BIN, lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const temp = useTempDirs();
const TRACE = join(ROOT, "traces", "linux-kvm.csv");
/** Linux's default pipe buffer: 64 KiB. */
const PIPE_BUFFER = 64 << 10;

/** A trace whose replay fails at its line 3 (an unknown event). */
const BAD_TRACE = "t,event,vcpu,msr,value\n1,rdmsr,0,0x10,0\n2,frobnicate,0,0x10,0\n";

function mkfifo(path: string): void {
  const r = spawnSync("mkfifo", [path]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
}

/** Makes a character device node like /dev/null (major 1, minor 3); false when not allowed. */
function mknodNull(path: string): boolean {
  const r = spawnSync("mknod", [path, "c", "1", "3"]);
  return r.status === 0 && statSync(path).isCharacterDevice();
}

/** Every error the user sees is exactly one line. */
function oneLineError(r: { status: number | null; stderr: string }, status = 1): string {
  expect(r.status).toBe(status);
  const errorLines = lines(r.stderr);
  expect(errorLines).toHaveLength(1);
  return errorLines[0] as string;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("inputs that are not regular files are refused at once, in one line", () => {
  // Before: readFileSync on a FIFO waits for a writer for ever (runCli's 25 s timeout fails the test).
  it.each([
    ["--l1-bitmap", "l1.bin"],
    ["--l0-bitmap", "l0.json"],
    ["--l0-bitmap-legacy", "legacy.bin"],
    ["--cost-model", "costs.json"],
  ])("%s naming a FIFO", (option, name) => {
    const dir = temp();
    const fifo = join(dir, name);
    mkfifo(fifo);
    const line = oneLineError(runCli(["compare", TRACE, option, fifo]));
    expect(line).toBe(`${fifo}: is a FIFO (named pipe), not a regular file`);
  });

  it("a snapshot a trace loads, when it is a FIFO", () => {
    const dir = temp({ "t.csv": "t,event,vcpu,msr,value,page,file\n1,bitmap-load,0,,,0x1000,l1.json\n" });
    mkfifo(join(dir, "l1.json"));
    const line = oneLineError(runCli(["compare", join(dir, "t.csv")]));
    expect(line).toContain("is a FIFO (named pipe), not a regular file");
  });

  // Before: /dev/zero was read until memory ran out (a crash at 1-2 GB); not run on the old code for that reason.
  it("a link to /dev/zero named as a .bin snapshot", () => {
    const dir = temp();
    symlinkSync("/dev/zero", join(dir, "zero.bin"));
    const line = oneLineError(runCli(["compare", TRACE, "--l1-bitmap", join(dir, "zero.bin")]));
    expect(line).toBe(`${join(dir, "zero.bin")}: is a character device, not a regular file`);
  });

  // A 2 GB sparse file takes no disk; before, it was read whole (2 GB of memory) before the size check.
  it("a 2 GB sparse file as a .bin snapshot or a JSON description is refused by its size, unread", () => {
    const dir = temp();
    const size = 2_000_000_000;
    for (const name of ["big.bin", "big.json"]) {
      writeFileSync(join(dir, name), "");
      truncateSync(join(dir, name), size);
    }
    const bin = oneLineError(runCli(["compare", TRACE, "--l1-bitmap", join(dir, "big.bin")]));
    expect(bin).toBe(`${join(dir, "big.bin")}: a .bin snapshot is exactly 4096 bytes, this one is ${size}`);
    const json = oneLineError(runCli(["compare", TRACE, "--cost-model", join(dir, "big.json")]));
    // 16 MiB = 16,777,216 bytes: the bound of a JSON file (src/io/json-file.ts).
    expect(json).toBe(`${join(dir, "big.json")}: is 2,000,000,000 bytes, more than the 16,777,216 read at most`);
  });

  it("a folder named as a snapshot", () => {
    const dir = temp();
    mkdirSync(join(dir, "d.json"));
    const line = oneLineError(runCli(["compare", TRACE, "--l0-bitmap", join(dir, "d.json")]));
    expect(line).toBe(`${join(dir, "d.json")}: is a folder, not a file`);
  });
});

describe("a JSON description is built in time linear in its ranges", () => {
  it("1.2 million full-width ranges load, and give the page worked out by hand", () => {
    // The old builder set every MSR of every range one at a time: about 0.1 ms per
    // 0x0-0x1fff range (8192 MSRs, two directions), so these 1.2M ranges would take
    // about 2 minutes, far beyond the 30 s test timeout. The difference-array builder
    // takes a sweep of the page's 32768 bits plus a step per range.
    const RANGES = 1_200_000;
    const spec = {
      default: "intercept",
      pass: [...Array.from({ length: RANGES }, () => "0-0x1fff"), "0xc0000100-0xc0000102", "0xc0001fff:w"],
      intercept: ["0x10-0x1f:w", "0xc0000101:r"],
    };
    const dir = temp({ "big.json": spec });
    const page = readSnapshot(join(dir, "big.json"));
    const expected = new Uint8Array(PAGE_SIZE).fill(0xff);
    // pass 0-0x1fff (rw): read-low area 0x000-0x3ff and write-low area 0x800-0xbff all clear.
    expected.fill(0, 0x000, 0x400);
    expected.fill(0, 0x800, 0xc00);
    // pass 0xc0000100-0xc0000102: bits 0x100-0x102 of the high areas, byte 0x20 bits 0-2.
    expected[0x420] = 0xf8;
    expected[0xc20] = 0xf8;
    // pass 0xc0001fff:w: the page's very last bit.
    expected[0xfff] = 0x7f;
    // intercept 0x10-0x1f:w: write-low bits 16-31, bytes 0x802-0x803.
    expected[0x802] = 0xff;
    expected[0x803] = 0xff;
    // intercept 0xc0000101:r: read-high bit 0x101, byte 0x420 bit 1.
    expected[0x420] = 0xfa;
    expect(Buffer.from(page).equals(Buffer.from(expected))).toBe(true);
  });

  it("gives the same page as setting each MSR's bits in turn, on random descriptions", () => {
    // A seeded LCG: the same descriptions every run.
    let state = 12345;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const dirs = ["r", "w", "rw"] as const;
    const randomRange = (): string => {
      const base = next(2) === 0 ? 0 : 0xc0000000;
      const a = next(0x2000);
      const b = a + next(0x2000 - a);
      return `0x${(base + a).toString(16)}-0x${(base + b).toString(16)}:${dirs[next(3)]}`;
    };
    for (let round = 0; round < 200; round++) {
      const spec = BitmapSpecSchema.parse({
        default: next(2) === 0 ? "intercept" : "pass",
        pass: Array.from({ length: next(6) }, randomRange),
        intercept: Array.from({ length: next(6) }, randomRange),
      });
      const reference = filledPage(spec.default === "intercept");
      for (const r of spec.pass) for (let m = r.first; m <= r.last; m++) writeMsrBits(reference, m, r.dir, false);
      for (const r of spec.intercept) for (let m = r.first; m <= r.last; m++) writeMsrBits(reference, m, r.dir, true);
      expect(Buffer.from(buildBitmap(spec)).equals(Buffer.from(reference))).toBe(true);
    }
  });
});

describe("-o never destroys what it names", () => {
  it("onto a character device node writes into it and leaves the node in place", (ctx) => {
    const dir = temp();
    const node = join(dir, "null");
    if (!mknodNull(node)) ctx.skip(); // needs root (mknod); a FIFO test below covers the same path
    const r = runCli(["compare", TRACE, "-o", node]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // Before: a regular file was renamed over the node (as root, -o /dev/null replaced /dev/null).
    expect(lstatSync(node).isCharacterDevice()).toBe(true);
    // import follows the same rules.
    const imported = join(dir, "k.txt");
    writeFileSync(imported, "      CPU 0/KVM-1    [002] d..1.  5.000001: kvm_msr: msr_read 10 = 0x5\n");
    expect(runCli(["import", imported, "-o", node]).status).toBe(0);
    expect(lstatSync(node).isCharacterDevice()).toBe(true);
    // gen refuses (its snapshots would go beside the node), and leaves it as it was.
    expect(runCli(["gen", "linux-idle", "--events", "100", "-o", node]).status).toBe(1);
    expect(lstatSync(node).isCharacterDevice()).toBe(true);
  });

  it("-o /dev/null works (and /dev/null stays a device)", () => {
    const r = runCli(["compare", TRACE, "-o", "/dev/null"]);
    expect(r.status).toBe(0);
    expect(statSync("/dev/null").isCharacterDevice()).toBe(true);
  });

  it("onto a FIFO that someone reads streams the output into it", () => {
    const dir = temp();
    const fifo = join(dir, "out.fifo");
    mkfifo(fifo);
    // This test is the reader: a non-blocking open for reading succeeds without a writer.
    // The CSV (about 1 KB) fits the pipe's buffer, so the run ends before it is read.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const r = runCli(["compare", TRACE, "--format", "csv", "-o", fifo]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const buffer = Buffer.alloc(PIPE_BUFFER);
      const received = buffer.toString("utf8", 0, readSync(reader, buffer));
      expect(lines(received)[0]).toMatch(/^strategy,accesses,/);
      expect(lines(received)).toHaveLength(6); // the header and the 5 default strategies
    } finally {
      closeSync(reader);
    }
    // Before: a regular file was renamed over the FIFO.
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it("onto a FIFO nobody reads is refused at once, and the FIFO stays", () => {
    const dir = temp();
    const fifo = join(dir, "out.fifo");
    mkfifo(fifo);
    const line = oneLineError(runCli(["compare", TRACE, "-o", fifo]));
    expect(line).toBe(`${fifo}: cannot write the output: a FIFO (named pipe) that nobody reads`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it("an existing file keeps its permission mode", () => {
    const dir = temp({ "out.csv": "old\n" });
    const out = join(dir, "out.csv");
    spawnSync("chmod", ["640", out]);
    expect(runCli(["compare", TRACE, "--format", "csv", "-o", out]).status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o640);
    expect(readFileSync(out, "utf8")).toMatch(/^strategy,/);
  });

  it("a link is followed: the file it points at is replaced, the link stays", () => {
    const dir = temp({ "real.csv": "old\n" });
    symlinkSync("real.csv", join(dir, "link.csv"));
    expect(runCli(["compare", TRACE, "--format", "csv", "-o", join(dir, "link.csv")]).status).toBe(0);
    expect(lstatSync(join(dir, "link.csv")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "link.csv"))).toBe("real.csv");
    expect(readFileSync(join(dir, "real.csv"), "utf8")).toMatch(/^strategy,/);
  });

  it.each([
    ["ASCII", `${"a".repeat(251)}.csv`],
    ["two-byte characters", `${"é".repeat(125)}.csv`],
  ])("a file name of 255 bytes (NAME_MAX) works: %s", (_kind, name) => {
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(Buffer.byteLength(name)).toBeGreaterThanOrEqual(254);
    const dir = temp();
    // Before: the temporary name (.NAME.PID.RANDOM.tmp) went over 255 bytes: ENAMETOOLONG.
    const r = runCli(["compare", TRACE, "--format", "csv", "-o", join(dir, name)]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readdirSync(dir)).toEqual([name]);
  });

  it.each(["compare", "replay", "validate"])("%s -o '' is a usage error (exit 2)", (command) => {
    const line = oneLineError(runCli([command, TRACE, "-o", ""]), 2);
    expect(line).toBe("error: option --output: names no file");
  });

  it("a temporary file left by a run killed with SIGKILL is removed by the next run", async () => {
    const dir = temp();
    const out = join(dir, "out.csv");
    // The run opens its output (creating the temporary file) and then waits for stdin.
    const run = spawn(process.execPath, [BIN, "compare", "-", "-o", out], { stdio: ["pipe", "ignore", "ignore"] });
    children.push(run);
    const isTemp = (name: string): boolean => /^\.out\.csv\.\d+\.[0-9a-f]{8}\.tmp$/.test(name);
    await waitFor(() => readdirSync(dir).some(isTemp));
    const exited = new Promise((resolve) => run.on("exit", resolve));
    run.kill("SIGKILL");
    await exited;
    const left = readdirSync(dir).filter(isTemp);
    expect(left).toHaveLength(1); // SIGKILL: no clean-up ran
    // A temporary file of a live process (this one) is not touched.
    const live = `.out.csv.${process.pid}.00000000.tmp`;
    writeFileSync(join(dir, live), "");
    expect(runCli(["compare", TRACE, "--format", "csv", "-o", out]).status).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([live, "out.csv"].sort());
  });

  it("compare -o into a folder that does not exist fails before the replay", () => {
    const dir = temp({ "bad.csv": BAD_TRACE, "file.csv": "x\n" });
    // Were the trace replayed first, its line 3 would be the error.
    const missing = join(dir, "nope", "out.csv");
    expect(oneLineError(runCli(["compare", join(dir, "bad.csv"), "-o", missing]))).toBe(
      `${missing}: cannot write the output: its folder does not exist`,
    );
    const underFile = join(dir, "file.csv", "out.csv");
    expect(oneLineError(runCli(["compare", join(dir, "bad.csv"), "-o", underFile]))).toBe(
      `${underFile}: cannot write the output: a part of the path is not a folder`,
    );
    expect(oneLineError(runCli(["validate", join(dir, "bad.csv"), "-o", missing]))).toBe(
      `${missing}: cannot write the output: its folder does not exist`,
    );
  });

  it("a replay that fails after the output was opened leaves no temporary file and the old output", () => {
    const dir = temp({ "bad.csv": BAD_TRACE, "out.csv": "old\n" });
    const line = oneLineError(runCli(["compare", join(dir, "bad.csv"), "-o", join(dir, "out.csv")]));
    expect(line).toMatch(/bad\.csv:3/);
    expect(readdirSync(dir).sort()).toEqual(["bad.csv", "out.csv"]);
    expect(readFileSync(join(dir, "out.csv"), "utf8")).toBe("old\n");
  });
});

describe("errors stay one line", () => {
  /** Runs the CLI with stdout on /dev/full. */
  function toFull(args: readonly string[]): { status: number | null; stderr: string } {
    const full = openSync("/dev/full", "w");
    try {
      const r = spawnSync(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        stdio: ["ignore", full, "pipe"],
        encoding: "utf8",
        timeout: 25_000,
      });
      return { status: r.status, stderr: r.stderr };
    } finally {
      closeSync(full);
    }
  }

  it.skipIf(!existsSync("/dev/full"))("a full stdout is one line, exit 1 (before: a Node stack trace)", () => {
    const expected = "<stdout>: cannot write the output: no space left on the device";
    expect(oneLineError(toFull(["compare", TRACE]))).toBe(expected);
    expect(oneLineError(toFull(["strategies"]))).toBe(expected);
    expect(oneLineError(toFull(["validate", TRACE, "--format", "json"]))).toBe(expected);
  });

  it.skipIf(!existsSync("/dev/full"))("import to a full stdout names stdout, not its input", () => {
    const dir = temp({ "k.txt": "      CPU 0/KVM-1    [002] d..1.  5.000001: kvm_msr: msr_read 10 = 0x5\n" });
    expect(oneLineError(toFull(["import", join(dir, "k.txt")]))).toBe(
      "<stdout>: cannot write the output: no space left on the device",
    );
  });

  it("a 10 MB string in a snapshot is quoted 200 characters long, with a count of the rest", () => {
    const huge = "x".repeat(10_000_000);
    const dir = temp({ "spec.json": { pass: [huge] }, "key.json": { [huge]: 1 } });
    const spec = oneLineError(runCli(["compare", TRACE, "--l1-bitmap", join(dir, "spec.json")]));
    expect(spec.length).toBeLessThan(1000);
    expect(spec).toContain(`"${"x".repeat(200)}… (9999800 more characters)"`);
    const key = oneLineError(runCli(["compare", TRACE, "--l1-bitmap", join(dir, "key.json")]));
    expect(key.length).toBeLessThan(1000);
    expect(key).toContain("9999800 more characters");
  });
});

it("an unknown option 100,000 characters long is one bounded line (commander's own error)", () => {
  const option = `--${"x".repeat(100_000)}`;
  const line = oneLineError(runCli(["compare", TRACE, option]), 2);
  expect(line.length).toBeLessThanOrEqual(1000 + "… (99000 more characters) …".length);
  expect(line).toMatch(/^error: unknown option '--xxx/);
  expect(line).toMatch(/more characters/);
});

describe("import's file name cannot inject rows", () => {
  it("a newline in the input's name is escaped in the header comment", () => {
    const name = "evil\n1,rdmsr,0,0xc0000080,0\nx";
    const dir = temp({ [name]: "      CPU 0/KVM-1    [002] d..1.  5.000001: kvm_msr: msr_read 10 = 0x5\n" });
    const out = join(dir, "out.csv");
    const r = runCli(["import", join(dir, name), "-o", out]);
    expect(r.status).toBe(0);
    const rows = lines(readFileSync(out, "utf8")).filter((l) => !l.startsWith("#"));
    // The CSV header and the one imported access: nothing from the file name.
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^rdmsr,0,0x10,/);
    expect(readFileSync(out, "utf8")).toContain("evil\\n1,rdmsr,0,0xc0000080,0\\nx");
    // The summary on stderr shows it escaped too.
    expect(r.stderr).toContain("evil\\n1,rdmsr");
    expect(r.stderr).not.toContain("evil\n");
  });
});

/** Polls `ready` until it holds (the test timeout bounds the wait). */
async function waitFor(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 20));
}
