/**
 * Pure parsers for kernel trace text: one line in, one record out, no state.
 *
 * A line is split into its header (task, pid, timestamp) and its event
 * (name and payload) by one of three layouts, tried in this order:
 *
 *   ftrace / trace-cmd report  `<task>-<pid> [(<tgid>)] [cpu] [<flags>] <secs>: <event>: <payload>`
 *   perf script                `<task> <pid>[/<tid>] [cpu] <secs>: [<period>] <sys>:<event>: <payload>`
 *   short                      `<event>:<padding> <payload>` (ftrace with context-info off, trace-cmd)
 *
 * Task names may contain spaces (`CPU 0/KVM`) and dashes; the pid is the last
 * `-<digits>` (ftrace) or `<digits>` (perf) before the `[cpu]` column. Whatever
 * precedes the task (grep's `file:` or `file:line:`) ends up in the task field,
 * where it is harmless: only a trailing `CPU N/KVM` in it means anything. The
 * short layout has no task, so a grep prefix is stripped before it is tried.
 *
 * The payload parsers follow the kernel's TP_printk format strings in
 * arch/x86/kvm/trace.h, quoted beside each one.
 */

export type LineFormat = "ftrace" | "perf" | "short";

export interface TraceLine {
  readonly format: LineFormat;
  /** The task (comm) as printed, trimmed; with a grep prefix if there was one. Empty in the short layout. */
  readonly task: string;
  /** The thread id: the vCPU thread for KVM events. Null in the short layout. */
  readonly pid: string | null;
  /** The timestamp as printed (seconds, or a counter with some trace clocks). Empty in the short layout. */
  readonly timestamp: string;
  /** The event's subsystem when printed (`kvm` in perf script), else null. */
  readonly system: string | null;
  readonly event: string;
  /** The payload, trimmed. */
  readonly payload: string;
}

const FTRACE =
  /^(.*?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:(\S{4,7})\s+)?(\d+(?:\.\d+)?):\s+(?:(\w+):)?(\w+):(?:\s(.*))?$/;
const PERF = /^(.*?)\s+(\d+)(?:\/(\d+))?\s+\[(\d+)\]\s+(\d+(?:\.\d+)?):\s+(?:\d+\s+)?(?:(\w+):)?(\w+):(?:\s(.*))?$/;
/** Kernel event names are lower case with an underscore (kvm_msr, sched_switch). */
const SHORT = /^\s*(?:([a-z]\w*):)?([a-z][a-z0-9]*_\w*):(?:\s(.*))?$/;
/** grep's `file:` or `file:line:` (or `file-line-` on a context line). */
const GREP_PREFIX = /^[^:\s][^:]*?(?::\d+[:-]|:|-\d+-)/;

/** The header and event of a trace line, or null when it is not one. */
export function parseTraceLine(line: string): TraceLine | null {
  let m = FTRACE.exec(line);
  if (m) {
    return {
      format: "ftrace",
      task: (m[1] ?? "").trim(),
      pid: m[2] ?? "",
      timestamp: m[5] ?? "",
      system: m[6] ?? null,
      event: m[7] ?? "",
      payload: (m[8] ?? "").trim(),
    };
  }
  m = PERF.exec(line);
  if (m) {
    return {
      format: "perf",
      task: (m[1] ?? "").trim(),
      pid: m[3] ?? m[2] ?? "",
      timestamp: m[5] ?? "",
      system: m[6] ?? null,
      event: m[7] ?? "",
      payload: (m[8] ?? "").trim(),
    };
  }
  m = SHORT.exec(line);
  if (!m) {
    const prefix = GREP_PREFIX.exec(line);
    if (prefix) m = SHORT.exec(line.slice(prefix[0].length));
  }
  if (m) {
    return {
      format: "short",
      task: "",
      pid: null,
      timestamp: "",
      system: m[1] ?? null,
      event: m[2] ?? "",
      payload: (m[3] ?? "").trim(),
    };
  }
  return null;
}

/** ftrace's and trace-cmd's marks of a ring buffer that overflowed (`CPU:2 [LOST 123 EVENTS]`). */
export function isLostEventsLine(line: string): boolean {
  return /\[\s*LOST\s+\d+\s+EVENTS\s*\]|\bEVENTS\s+DROPPED\b/i.test(line);
}

/** QEMU names its vCPU threads `CPU <n>/KVM`: that task is vCPU n. */
export function vcpuFromTask(task: string): number | null {
  const m = /(?:^|[\s:])CPU (\d+)\/KVM$/.exec(task);
  return m ? Number(m[1]) : null;
}

// ---------------------------------------------------------------------------
// Payloads

export interface MsrAccess {
  readonly write: boolean;
  /** `0x…`, lower case, no leading zeros. */
  readonly msr: string;
  readonly value: string;
  /** KVM injected #GP: the access failed (the MSR does not exist, or the value was refused). */
  readonly gp: boolean;
}

/** What `kvm_msr` prints, for messages. */
export const KVM_MSR_SHAPE = "msr_read|msr_write <hex> = 0x<hex>";

/**
 * kvm_msr: TP_printk("msr_%s %x = 0x%llx%s", write ? "write" : "read", ecx, data,
 * exception ? " (#GP)" : ""). Extra spaces are tolerated; the MSR may carry a 0x.
 */
export function parseKvmMsr(payload: string): MsrAccess | null {
  const m = /^msr_(read|write)\s+(?:0x)?([0-9a-fA-F]{1,8})\s*=\s*0x([0-9a-fA-F]+)(\s*\(#GP\))?$/.exec(payload);
  if (!m) return null;
  const value = hexNumber(m[3] ?? "");
  if (value.length > 2 + 16) return null; // beyond 64 bits
  return { write: m[1] === "write", msr: hexNumber(m[2] ?? ""), value, gp: m[4] !== undefined };
}

/** What `kvm_nested_vmexit_inject` prints, for messages. */
export const VMEXIT_INJECT_SHAPE = "reason: <name> ext_inf1: … (or reason <name> …)";

/**
 * The exit reason of kvm_nested_vmexit_inject. The kernel prints
 * "reason: %s ext_inf1: 0x%016llx ext_inf2: …" (since 2020 "reason: %s%s%s …",
 * the two extra strings being VMX exit-reason flags); `reason <name> … info1 …`
 * (the layout of kvm_exit and, since 2020, kvm_nested_vmexit) is accepted too.
 */
export function parseExitReason(payload: string): string | null {
  const m = /(?:^|[\s,])reason:?\s+([A-Za-z_]\w*|0x[0-9a-fA-F]+)(?=[\s,]|$)/.exec(payload);
  return m ? (m[1] ?? null) : null;
}

/** Exit reasons that are an MSR access: VMX MSR_READ and MSR_WRITE, SVM `msr`. */
export function isMsrExit(reason: string): boolean {
  return reason === "MSR_READ" || reason === "MSR_WRITE" || reason === "msr";
}

/**
 * `vcpu N` in the payload of kvm_entry ("vcpu %u", later "vcpu %u, rip 0x%lx"),
 * kvm_exit and kvm_nested_vmexit ("vcpu %u reason %s%s%s rip 0x%lx info1 …",
 * since 2020; older formats name no vCPU).
 */
export function vcpuFromPayload(payload: string): number | null {
  const m = /(?:^|[\s,])vcpu[ =]?(\d{1,9})\b/.exec(payload);
  return m ? Number(m[1]) : null;
}

/** `0x` and the digits in lower case, without leading zeros. */
function hexNumber(digits: string): string {
  return `0x${digits.toLowerCase().replace(/^0+(?=.)/, "")}`;
}
