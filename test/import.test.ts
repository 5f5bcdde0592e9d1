/**
 * `import`: kernel trace text (ftrace, perf script, trace-cmd report) into a
 * trace. The parsers and the Importer run in-process; the CLI (the built
 * dist/, `npm run build` first) runs as a child process.
 *
 * Every sample line is written after the kernel's TP_printk format string in
 * arch/x86/kvm/trace.h, quoted beside it, inside the header each tool prints:
 *   ftrace      "%16s-%-7d [%03d] <flags> %5lu.%06lu: <event>: <payload>"
 *               (flags: 4 characters in old kernels, 5 since migrate-disable; absent with irq-info off)
 *   perf script "<comm> <tid> [%03d] <secs>: <sys>:<event>: <payload>"
 *   trace-cmd   "<comm>-<pid> [%03d] [<flags>] <secs>: <event>:<padding> <payload>"
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { Importer } from "../src/import/importer.js";
import {
  isMsrExit,
  parseExitReason,
  parseKvmMsr,
  parseTraceLine,
  vcpuFromPayload,
  vcpuFromTask,
} from "../src/import/parse.js";
import { LineSplitter, MAX_LINE } from "../src/import/run.js";
import { InputError } from "../src/io/errors.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "nvmx-replay.js");
const TMP = mkdtempSync(join(tmpdir(), "nvmx-import-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], input?: string | Uint8Array): Run {
  const env = { ...process.env };
  for (const key of ["NO_COLOR", "FORCE_COLOR", "NVMX_DEBUG", "NODE_OPTIONS"]) delete env[key];
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: TMP,
    env,
    encoding: "utf8",
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    timeout: 25_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function write(name: string, content: string | Uint8Array): string {
  const path = join(TMP, name);
  writeFileSync(path, content);
  return path;
}

/** Data rows of a CSV text: no comments, no header. */
function dataRows(csv: string): string[] {
  return csv.split("\n").filter((l) => l !== "" && !l.startsWith("#") && l !== "event,vcpu,msr,value,t");
}

function importLines(lines: readonly string[], strict = false): { rows: string[]; importer: Importer } {
  const importer = new Importer("trace.txt", strict);
  const rows: string[] = [];
  for (const line of lines) {
    const row = importer.line(line);
    if (row !== null) rows.push(row.trimEnd());
  }
  return { rows, importer };
}

// Payloads, after the kernel's format strings.
// kvm_msr: "msr_%s %x = 0x%llx%s", write ? "write" : "read", ecx, data, exception ? " (#GP)" : ""
const MSR_WRITE_FS = "msr_write c0000100 = 0x7f3a2c000000";
const MSR_READ_TSC = "msr_read 10 = 0x5a3c1e2f00";
// trace_kvm_msr_read_ex(ecx) passes data 0 and exception true.
const MSR_READ_GP = "msr_read c0011029 = 0x0 (#GP)";
// kvm_nested_vmexit_inject since 2020: "reason: %s%s%s ext_inf1: 0x%016llx ext_inf2: 0x%016llx ext_int: 0x%08x ext_int_err: 0x%08x"
// (before: "reason: %s ext_inf1: …", the same text when the reason has no VMX flags).
const INJECT_EXTINT =
  "reason: EXTERNAL_INTERRUPT ext_inf1: 0x0000000000000000 ext_inf2: 0x0000000000000000 ext_int: 0x800000ec ext_int_err: 0x00000000";
const INJECT_MSR_WRITE =
  "reason: MSR_WRITE ext_inf1: 0x0000000000000000 ext_inf2: 0x0000000000000000 ext_int: 0x00000000 ext_int_err: 0x00000000";
// The other form, `reason X info1 …`: kvm_exit's layout ("reason %s rip 0x%lx info1 0x%016llx info2 0x%016llx"
// in kernels before the vCPU was added). I found no trace.h version printing kvm_nested_vmexit_inject this way;
// it is accepted because the issue names it.
const INJECT_OLD_HLT = "reason HLT info1 0x0000000000000000 info2 0x0000000000000000";
// kvm_exit since 2020 (TRACE_EVENT_KVM_EXIT): "vcpu %u reason %s%s%s rip 0x%lx info1 0x%016llx info2 0x%016llx intr_info 0x%08x error_code 0x%08x"
const EXIT_VCPU3 =
  "vcpu 3 reason HLT rip 0xffffffff81a0b1c2 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000";
