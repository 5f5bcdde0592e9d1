/**
 * `nvmx-replay bitmap …` and the L1 profiles: the JSON description round
 * trip (a property over random and structured pages), `show`, `diff`,
 * `merge`, `build` and `profile` through the built CLI, the errors, and the
 * contents of the L1 profiles against the hypervisor sources they cite.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { builtinBitmap } from "../src/bitmaps/builtin.js";
import { describeBitmap, descriptionJson, showText } from "../src/bitmaps/describe.js";
import { diffBitmaps } from "../src/bitmaps/diff.js";
import { findL1Profile, L1_PROFILES } from "../src/bitmaps/l1-profiles.js";
import { MSR_RANGES, runs } from "../src/bitmaps/runs.js";
import { bitPosition, filledPage, PAGE_SIZE, testBit, writeMsrBits } from "../src/engine/bitmap.js";
import { L0_PROFILES } from "../src/engine/profiles.js";
import { BitmapSpecSchema, buildBitmap } from "../src/io/bitmap-spec.js";
import { readSnapshot } from "../src/io/snapshot.js";
import { lines, ROOT, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");

const R = 1;
const W = 2;
const RW = 3;

function build(json: string): Uint8Array {
  return buildBitmap(BitmapSpecSchema.parse(JSON.parse(json)));
}

function exits(page: Uint8Array, msr: number, write: boolean): boolean {
  return testBit(page, bitPosition(msr, write));
}

/** A page from a default and (first, last, dir, intercept) edits. */
function pageOf(intercept: boolean, edits: readonly (readonly [number, number, number, boolean])[]): Uint8Array {
  const page = filledPage(intercept);
  for (const [first, last, dir, set] of edits) for (let m = first; m <= last; m++) writeMsrBits(page, m, dir, set);
  return page;
}

