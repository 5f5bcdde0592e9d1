/**
 * `gen`: the synthetic trace generator. The generator runs in-process into a
 * temp folder; the CLI (built dist/, `npm run build` first) runs as a child.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { hasBit } from "../src/engine/bitmap.js";
import { findL0Profile, Replay, STRATEGIES } from "../src/engine/index.js";
import { parseCount } from "../src/gen/count.js";
import { generateTrace } from "../src/gen/generate.js";
import { findWorkload, WORKLOADS } from "../src/gen/registry.js";
import type { Workload } from "../src/gen/workload.js";
import { readTrace } from "../src/io/trace-reader.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "nvmx-replay.js");
const TMP = mkdtempSync(join(tmpdir(), "nvmx-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

let folders = 0;
/** A fresh folder under TMP. */
function folder(): string {
  const dir = join(TMP, `d${folders++}`);
  mkdirSync(dir);
  return dir;
}

function workload(name: string): Workload {
  const w = findWorkload(name);
  if (!w) throw new Error(`no workload ${name}`);
  return w;
}

interface Gen {
  readonly file: string;
  readonly text: string;
  readonly snapshots: readonly string[];
}

async function gen(
  name: string,
  events: number,
  vcpus = 4,
  seed = 1n,
  base = "trace.csv",
  dir = folder(),
): Promise<Gen> {
  const file = join(dir, base);
  const result = await generateTrace({ workload: workload(name), events, vcpus, seed, output: file });
  expect(result.events).toBe(events);
  return { file, text: readFileSync(file, "utf8"), snapshots: result.snapshots };
}

/** The data rows (not comments, not the header), split into fields. */
function rows(text: string): string[][] {
  const lines = text.split("\n");
  expect(lines.pop()).toBe(""); // ends with a newline
  const data = lines.filter((l) => !l.startsWith("#"));
  expect(data[0]).toBe("event,vcpu,msr,value,page,dir,file");
  return data.slice(1).map((l) => l.split(","));
}

const CORRECT = ["no-bitmap", "l1-filter", "merged", "merged-eager"];