// kvm_entry: "vcpu %u, rip 0x%lx" (older kernels: "vcpu %u")
const ENTRY_VCPU5 = "vcpu 5, rip 0xffffffff81000000";
// kvm_nested_vmenter (Linux 6.1, from the patch that renamed kvm_nested_vmrun):
// "rip: 0x%016llx %s: 0x%016llx nested_rip: 0x%016llx int_ctl: 0x%08x event_inj: 0x%08x nested_%s: %s"
const VMENTER =
  "rip: 0xffffffffc0a1b2c3 vmcs: 0x0000000102a4f000 nested_rip: 0xffffffff81000000 int_ctl: 0x00000000 event_inj: 0x00000000 nested_ept: on";
// kvm_nested_vmrun (before 6.1, SVM only): "rip: 0x%016llx vmcb: 0x%016llx nrip: 0x%016llx int_ctl: 0x%08x event_inj: 0x%08x npt: %s"
const VMRUN =
  "rip: 0xffffffff8105a3b1 vmcb: 0x000000010b3c2000 nrip: 0xffffffff81000000 int_ctl: 0x01000000 event_inj: 0x00000000 npt: on";

/**
 * One file mixing every layout; the comment after each line is what it must
 * become. Thread ranks by first appearance: 7289 0, 7290 1, 7301 2, 7302 3,
 * 7303 4, 7304 5, the short layout's anonymous thread 6.
 */
const MIXED_LINES: readonly (readonly [string, string | null])[] = [
  ["# tracer: nop", null],
  ["#", null],
  ["#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION", null],
  // ftrace, 5-character flags, task with a space.
  [`      CPU 0/KVM-7289    [002] d..1.  5123.456789: kvm_nested_vmenter: ${VMENTER}`, "vmentry,0,,,5123.456789"],
  [
    `      CPU 0/KVM-7289    [002] d..1.  5123.456800: kvm_msr: ${MSR_WRITE_FS}`,
    "wrmsr,0,0xc0000100,0x7f3a2c000000,5123.456800",
  ],
  // 4-character flags (older kernels).
  [
    `      CPU 1/KVM-7290    [003] d..1   5123.456900: kvm_msr: ${MSR_READ_TSC}`,
    "rdmsr,1,0x10,0x5a3c1e2f00,5123.456900",
  ],
  // 6-character flags, a #GP access: kept.
  [`      CPU 1/KVM-7290    [003] dNh2.. 5123.457000: kvm_msr: ${MSR_READ_GP}`, "rdmsr,1,0xc0011029,0x0,5123.457000"],
  // 7-character flags.
  [
    `      CPU 1/KVM-7290    [003] d.h3.1. 5123.457100: kvm_nested_vmexit_inject: ${INJECT_EXTINT}`,
    "vmexit,1,,EXTERNAL_INTERRUPT,5123.457100",
  ],
  // No flags column (trace_pipe of old kernels with irq-info off).
  [
    "      CPU 0/KVM-7289    [002] 5123.457200: kvm_msr: msr_write 6e0 = 0x2d79883d2000",
    "wrmsr,0,0x6e0,0x2d79883d2000,5123.457200",
  ],
  // An injected MSR exit: no MSR index, skipped and counted.
  [`      CPU 0/KVM-7289    [002] d..1. 5123.457300: kvm_nested_vmexit_inject: ${INJECT_MSR_WRITE}`, null],
  // A thread not named CPU N/KVM: kvm_exit tells its vCPU, 3.
  [`        qemu-kvm-7301    [000] d..1. 5123.457400: kvm_exit: ${EXIT_VCPU3}`, null],
  [
    `        qemu-kvm-7301    [000] d..1. 5123.457500: kvm_nested_vmexit_inject: ${INJECT_OLD_HLT}`,
    "vmexit,3,,HLT,5123.457500",
  ],
  // perf script: no vCPU named, numbered by first appearance (rank 3).
  [" qemu-system-x86  7302 [001]  5123.457600: kvm:kvm_msr: msr_write 80b = 0x0", "wrmsr,3,0x80b,0x0,5123.457600"],
  // perf script with pid/tid: the thread (tid) counts, rank 4.
  [
    " qemu-system-x86 7280/7303 [001]  5123.457700: kvm:kvm_msr: msr_read 1b = 0xfee00d00",
    "rdmsr,4,0x1b,0xfee00d00,5123.457700",
  ],
  // perf script, a task with a space.
  [`       CPU 2/KVM  7304 [000]  5123.457800:      kvm:kvm_nested_vmrun: ${VMRUN}`, "vmentry,2,,,5123.457800"],
  // grep's file: prefix.
  [
    "trace.txt:      CPU 1/KVM-7290    [003] d..1. 5123.457900: kvm_msr: msr_write c0000101 = 0xffff888237c00000",
    "wrmsr,1,0xc0000101,0xffff888237c00000,5123.457900",
  ],
  // grep's file:line: prefix on the short layout, extra spaces in the payload; no thread, no timestamp.
  ["trace.txt:812:kvm_msr:              msr_read   c0000102  =  0x0", "rdmsr,6,0xc0000102,0x0,"],
  // A malformed kvm_msr payload (line 18).
  ["      CPU 0/KVM-7289    [002] d..1. 5123.458000: kvm_msr: msr_write c0000100", null],
  // Other events.
  [
    "      CPU 0/KVM-7289    [002] d..2. 5123.458100: sched_switch: prev_comm=CPU 0/KVM prev_pid=7289 prev_prio=120 prev_state=S ==> next_comm=swapper/2 next_pid=0 next_prio=120",
    null,
  ],
  ["CPU:2 [LOST 37 EVENTS]", null],
  ["", null],
  ["      CPU 0/KVM-7289    [002] d..1. 5123.458200: kvm_nested_vmenter_failed: nested_vmx_check_controls", null],
  // kvm_entry teaches 7302 that it is vCPU 5: its later lines say so.
  [` qemu-system-x86  7302 [001]  5123.458300: kvm:kvm_entry: ${ENTRY_VCPU5}`, null],
  // trace-cmd report: the event name padded.
  [
    "  qemu-system-x86-7302  [001]  5123.458400: kvm_msr:              msr_read 10 = 0x1",
    "rdmsr,5,0x10,0x1,5123.458400",
  ],
];
const MIXED = `${MIXED_LINES.map(([line]) => line).join("\n")}\n`;
const MIXED_ROWS = MIXED_LINES.flatMap(([, row]) => (row === null ? [] : [row]));
const MALFORMED_LINE = 18;