/** A deterministic pseudo-random page (mulberry32). */
function randomPage(seed: number): Uint8Array {
  let a = seed >>> 0;
  const page = new Uint8Array(PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    page[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return page;
}

/** Entries the simple method needs: per-direction runs, a run common to both written once. */
function perDirectionCount(page: Uint8Array, minority: boolean): number {
  const [reads, writes] = [false, true].map((w) =>
    runs((m) => (exits(page, m, w) === minority ? 1 : 0), [0]).map((r) => `${r.first}-${r.last}`),
  ) as [string[], string[]];
  const writeSet = new Set(writes);
  const common = reads.filter((k) => writeSet.has(k)).length;
  return reads.length + writes.length - common;
}

// ---------------------------------------------------------------------------
// Structured pages for the property: all one state, or a default with a few
// ranges of the other state (and of the same state, overlapping), or a few
// flipped bits; plus fully random pages.

const MSR_IN_RANGE = fc.tuple(fc.boolean(), fc.nat(0x1fff)).map(([high, n]) => ((high ? 0xc000_0000 : 0) + n) >>> 0);

const EDIT = fc
  .tuple(MSR_IN_RANGE, fc.nat(400), fc.constantFrom(R, W, RW), fc.boolean())
  .map(([first, len, dir, set]) => {
    const top = first >= 0xc000_0000 ? 0xc000_1fff : 0x1fff;
    return [first, Math.min(top, first + len), dir, set] as const;
  });

const STRUCTURED_PAGE = fc.oneof(
  fc.boolean().map((b) => filledPage(b)),
  fc.tuple(fc.boolean(), fc.array(EDIT, { maxLength: 8 })).map(([b, edits]) => pageOf(b, edits)),
  fc.tuple(fc.boolean(), fc.array(fc.nat(PAGE_SIZE * 8 - 1), { maxLength: 40 })).map(([b, flips]) => {
    const page = filledPage(b);
    for (const bit of flips) page[bit >> 3] = (page[bit >> 3] as number) ^ (1 << (bit & 7));
    return page;
  }),
);

const RANDOM_PAGE = fc.uint8Array({ minLength: PAGE_SIZE, maxLength: PAGE_SIZE }).map((bytes) => new Uint8Array(bytes));

describe("show --format json, then build: the same bytes", () => {
  const roundTrip = (page: Uint8Array) => {
    const json = descriptionJson(page);
    expect(Buffer.from(build(json)).equals(Buffer.from(page))).toBe(true);
    const d = describeBitmap(page);
    // The majority state is the default; only the other list has entries.
    let intercepts = 0;
    for (const byte of page) for (let b = byte; b; b &= b - 1) intercepts++;
    expect(d.default).toBe(2 * intercepts >= PAGE_SIZE * 8 ? "intercept" : "pass");
    expect(d.default === "intercept" ? d.intercept : d.pass).toEqual([]);
    // Never more entries than per-direction runs with common runs merged.
    const listed = d.default === "intercept" ? d.pass : d.intercept;
    expect(listed.length).toBeLessThanOrEqual(perDirectionCount(page, d.default === "pass"));
  };

  it("on structured pages (all pass, all intercept, a few ranges, a few flipped bits)", () => {
    fc.assert(fc.property(STRUCTURED_PAGE, roundTrip), { numRuns: 300 });
  });

  it("on random pages", () => {
    fc.assert(fc.property(RANDOM_PAGE, roundTrip), { numRuns: 25 });
  });

  it("writes one entry for a range passed both ways, :r/:w otherwise", () => {
    const page = pageOf(true, [
      [0xc000_0100, 0xc000_0102, RW, false],
      [0x10, 0x10, R, false],
      [0x48, 0x48, RW, false],
      [0x49, 0x49, W, false],
    ]);
    expect(describeBitmap(page)).toEqual({
      default: "intercept",
      pass: ["0x10:r", "0x48", "0x49:w", "0xc0000100-0xc0000102"],
      intercept: [],
    });
    expect(describeBitmap(filledPage(false))).toEqual({ default: "pass", pass: [], intercept: [] });
    expect(describeBitmap(filledPage(true))).toEqual({ default: "intercept", pass: [], intercept: [] });
    const mostlyPass = pageOf(false, [[0x1fff, 0x1fff, W, true]]);
    expect(describeBitmap(mostlyPass)).toEqual({ default: "pass", pass: [], intercept: ["0x1fff:w"] });
  });

  it("through the CLI: show --format json | build -o .bin gives the bytes back", () => {
    const dir = tempDir();
    const pages: Record<string, Uint8Array> = {
      "random.bin": randomPage(7),
      "sparse.bin": pageOf(true, [
        [0x800, 0x8ff, R, false],
        [0x839, 0x839, RW, true],
        [0xc000_0100, 0xc000_0102, RW, false],
      ]),
    };
    for (const [name, page] of Object.entries(pages)) {
      writeFileSync(join(dir, name), page);
      const shown = runCli(["bitmap", "show", name, "--format", "json"], { cwd: dir });
      expect(shown.status).toBe(0);
      writeFileSync(join(dir, `${name}.json`), shown.stdout);
      const built = runCli(["bitmap", "build", `${name}.json`, "-o", `${name}.back.bin`], { cwd: dir });
      expect(built.status).toBe(0);
      expect(built.stdout).toBe("");
      expect(readFileSync(join(dir, `${name}.back.bin`)).equals(Buffer.from(page))).toBe(true);
    }
  });
});

describe("bitmap show", () => {
  // Hand-made: intercept all, pass FS_BASE..KERNEL_GS_BASE both ways, TSC reads, 0x1fff writes.
  const HAND = { default: "intercept", pass: ["FS_BASE-KERNEL_GS_BASE", "0x10:r", "0x1fff:w"] };

  it("lists every run, reads then writes, with names (checked by hand)", () => {
    const dir = tempDir({ "hand.json": HAND });
    const result = runCli(["bitmap", "show", "hand.json"], { cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe("");
    const out = lines(result.stdout);
    expect(out[0]).toBe("hand.json: read 4 passed, 16380 intercepted; write 4 passed, 16380 intercepted");
    // Columns: direction (5), state (9), range (21: 0xc0000103-0xc0001fff), names.
    const rows = out.slice(1).map((l) => l.split(/ {2,}/));
    expect(rows.map((r) => r.slice(0, 3))).toEqual([
      ["read", "intercept", "0x0-0xf"],
      ["read", "pass", "0x10"],
      ["read", "intercept", "0x11-0x1fff"],
      ["read", "intercept", "0xc0000000-0xc00000ff"],
      ["read", "pass", "0xc0000100-0xc0000102"],
      ["read", "intercept", "0xc0000103-0xc0001fff"],
      ["write", "intercept", "0x0-0x1ffe"],
      ["write", "pass", "0x1fff"],
      ["write", "intercept", "0xc0000000-0xc00000ff"],
      ["write", "pass", "0xc0000100-0xc0000102"],
      ["write", "intercept", "0xc0000103-0xc0001fff"],
    ]);
    expect(out[1]).toBe("read   intercept  0x0-0xf                P5_MC_ADDR, P5_MC_TYPE");
    expect(out[2]).toBe("read   pass       0x10                   TSC");
    expect(out[5]).toBe("read   pass       0xc0000100-0xc0000102  FS_BASE..KERNEL_GS_BASE");
    expect(out[8]).toBe("write  pass       0x1fff");
    expect(out[10]).toBe("write  pass       0xc0000100-0xc0000102  FS_BASE..KERNEL_GS_BASE");
    // Long ranges name their first and last named MSR and how many are named.
    expect(rows[2]?.[3]).toMatch(/^KVM_WALL_CLOCK … \S+ \(\d+ named\)$/);
    expect(rows[5]?.[3]).toMatch(/^TSC_AUX … \S+ \(\d+ named\)$/);
  });

  it("is the same in-process", () => {
    const text = showText("hand.json", build(JSON.stringify(HAND)));
    expect(text.split("\n")[2]).toBe("read   pass       0x10                   TSC");
  });

  it("prints the JSON description with --format json, and reads profile:NAME", () => {
    const result = runCli(["bitmap", "show", "profile:kvm-2013:legacy", "--format", "json"]);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      default: "intercept",
      pass: ["0x174-0x176", "0xc0000100-0xc0000101"],
      intercept: [],
    });
  });
});

describe("bitmap diff", () => {
  const A = { pass: ["FS_BASE-GS_BASE"] };
  const B = { pass: ["FS_BASE", "0x10:r", "0xc0000102:w"] };

  it("lists the differing runs per direction, + intercepted in B only, - passed in B only", () => {
    const dir = tempDir({ "a.json": A, "b.json": B });
    const result = runCli(["bitmap", "diff", "a.json", "b.json"], { cwd: dir });
    expect(result.status).toBe(0);
    expect(lines(result.stdout)).toEqual([
      "a.json -> b.json: 4 accesses differ (read 2, write 2)",
      "(+ intercepted only in b.json, - passed only in b.json)",
      "-  read   0x10        TSC",
      "+  read   0xc0000101  GS_BASE",
      "+  write  0xc0000101  GS_BASE",
      "-  write  0xc0000102  KERNEL_GS_BASE",
    ]);
  });

  it("says identical, exit 0, when they are (a .bin against its .json)", () => {
    const page = build(JSON.stringify(A));
    const dir = tempDir({ "a.json": A, "a.bin": page });
    const result = runCli(["bitmap", "diff", "a.bin", "a.json"], { cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^a\.bin and a\.json are identical/);
  });

  it("--format json gives the same differences", () => {
    const dir = tempDir({ "a.json": A, "b.json": B });
    const result = runCli(["bitmap", "diff", "a.json", "b.json", "-f", "json"], { cwd: dir });
    expect(result.status).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.identical).toBe(false);
    expect(doc.differing).toEqual({ read: 2, write: 2 });
    expect(
      doc.differences.map(
        (d: { sign: string; direction: string; first: string }) => `${d.sign}${d.direction}${d.first}`,
      ),
    ).toEqual(["-read0x10", "+read0xc0000101", "+write0xc0000101", "-write0xc0000102"]);
  });
});

describe("bitmap merge", () => {
  it("is the OR of the two pages, byte for byte; .json output describes the same page", () => {
    const a = randomPage(1);
    const b = randomPage(2);
    const dir = tempDir({ "a.bin": a, "b.bin": b });
    expect(runCli(["bitmap", "merge", "a.bin", "b.bin", "-o", "ab.bin"], { cwd: dir }).status).toBe(0);
    const merged = readFileSync(join(dir, "ab.bin"));
    const expected = Buffer.from(a.map((x, i) => x | (b[i] as number)));
    expect(merged.equals(expected)).toBe(true);
    expect(runCli(["bitmap", "merge", "a.bin", "b.bin", "-o", "ab.json"], { cwd: dir }).status).toBe(0);
    expect(Buffer.from(readSnapshot(join(dir, "ab.json"))).equals(expected)).toBe(true);
  });

  it("writes the description to stdout without -o (L0 kvm-2013 OR L1 kvm)", () => {
    const result = runCli(["bitmap", "merge", "profile:kvm-2013", "profile:kvm"]);
    expect(result.status).toBe(0);
    // Both pass FS/GS/KERNEL_GS_BASE and SYSENTER_*; nothing else passes in kvm-2013.
    expect(JSON.parse(result.stdout)).toEqual({
      default: "intercept",
      pass: ["0x174-0x176", "0xc0000100-0xc0000102"],
      intercept: [],
    });
  });
});

describe("bitmap build", () => {
  it("builds a JSON description with names into the raw page", () => {
    const dir = tempDir({ "names.json": { default: "intercept", pass: ["FS_BASE-KERNEL_GS_BASE"] } });
    const result = runCli(["bitmap", "build", "names.json", "-o", "names.bin"], { cwd: dir });
    expect(result.status).toBe(0);
    const bytes = readFileSync(join(dir, "names.bin"));
    expect(bytes.length).toBe(PAGE_SIZE);
    // FS_BASE, GS_BASE, KERNEL_GS_BASE are bits 0x100-0x102 of the high areas:
    // byte 0x20 of each, bits 0-2 clear; every other bit is set.
    for (let i = 0; i < PAGE_SIZE; i++) {
      const expected = i === 0x400 + 0x20 || i === 0xc00 + 0x20 ? 0xf8 : 0xff;
      expect(bytes[i], `byte ${i.toString(16)}`).toBe(expected);
    }
  });

  it("normalises a description to .json, and prints it without -o", () => {
    const messy = { intercept: ["0x0-0x1fff", "0xc0000000-0xc0001fff"], default: "pass", pass: ["TSC:r"] };
    const dir = tempDir({ "messy.json": messy });
    expect(runCli(["bitmap", "build", "messy.json", "-o", "tidy.json"], { cwd: dir }).status).toBe(0);
    expect(readFileSync(join(dir, "tidy.json"), "utf8")).toBe(
      `${JSON.stringify({ default: "intercept", pass: [], intercept: [] }, null, 2)}\n`,
    );
    const printed = runCli(["bitmap", "build", "tidy.json"], { cwd: dir });
    expect(printed.status).toBe(0);
    expect(printed.stdout).toBe(readFileSync(join(dir, "tidy.json"), "utf8"));
  });
});

describe("bitmap profile", () => {
  it("writes each L0 profile's page, long mode by default, --mode legacy (kvm-2013's bytes worked by hand)", () => {
    // kvm-2013 passes SYSENTER_CS/ESP/EIP (0x174-0x176: n >> 3 = 0x2e, bits 4-6 clear,
    // 0xff & ~0x70 = 0x8f, at 0x02e read and 0x82e write) and FS_BASE, GS_BASE (0xc0000100,
    // 0xc0000101: byte 0x20 of the high areas, 0x420 and 0xc20, bits 0-1) in both modes,
    // KERNEL_GS_BASE (bit 2 of the same bytes) in long mode only: 0xf8 in long mode, 0xfc
    // in legacy mode. Every other bit is 1 (docs/model.md §5).
    const kvm2013 = (kernelGsByte: number) => {
      const page = Buffer.alloc(PAGE_SIZE, 0xff);
      page[0x02e] = page[0x82e] = 0x8f;
      page[0x420] = page[0xc20] = kernelGsByte;
      return page;
    };
    const expected: Record<string, Record<string, Buffer>> = {
      "kvm-2013": { default: kvm2013(0xf8), longmode: kvm2013(0xf8), legacy: kvm2013(0xfc) },
      // Every bit 1, or every bit 0, whatever the mode.
      "intercept-all": { default: Buffer.alloc(PAGE_SIZE, 0xff), legacy: Buffer.alloc(PAGE_SIZE, 0xff) },
      "pass-all": { default: Buffer.alloc(PAGE_SIZE, 0), legacy: Buffer.alloc(PAGE_SIZE, 0) },
    };
    const dir = tempDir();
    for (const [profile, modes] of Object.entries(expected)) {
      for (const [mode, page] of Object.entries(modes)) {
        const out = `${profile}-${mode}.bin`;
        const args = ["bitmap", "profile", profile, "-o", out, ...(mode === "default" ? [] : ["--mode", mode])];
        const result = runCli(args, { cwd: dir });
        expect(result.status, result.stderr).toBe(0);
        expect(readFileSync(join(dir, out)).equals(page), `${profile} ${mode}`).toBe(true);
      }
    }
  });

  it("writes each L1 profile's page, as .bin and as .json, the same page", () => {
    const dir = tempDir();
    for (const profile of L1_PROFILES) {
      expect(runCli(["bitmap", "profile", profile.name, "-o", `${profile.name}.bin`], { cwd: dir }).status).toBe(0);
      expect(runCli(["bitmap", "profile", profile.name, "-o", `${profile.name}.json`], { cwd: dir }).status).toBe(0);
      const bin = readFileSync(join(dir, `${profile.name}.bin`));
      expect(bin.length).toBe(PAGE_SIZE);
      expect(Buffer.from(readSnapshot(join(dir, `${profile.name}.json`))).equals(bin), profile.name).toBe(true);
    }
    // Two bytes of the kvm profile's file, by hand: an ICR write (0x830: write low area, byte
    // 0x800 + (0x830 >> 3) = 0x906, bit 0) is intercepted, while FS_BASE, GS_BASE and
    // KERNEL_GS_BASE (bits 0-2 of 0x420 read and 0xc20 write) pass.
    const kvm = readFileSync(join(dir, "kvm.bin"));
    expect((kvm[0x906] as number) & 1).toBe(1);
    expect([(kvm[0x420] as number) & 0x07, (kvm[0xc20] as number) & 0x07]).toEqual([0, 0]);
  });

  it("lists the profiles with --list", () => {
    const result = runCli(["bitmap", "profile", "--list"]);
    expect(result.status).toBe(0);
    const names = lines(result.stdout).map((l) => l.split(/\s+/).slice(0, 2).join(" "));
    expect(names).toEqual([...L0_PROFILES.map((p) => `${p.name} L0`), ...L1_PROFILES.map((p) => `${p.name} L1`)]);
  });
});

describe("the L1 profiles", () => {
  it("kvm, xen, virtualbox; findL1Profile finds each; each says where it comes from", () => {
    expect(L1_PROFILES.map((p) => p.name)).toEqual(["kvm", "xen", "virtualbox"]);
    for (const p of L1_PROFILES) {
      expect(findL1Profile(p.name)).toBe(p);
      expect(p.source).toMatch(/\.(c|cpp)\b/);
      expect(p.assumptions.length).toBeGreaterThan(0);
      const page = p.bitmap();
      expect(page.length).toBe(PAGE_SIZE);
      expect(p.bitmap()).not.toBe(page); // a fresh page each call
      // All three pass FS_BASE, GS_BASE and SYSENTER_* both ways, and keep EFER.
      for (const msr of [0xc000_0100, 0xc000_0101, 0x174, 0x175, 0x176]) {
        expect(exits(page, msr, false) || exits(page, msr, true), `${p.name} ${msr.toString(16)}`).toBe(false);
      }
      expect(exits(page, 0xc000_0080, false) && exits(page, 0xc000_0080, true)).toBe(true);
    }
    expect(findL1Profile("kvm-2013")).toBeUndefined();
  });

  it("kvm: vmx_update_msr_bitmap_x2apic with APICv and kvm_lapic_readable_reg_mask", () => {
    const page = findL1Profile("kvm")!.bitmap();
    expect(exits(page, 0x10, false)).toBe(false); // TSC read
    expect(exits(page, 0x10, true)).toBe(true);
    expect(exits(page, 0x49, true)).toBe(false); // PRED_CMD write
    expect(exits(page, 0x49, false)).toBe(true);
    expect(exits(page, 0x839, false)).toBe(true); // TMCCT read: KVM computes it
    expect(exits(page, 0x808, false) || exits(page, 0x808, true)).toBe(false); // TPR
    expect(exits(page, 0x80b, true)).toBe(false); // EOI write
    expect(exits(page, 0x80b, false)).toBe(true); // EOI is write-only
    expect(exits(page, 0x830, true)).toBe(true); // ICR write: no IPI virtualisation
    expect(exits(page, 0x830, false)).toBe(false); // ICR read
    expect(exits(page, 0x831, false)).toBe(true); // ICR2 does not exist in x2APIC mode
    expect(exits(page, 0x840, false)).toBe(true); // beyond 0x83f: intercepted
    expect(exits(page, 0x8ff, false)).toBe(true);
  });

  it("xen: construct_vmcs, vmx_cpuid_policy_changed, vmx_vlapic_msr_changed", () => {
    const page = findL1Profile("xen")!.bitmap();
    expect(exits(page, 0x277, false) || exits(page, 0x277, true)).toBe(false); // PAT
    expect(exits(page, 0x49, false) || exits(page, 0x49, true)).toBe(false); // PRED_CMD, both ways
    expect(exits(page, 0x10, false)).toBe(true); // TSC read is intercepted
    for (const msr of [0x80a, 0x838, 0x839]) expect(exits(page, msr, false)).toBe(true); // PPR, TMICT, TMCCT
    for (const msr of [0x800, 0x80b, 0x831, 0x8ff]) expect(exits(page, msr, false)).toBe(false);
    expect(exits(page, 0x830, true)).toBe(true); // ICR write
  });

  it("virtualbox: hmR0VmxSetupVmcsMsrPermissions and TSC_AUX, no x2APIC", () => {
    const page = findL1Profile("virtualbox")!.bitmap();
    for (const msr of [0xc000_0081, 0xc000_0082, 0xc000_0084, 0xc000_0102, 0xc000_0103, 0x48, 0x49, 0x10b]) {
      expect(exits(page, msr, false) || exits(page, msr, true), msr.toString(16)).toBe(false);
    }
    for (let msr = 0x800; msr <= 0x8ff; msr++) expect(exits(page, msr, false) && exits(page, msr, true)).toBe(true);
    expect(exits(page, 0x10, false)).toBe(true);
  });

  /**
   * traces/kvm-l1.json (the L1 bitmap of traces/linux-kvm.csv) and the kvm
   * profile agree everywhere but x2APIC reads: the trace's page passes every
   * read of 0x800-0x8ff but TMCCT, as KVM did before Linux 6.3; since then
   * (vmx_update_msr_bitmap_x2apic() using kvm_lapic_readable_reg_mask()) KVM
   * intercepts reads of registers that do not exist or are write-only, and of
   * 0x840-0x8ff. When kvm-l1.json is regenerated from the profile, this list
   * becomes empty.
   */
  it("the bundled KVM trace's L1 bitmap (traces/kvm-l1.json) is the kvm profile", () => {
    const trace = readSnapshot(join(ROOT, "traces", "kvm-l1.json"));
    expect(diffBitmaps(trace, findL1Profile("kvm")!.bitmap())).toEqual([]);
    expect(Buffer.from(trace).equals(Buffer.from(findL1Profile("kvm")!.bitmap()))).toBe(true);
  });

  it("builtinBitmap: L0 pages per mode, L1 pages, and refuses a mode for an L1 profile", () => {
    // kvm-2013 passes KERNEL_GS_BASE (bit 2 of read byte 0x420) in long mode only; FS_BASE and
    // GS_BASE (bits 0-1) in both: 0xf8 in long mode (the default), 0xfc in legacy mode.
    const byteOf = (page: Uint8Array | string, at: number) => (typeof page === "string" ? page : page[at]);
    expect(byteOf(builtinBitmap("kvm-2013", "legacy"), 0x420)).toBe(0xfc);
    expect(byteOf(builtinBitmap("kvm-2013"), 0x420)).toBe(0xf8);
    expect(byteOf(builtinBitmap("kvm-2013", "longmode"), 0x420)).toBe(0xf8);
    // xen passes x2APIC reads of 0x800 (read byte 0x100, bit 0) and intercepts TSC reads
    // (0x10: read byte 2, bit 0), as its own test above says.
    expect((byteOf(builtinBitmap("xen"), 0x100) as number) & 1).toBe(0);
    expect((byteOf(builtinBitmap("xen"), 0x002) as number) & 1).toBe(1);
    expect(builtinBitmap("xen", "legacy")).toMatch(/L1 profile/);
    expect(builtinBitmap("nope")).toMatch(/unknown profile "nope"/);
    // Every MSR range of docs/model.md §2 has bits in these pages.
    expect(MSR_RANGES).toEqual([
      [0, 0x1fff],
      [0xc000_0000, 0xc000_1fff],
    ]);
  });
});

describe("errors: one line, the right exit status", () => {
  const oneLine = (stderr: string) => {
    expect(lines(stderr)).toHaveLength(1);
    return stderr;
  };

  it("a missing file: exit 1, naming it", () => {
    const dir = tempDir();
    const result = runCli(["bitmap", "show", "nope.json"], { cwd: dir });
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/^nope\.json: no such file/);
    expect(result.stdout).toBe("");
  });

  it("bad JSON: exit 1, with line and column", () => {
    const dir = tempDir({ "bad.json": '{\n  "default": "pass",\n  pass: []\n}\n' });
    const result = runCli(["bitmap", "diff", "bad.json", "profile:kvm"], { cwd: dir });
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/^bad\.json:3:3: invalid JSON/);
  });

  it("-o naming an input: exit 1, the input untouched", () => {
    const spec = { pass: ["FS_BASE"] };
    const dir = tempDir({ "a.json": spec });
    const before = readFileSync(join(dir, "a.json"), "utf8");
    for (const args of [
      ["bitmap", "build", "a.json", "-o", "a.json"],
      ["bitmap", "merge", "profile:kvm", "a.json", "-o", "./a.json"],
    ]) {
      const result = runCli(args, { cwd: dir });
      expect(result.status).toBe(1);
      expect(oneLine(result.stderr)).toMatch(/refusing to write the output over an input file/);
    }
    expect(readFileSync(join(dir, "a.json"), "utf8")).toBe(before);
  });

  it("an unknown profile, a mode for an L1 profile, a bad -o or --format: exit 2", () => {
    const cases: [string[], RegExp][] = [
      [["bitmap", "profile", "kvm-2099", "-o", "x.bin"], /^error: unknown profile "kvm-2099"/],
      [["bitmap", "show", "profile:nope"], /^error: "profile:nope": unknown profile "nope"/],
      [["bitmap", "profile", "kvm", "--mode", "legacy"], /^error: --mode: "kvm" is an L1 profile/],
      [["bitmap", "profile", "kvm-2013", "--mode", "real"], /^error: option --mode: expected longmode or legacy/],
      [
        ["bitmap", "build", "traces/kvm-l1.json", "-o", "out.txt"],
        /^error: option --output: "out\.txt" must end in \.bin/,
      ],
      [["bitmap", "show", "traces/kvm-l1.json", "--format", "csv"], /^error: option --format: expected text or json/],
      [["bitmap", "profile"], /^error: name a profile/],
    ];
    for (const [args, message] of cases) {
      const result = runCli(args, { cwd: ROOT });
      expect(result.status, args.join(" ")).toBe(2);
      expect(oneLine(result.stderr)).toMatch(message);
    }
  });
});

describe("--help", () => {
  it("gives examples for the group and for each subcommand", () => {
    const group = runCli(["bitmap", "--help"]);
    expect(group.status).toBe(0);
    for (const sub of ["show", "diff", "merge", "build", "profile"]) {
      expect(group.stdout).toContain(`$ nvmx-replay bitmap ${sub} `);
      const help = runCli(["bitmap", sub, "--help"]);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain("Examples:");
      expect(help.stdout).toContain(`$ nvmx-replay bitmap ${sub} `);
    }
    expect(runCli(["--help"]).stdout).toMatch(/\n\s+bitmap\b/);
  });
});
