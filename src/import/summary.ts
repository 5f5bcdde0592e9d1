/**
 * What `import` says about its work: the `#` comments that open and close the
 * trace it writes, and the summary it prints on stderr.
 */
import { count } from "../render/text-table.js";
import {
  CSV_HEADER,
  type ImportStats,
  MAX_HINTED_THREADS,
  rowCount,
  SKIP_LABELS,
  SKIP_REASONS,
  skippedCount,
  VIEW_LABELS,
  type View,
} from "./importer.js";

/** What each view cannot see, one line each, for the summary (docs/recording.md says more). */
export const VIEW_BLIND_SPOTS: Readonly<Record<View, string>> = {
  l2:
    "exits for other reasons, L1's bitmap, and accesses through untraced paths " +
    "(wrmsr_notrace, native_* accessors, FSGSBASE instructions)",
  l0: "accesses that do not exit to L0, and the MSR of accesses reflected to L1",
};

/**
 * The comment block that opens an imported trace, for a file of the given
 * view (`l0`, the host's kvm_* events, unless the first event said otherwise).
 */
export function headerComments(input: string, view: View = "l0"): string {
  return commentBlock(view === "l2" ? l2Header(input) : l0Header(input));
}

/** `#` comments, then the CSV header. */
export function commentBlock(lines: readonly string[]): string {
  return `${lines.map((l) => (l === "" ? "#" : `# ${l}`)).join("\n")}\n${CSV_HEADER}\n`;
}

/** What the opening comments say of rows from the L2 view, and what it cannot see. */
export function l2Blurb(): string[] {
  return [
    "Rows: msr:read_msr -> rdmsr, msr:write_msr -> wrmsr (value = the value read or written; an access that",
    "failed with #GP is kept); msr:rdpmc is counted, no row (RDPMC reads a counter, not an MSR).",
    "vCPU = the CPU column of the line (inside L2, the CPU is the vCPU). t = the guest kernel's timestamp.",
    "",
    "What an L2 (guest) trace cannot see:",
    "- exits for other reasons (HLT, interrupts, EPT violations...): there are no vmexit rows, so every",
    "  access counts as if L2 ran uninterrupted; merge a host's recording with import --exits FILE;",
    "- L1's MSR bitmap: give it to compare/replay with --l1-bitmap FILE or --l1-profile NAME;",
    "- accesses through untraced paths: wrmsr_notrace(), the native_* accessors, and FS/GS base writes",
    "  made with the FSGSBASE instructions (WRFSBASE/WRGSBASE), which are not MSR accesses at all.",
  ];
}

function l2Header(input: string): string[] {
  return [
    `Imported by nvmx-replay import from ${input} (kernel trace text: ftrace, perf script or trace-cmd report),`,
    "recorded inside L2.",
    ...l2Blurb(),
    "",
  ];
}

function l0Header(input: string): string[] {
  return [
    `Imported by nvmx-replay import from ${input} (kernel trace text: ftrace, perf script or trace-cmd report).`,
    "Rows: kvm_msr -> rdmsr/wrmsr (value = the value read or written; accesses KVM answered with #GP are kept),",
    "kvm_nested_vmenter/kvm_nested_vmrun -> vmentry, kvm_nested_vmexit_inject -> vmexit (value = the exit reason).",
    "t = the kernel's timestamp. vCPU = N of a `CPU N/KVM` thread, else the last `vcpu N` of kvm_exit/kvm_entry/",
    "kvm_nested_vmexit on the same thread, else the thread's order of first appearance.",
    "",
    "What an L0 (host) trace cannot see:",
    "- the MSR of an exit reflected to L1: kvm_nested_vmexit_inject carries only the reason, so an injected",
    "  MSR_READ/MSR_WRITE exit is left out (counted at the end of this file), and those accesses are missing;",
    "- accesses that never exited to L0: whatever the bitmap in use while recording passed through is absent,",
    "  so a trace recorded under a strategy that passes MSRs through under-counts them;",
    "- whether an access came from L2 or from L1 itself: kvm_msr fires for every MSR access KVM emulates,",
    "  so L1's own emulated accesses are imported as if L2 made them;",
    "- L1's MSR bitmap: this trace has no bitmap rows and never sets use-bitmap, which stays 0, so the replayer",
    "  treats every access as wanted by L1 until you give L1's bitmap (compare/replay --l1-bitmap FILE).",
    "",
  ];
}