describe("parseTraceLine: the header of each layout", () => {
  it("reads ftrace lines with 4- to 7-character flags, and without flags", () => {
    for (const flags of ["d..1", "d..1.", "dNh2..", "d.h3.1.", ""]) {
      const line = `      CPU 0/KVM-7289    [002] ${flags} 5123.456800: kvm_msr: ${MSR_WRITE_FS}`;
      expect(parseTraceLine(line), flags).toEqual({
        format: "ftrace",
        task: "CPU 0/KVM",
        pid: "7289",
        timestamp: "5123.456800",
        cpu: 2,
        system: null,
        event: "kvm_msr",
        payload: MSR_WRITE_FS,
      });
    }
  });

  it("reads ftrace's tgid column and task names with dashes and spaces", () => {
    const tgid = parseTraceLine(`      CPU 0/KVM-7289    (   7280) [002] d..1. 5123.4568: kvm_msr: ${MSR_WRITE_FS}`);
    expect(tgid).toMatchObject({ task: "CPU 0/KVM", pid: "7289", timestamp: "5123.4568" });
    const dashed = parseTraceLine(`  qemu-system-x86-7302  [001] .... 5123.4584: kvm_msr: ${MSR_READ_TSC}`);
    expect(dashed).toMatchObject({ format: "ftrace", task: "qemu-system-x86", pid: "7302" });
    const numbered = parseTraceLine(`  worker-1-2 3-7302  [001] 5123.4584: kvm_msr: ${MSR_READ_TSC}`);
    expect(numbered).toMatchObject({ task: "worker-1-2 3", pid: "7302" });
  });

  it("reads perf script lines, with tid or pid/tid, and spaces in the task", () => {
    expect(parseTraceLine(` qemu-system-x86  7302 [001]  5123.457600: kvm:kvm_msr: ${MSR_WRITE_FS}`)).toEqual({
      format: "perf",
      task: "qemu-system-x86",
      pid: "7302",
      timestamp: "5123.457600",
      cpu: 1,
      system: "kvm",
      event: "kvm_msr",
      payload: MSR_WRITE_FS,
    });
    expect(parseTraceLine(` qemu-system-x86 7280/7303 [001] 5123.4577: kvm:kvm_msr: ${MSR_READ_TSC}`)).toMatchObject({
      pid: "7303",
    });
    expect(
      parseTraceLine(`       CPU 2/KVM  7304 [000]  5123.457800:      kvm:kvm_nested_vmrun: ${VMRUN}`),
    ).toMatchObject({
      format: "perf",
      task: "CPU 2/KVM",
      pid: "7304",
      event: "kvm_nested_vmrun",
      payload: VMRUN,
    });
  });

  it("reads trace-cmd report lines, padded, with or without flags", () => {
    const padded = parseTraceLine(`       CPU 0/KVM-7289  [002]  5123.457200: kvm_msr:              ${MSR_WRITE_FS}`);
    expect(padded).toMatchObject({
      format: "ftrace",
      task: "CPU 0/KVM",
      pid: "7289",
      event: "kvm_msr",
      payload: MSR_WRITE_FS,
    });
    const flagged = parseTraceLine(
      `       CPU 0/KVM-7289  [002] d..1. 5123.457200: kvm_msr:              ${MSR_WRITE_FS}`,
    );
    expect(flagged).toMatchObject({ event: "kvm_msr", payload: MSR_WRITE_FS });
  });

  it("reads the short layout `<event>:<padding> <payload>`", () => {
    expect(parseTraceLine(`kvm_msr:              ${MSR_READ_TSC}`)).toEqual({
      format: "short",
      task: "",
      pid: null,
      timestamp: "",
      cpu: null,
      system: null,
      event: "kvm_msr",
      payload: MSR_READ_TSC,
    });
    expect(parseTraceLine(`kvm:kvm_msr: ${MSR_READ_TSC}`)).toMatchObject({
      format: "short",
      system: "kvm",
      event: "kvm_msr",
    });
  });

  it("takes grep's file: and file:line: prefixes", () => {
    const full = parseTraceLine(`trace.txt:      CPU 1/KVM-7290    [003] d..1. 5123.4579: kvm_msr: ${MSR_READ_TSC}`);
    expect(full).toMatchObject({ format: "ftrace", pid: "7290", event: "kvm_msr", payload: MSR_READ_TSC });
    expect(vcpuFromTask(full?.task ?? "")).toBe(1);
    const numbered = parseTraceLine(
      `logs/trace.txt:1234:      CPU 1/KVM-7290    [003] 5123.4579: kvm_msr: ${MSR_READ_TSC}`,
    );
    expect(numbered).toMatchObject({ pid: "7290", timestamp: "5123.4579" });
    expect(vcpuFromTask(numbered?.task ?? "")).toBe(1);
    expect(parseTraceLine(`trace.txt:kvm_msr: ${MSR_READ_TSC}`)).toMatchObject({ format: "short", event: "kvm_msr" });
    expect(parseTraceLine(`trace.txt:812:kvm_msr:     ${MSR_READ_TSC}`)).toMatchObject({
      format: "short",
      payload: MSR_READ_TSC,
    });
  });

  it("trims extra spaces around the payload", () => {
    expect(parseTraceLine("      CPU 0/KVM-7289 [002] 5123.4: kvm_msr:    msr_write  6e0  =  0x1   ")?.payload).toBe(
      "msr_write  6e0  =  0x1",
    );
  });

  it("finds no trace line in headers, blank lines and prose", () => {
    for (const line of ["# tracer: nop", "", "cpus=4", "CPU:2 [LOST 37 EVENTS]", "version = 6", "hello world", "--"]) {
      expect(parseTraceLine(line), line).toBeNull();
    }
  });
});

