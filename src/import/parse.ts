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
  /** The CPU column (`[001]` -> 1): in a recording made inside L2, the vCPU. Null in the short layout. */
  readonly cpu: number | null;
  /** The event's subsystem when printed (`kvm` in perf script), else null. */
  readonly system: string | null;
  readonly event: string;
  /** The payload, trimmed. */
  readonly payload: string;
}

const FTRACE =
  /^(.*?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:(\S{4,7})\s+)?(\d+(?:\.\d+)?):\s+(?:(\w+):)?(\w+):(?:\s(.*))?$/;
const PERF = /^(.*?)\s+(\d+)(?:\/(\d+))?\s+\[(\d+)\]\s+(\d+(?:\.\d+)?):\s+(?:\d+\s+)?(?:(\w+):)?(\w+):(?:\s(.*))?$/;
/**
 * Kernel event names are lower case with an underscore (kvm_msr, sched_switch),
 * but for msr:rdpmc, named alone.
 */
const SHORT = /^\s*(?:([a-z]\w*):)?([a-z][a-z0-9]*_\w*|rdpmc):(?:\s(.*))?$/;
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
      cpu: Number(m[3]),
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
      cpu: Number(m[4]),
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
      cpu: null,
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
  /** The access failed with #GP (the MSR does not exist, or the value was refused). */
  readonly gp: boolean;
  /**
   * Text after the well-formed payload (an annotation pasted into a bug report,
   * extra `perf script` fields such as a symbol), ignored; absent when there is none.
   */
  readonly trailing?: string;
}

/** What `kvm_msr` prints, for messages. */
export const KVM_MSR_SHAPE = "msr_read|msr_write <hex> = 0x<hex>";

/**
 * Text after a payload that looks like an exception marker the kernel does not
 * print (`(#UD)`, `#PF`): not an annotation to ignore but a payload we cannot
 * read, since counting it as a plain access could be wrong.
 */
const FAULT_MARKER = /^\(?#[A-Z]{2}\)?(?=\s|$)/;

/**
 * kvm_msr: TP_printk("msr_%s %x = 0x%llx%s", write ? "write" : "read", ecx, data,
 * exception ? " (#GP)" : ""). Extra spaces are tolerated; the MSR may carry a 0x;
 * text after the payload is kept apart in `trailing`.
 */
export function parseKvmMsr(payload: string): MsrAccess | null {
  const m = /^msr_(read|write)\s+(?:0x)?([0-9a-fA-F]{1,8})\s*=\s*0x([0-9a-fA-F]+)(\s*\(#GP\))?(?:\s+(.*))?$/.exec(
    payload,
  );
  if (!m) return null;
  const value = hexNumber(m[3] ?? "");
  if (value.length > 2 + HEX_DIGITS_64) return null; // beyond 64 bits
  const trailing = (m[5] ?? "").trim();
  if (FAULT_MARKER.test(trailing)) return null;
  const access = { write: m[1] === "write", msr: hexNumber(m[2] ?? ""), value, gp: m[4] !== undefined };
  return trailing === "" ? access : { ...access, trailing };
}

/** Hex digits of a 64-bit value. */
const HEX_DIGITS_64 = 16;

/** The events the kernel fires inside a guest for its own RDMSR, WRMSR and RDPMC (include/trace/events/msr.h). */
export const L2_EVENTS: ReadonlySet<string> = new Set(["read_msr", "write_msr", "rdpmc"]);

/** What `read_msr`, `write_msr` and `rdpmc` print, for messages. */
export const GUEST_MSR_SHAPE = "<hex>, value <hex>[ #GP]";

export interface GuestMsrAccess {
  /** `0x…`, lower case, no leading zeros: the MSR, or for rdpmc the counter (ECX). */
  readonly index: string;
  readonly value: string;
  /** The access failed with #GP (the kernel's `*_safe()` accessors trace the failure). */
  readonly gp: boolean;
  /** Text after the well-formed payload, ignored; empty when there is none. */
  readonly trailing: string;
}

/**
 * read_msr, write_msr, rdpmc (DECLARE_EVENT_CLASS msr_trace_class):
 * TP_printk("%x, value %llx%s", __entry->msr, __entry->val, __entry->failed ? " #GP" : "").
 * Both numbers are hex without 0x (a 0x is tolerated); extra spaces are tolerated;
 * text after the payload is kept apart in `trailing`.
 */
export function parseGuestMsr(payload: string): GuestMsrAccess | null {
  const m = /^(?:0x)?([0-9a-fA-F]{1,8})\s*,\s*value\s+(?:0x)?([0-9a-fA-F]+)(\s+#GP)?(?:\s+(.*))?$/.exec(payload);
  if (!m) return null;
  const value = hexNumber(m[2] ?? "");
  if (value.length > 2 + HEX_DIGITS_64) return null; // beyond 64 bits
  const trailing = (m[4] ?? "").trim();
  if (FAULT_MARKER.test(trailing)) return null;
  return { index: hexNumber(m[1] ?? ""), value, gp: m[3] !== undefined, trailing };
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