/** The comment block that closes an imported trace: the counts. */
export function trailerComments(stats: ImportStats): string {
  const skipped = SKIP_REASONS.filter((r) => stats.skipped[r] > 0).map(
    (r) => `${SKIP_LABELS[r]} ${count(stats.skipped[r])}`,
  );
  const lines = [
    `import: ${count(stats.lines)} lines read; ${count(stats.rdmsr + stats.wrmsr)} accesses (rdmsr ${count(stats.rdmsr)}, wrmsr ${count(stats.wrmsr)}, #GP ${count(stats.gp)}),`,
    `${count(stats.vmentry)} vmentry, ${count(stats.vmexit)} vmexit; ${count(skippedCount(stats))} lines skipped${skipped.length > 0 ? `: ${skipped.join(", ")}` : ""}`,
  ];
  if (stats.rdpmc > 0 || stats.trailing > 0) {
    lines.push(
      `rdpmc ${count(stats.rdpmc)} (no row); text after the payload ignored on ${count(stats.trailing)} lines`,
    );
  }
  return lines.map((l) => `# ${l}\n`).join("");
}

/** The summary printed on stderr after an import. */
export function renderSummary(input: string, output: string | null, stats: ImportStats): string {
  const rows: [string, string, string?][] = [];
  const accesses = stats.rdmsr + stats.wrmsr;
  rows.push(["lines read", count(stats.lines)]);
  rows.push(["accesses imported", count(accesses), `rdmsr ${count(stats.rdmsr)}, wrmsr ${count(stats.wrmsr)}`]);
  const l2 = stats.view === "l2";
  rows.push([
    "  #GP accesses",
    count(stats.gp),
    stats.gp > 0
      ? l2
        ? "kept: the access failed with #GP, it still exited"
        : "kept: KVM injected #GP, the access still exited"
      : undefined,
  ]);
  if (l2 || stats.rdpmc > 0)
    rows.push(["rdpmc lines", count(stats.rdpmc), "RDPMC reads a counter, not an MSR: no row"]);
  rows.push(["text after payload", count(stats.trailing), stats.trailing > 0 ? "ignored, the line kept" : undefined]);
  rows.push(["vmentry rows", count(stats.vmentry)]);
  rows.push(["vmexit rows", count(stats.vmexit)]);
  if (!l2) rows.push(["vCPU-number lines", count(stats.hints), "kvm_exit, kvm_entry, kvm_nested_vmexit: no row"]);
  rows.push(["lines skipped", count(skippedCount(stats))]);
  for (const reason of SKIP_REASONS) {
    const skipped = stats.skipped[reason];
    if (
      skipped === 0 &&
      reason !== "msrExit" &&
      reason !== "malformed" &&
      reason !== "otherEvent" &&
      reason !== "notTrace"
    )
      continue;
    let note: string | undefined;
    if (reason === "malformed" && stats.firstMalformed !== null)
      note = `first on line ${stats.firstMalformed}; --strict stops there`;
    if (reason === "lost" && skipped > 0) note = "events were lost while recording: counts are low";
    rows.push([`  ${SKIP_LABELS[reason]}`, count(skipped), note]);
  }
  if (stats.forgottenThreads > 0) {
    rows.push([
      "threads forgotten",
      count(stats.forgottenThreads),
      `their last vcpu N: only the ${count(MAX_HINTED_THREADS)} threads seen most recently are remembered`,
    ]);
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  const numWidth = Math.max(...rows.map((r) => r[1].length));
  const body = rows.map(
    ([label, value, note]) => `  ${label.padEnd(width)}  ${value.padStart(numWidth)}${note ? `  (${note})` : ""}`,
  );
  const vcpus = [...stats.vcpus].sort((a, b) => a - b);
  const src = stats.vcpuSources;
  const formats = stats.formats;
  return [
    `nvmx-replay import: ${input} -> ${output ?? "stdout"}`,
    ...(stats.view === null ? [] : [`  ${VIEW_LABELS[stats.view]}`]),
    ...body,
    l2
      ? `  vCPUs: ${vcpus.length === 0 ? "none" : ranges(vcpus)}; numbered from the CPU column ${count(stats.cpuColumn)} rows` +
        `${stats.noCpu > 0 ? `, short-layout lines without one taken as vCPU 0 ${count(stats.noCpu)}` : ""}`
      : `  vCPUs: ${vcpus.length === 0 ? "none" : ranges(vcpus)}; numbered from CPU N/KVM thread names ${count(src.task)} rows, ` +
        `from vcpu N ${count(src.hint)}, by order of appearance ${count(src.order)}`,
    `  layouts: ftrace/trace-cmd ${count(formats.ftrace)} lines, perf script ${count(formats.perf)}, short ${count(formats.short)}`,
    `  wrote ${count(rowCount(stats))} rows; no bitmap rows: give L1's bitmap to compare/replay with --l1-bitmap FILE`,
    ...(stats.view === null ? [] : [`  this view cannot see: ${VIEW_BLIND_SPOTS[stats.view]}`]),
    "",
  ].join("\n");
}

/** 0,1,2,3,7 -> "0-3, 7". */
function ranges(sorted: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(", ");
}