describe("payload parsers, after arch/x86/kvm/trace.h", () => {
  it("kvm_msr: reads, writes, #GP, extra spaces, upper-case hex", () => {
    expect(parseKvmMsr(MSR_WRITE_FS)).toEqual({ write: true, msr: "0xc0000100", value: "0x7f3a2c000000", gp: false });
    expect(parseKvmMsr(MSR_READ_TSC)).toEqual({ write: false, msr: "0x10", value: "0x5a3c1e2f00", gp: false });
    expect(parseKvmMsr(MSR_READ_GP)).toEqual({ write: false, msr: "0xc0011029", value: "0x0", gp: true });
    // trace_kvm_msr_write_ex(ecx, data): the refused value is printed.
    expect(parseKvmMsr("msr_write 3a = 0x5 (#GP)")).toEqual({ write: true, msr: "0x3a", value: "0x5", gp: true });
    expect(parseKvmMsr("msr_write  C0000100  =  0xFFFF8881")).toEqual({
      write: true,
      msr: "0xc0000100",
      value: "0xffff8881",
      gp: false,
    });
    expect(parseKvmMsr("msr_read 10 = 0xffffffffffffffff")?.value).toBe("0xffffffffffffffff");
  });

  it("kvm_msr: anything else is malformed", () => {
    for (const bad of [
      "msr_write c0000100",
      "msr_write c0000100 = 7f",
      "msr_poke 10 = 0x1",
      "msr_read zz = 0x1",
      "msr_read 123456789 = 0x1",
      "msr_read 10 = 0x1ffffffffffffffff",
      "msr_read 10 = 0x1 (#UD)",
      "",
    ]) {
      expect(parseKvmMsr(bad), bad).toBeNull();
    }
  });

  it("kvm_nested_vmexit_inject: the reason, in either form", () => {
    expect(parseExitReason(INJECT_EXTINT)).toBe("EXTERNAL_INTERRUPT");
    expect(parseExitReason(INJECT_MSR_WRITE)).toBe("MSR_WRITE");
    expect(parseExitReason(INJECT_OLD_HLT)).toBe("HLT");
    // "%s%s%s": a VMX exit-reason flag may follow the name.
    expect(parseExitReason("reason: EPT_VIOLATION FAILED_VMENTRY ext_inf1: 0x0000000000000000")).toBe("EPT_VIOLATION");
    // SVM names are lower case; an unknown code prints as hex.
    expect(parseExitReason("reason: msr ext_inf1: 0x0000000000000001")).toBe("msr");
    expect(parseExitReason("reason: 0x403 ext_inf1: 0x0000000000000000")).toBe("0x403");
    expect(parseExitReason("ext_inf1: 0x0000000000000000")).toBeNull();
    expect(parseExitReason("reason:  ext_inf1: 0x0")).toBeNull();
  });

  it("tells MSR exits (VMX MSR_READ/MSR_WRITE, SVM msr) from the others", () => {
    expect(["MSR_READ", "MSR_WRITE", "msr"].map(isMsrExit)).toEqual([true, true, true]);
    expect(["HLT", "EXTERNAL_INTERRUPT", "MSR_LOAD_FAIL", "msr_read"].map(isMsrExit)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it("finds `vcpu N` in kvm_entry, kvm_exit and kvm_nested_vmexit, old formats having none", () => {
    expect(vcpuFromPayload(ENTRY_VCPU5)).toBe(5);
    // kvm_entry before the rip was added: "vcpu %u"
    expect(vcpuFromPayload("vcpu 12")).toBe(12);
    expect(vcpuFromPayload(EXIT_VCPU3)).toBe(3);
    // kvm_exit long ago: "reason %s rip 0x%lx"; kvm_nested_vmexit before 2020: "rip: 0x%016llx reason: %s ext_inf1: …"
    expect(vcpuFromPayload("reason HLT rip 0xffffffff81a0b1c2")).toBeNull();
    expect(vcpuFromPayload("rip: 0xffffffff81a0b1c2 reason: HLT ext_inf1: 0x0000000000000000")).toBeNull();
  });

  it("a CPU N/KVM task is vCPU N, wherever a grep prefix leaves it", () => {
    expect(vcpuFromTask("CPU 0/KVM")).toBe(0);
    expect(vcpuFromTask("CPU 17/KVM")).toBe(17);
    expect(vcpuFromTask("trace.txt:      CPU 3/KVM")).toBe(3);
    expect(vcpuFromTask("trace.txt:CPU 3/KVM")).toBe(3);
    expect(vcpuFromTask("qemu-system-x86")).toBeNull();
    expect(vcpuFromTask("XCPU 1/KVM")).toBeNull();
    expect(vcpuFromTask("CPU 1/TCG")).toBeNull();
  });
});

describe("Importer", () => {
  it("turns the mixed file into its rows", () => {
    const { rows, importer } = importLines(MIXED_LINES.map(([line]) => line));
    expect(rows).toEqual(MIXED_ROWS);
    const s = importer.stats;
    expect({
      lines: s.lines,
      rdmsr: s.rdmsr,
      wrmsr: s.wrmsr,
      gp: s.gp,
      vmentry: s.vmentry,
      vmexit: s.vmexit,
      hints: s.hints,
    }).toEqual({
      lines: MIXED_LINES.length,
      rdmsr: 5,
      wrmsr: 4,
      gp: 1,
      vmentry: 2,
      vmexit: 2,
      hints: 2,
    });
    expect(s.skipped).toEqual({
      blank: 4,
      notTrace: 0,
      tooLong: 0,
      lost: 1,
      otherEvent: 2,
      msrExit: 1,
      malformed: 1,
      vcpuRange: 0,
    });
    expect(s.firstMalformed).toBe(MALFORMED_LINE);
    expect(s.formats).toEqual({ ftrace: 12, perf: 4, short: 1 });
    expect([...s.vcpus].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("numbers vCPUs: a CPU N/KVM task first", () => {
    // The task's name wins over a `vcpu N` seen on the same thread.
    const { rows } = importLines([
      `      CPU 4/KVM-100    [000] d..1. 1.000001: kvm_exit: ${EXIT_VCPU3}`,
      `      CPU 4/KVM-100    [000] d..1. 1.000002: kvm_msr: ${MSR_READ_TSC}`,
    ]);
    expect(rows).toEqual(["rdmsr,4,0x10,0x5a3c1e2f00,1.000002"]);
  });

  it("numbers vCPUs: else the last `vcpu N` of kvm_exit/kvm_entry/kvm_nested_vmexit on the same thread", () => {
    const { rows, importer } = importLines([
      `  qemu-kvm-100    [000] d..1. 1.000001: kvm_msr: ${MSR_READ_TSC}`,
      `  qemu-kvm-100    [000] d..1. 1.000002: kvm_exit: ${EXIT_VCPU3}`,
      `  qemu-kvm-100    [000] d..1. 1.000003: kvm_msr: ${MSR_READ_TSC}`,
      // kvm_nested_vmexit since 2020 uses kvm_exit's format.
      `  qemu-kvm-100    [000] d..1. 1.000004: kvm_nested_vmexit: vcpu 7 reason HLT rip 0xffffffff81a0b1c2 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000`,
      `  qemu-kvm-100    [000] d..1. 1.000005: kvm_msr: ${MSR_READ_TSC}`,
      // Another thread's hint does not apply here.
      `  qemu-kvm-200    [001] d..1. 1.000006: kvm_entry: ${ENTRY_VCPU5}`,
      `  qemu-kvm-100    [000] d..1. 1.000007: kvm_msr: ${MSR_READ_TSC}`,
      `  qemu-kvm-200    [001] d..1. 1.000008: kvm_msr: ${MSR_READ_TSC}`,
    ]);
    expect(rows.map((r) => r.split(",")[1])).toEqual(["0", "3", "7", "7", "5"]);
    expect(importer.stats.vcpuSources).toEqual({ task: 0, hint: 4, order: 1 });
  });

  it("numbers vCPUs: else by the thread's order of first appearance", () => {
    const { rows } = importLines([
      ` qemu-system-x86  900 [001]  2.5: kvm:kvm_msr: ${MSR_READ_TSC}`,
      ` qemu-system-x86  300 [001]  2.6: kvm:kvm_msr: ${MSR_READ_TSC}`,
      ` qemu-system-x86  900 [001]  2.7: kvm:kvm_nested_vmrun: ${VMRUN}`,
      ` qemu-system-x86  500 [001]  2.8: kvm:kvm_msr: ${MSR_WRITE_FS}`,
      ` qemu-system-x86  300 [001]  2.9: kvm:kvm_msr: ${MSR_WRITE_FS}`,
    ]);
    expect(rows).toEqual([
      "rdmsr,0,0x10,0x5a3c1e2f00,2.5",
      "rdmsr,1,0x10,0x5a3c1e2f00,2.6",
      "vmentry,0,,,2.7",
      "wrmsr,2,0xc0000100,0x7f3a2c000000,2.8",
      "wrmsr,1,0xc0000100,0x7f3a2c000000,2.9",
    ]);
  });

  it("puts timestamps in t, as printed", () => {
    const { rows } = importLines([
      `      CPU 0/KVM-1 [000] d..1. 98765.000000123: kvm_msr: ${MSR_READ_TSC}`,
      // A counter clock (trace_clock=counter) prints an integer.
      `      CPU 0/KVM-1 [000] d..1. 4242: kvm_msr: ${MSR_READ_TSC}`,
    ]);
    expect(rows.map((r) => r.split(",")[4])).toEqual(["98765.000000123", "4242"]);
  });

  it("skips and counts an injected MSR exit, and keeps every other reason", () => {
    const { rows, importer } = importLines([
      `      CPU 0/KVM-1 [000] d..1. 1.1: kvm_nested_vmexit_inject: ${INJECT_MSR_WRITE}`,
      `      CPU 0/KVM-1 [000] d..1. 1.2: kvm_nested_vmexit_inject: ${INJECT_MSR_WRITE.replace("MSR_WRITE", "MSR_READ")}`,
      `      CPU 0/KVM-1 [000] d..1. 1.3: kvm_nested_vmexit_inject: reason: msr ext_inf1: 0x0000000000000001`,
      `      CPU 0/KVM-1 [000] d..1. 1.4: kvm_nested_vmexit_inject: ${INJECT_EXTINT}`,
      `      CPU 0/KVM-1 [000] d..1. 1.5: kvm_nested_vmexit_inject: ${INJECT_OLD_HLT}`,
    ]);
    expect(rows).toEqual(["vmexit,0,,EXTERNAL_INTERRUPT,1.4", "vmexit,0,,HLT,1.5"]);
    expect(importer.stats.skipped.msrExit).toBe(3);
  });

  it("skips other events, kvm_nested_vmenter_failed included, and lines that are not trace lines", () => {
    const { rows, importer } = importLines([
      "      CPU 0/KVM-1 [000] d..1. 1.1: kvm_page_fault: address 7f3a2c000000 error_code 6",
      "      CPU 0/KVM-1 [000] d..1. 1.2: kvm_nested_vmenter_failed: nested_vmx_check_controls",
      "      CPU 0/KVM-1 [000] d..1. 1.3: kvm_nested_msr: msr_read 10 = 0x1",
      "Some other text",
      "CPU:3 [LOST 1024 EVENTS]",
    ]);
    expect(rows).toEqual([]);
    expect(importer.stats.skipped).toMatchObject({ otherEvent: 3, notTrace: 1, lost: 1 });
  });

  it("skips a vCPU number above 4095", () => {
    const { rows, importer } = importLines([`      CPU 5000/KVM-1 [000] d..1. 1.1: kvm_msr: ${MSR_READ_TSC}`]);
    expect(rows).toEqual([]);
    expect(importer.stats.skipped.vcpuRange).toBe(1);
  });

  it("skips malformed kvm_* payloads, counted; --strict makes the first an error naming its line", () => {
    const lines = [
      `      CPU 0/KVM-1 [000] d..1. 1.1: kvm_msr: ${MSR_READ_TSC}`,
      "      CPU 0/KVM-1 [000] d..1. 1.2: kvm_msr: msr_write c0000100",
      "      CPU 0/KVM-1 [000] d..1. 1.3: kvm_nested_vmexit_inject: ext_inf1: 0x0",
    ];
    const { rows, importer } = importLines(lines);
    expect(rows).toHaveLength(1);
    expect(importer.stats.skipped.malformed).toBe(2);
    expect(importer.stats.firstMalformed).toBe(2);
    expect(() => importLines(lines, true)).toThrow(InputError);
    expect(() => importLines(lines, true)).toThrow(
      'trace.txt:2: kvm_msr: expected "msr_read|msr_write <hex> = 0x<hex>", got "msr_write c0000100"',
    );
    expect(() => importLines([lines[2] as string], true)).toThrow(
      'trace.txt:1: kvm_nested_vmexit_inject: expected "reason: <name> ext_inf1: … (or reason <name> …)", got "ext_inf1: 0x0"',
    );
  });
});

describe("LineSplitter", () => {
  function split(chunks: readonly string[]): (string | null)[] {
    const out: (string | null)[] = [];
    const splitter = new LineSplitter();
    for (const chunk of chunks) splitter.push(Buffer.from(chunk), (l) => out.push(l));
    splitter.finish((l) => out.push(l));
    return out;
  }

  it("joins lines across chunks, drops \\r\\n, keeps a last line without a line end", () => {
    expect(split(["ab", "c\r\nd", "e\nf"])).toEqual(["abc", "de", "f"]);
    expect(split(["a\n", "\n"])).toEqual(["a", ""]);
  });

  it("reports an overlong line as null without keeping it", () => {
    const long = "x".repeat(MAX_LINE + 10);
    expect(split(["a\n", long.slice(0, 40_000), long.slice(40_000), "\nb\n"])).toEqual(["a", null, "b"]);
    expect(split([`${long}\nc`])).toEqual([null, "c"]);
  });
});

describe("nvmx-replay import (CLI)", () => {
  write("mixed.txt", MIXED);

  it("writes the trace with -o, a summary on stderr, and the output passes validate and compare", () => {
    const run = cli(["import", "mixed.txt", "-o", "mixed.csv"]);
    expect(run.stderr).toContain("nvmx-replay import: mixed.txt -> mixed.csv");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("");
    const summary = run.stderr;
    expect(summary).toMatch(/lines read\s+24\n/);
    expect(summary).toMatch(/accesses imported\s+9 {2}\(rdmsr 5, wrmsr 4\)/);
    expect(summary).toMatch(/#GP accesses\s+1/);
    expect(summary).toMatch(/vmentry rows\s+2\n/);
    expect(summary).toMatch(/vmexit rows\s+2\n/);
    expect(summary).toMatch(/lines skipped\s+9\n/);
    expect(summary).toMatch(/not a trace line\s+0\n/);
    expect(summary).toMatch(/other event\s+2\n/);
    expect(summary).toMatch(/injected MSR exit \(no MSR index: not replayable\)\s+1\n/);
    expect(summary).toMatch(/malformed kvm_\* payload\s+1 {2}\(first on line 18; --strict stops there\)/);
    expect(summary).toContain("vCPUs: 0-6");

    const csv = readFileSync(join(TMP, "mixed.csv"), "utf8");
    expect(csv.startsWith("# Imported by nvmx-replay import from mixed.txt")).toBe(true);
    expect(csv).toContain("# What an L0 (host) trace cannot see:");
    expect(csv).toContain("use-bitmap, which stays 0");
    expect(csv).toContain("\nevent,vcpu,msr,value,t\n");
    expect(dataRows(csv)).toEqual(MIXED_ROWS);
    expect(readdirSync(TMP).filter((f) => f.endsWith(".tmp"))).toEqual([]);

    const validate = cli(["validate", "mixed.csv"]);
    expect(validate.stderr).toBe("");
    expect(validate.status).toBe(0);
    expect(validate.stdout).toContain("mixed.csv: valid, 13 events");

    const compare = cli(["compare", "mixed.csv", "--format", "csv"]);
    // An imported trace has no bitmap rows: the one warning says so.
    expect(compare.stderr).toMatch(/^warning: mixed\.csv: no access ran with an L1 bitmap .*\n$/);
    expect(compare.status).toBe(0);
    const [header, ...results] = compare.stdout.trim().split("\n");
    const accesses = (header ?? "").split(",").indexOf("accesses");
    expect(results.length).toBeGreaterThan(0);
    for (const result of results) expect(result.split(",")[accesses]).toBe("9");

    // With L1's bitmap given, as docs/recording.md says.
    write("l1.json", JSON.stringify({ default: "pass", intercept: ["0x6e0"] }));
    const withBitmap = cli(["compare", "mixed.csv", "--l1-bitmap", "l1.json", "--format", "csv"]);
    expect(withBitmap.stderr).toBe("");
    expect(withBitmap.status).toBe(0);
  });

  it("writes to stdout without -o: the same bytes", () => {
    const run = cli(["import", "mixed.txt"]);
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("nvmx-replay import: mixed.txt -> stdout");
    expect(cli(["import", "mixed.txt", "-o", "again.csv"]).status).toBe(0);
    expect(run.stdout).toBe(readFileSync(join(TMP, "again.csv"), "utf8"));
  });

  it("reads stdin (-), gzip or not", () => {
    const plain = cli(["import", "-"], MIXED);
    expect(plain.status).toBe(0);
    expect(dataRows(plain.stdout)).toEqual(MIXED_ROWS);
    expect(plain.stderr).toContain("nvmx-replay import: <stdin> -> stdout");
    const gzipped = cli(["import", "-", "-o", "from-gzip.csv"], gzipSync(MIXED));
    expect(gzipped.status).toBe(0);
    expect(dataRows(readFileSync(join(TMP, "from-gzip.csv"), "utf8"))).toEqual(MIXED_ROWS);
  });

  it("--strict: a malformed payload is a one-line error naming file and line, exit 1, no output file", () => {
    const run = cli(["import", "mixed.txt", "--strict", "-o", "strict.csv"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `mixed.txt:${MALFORMED_LINE}: kvm_msr: expected "msr_read|msr_write <hex> = 0x<hex>", got "msr_write c0000100"\n`,
    );
    expect(existsSync(join(TMP, "strict.csv"))).toBe(false);
    expect(readdirSync(TMP).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("errors are one line with a non-zero exit: missing file 1, bad option 2, no argument 2", () => {
    const missing = cli(["import", "nope.txt", "-o", "nope.csv"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("nope.txt: no such file\n");
    expect(existsSync(join(TMP, "nope.csv"))).toBe(false);

    const badOption = cli(["import", "mixed.txt", "--bogus"]);
    expect(badOption.status).toBe(2);
    expect(badOption.stderr.trim().split("\n")).toHaveLength(1);

    const noArgument = cli(["import"]);
    expect(noArgument.status).toBe(2);
    expect(noArgument.stderr.trim().split("\n")).toHaveLength(1);

    const overInput = cli(["import", "mixed.txt", "-o", "mixed.txt"]);
    expect(overInput.status).toBe(1);
    expect(overInput.stderr).toBe("mixed.txt: refusing to write the output over an input file\n");
  });

  it("refuses an input with nothing to import, and binary trace files", () => {
    write("prose.txt", "hello\n      CPU 0/KVM-1 [000] d..1. 1.1: kvm_page_fault: address 7f3a2c000000 error_code 6\n");
    const prose = cli(["import", "prose.txt", "-o", "prose.csv"]);
    expect(prose.status).toBe(1);
    expect(prose.stderr).toMatch(
      /^prose\.txt: nothing to import: none of its 2 lines is a kvm_msr, .*\(not a trace line 1, other event 1\)/,
    );
    expect(prose.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(TMP, "prose.csv"))).toBe(false);

    write("trace.dat", Buffer.concat([Buffer.from([0x17, 0x08, 0x44]), Buffer.from("tracing6\0\0\0\0")]));
    const dat = cli(["import", "trace.dat"]);
    expect(dat.status).toBe(1);
    expect(dat.stderr).toBe(
      "trace.dat: this is trace-cmd's binary file (trace.dat): import the text of `trace-cmd report -i trace.dat`\n",
    );
  });

  it("--help shows examples", () => {
    const run = cli(["import", "--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Examples:");
    expect(run.stdout).toContain("$ nvmx-replay import trace.txt -o trace.csv");
    expect(run.stdout).toContain("--strict");
    expect(run.stdout).toContain("docs/recording.md");
  });

  it("is listed in the program's help", () => {
    const run = cli(["--help"]);
    expect(run.stdout).toMatch(/\n\s+import \[options\] <file>\s+convert kernel trace text/);
  });
});
