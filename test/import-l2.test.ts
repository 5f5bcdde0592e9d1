/**
 * `import` of the L2 view: the msr tracepoints recorded inside the guest, in
 * each tool's layout. Payloads follow include/trace/events/msr.h:
 *   TP_printk("%x, value %llx%s", __entry->msr, __entry->val, __entry->failed ? " #GP" : "")
 * The ftrace lines are real ones recorded on a Linux 6.18 guest.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Importer } from "../src/import/importer.js";
import { parseGuestMsr, parseKvmMsr, parseTraceLine } from "../src/import/parse.js";
import { InputError } from "../src/io/errors.js";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";

function importLines(input: readonly string[], strict = false): { rows: string[]; importer: Importer } {
  const importer = new Importer("l2.txt", strict);
  const rows: string[] = [];
  for (const line of input) {
    const row = importer.line(line);
    if (row !== null) rows.push(row.trimEnd());
  }
  return { rows, importer };
}

/** One line in, its row (or null) out. */
function one(line: string): string | null {
  return importLines([line]).rows[0] ?? null;
}

describe("L2 view: each layout, line by line", () => {
  it("ftrace (real lines): write_msr -> wrmsr on the vCPU of the CPU column, t the timestamp", () => {
    expect(one("            bash-16717   [000] ...1.  4627.066638: write_msr: 830, value 1000000fb")).toBe(
      "wrmsr,0,0x830,0x1000000fb,4627.066638",
    );
    expect(one("          <idle>-0       [001] d.h1.  4627.066672: write_msr: 6e0, value aece88fa126")).toBe(
      "wrmsr,1,0x6e0,0xaece88fa126,4627.066672",
    );
    expect(one("            bash-16717   [000] d..2.  4627.068100: read_msr: 3b, value 0")).toBe(
      "rdmsr,0,0x3b,0x0,4627.068100",
    );
  });

  it("ftrace with 4-character flags, without flags, and with the tgid column", () => {
    expect(one("     kworker/1:1-71      [001] d..1  12.000001: read_msr: 1b, value fee00900")).toBe(
      "rdmsr,1,0x1b,0xfee00900,12.000001",
    );
    expect(one("     kworker/1:1-71      [003] 12.000002: write_msr: 80b, value 0")).toBe(
      "wrmsr,3,0x80b,0x0,12.000002",
    );
    expect(one("            bash-16717  (  16717) [002] ...1. 12.000003: write_msr: 830, value 1000000fb")).toBe(
      "wrmsr,2,0x830,0x1000000fb,12.000003",
    );
  });

  it("trace-cmd report: the event name padded", () => {
    expect(one("            bash-16717 [000]  4627.066638: write_msr:            830, value 1000000fb")).toBe(
      "wrmsr,0,0x830,0x1000000fb,4627.066638",
    );
    expect(one("          <idle>-0     [001] d.h1. 4627.066672: read_msr:             e8, value 2a7c3b1")).toBe(
      "rdmsr,1,0xe8,0x2a7c3b1,4627.066672",
    );
  });

  it("perf script: msr:write_msr:, tid or pid/tid", () => {
    const parsed = parseTraceLine("            bash 16717 [002]  4627.066638: msr:write_msr: 830, value 1000000fb");
    expect(parsed).toMatchObject({ format: "perf", system: "msr", event: "write_msr", cpu: 2 });
    expect(one("            bash 16717 [002]  4627.066638: msr:write_msr: 830, value 1000000fb")).toBe(
      "wrmsr,2,0x830,0x1000000fb,4627.066638",
    );
    expect(one("       swapper     0/0     [003]  4627.07: msr:read_msr: 10, value 5a3c1e2f00")).toBe(
      "rdmsr,3,0x10,0x5a3c1e2f00,4627.07",
    );
  });

  it("the short layout: no CPU column, taken as vCPU 0 and counted", () => {
    const { rows, importer } = importLines(["write_msr: 6e0, value 10e8aebe830c9e", "msr:read_msr: 10, value 1"]);
    expect(rows).toEqual(["wrmsr,0,0x6e0,0x10e8aebe830c9e,", "rdmsr,0,0x10,0x1,"]);
    expect(importer.stats.noCpu).toBe(2);
    expect(importer.stats.cpuColumn).toBe(0);
  });

  it("#GP: kept as an access, counted", () => {
    const { rows, importer } = importLines([
      "            bash-16717   [000] ...1.  4627.1: read_msr: c0011029, value 0 #GP",
      "            bash-16717   [000] ...1.  4627.2: write_msr: 3a, value 5 #GP",
    ]);
    expect(rows).toEqual(["rdmsr,0,0xc0011029,0x0,4627.1", "wrmsr,0,0x3a,0x5,4627.2"]);
    expect(importer.stats.gp).toBe(2);
    expect(parseGuestMsr("3a, value 5 #GP")).toEqual({ index: "0x3a", value: "0x5", gp: true, trailing: "" });
  });

  it("rdpmc: counted, no row (RDPMC reads a counter, not an MSR), in every layout", () => {
    const { rows, importer } = importLines([
      "            perf-2001    [001] ...1.  4627.3: rdpmc: 40000001, value 3a2b",
      "            perf 2001 [001]  4627.4: msr:rdpmc: 0, value 10",
      "rdpmc: 1, value 0 #GP",
    ]);
    expect(rows).toEqual([]);
    expect(importer.stats.rdpmc).toBe(3);
    expect(importer.stats.skipped.otherEvent).toBe(0);
    expect(importer.stats.view).toBe("l2");
  });

  it("odd task names: spaces, dashes, <idle>, parentheses", () => {
    for (const [task, pid] of [
      ["Web Content", "4321"],
      ["gnome-shell", "1500"],
      ["kworker/u8:2-events_unbound", "123"],
      ["<idle>", "0"],
      ["(sd-pam)", "1234"],
      ["a-1-2 3", "77"],
    ] as const) {
      const line = `  ${task}-${pid}   [002] d..1.  9.5: write_msr: 48, value 1`;
      expect(parseTraceLine(line), task).toMatchObject({ task, pid, cpu: 2 });
      expect(one(line), task).toBe("wrmsr,2,0x48,0x1,9.5");
    }
  });

  it("CPU numbers: leading zeros, many digits; above 4095 is skipped and counted", () => {
    expect(one("  bash-1 [017] ...1. 1.0: read_msr: 10, value 1")).toBe("rdmsr,17,0x10,0x1,1.0");
    expect(one("  bash-1 [4095] ...1. 1.0: read_msr: 10, value 1")).toBe("rdmsr,4095,0x10,0x1,1.0");
    const { rows, importer } = importLines(["  bash-1 [4096] ...1. 1.0: read_msr: 10, value 1"]);
    expect(rows).toEqual([]);
    expect(importer.stats.skipped.vcpuRange).toBe(1);
  });

  it("text after a well-formed payload is ignored and counted, for msr and kvm_msr events alike", () => {
    const { rows, importer } = importLines([
      "  bash-1 [000] ...1. 1.1: write_msr: 6e0, value 123   <-- this is the one",
      "  bash 1 [000] 1.2: msr:write_msr: 830, value fd ffffffff8107b3a4 native_write_msr+0x24 ([kernel.kallsyms])",
      "  bash-1 [000] ...1. 1.3: read_msr: 10, value 1 #GP (see above)",
    ]);
    expect(rows).toEqual(["wrmsr,0,0x6e0,0x123,1.1", "wrmsr,0,0x830,0xfd,1.2", "rdmsr,0,0x10,0x1,1.3"]);
    expect(importer.stats.trailing).toBe(3);
    expect(importer.stats.gp).toBe(1);
    expect(importer.stats.skipped.malformed).toBe(0);

    const host = importLines([
      "  CPU 0/KVM-7 [000] d..1. 2.1: kvm_msr: msr_write 6e0 = 0x1 (the bad one)",
      "  CPU 0/KVM-7 [000] d..1. 2.2: kvm_msr: msr_read c0011029 = 0x0 (#GP) ffffffffc0a1 kvm_emulate",
    ]);
    expect(host.rows).toEqual(["wrmsr,0,0x6e0,0x1,2.1", "rdmsr,0,0xc0011029,0x0,2.2"]);
    expect(host.importer.stats.trailing).toBe(2);
    expect(parseKvmMsr("msr_write 6e0 = 0x1 hello")).toMatchObject({ trailing: "hello" });
  });

  it("a payload that is not well formed is malformed (an unknown fault marker included); --strict names the line", () => {
    const bad = [
      "  bash-1 [000] ...1. 1.1: write_msr: 6e0 value 1",
      "  bash-1 [000] ...1. 1.2: write_msr: 6e0, value",
      "  bash-1 [000] ...1. 1.3: write_msr: 6e0, value 1ffffffffffffffff",
      "  bash-1 [000] ...1. 1.4: read_msr: 10, value 1 #UD",
      "  bash-1 [000] ...1. 1.5: read_msr: 123456789, value 1",
      "  bash-1 [000] ...1. 1.6: read_msr: 10, value 1zz",
    ];
    const { rows, importer } = importLines(bad);
    expect(rows).toEqual([]);
    expect(importer.stats.skipped.malformed).toBe(bad.length);
    expect(() => importLines(bad, true)).toThrow(
      'l2.txt:1: write_msr: expected "<hex>, value <hex>[ #GP]", got "6e0 value 1"',
    );
  });

  it("a file mixing the L2 view with kvm_* events is refused, naming both lines and --exits", () => {
    const mixed = [
      "# tracer: nop",
      "  bash-1 [000] ...1. 1.1: write_msr: 6e0, value 1",
      "  CPU 0/KVM-7 [000] d..1. 2.1: kvm_exit: vcpu 0 reason HLT rip 0x0 info1 0x0 info2 0x0",
    ];
    expect(() => importLines(mixed)).toThrow(InputError);
    expect(() => importLines(mixed)).toThrow(
      "l2.txt:3: kvm_exit: this file mixes the L2 view (msr tracepoints inside the guest, line 2) with kvm_* events " +
        "of a host (line 3), whose clocks differ: import the L2 recording and give the host's with --exits FILE",
    );
    // The other way round too.
    expect(() =>
      importLines(["  CPU 0/KVM-7 [000] d..1. 2.1: kvm_msr: msr_write 6e0 = 0x1", "write_msr: 6e0, value 1"]),
    ).toThrow(
      "l2.txt:2: write_msr: this file mixes the L2 view (msr tracepoints inside the guest, line 2) with kvm_* events of a host (line 1)",
    );
  });
});

