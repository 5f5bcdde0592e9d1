/**
 * `import L2.txt --exits OTHER.txt`: the L2 view's accesses and a host's exits
 * merged by time. Every expected CSV below is worked out by hand in the
 * comments: the clock offset is L2 time - other time.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatSeconds, MIN_MATCHES, parseSeconds } from "../src/import/merge.js";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs();

/** Data rows: no comments, no header. */
function dataRows(csv: string): string[] {
  return lines(csv).filter((l) => !l.startsWith("#") && l !== "event,vcpu,msr,value,t");
}

// kvm_nested_vmexit_inject's tail, as the kernel prints it.
const TAIL = " ext_inf1: 0x0000000000000000 ext_inf2: 0x0000000000000000 ext_int: 0x00000000 ext_int_err: 0x00000000";
const VMENTER =
  "rip: 0xffffffffc0a1b2c3 vmcs: 0x0000000102a4f000 nested_rip: 0xffffffff81000000 int_ctl: 0x00000000 event_inj: 0x00000000 nested_ept: on";

/** L2, recorded inside the guest: vCPU 0 (bash) and vCPU 1 (<idle>). */
const L2 = `${[
  "# tracer: nop",
  "            bash-100     [000] ...1.   100.000100: write_msr: 6e0, value 1000", // line 2
  "            bash-100     [000] ...1.   100.000300: read_msr: 10, value 5",
  "          <idle>-0       [001] d.h1.   100.000201: read_msr: 1b, value fee00900",
  "            bash-100     [000] ...1.   100.000500: write_msr: 6e0, value 2000",
  "            bash-100     [000] ...1.   100.000700: write_msr: 6e0, value 3000",
  "            bash-100     [000] ...1.   100.000900: read_msr: c0000100, value 0",
].join("\n")}\n`;

/**
 * L0 (host): the three 6e0 writes on vCPU 0 at 50.000102, 50.000501, 50.000698 give the
 * offsets 49.999998, 49.999999, 50.000002: median 49.999999, spread 0.000004.
 */
const L0 = `${[
  "       CPU 0/KVM-500     [003] d..1.    50.000102: kvm_msr: msr_write 6e0 = 0x1000",
  `       CPU 0/KVM-500     [003] d..1.    50.000201: kvm_nested_vmexit_inject: reason: EXTERNAL_INTERRUPT${TAIL}`,
  `       CPU 0/KVM-500     [003] d..1.    50.000251: kvm_nested_vmenter: ${VMENTER}`,
  // An injected MSR exit: an access, already in the L2 view.
  `       CPU 0/KVM-500     [003] d..1.    50.000400: kvm_nested_vmexit_inject: reason: MSR_WRITE${TAIL}`,
  "       CPU 0/KVM-500     [003] d..1.    50.000501: kvm_msr: msr_write 6e0 = 0x2000",
  "       CPU 0/KVM-500     [003] d..1.    50.000698: kvm_msr: msr_write 6e0 = 0x3000",
  `       CPU 0/KVM-500     [003] d..1.    50.000801: kvm_nested_vmexit_inject: reason: HLT${TAIL}`,
  // After the L2 recording ended (100.000900): dropped.
  `       CPU 0/KVM-500     [003] d..1.    50.002000: kvm_nested_vmexit_inject: reason: HLT${TAIL}`,
].join("\n")}\n`;

/** Offset 49.999999: 50.000201 -> 100.000200, 50.000251 -> 100.000250, 50.000801 -> 100.000800. */
const MERGED_FOUND = [
  "wrmsr,0,0x6e0,0x1000,100.000100",
  "vmexit,0,,EXTERNAL_INTERRUPT,100.000200",
  "rdmsr,1,0x1b,0xfee00900,100.000201",
  "vmentry,0,,,100.000250",
  "rdmsr,0,0x10,0x5,100.000300",
  "wrmsr,0,0x6e0,0x2000,100.000500",
  "wrmsr,0,0x6e0,0x3000,100.000700",
  "vmexit,0,,HLT,100.000800",
  "rdmsr,0,0xc0000100,0x0,100.000900",
];

