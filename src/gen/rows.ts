/**
 * Compact trace rows (docs/model.md §3) built as strings, cheaply.
 *
 * The header is `event,vcpu,msr,value,page,dir,file` and rows stop after their
 * last non-empty field (`rdmsr,1,0x10`, `vmentry,3`). A row is two pieces,
 * a per-vCPU prefix (`wrmsr,3,`) and a suffix precomputed by the workload
 * (`0xc0000100,0x7f3a2c5fe740\n`), appended to a chunk string: no number is
 * formatted and nothing is allocated per row beyond the string itself.
 */

export const HEADER = "event,vcpu,msr,value,page,dir,file\n";

/** Lower-case `0x…` hex of a non-negative integer (number or bigint). */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** A CSV field, quoted (RFC 4180) only when it must be. */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Suffix of an rdmsr row: `0x10\n`. */
export function rd(msr: number): string {
  return `${hex(msr)}\n`;
}

/** Suffix of a wrmsr row: `0x6e0,0x2f1c3a5e7b00\n`. */
export function wr(msr: number, value: number | bigint): string {
  return `${hex(msr)},${hex(value)}\n`;
}

/** Suffix of a vmexit row: `HLT\n`. */
export function exit(reason: string): string {
  return `${reason}\n`;
}

/** The output being built: a chunk of rows, and how many rows were written in all. */
export class Rows {
  /** Rows not yet handed to the writer. */
  text = "";
  /** Rows written so far (including those already taken). */
  count = 0;

  /** Rows beyond `limit` are dropped, so a trace has exactly `limit` events. */
  constructor(readonly limit: number) {}

  /** Appends `prefix + suffix` (one row, ending with `\n`). */
  add(prefix: string, suffix: string): void {
    if (this.count < this.limit) {
      this.text += prefix;
      this.text += suffix;
      this.count++;
    }
  }

  get done(): boolean {
    return this.count >= this.limit;
  }

  /** The chunk so far, emptied. */
  take(): string {
    const text = this.text;
    this.text = "";
    return text;
  }
}

/** Row prefixes per vCPU, built once: `P.wr[3] === "wrmsr,3,"`. */
export class Prefixes {
  readonly rd: readonly string[];
  readonly wr: readonly string[];
  readonly exit: readonly string[];
  /** A whole row: `vmentry,3\n`. */
  readonly entry: readonly string[];

  constructor(vcpus: number) {
    const each = (f: (v: number) => string) => Array.from({ length: vcpus }, (_, v) => f(v));
    this.rd = each((v) => `rdmsr,${v},`);
    this.wr = each((v) => `wrmsr,${v},`);
    this.exit = each((v) => `vmexit,${v},,`);
    this.entry = each((v) => `vmentry,${v}\n`);
  }
}

/** L1 rows, rare enough to be formatted when written. */
export const l1 = {
  load: (v: number, page: number, file: string) => `bitmap-load,${v},,,${hex(page)},,${file}\n`,
  ptr: (v: number, page: number) => `bitmap-ptr,${v},,,${hex(page)}\n`,
  use: (v: number, on: 0 | 1) => `use-bitmap,${v},,${on}\n`,
  mode: (v: number, mode: "longmode" | "legacy") => `l1-mode,${v},,${mode}\n`,
  set: (v: number, page: number, msr: number, dir: "r" | "w" | "rw", on: 0 | 1) =>
    `bitmap-set,${v},${hex(msr)},${on},${hex(page)},${dir}\n`,
};