describe("nvmx-replay import of an L2 recording (CLI)", () => {
  const tempDir = useTempDirs();
  const L2 = [
    "# tracer: nop",
    "            bash-16717   [000] ...1.  4627.066638: write_msr: 830, value 1000000fb",
    "          <idle>-0       [001] d.h1.  4627.066672: write_msr: 6e0, value aece88fa126",
    "            bash-16717   [000] d..2.  4627.068100: read_msr: c0011029, value 0 #GP",
    "            perf-2001    [001] ...1.  4627.068200: rdpmc: 40000001, value 3a2b",
    "            bash-16717   [000] d..2.  4627.068300: write_msr: 48, value 0 <- annotation",
    "",
  ].join("\n");

  it("writes the rows, says the view and what it cannot see, counts #GP, rdpmc and trailing text", () => {
    const dir = tempDir({ "l2.txt": L2 });
    const run = runCli(["import", "l2.txt"], { cwd: dir });
    expect(run.status).toBe(0);
    expect(lines(run.stdout).filter((l) => !l.startsWith("#"))).toEqual([
      "event,vcpu,msr,value,t",
      "wrmsr,0,0x830,0x1000000fb,4627.066638",
      "wrmsr,1,0x6e0,0xaece88fa126,4627.066672",
      "rdmsr,0,0xc0011029,0x0,4627.068100",
      "wrmsr,0,0x48,0x0,4627.068300",
    ]);
    expect(run.stdout).toContain("# What an L2 (guest) trace cannot see:");
    expect(run.stdout).not.toContain("What an L0 (host) trace cannot see");
    expect(run.stderr).toContain("\n  L2 view: msr tracepoints inside the guest\n");
    expect(run.stderr).toMatch(/#GP accesses\s+1 {2}\(kept/);
    expect(run.stderr).toMatch(/rdpmc lines\s+1 {2}\(RDPMC reads a counter, not an MSR: no row\)/);
    expect(run.stderr).toMatch(/text after payload\s+1 {2}\(ignored, the line kept\)/);
    expect(run.stderr).toContain("vCPUs: 0-1; numbered from the CPU column 4 rows");
    expect(run.stderr).toContain(
      "this view cannot see: exits for other reasons, L1's bitmap, and accesses through untraced paths (wrmsr_notrace, native_* accessors, FSGSBASE instructions)",
    );
  });

  it("an L0 recording's summary names its view and blind spots", () => {
    const dir = tempDir({ "l0.txt": "  CPU 0/KVM-7 [000] d..1. 2.1: kvm_msr: msr_write 6e0 = 0x1\n" });
    const run = runCli(["import", "l0.txt"], { cwd: dir });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("\n  L0 view: kvm tracepoints\n");
    expect(run.stderr).toContain(
      "this view cannot see: accesses that do not exit to L0, and the MSR of accesses reflected to L1",
    );
  });

  it("refuses a mixed file: one line, exit 1, no output file", () => {
    const dir = tempDir({
      "mixed.txt": `${L2}  CPU 0/KVM-7 [000] d..1. 2.1: kvm_msr: msr_write 6e0 = 0x1\n`,
    });
    const run = runCli(["import", "mixed.txt", "-o", "out.csv"], { cwd: dir });
    expect(run.status).toBe(1);
    expect(lines(run.stderr)).toEqual([
      "mixed.txt:7: kvm_msr: this file mixes the L2 view (msr tracepoints inside the guest, line 2) with kvm_* " +
        "events of a host (line 7), whose clocks differ: import the L2 recording and give the host's with --exits FILE",
    ]);
    expect(existsSync(join(dir, "out.csv"))).toBe(false);
  });
});