describe("seconds", () => {
  it("parses to whole nanoseconds and prints 6 to 9 decimals", () => {
    expect(parseSeconds("4627.066638")).toBe(4627_066_638_000);
    expect(parseSeconds("-0.5")).toBe(-500_000_000);
    expect(parseSeconds("12")).toBe(12_000_000_000);
    expect(parseSeconds("1.0000000015")).toBe(1_000_000_001);
    expect(parseSeconds("")).toBeNull();
    expect(parseSeconds("1e3")).toBeNull();
    expect(formatSeconds(100_000_200_000)).toBe("100.000200");
    expect(formatSeconds(100_000_200_500)).toBe("100.0002005");
    expect(formatSeconds(-4_000)).toBe("-0.000004");
  });
});

describe("nvmx-replay import --exits", () => {
  it("with an L0 recording: the offset found from the matched writes, rows in L2's clock", () => {
    const dir = tempDir({ "l2.txt": L2, "l0.txt": L0 });
    const run = runCli(["import", "l2.txt", "--exits", "l0.txt", "-o", "out.csv"], { cwd: dir });
    expect(run.stderr).toContain("nvmx-replay import: l2.txt with the exits of l0.txt -> out.csv");
    expect(run.status).toBe(0);
    const csv = readFileSync(join(dir, "out.csv"), "utf8");
    expect(dataRows(csv)).toEqual(MERGED_FOUND);
    expect(run.stderr).toContain("l0.txt: L0 view: kvm_nested_vmexit_inject / kvm_nested_vmenter of the host");
    expect(run.stderr).toContain(
      "clock offset (L2 time = l0.txt time + offset): 49.999999 s, median of 3 matched MSR writes, spread 0.000004 s",
    );
    expect(run.stderr).toContain("exits merged: vmexit 2, vmentry 1; outside l2.txt's time span, dropped: 1");
    expect(csv).toContain("# Clock offset 49.999999 s: L2 time = l0.txt time + offset, the median of 3 MSR writes");
    // The merged trace replays.
    const validate = runCli(["validate", "out.csv"], { cwd: dir });
    expect(validate.stderr).toBe("");
    expect(validate.status).toBe(0);
  });

  it("with --clock-offset: no matching, the offset as given (negative too)", () => {
    // 50 exactly: 50.000201 -> 100.000201 (after the vCPU 1 read at the same time: L2 first), 50.000251 -> 100.000251,
    // 50.000801 -> 100.000801; 50.002000 -> 100.002000 is after the end, dropped.
    const dir = tempDir({ "l2.txt": L2, "l0.txt": L0 });
    const run = runCli(["import", "l2.txt", "--exits", "l0.txt", "--clock-offset", "50"], { cwd: dir });
    expect(run.status).toBe(0);
    expect(dataRows(run.stdout)).toEqual([
      "wrmsr,0,0x6e0,0x1000,100.000100",
      "rdmsr,1,0x1b,0xfee00900,100.000201",
      "vmexit,0,,EXTERNAL_INTERRUPT,100.000201",
      "vmentry,0,,,100.000251",
      "rdmsr,0,0x10,0x5,100.000300",
      "wrmsr,0,0x6e0,0x2000,100.000500",
      "wrmsr,0,0x6e0,0x3000,100.000700",
      "vmexit,0,,HLT,100.000801",
      "rdmsr,0,0xc0000100,0x0,100.000900",
    ]);
    expect(run.stderr).toContain(
      "clock offset (L2 time = l0.txt time + offset): 50.000000 s, given with --clock-offset",
    );

    // L0's clock ahead of L2's by 50 s: a negative offset, given as the next argument or with =.
    const ahead = L0.replace(/ {4}50\.00/g, "   150.00");
    writeFileSync(join(dir, "ahead.txt"), ahead);
    for (const args of [["--clock-offset", "-50"], ["--clock-offset=-50"]]) {
      const neg = runCli(["import", "l2.txt", "--exits", "ahead.txt", ...args], { cwd: dir });
      expect(neg.status, args.join(" ")).toBe(0);
      expect(dataRows(neg.stdout)).toContain("vmexit,0,,HLT,100.000801");
    }
  });

  it("with an L1 recording (KVM as L1): kvm_exit of another reason is a vmexit, kvm_entry a vmentry", () => {
    // L1's KVM numbers L2's vCPUs: vcpu 1 is L2's CPU 1. Writes at 20.000102, 20.000501, 20.000699 give the
    // offsets 79.999998, 79.999999, 80.000001 (L2 - L1 = 80 - 0.000002 ...): median 79.999999, spread 0.000003.
    const l2 = `${[
      "            bash-100     [001] ...1.   100.000100: write_msr: 6e0, value a1",
      "            bash-100     [001] ...1.   100.000300: read_msr: 10, value 5",
      "            bash-100     [001] ...1.   100.000500: write_msr: 6e0, value a2",
      "            bash-100     [001] ...1.   100.000700: write_msr: 6e0, value a3",
    ].join("\n")}\n`;
    const l1 = `${[
      // A reflected write: an MSR exit (no row), then L1 emulates it (kvm_msr: matching only), then re-enters L2.
      "       CPU 1/KVM-900     [000] d..1.    20.000100: kvm_exit: vcpu 1 reason MSR_WRITE rip 0xffffffff81001000 info1 0x0 info2 0x0 intr_info 0x00000000 error_code 0x00000000",
      "       CPU 1/KVM-900     [000] d..1.    20.000102: kvm_msr: msr_write 6e0 = 0xa1",
      "       CPU 1/KVM-900     [000] d..1.    20.000110: kvm_entry: vcpu 1, rip 0xffffffff81001002",
      "       CPU 1/KVM-900     [000] d..1.    20.000401: kvm_exit: vcpu 1 reason HLT rip 0xffffffff81002000 info1 0x0 info2 0x0 intr_info 0x00000000 error_code 0x00000000",
      "       CPU 1/KVM-900     [000] d..1.    20.000451: kvm_entry: vcpu 1, rip 0xffffffff81002001",
      "       CPU 1/KVM-900     [000] d..1.    20.000501: kvm_msr: msr_write 6e0 = 0xa2",
      "       CPU 1/KVM-900     [000] d..1.    20.000699: kvm_msr: msr_write 6e0 = 0xa3",
    ].join("\n")}\n`;
    // 20.000110 -> 100.000109, 20.000401 -> 100.000400, 20.000451 -> 100.000450.
    const dir = tempDir({ "l2.txt": l2, "l1.txt": l1 });
    const run = runCli(["import", "l2.txt", "--exits", "l1.txt"], { cwd: dir });
    expect(run.stderr).toContain("l1.txt: L1 view: kvm_exit / kvm_entry of KVM running L2");
    expect(run.status).toBe(0);
    expect(dataRows(run.stdout)).toEqual([
      "wrmsr,1,0x6e0,0xa1,100.000100",
      "vmentry,1,,,100.000109",
      "rdmsr,1,0x10,0x5,100.000300",
      "vmexit,1,,HLT,100.000400",
      "vmentry,1,,,100.000450",
      "wrmsr,1,0x6e0,0xa2,100.000500",
      "wrmsr,1,0x6e0,0xa3,100.000700",
    ]);
    expect(run.stderr).toContain("79.999999 s, median of 3 matched MSR writes, spread 0.000003 s");
  });

  it(`refuses too few matched writes (fewer than ${MIN_MATCHES}), suggesting --clock-offset`, () => {
    // Only the 0x1000 and 0x2000 writes are in both: the 0x3000 one is missing from L0.
    const dir = tempDir({ "l2.txt": L2, "l0.txt": L0.replace("msr_write 6e0 = 0x3000", "msr_write 6e0 = 0x3001") });
    const run = runCli(["import", "l2.txt", "--exits", "l0.txt", "-o", "out.csv"], { cwd: dir });
    expect(run.status).toBe(1);
    expect(lines(run.stderr)).toEqual([
      "l2.txt: cannot find the clock offset: 2 MSR writes matched l0.txt (same vCPU, MSR and value, once in each), " +
        "at least 3 are needed; give it with --clock-offset SECONDS (L2 time = l0.txt time + SECONDS)",
    ]);
    // A value written twice in L2 is no match either.
    const twice = L2.replace("value 2000", "value 1000");
    const dir2 = tempDir({ "l2.txt": twice, "l0.txt": L0 });
    const run2 = runCli(["import", "l2.txt", "--exits", "l0.txt"], { cwd: dir2 });
    expect(run2.status).toBe(1);
    expect(run2.stderr).toContain("cannot find the clock offset: 1 MSR write matched l0.txt");
  });

  it("refuses a spread that makes the order ambiguous, naming the exit and the L2 event", () => {
    // A vCPU 0 read at 100.000201: the EXTERNAL_INTERRUPT exit lands anywhere in
    // [50.000201 + 49.999998, 50.000201 + 50.000002] = [100.000199, 100.000203].
    const l2 = L2.replace(
      "          <idle>-0       [001] d.h1.   100.000201: read_msr: 1b, value fee00900",
      "            bash-100     [000] d.h1.   100.000201: read_msr: 1b, value fee00900",
    );
    const dir = tempDir({ "l2.txt": l2, "l0.txt": L0 });
    const run = runCli(["import", "l2.txt", "--exits", "l0.txt"], { cwd: dir });
    expect(run.status).toBe(1);
    expect(lines(run.stderr)).toEqual([
      "l2.txt: the clock offset is ambiguous: 3 matched writes give offsets from 49.999998 to 50.000002 s " +
        "(spread 0.000004 s), so the vmexit at l0.txt:2 (vCPU 0) could come before or after l2.txt:4; " +
        "give it with --clock-offset SECONDS (L2 time = l0.txt time + SECONDS)",
    ]);
    // The same event on vCPU 1 (the first test) is no ambiguity: only the order within a vCPU matters.
    // And with the offset given, the merge goes ahead.
    const given = runCli(["import", "l2.txt", "--exits", "l0.txt", "--clock-offset", "49.999999"], { cwd: dir });
    expect(given.status).toBe(0);
  });

  it("refuses the views swapped, both from stdin, and --clock-offset without --exits or not a number", () => {
    const dir = tempDir({ "l2.txt": L2, "l0.txt": L0 });
    const swapped = runCli(["import", "l0.txt", "--exits", "l2.txt"], { cwd: dir });
    expect(swapped.status).toBe(1);
    expect(lines(swapped.stderr)).toEqual([
      "l0.txt: this is a host's recording (kvm_* events): --exits merges into the L2 view (msr tracepoints recorded inside the guest), given first",
    ]);
    const stdin = runCli(["import", "-", "--exits", "-"], { cwd: dir, input: L2 });
    expect(stdin.status).toBe(1);
    expect(lines(stdin.stderr)).toHaveLength(1);
    const alone = runCli(["import", "l2.txt", "--clock-offset", "5"], { cwd: dir });
    expect(alone.status).toBe(2);
    expect(lines(alone.stderr)).toHaveLength(1);
    expect(alone.stderr).toContain("only goes with --exits FILE");
    const nan = runCli(["import", "l2.txt", "--exits", "l0.txt", "--clock-offset", "soon"], { cwd: dir });
    expect(nan.status).toBe(2);
    expect(lines(nan.stderr)).toHaveLength(1);
  });

  it("--help documents --exits and the sign of --clock-offset", () => {
    const run = runCli(["import", "--help"]);
    expect(run.stdout).toContain("--exits <file>");
    expect(run.stdout).toMatch(/--clock-offset <seconds>\s+with --exits: L2 time = the --exits file's time \+/);
  });
});