/** Reads the trace with the project's reader and replays it under every strategy. */
async function replay(file: string) {
  const machine = new Replay({ strategies: STRATEGIES, l0: findL0Profile("kvm-2013")!.bitmaps() });
  const stats = await readTrace({ file, onEvent: (ev) => machine.apply(ev) });
  const results = Object.fromEntries(machine.results().map((r) => [r.strategy, r]));
  return { events: stats.events, results };
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 25_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("--events counts", () => {
  it("accepts integers and k, M, G suffixes", () => {
    expect(parseCount("1")).toBe(1);
    expect(parseCount("12345")).toBe(12345);
    expect(parseCount("500k")).toBe(500_000);
    expect(parseCount("1M")).toBe(1_000_000);
    expect(parseCount("10M")).toBe(10_000_000);
    expect(parseCount("1G")).toBe(1_000_000_000);
    expect(parseCount("1.5M")).toBe(1_500_000);
  });

  it("rejects what is not a positive whole count", () => {
    for (const bad of ["0", "0k", "-5", "abc", "", "1.5", "1.0005k", "10x", "1e6", "0x10", "2000G"]) {
      expect(typeof parseCount(bad), bad).toBe("string");
    }
  });
});

describe("every workload", () => {
  const N = 20_000;

  for (const w of WORKLOADS) {
    describe(w.name, () => {
      it(`writes exactly N events that the reader takes and that replay with no violations`, async () => {
        const g = await gen(w.name, N);
        expect(rows(g.text)).toHaveLength(N);
        for (const s of g.snapshots) expect(existsSync(s)).toBe(true);
        const { events, results } = await replay(g.file);
        expect(events).toBe(N);
        for (const name of CORRECT) expect(results[name]?.violations, name).toBe(0);
        expect(results.merged?.accesses).toBeGreaterThan(N / 2);
      });

      it("writes exactly N events for small N and other vCPU counts (a truncated setup is still valid)", async () => {
        for (const [events, vcpus] of [
          [1, 4],
          [7, 3],
          [100, 1],
          [3000, 7],
          [20_000, 64],
        ] as const) {
          const g = await gen(w.name, events, vcpus, 9n);
          expect(rows(g.text), `${events} events, ${vcpus} vCPUs`).toHaveLength(events);
          const { events: read, results } = await replay(g.file);
          expect(read).toBe(events);
          for (const name of CORRECT) expect(results[name]?.violations, `${name}, ${vcpus} vCPUs`).toBe(0);
        }
      });

      it("opens with comments naming the workload, its parameters and the command that regenerates it", async () => {
        const g = await gen(w.name, 500, 3, 42n, "named.csv");
        const comments = g.text.split("\n").filter((l) => l.startsWith("#"));
        const header = comments.join("\n");
        expect(g.text.startsWith("#")).toBe(true);
        expect(header).toContain(`workload ${w.name}`);
        expect(header).toContain("events=500 vcpus=3 seed=42");
        expect(header).toContain(`nvmx-replay gen ${w.name} --events 500 --vcpus 3 --seed 42 -o named.csv`);
        for (const s of w.snapshots) expect(header).toContain(`named.${s.key}.json`);
      });

      it("is deterministic: the same parameters give the same bytes, another seed other bytes", async () => {
        const a = await gen(w.name, 5000, 4, 7n, "same.csv");
        const b = await gen(w.name, 5000, 4, 7n, "same.csv");
        const c = await gen(w.name, 5000, 4, 8n, "same.csv");
        expect(b.text).toBe(a.text);
        expect(c.text).not.toBe(a.text);
        a.snapshots.forEach((s, i) => {
          expect(readFileSync(b.snapshots[i] as string)).toEqual(readFileSync(s));
        });
      });

      it("sets every vCPU up before its first L2 event, and interleaves vCPUs", async () => {
        const g = await gen(w.name, 20_000, 4);
        const ready = new Set<string>();
        const switches = new Set<string>();
        let last = "";
        for (const [event, vcpu = "0"] of rows(g.text)) {
          if (event === "vmentry") ready.add(vcpu);
          if (event === "rdmsr" || event === "wrmsr" || event === "vmexit") {
            expect(ready.has(vcpu), `L2 event on vCPU ${vcpu} before its first vmentry`).toBe(true);
          }
          if (last !== "" && last !== vcpu) switches.add(`${last}>${vcpu}`);
          last = vcpu;
        }
        expect(ready.size).toBe(4);
        expect(switches.size).toBeGreaterThanOrEqual(8);
      });
    });
  }
});

describe("workload specifics", () => {
  it("linux-mixed: mostly MSR accesses, some to MSRs with no bitmap bit, each non-MSR exit followed by vmentry", async () => {
    const g = await gen("linux-mixed", 100_000);
    const data = rows(g.text);
    const accesses = data.filter(([e]) => e === "rdmsr" || e === "wrmsr");
    const noBit = new Set(accesses.map(([, , msr]) => Number(msr)).filter((msr) => !hasBit(msr)));
    for (const msr of [0x4000_0070, 0x4000_0020, 0x4b56_4d01, 0x4b56_4d04])
      expect(noBit.has(msr), msr.toString(16)).toBe(true);
    expect(accesses.length / data.length).toBeGreaterThan(0.84);
    expect(accesses.length / data.length).toBeLessThan(0.92);
    const pending = new Map<string, string>();
    const reasons = new Set<string>();
    for (const [event, vcpu = "0", , value] of data) {
      const exit = pending.get(vcpu);
      if (exit !== undefined) expect(event, `after vmexit ${exit} on vCPU ${vcpu}`).toBe("vmentry");
      pending.delete(vcpu);
      if (event === "vmexit") {
        pending.set(vcpu, value ?? "");
        reasons.add(value ?? "");
      }
    }
    for (const r of ["HLT", "EXTERNAL_INTERRUPT", "EPT_VIOLATION"]) expect(reasons.has(r), r).toBe(true);
    // wrmsr values are short hex from small pools
    for (const [event, , , value] of accesses.slice(0, 5000))
      if (event === "wrmsr") expect(value).toMatch(/^0x[0-9a-f]{1,16}$/);
  });

  it("linux-idle: HLT exits, each followed on its vCPU by a vmentry, and timer and interrupt writes", async () => {
    const g = await gen("linux-idle", 20_000);
    const data = rows(g.text);
    const count = (e: string, msr: string) => data.filter((r) => r[0] === e && r[2] === msr).length;
    expect(data.filter((r) => r[0] === "vmexit" && r[3] === "HLT").length).toBeGreaterThan(2000);
    for (const msr of ["0x6e0", "0x80b", "0x830"]) expect(count("wrmsr", msr), msr).toBeGreaterThan(100);
    expect(count("rdmsr", "0x10")).toBeGreaterThan(10);
    const halted = new Set<string>();
    for (const [event, vcpu = "0", , value] of data) {
      if (halted.has(vcpu)) expect(event).toBe("vmentry");
      halted.delete(vcpu);
      if (event === "vmexit" && value === "HLT") halted.add(vcpu);
    }
  });

  it("bitmap-churn: L1 edits the page its vCPU uses, and merged takes write-protection faults", async () => {
    const g = await gen("bitmap-churn", 30_000);
    const data = rows(g.text);
    const ptr = new Map<string, string>();
    const edits = data.filter(([e]) => e === "bitmap-set");
    expect(edits.length).toBeGreaterThan(60);
    for (const [event, vcpu = "0", msr, value, page, dir] of data) {
      if (event === "bitmap-ptr") ptr.set(vcpu, page ?? "");
      if (event === "bitmap-set") {
        expect(page).toBe(ptr.get(vcpu));
        expect(hasBit(Number(msr))).toBe(true);
        expect(["0", "1"]).toContain(value);
        expect(["r", "w", "rw"]).toContain(dir);
      }
    }
    const { results } = await replay(g.file);
    expect(results.merged?.wp_faults).toBeGreaterThan(0);
    expect(results["merged-stale"]?.violations).toBeGreaterThan(0);
  });

  it("boot: legacy then long mode, no bitmap, then a first page and a switch to a second, many distinct MSRs", async () => {
    const g = await gen("boot", 20_000);
    const data = rows(g.text);
    const l1 = data.filter(([e]) => e !== "rdmsr" && e !== "wrmsr" && e !== "vmexit" && e !== "vmentry").slice(0, 6);
    expect(l1.map((r) => r.join(","))).toEqual([
      "l1-mode,0,,legacy",
      "use-bitmap,0,,0",
      "l1-mode,0,,longmode",
      "bitmap-load,0,,,0x10000,,trace.l1-early.json",
      "bitmap-ptr,0,,,0x10000",
      "use-bitmap,0,,1",
    ]);
    const loads = data.filter(([e]) => e === "bitmap-load").map((r) => r[6]);
    expect(loads).toEqual(["trace.l1-early.json", "trace.l1.json"]);
    const distinct = new Set(data.filter(([e]) => e === "rdmsr" || e === "wrmsr").map((r) => Number(r[2])));
    expect(distinct.size).toBeGreaterThan(80);
    for (let msr = 0x480; msr <= 0x491; msr++) expect(distinct.has(msr), msr.toString(16)).toBe(true);
    for (const msr of [
      0xfe, 0x2ff, 0x200, 0x213, 0x250, 0x26f, 0x277, 0x1a0, 0x1b, 0x3a, 0x10a, 0x179, 0xc0000080, 0xc0000084,
    ]) {
      expect(distinct.has(msr), msr.toString(16)).toBe(true);
    }
  });
});

describe("the gen command", () => {
  it("writes the trace and its snapshots, says so on stderr, nothing on stdout", () => {
    const dir = folder();
    const r = cli("gen", "linux-mixed", "--events", "2k", "--vcpus", "2", "-o", join(dir, "mixed.csv"));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^wrote 2000 events to .*mixed\.csv \(\+ snapshot .*mixed\.l1\.json\)\n$/);
    expect(readdirSync(dir).sort()).toEqual(["mixed.csv", "mixed.l1.json"]);
    expect(readFileSync(join(dir, "mixed.csv"), "utf8")).toContain("bitmap-load,0,,,0x10000,,mixed.l1.json\n");
    expect(cli("validate", join(dir, "mixed.csv")).status).toBe(0);
    expect(cli("compare", join(dir, "mixed.csv")).status).toBe(0);
  });

  it("needs -o and --events (exit 2)", () => {
    const dir = folder();
    const noOutput = cli("gen", "linux-mixed", "--events", "100");
    expect(noOutput.status).toBe(2);
    expect(noOutput.stderr).toContain("--output");
    const noEvents = cli("gen", "linux-mixed", "-o", join(dir, "x.csv"));
    expect(noEvents.status).toBe(2);
    expect(noEvents.stderr).toContain("--events");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("rejects bad --events, --vcpus and --seed values (exit 2)", () => {
    const dir = folder();
    const out = join(dir, "x.csv");
    for (const args of [
      ["--events", "0"],
      ["--events", "-3"],
      ["--events", "lots"],
      ["--events", "1.5"],
      ["--events", "100", "--vcpus", "0"],
      ["--events", "100", "--vcpus", "4097"],
      ["--events", "100", "--seed", "-1"],
      ["--events", "100", "--seed", "x"],
    ]) {
      const r = cli("gen", "linux-mixed", ...args, "-o", out);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^error: option --/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("an unknown or missing workload is a usage error that lists the workloads", () => {
    for (const args of [["nope"], []]) {
      const r = cli("gen", ...args, "--events", "10", "-o", join(folder(), "x.csv"));
      expect(r.status).toBe(2);
      for (const w of WORKLOADS) expect(r.stderr).toContain(w.name);
    }
  });

  it("--list and --help name every workload with its summary", () => {
    const list = cli("gen", "--list");
    expect(list.status).toBe(0);
    const help = cli("gen", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Examples:");
    for (const w of WORKLOADS) {
      expect(list.stdout).toContain(w.name);
      expect(list.stdout).toContain(w.summary);
      expect(help.stdout).toContain(w.summary);
    }
  });

  it("a trace that cannot be written is exit 1 and leaves no temporary file", () => {
    const dir = folder();
    const r = cli("gen", "boot", "--events", "100", "-o", join(dir, "missing", "x.csv"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cannot write");
    mkdirSync(join(dir, "taken.csv"));
    expect(cli("gen", "boot", "--events", "100", "-o", join(dir, "taken.csv")).status).toBe(1);
    expect(readdirSync(dir)).toEqual(["taken.csv"]);
  });
});
