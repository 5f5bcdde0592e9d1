/** `explain`: one access, the facts once, then a row per strategy; as a table or JSON. */
import { MODE_LEGACY } from "../engine/events.js";
import type { AccessFacts, Explanation, StrategyView } from "../engine/explain.js";
import { printable } from "../io/printable.js";
import { msrName } from "../msr/names.js";
import type { ReportOptions } from "../report.js";
import type { Style } from "./style.js";
import { setupText } from "./table.js";
import { type Row, textTable } from "./text-table.js";

const hex = (n: number) => `0x${n.toString(16)}`;

function msrText(msr: number): string {
  const name = msrName(msr);
  return name === undefined ? hex(msr) : `${hex(msr)} (${name})`;
}

const modeName = (a: AccessFacts) => (a.mode === MODE_LEGACY ? "legacy" : "longmode");
const bitText = (bit: boolean) => (bit ? "1 (intercept)" : "0 (pass)");

/** L1's bit and why it is (or is not) what decides whether L1 wants the access (docs/model.md §6). */
function l1Text(a: AccessFacts): string {
  const wants = a.l1Wants ? "L1 wants it" : "L1 does not want it";
  if (!a.hasBit) return `none: the MSR has no bit, so every access to it exits: ${wants}`;
  if (!a.useBitmap) {
    const page = a.l1Bit === null ? "" : ` (the page at ${hex(a.bitmapPtr ?? 0)} has ${a.l1Bit ? 1 : 0})`;
    return `not consulted: use_bitmap = 0, L1 runs L2 with no bitmap${page}: ${wants}`;
  }
  if (a.bitmapPtr === null) return `none: use_bitmap = 1 but no bitmap_ptr (the entry fails): ${wants}`;
  if (a.l1Bit === null) return `none: no page at ${hex(a.bitmapPtr)} (the entry fails): ${wants}`;
  return `${bitText(a.l1Bit)} in the page at ${hex(a.bitmapPtr)}: ${wants}`;
}

/** Where L0's bitmaps come from: the profile or the files that replaced it, for the vCPU's mode. */
function l0Source(a: AccessFacts, options: ReportOptions): string {
  const legacy = a.mode === MODE_LEGACY;
  if (legacy && options.l0_bitmap_legacy !== null) return `L0 bitmap ${printable(options.l0_bitmap_legacy)}`;
  if (options.l0_bitmap !== null) return `L0 bitmap ${printable(options.l0_bitmap)}`;
  return `profile ${options.l0_profile}'s ${legacy ? "legacy" : "long-mode"} bitmap`;
}

function l0Text(a: AccessFacts, options: ReportOptions): string {
  const wants = a.l0Wants ? "L0 wants it" : "L0 does not want it";
  if (a.l0Bit === null) return `none: the MSR has no bit, so every access to it exits: ${wants}`;
  const overrides =
    a.l0Overrides === 0
      ? `no l0-set on vCPU ${a.vcpu}`
      : `after ${a.l0Overrides} l0-set${a.l0Overrides === 1 ? "" : "s"} on vCPU ${a.vcpu}`;
  return `${bitText(a.l0Bit)} in ${l0Source(a, options)}, ${overrides}: ${wants}`;
}

function entryText(s: StrategyView): string {
  if (!s.entered) return "no (L2 runs)";
  const steps = [s.merged ? "merges" : "no merge", ...(s.dirtyCheck ? ["dirty check"] : [])];
  return `yes, ${steps.join(", ")}`;
}

function vmcs02Text(s: StrategyView): string {
  if (!s.withBitmap) return "no bitmap";
  return s.vmcs02Bit === null ? "no bit" : s.vmcs02Bit ? "1" : "0";
}

function verdictText(s: StrategyView): string {
  if (s.verdict === "no violation") return "no violation";
  return `${s.verdict}: ${s.what ?? ""}`;
}

/**
 * The table: a title (the access and the set-up), the facts every strategy
 * shares, then per strategy: a nested entry first (and whether it merged),
 * vmcs02's bit, the delivery, the rule and the verdict.
 */
export function renderExplainTable(
  trace: string,
  explanation: Explanation,
  options: ReportOptions,
  style: Style,
): string {
  const a = explanation.access;
  const event = a.write ? "wrmsr" : "rdmsr";
  const title = `${printable(trace)} line ${a.line}: ${event} on vCPU ${a.vcpu}, MSR ${msrText(a.msr)}, ${a.write ? "write" : "read"}`;
  const ptr = a.bitmapPtr === null ? "unset" : hex(a.bitmapPtr);
  const facts = textTable(
    ["", ""],
    [
      [`vmcs12 (vCPU ${a.vcpu})`, `use_bitmap ${a.useBitmap ? 1 : 0}, bitmap_ptr ${ptr}, mode ${modeName(a)}`],
      ["L1's bit", l1Text(a)],
      ["L0's bit", l0Text(a, options)],
    ],
    2,
  )
    .split("\n")
    .slice(1) // the empty header
    .join("\n");
  const header: Row = ["strategy", "entry first", "vmcs02's bit", "delivered", "rule", "verdict"].map((text) => ({
    text,
    paint: style.bold,
  }));
  const rows: Row[] = explanation.strategies.map((s) => [
    s.strategy,
    entryText(s),
    vmcs02Text(s),
    s.delivery,
    s.rule,
    s.verdict === "violation" ? { text: verdictText(s), paint: style.alarm } : verdictText(s),
  ]);
  return `${title}\n${setupText(options)}\n\n${facts}\n\n${textTable(header, rows, 6)}\n`;
}

/**
 * The JSON: {"trace", "line", "options", "access": {"event", "vcpu", "msr",
 * "name", "dir"}, "vmcs12": {"use_bitmap", "bitmap_ptr", "mode"}, "l1":
 * {"bit", "wants", "why"}, "l0": {"bit", "overrides", "wants", "why"},
 * "strategies": [{"strategy", "entry", "merge", "dirty_check", "vmcs02",
 * "vmcs02_bit", "delivered", "rule", "verdict", "what"}]}. Bits are 0, 1 or
 * null (none: no bit, no page, or vmcs02 without a bitmap).
 */
export function renderExplainJson(trace: string, explanation: Explanation, options: ReportOptions): string {
  const a = explanation.access;
  const bit = (b: boolean | null) => (b === null ? null : b ? 1 : 0);
  const out = {
    trace,
    line: a.line,
    options,
    access: {
      event: a.write ? "wrmsr" : "rdmsr",
      vcpu: a.vcpu,
      msr: hex(a.msr),
      name: msrName(a.msr) ?? null,
      dir: a.write ? "w" : "r",
    },
    vmcs12: {
      use_bitmap: a.useBitmap ? 1 : 0,
      bitmap_ptr: a.bitmapPtr === null ? null : hex(a.bitmapPtr),
      mode: modeName(a),
    },
    l1: { bit: bit(a.l1Bit), wants: a.l1Wants, why: l1Text(a) },
    l0: { bit: bit(a.l0Bit), overrides: a.l0Overrides, wants: a.l0Wants, why: l0Text(a, options) },
    strategies: explanation.strategies.map((s) => ({
      strategy: s.strategy,
      entry: s.entered,
      merge: s.merged,
      dirty_check: s.dirtyCheck,
      vmcs02: s.withBitmap ? "bitmap" : "no bitmap",
      vmcs02_bit: bit(s.vmcs02Bit),
      delivered: s.delivery,
      rule: s.rule,
      verdict: s.verdict,
      what: s.what,
    })),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
