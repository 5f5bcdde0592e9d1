/**
 * Every counter of every strategy on small scenarios, derived by hand from
 * docs/model.md §6 and 7. Each test's comment walks the events; the table then
 * states the result. Columns (docs/model.md §7 order):
 *   acc  accesses      l0x  l0_exits    l1x  l1_exits   l0h  l0_handled
 *   none no_exit       mrg  merges      wp   wp_faults  dc   dirty_checks
 *   ent  entries       oth  other_exits vio  violations est  est_cycles
 * Default cost model: l0_exit 1500 (per l0_handled), l1_exit 15000 (per
 * l1_exits), merge 1000, merge_sparse 700 (per merge of sparse and
 * sparse-clean), wp_fault 3000, dirty_check 300.
 */
import { describe, expect, it } from "vitest";
import { ReplayError } from "../src/engine/replay.js";
import {
  at,
  bitmapPage,
  interceptAllPage,
  l0set,
  load,
  mode,
  newReplay,
  passAllPage,
  ptr,
  rd,
  registeredStrategies,
  run,
  set,
  table,
  use,
  vmentry,
  vmexit,
  wr,
} from "./helpers/events.js";

const TSC = 0x10;
const EFER = 0xc000_0080;
const FS_BASE = 0xc000_0100;
const KERNEL_GS_BASE = 0xc000_0102;
const A = 0x5000; // guest-physical addresses of L1's bitmap pages
const B = 0x6000;

describe("the nine strategies", () => {
  it("are registered under the names of docs/model.md", () => {
    expect(registeredStrategies().sort()).toEqual(
      [
        "l1-filter",
        "merged",
        "merged-dirty",
        "merged-eager",
        "merged-eager-x2apic",
        "merged-stale",
        "no-bitmap",
        "sparse",
        "sparse-clean",
      ].sort(),
    );
  });

  it("are registered in the order of docs/model.md §8", () => {
    expect(registeredStrategies()).toEqual([
      "no-bitmap",
      "l1-filter",
      "merged",
      "merged-eager",
      "merged-stale",
      "sparse",
      "sparse-clean",
      "merged-dirty",
      "merged-eager-x2apic",
    ]);
  });
});

describe("entries and use_bitmap = 0", () => {
  it("implicit entry before the first L2 event; vmentry while L2 runs does nothing", () => {
    // L0 kvm-2013. vCPU 0 starts with use_bitmap = 0, so L1 wants every access.
    // 1 rd FS_BASE   L2 not running anywhere: implicit entry (ent 1). use_bitmap 0:
    //                L1 wants -> l1 under every strategy (merged family: no bitmap,
    //                so exit, and L1 wants). L2 stops. Nothing merged (use_bitmap 0).
    // 2 vmentry      not running: entry (ent 2).
    // 3 vmentry      running: nothing.
    // 4 wr TSC       running: l1, L2 stops.
    // 5 vmexit       not running: entry (ent 3), oth 1, L2 stops.
    // 6 vmexit       entry (ent 4), oth 2.
    // Every strategy: acc 2, l1x 2 (l0x 2), ent 4, oth 2; est 2 x 15000. The four of
    // docs/model.md §8 run L2 with no bitmap too (use_bitmap 0): no merge, and
    // merged-dirty checks nothing (dc 0).
    const r = run("all", [rd(0, FS_BASE), vmentry(0), vmentry(0), wr(0, TSC), vmexit(0), vmexit(0)]);
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        "l1-filter":           [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        merged:                [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        "merged-eager":        [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        "merged-stale":        [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        sparse:                [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        "sparse-clean":        [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        "merged-dirty":        [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
        "merged-eager-x2apic": [2, 2, 2, 0, 0, 0, 0, 0, 4, 2, 0, 30000],
      }),
    );
  });

  it("use-bitmap 0 after 1: everything is wanted by L1 and nothing is merged", () => {
    // L0 pass-all, page A passes everything (L0 and L1 want nothing with a bit).
    // 1-3 load A, ptr A, use 1: L1 events, L2 not running: nothing counted.
    // 4 rd TSC       entry (ent 1); merged family merges (mrg 1); L1 no, L0 no:
    //                no-bitmap l1 (stops), l1-filter l0, merged family none.
    // 5 use 0        L1 event: L2 runs under l1-filter and the merged family -> oth 1
    //                there; no-bitmap already stopped (oth 0).
    // 6 rd TSC       entry everywhere (no-bitmap ent 2, others ent 2); use 0, so no
    //                merge; L1 wants -> l1 everywhere, L2 stops.
    // 7 vmentry      entry everywhere (ent 3), no merge (use 0), even for merged-eager.
    // 8 wr TSC       l1 everywhere.
    // no-bitmap: acc 3 l1x 3, ent 3, oth 0, est 45000.
    // l1-filter: l0h 1 + l1x 2, ent 3, oth 1, est 1500 + 30000 = 31500.
    // merged family: none 1 + l1x 2, mrg 1, ent 3, oth 1, est 30000 + 1000 = 31000.
    // sparse, sparse-clean: TSC is not on the allow-list, so at 4 vmcs02's bit is 1
    //   and L1 does not want it -> l0 (not none): l0h 1 + l1x 2, mrg 1 (one use-1
    //   entry), est 1500 + 30000 + 700 = 32200.
    // merged-dirty: the entry at 4 has no shadow: merge, no dirty check; 6 and 7 have
    //   use 0: no check. As merged, dc 0. merged-eager-x2apic: TSC is not x2APIC: as
    //   merged-eager.
    const r = run(
      "all",
      [load(0, A, passAllPage()), ptr(0, A), use(0, 1), rd(0, TSC), use(0, 0), rd(0, TSC), vmentry(0), wr(0, TSC)],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [3, 3, 3, 0, 0, 0, 0, 0, 3, 0, 0, 45000],
        "l1-filter":           [3, 3, 2, 1, 0, 0, 0, 0, 3, 1, 0, 31500],
        merged:                [3, 2, 2, 0, 1, 1, 0, 0, 3, 1, 0, 31000],
        "merged-eager":        [3, 2, 2, 0, 1, 1, 0, 0, 3, 1, 0, 31000],
        "merged-stale":        [3, 2, 2, 0, 1, 1, 0, 0, 3, 1, 0, 31000],
        sparse:                [3, 3, 2, 1, 0, 1, 0, 0, 3, 1, 0, 32200],
        "sparse-clean":        [3, 3, 2, 1, 0, 1, 0, 0, 3, 1, 0, 32200],
        "merged-dirty":        [3, 2, 2, 0, 1, 1, 0, 0, 3, 1, 0, 31000],
        "merged-eager-x2apic": [3, 2, 2, 0, 1, 1, 0, 0, 3, 1, 0, 31000],
      }),
    );
  });
});

describe("deliveries with an L1 bitmap", () => {
  it("passes, L0 handling, reflection, and MSRs with no bit", () => {
    // L0 kvm-2013 (longmode passes FS_BASE; intercepts EFER and TSC).
    // Page A: intercept everything except FS_BASE rw, EFER r, TSC r.
    // 1-3 load A, ptr A, use 1.
    // 4 vmentry        entry everywhere (ent 1); merged family merge (mrg 1):
    //                  shadow = L0 | A: FS_BASE 0 both ways, EFER 1, TSC 1.
    // 5 rd FS_BASE     L1 no, L0 no. no-bitmap l1 (stops); l1-filter l0; merged none.
    // 6 vmentry        no-bitmap: entry (ent 2). Others run: nothing.
    // 7 rd EFER        L1 no (A passes EFER read), L0 yes. no-bitmap l1 (was running,
    //                  stops); l1-filter l0; merged family shadow 1 -> L1 no -> l0.
    // 8 wr EFER        L1 yes. no-bitmap entry (ent 3), l1; l1-filter l1 (stops);
    //                  merged family shadow 1 -> l1 (stops).
    // 9 wr FS_BASE     L1 no, L0 no. Entry everywhere: no-bitmap ent 4, others ent 2.
    //                  merged/merged-stale: shadow current, no merge; merged-eager
    //                  merges (mrg 2). no-bitmap l1; l1-filter l0; merged none.
    // 10 rd 0x2000     no bit: L1 and L0 want. no-bitmap ent 5, l1; l1-filter l1;
    //                  merged family: no bit -> exit -> l1. All stop.
    // 11 rd 0xC0002000 no bit: entry everywhere (no-bitmap ent 6, others ent 3,
    //                  merged-eager mrg 3), l1.
    // 12 wr 0x40000000 no bit: entry (no-bitmap ent 7, others ent 4, eager mrg 4), l1.
    // 13 vmexit        entry (no-bitmap ent 8, others ent 5, eager mrg 5), oth 1.
    // Accesses: 5 7 8 9 10 11 12 = 7.
    // no-bitmap: l1x 7, est 105000.
    // l1-filter: l0 at 5 7 9 (l0h 3), l1 at 8 10 11 12 (l1x 4); est 4500 + 60000.
    // merged: none at 5 9, l0 at 7, l1 at 8 10 11 12; mrg 1; est 1500+60000+1000.
    // merged-eager: the same with mrg 5; est 1500 + 60000 + 5000.
    // merged-stale: as merged (nothing changed that it misses).
    // docs/model.md §8: FS_BASE is allow-listed (L0 0 | A 0 = 0: none at 5 and 9); EFER is
    // not (1 at 7: l0, as merged). So sparse and sparse-clean deliver as merged.
    // sparse: merges on every entry (4 9 11 12 13): mrg 5, est 1500 + 60000 + 3500.
    // sparse-clean: nothing stored, same GPA, mode, overrides: mrg 1 (4); est 62200.
    // merged-dirty: mrg 1 (4, no shadow, no check); entries 9 11 12 13 reuse the shadow
    //   and check the page (clean): dc 4; est 1500 + 60000 + 1000 + 1200 = 63700.
    // merged-eager-x2apic: no x2APIC MSR: as merged-eager.
    const page = bitmapPage("intercept", [FS_BASE, [EFER, "r"], [TSC, "r"]]);
    const r = run("all", [
      load(0, A, page),
      ptr(0, A),
      use(0, 1),
      vmentry(0),
      rd(0, FS_BASE),
      vmentry(0),
      rd(0, EFER),
      wr(0, EFER),
      wr(0, FS_BASE),
      rd(0, 0x2000),
      rd(0, 0xc000_2000),
      wr(0, 0x4000_0000),
      vmexit(0),
    ]);
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [7, 7, 7, 0, 0, 0, 0, 0, 8, 1, 0, 105000],
        "l1-filter":           [7, 7, 4, 3, 0, 0, 0, 0, 5, 1, 0, 64500],
        merged:                [7, 5, 4, 1, 2, 1, 0, 0, 5, 1, 0, 62500],
        "merged-eager":        [7, 5, 4, 1, 2, 5, 0, 0, 5, 1, 0, 66500],
        "merged-stale":        [7, 5, 4, 1, 2, 1, 0, 0, 5, 1, 0, 62500],
        sparse:                [7, 5, 4, 1, 2, 5, 0, 0, 5, 1, 0, 65000],
        "sparse-clean":        [7, 5, 4, 1, 2, 1, 0, 0, 5, 1, 0, 62200],
        "merged-dirty":        [7, 5, 4, 1, 2, 1, 0, 4, 5, 1, 0, 63700],
        "merged-eager-x2apic": [7, 5, 4, 1, 2, 5, 0, 0, 5, 1, 0, 66500],
      }),
    );
  });

  it("MSRs with no bit exit even when L0 and L1 pass everything", () => {
    // L0 pass-all, page A all zeros: every MSR with a bit passes both levels.
    // 4 rd 0x2000       entry (ent 1, merged family mrg 1); no bit: L1 wants -> l1 everywhere.
    // 5 wr 0xC0002000   entry (ent 2; merged/stale current, eager mrg 2); l1 everywhere.
    // 6 rd 0x40000000   entry (ent 3; eager mrg 3); l1 everywhere.
    // 7 rd 0xC0001FFF   has a bit, passed by both: entry (ent 4; eager mrg 4);
    //                   no-bitmap l1, l1-filter l0, merged family none.
    // no-bitmap: l1x 4, est 60000. l1-filter: l1x 3 l0h 1, est 45000 + 1500.
    // merged: l1x 3 none 1 mrg 1, est 46000; eager mrg 4, est 49000; stale as merged.
    // sparse: 0xC0001FFF is not on the allow-list: vmcs02's bit is 1 -> l0 at 7 (like
    //   l1-filter); mrg 4 (every entry): est 45000 + 1500 + 2800 = 49300.
    // sparse-clean: l0 at 7 too; mrg 1 (nothing changes): est 45000 + 1500 + 700.
    // merged-dirty: as merged; entries 5 6 7 check the page (clean): dc 3, est 46900.
    // merged-eager-x2apic: as merged-eager.
    const r = run(
      "all",
      [
        load(0, A, passAllPage()),
        ptr(0, A),
        use(0, 1),
        rd(0, 0x2000),
        wr(0, 0xc000_2000),
        rd(0, 0x4000_0000),
        rd(0, 0xc000_1fff),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [4, 4, 4, 0, 0, 0, 0, 0, 4, 0, 0, 60000],
        "l1-filter":           [4, 4, 3, 1, 0, 0, 0, 0, 4, 0, 0, 46500],
        merged:                [4, 3, 3, 0, 1, 1, 0, 0, 4, 0, 0, 46000],
        "merged-eager":        [4, 3, 3, 0, 1, 4, 0, 0, 4, 0, 0, 49000],
        "merged-stale":        [4, 3, 3, 0, 1, 1, 0, 0, 4, 0, 0, 46000],
        sparse:                [4, 4, 3, 1, 0, 4, 0, 0, 4, 0, 0, 49300],
        "sparse-clean":        [4, 4, 3, 1, 0, 1, 0, 0, 4, 0, 0, 47200],
        "merged-dirty":        [4, 3, 3, 0, 1, 1, 0, 3, 4, 0, 0, 46900],
        "merged-eager-x2apic": [4, 3, 3, 0, 1, 4, 0, 0, 4, 0, 0, 49000],
      }),
    );
  });
});

describe("L1 events while L2 runs", () => {
  it("cost an other_exit under each strategy where L2 runs; l1-mode re-merges", () => {
    // L0 kvm-2013: longmode passes FS_BASE and KERNEL_GS_BASE, legacy passes FS_BASE
    // but intercepts KERNEL_GS_BASE. Page A: intercept all but FS_BASE, KERNEL_GS_BASE.
    // 1-3 load A, ptr A, use 1 (no L2 yet: no other exits).
    // 4 rd FS_BASE      implicit entry (ent 1, merged family mrg 1). L1 no, L0 no:
    //                   no-bitmap l1 (stops), l1-filter l0, merged none.
    // 5 l1-mode legacy  L1 event: L2 runs under l1-filter and the merged family -> oth 1
    //                   each; no-bitmap was not running -> oth 0.
    // 6 rd FS_BASE      entry everywhere (ent 2). Mode changed: merged, merged-eager and
    //                   merged-stale all merge (mrg 2). Legacy L0 passes FS_BASE:
    //                   no-bitmap l1, l1-filter l0, merged none.
    // 7 rd KERNEL_GS    L1 no (A passes it), L0 yes in legacy. no-bitmap entry (ent 3), l1;
    //                   l1-filter l0; merged family shadow bit 1 (from L0) -> l0.
    // 8 use 0           L1 event: oth 2 for l1-filter and merged family; no-bitmap stopped.
    // 9 rd FS_BASE      entry everywhere (no-bitmap ent 4, others ent 3); use 0 -> no
    //                   merge, L1 wants -> l1 everywhere, all stop.
    // 10 bitmap-ptr A   L1 event; nothing runs -> no other exits.
    // 11 vmexit         entry everywhere (no-bitmap ent 5, others ent 4), oth +1.
    // no-bitmap: acc 4 l1x 4, ent 5, oth 1, est 60000.
    // l1-filter: l0 at 4 6 7, l1 at 9; ent 4, oth 3; est 4500 + 15000 = 19500.
    // merged family: none at 4 6, l0 at 7, l1 at 9; mrg 2; ent 4, oth 3;
    //   est 1500 + 15000 + 2000 = 18500.
    // The four of docs/model.md §8 deliver as the merged family: FS_BASE and KERNEL_GS_BASE
    // are allow-listed, so sparse's bits are L0 | A (0 at 4 6, L0's 1 at 7). Each merges
    // at 4 and 6 (the mode changed: sparse-clean and merged-dirty rebuild, merged-dirty
    // without a dirty check) and nowhere else (9 and 11 have use 0): mrg 2, dc 0.
    // sparse, sparse-clean: est 1500 + 15000 + 2 x 700 = 17900.
    const page = bitmapPage("intercept", [FS_BASE, KERNEL_GS_BASE]);
    const r = run("all", [
      load(0, A, page),
      ptr(0, A),
      use(0, 1),
      rd(0, FS_BASE),
      mode(0, "legacy"),
      rd(0, FS_BASE),
      rd(0, KERNEL_GS_BASE),
      use(0, 0),
      rd(0, FS_BASE),
      ptr(0, A),
      vmexit(0),
    ]);
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [4, 4, 4, 0, 0, 0, 0, 0, 5, 1, 0, 60000],
        "l1-filter":           [4, 4, 1, 3, 0, 0, 0, 0, 4, 3, 0, 19500],
        merged:                [4, 2, 1, 1, 2, 2, 0, 0, 4, 3, 0, 18500],
        "merged-eager":        [4, 2, 1, 1, 2, 2, 0, 0, 4, 3, 0, 18500],
        "merged-stale":        [4, 2, 1, 1, 2, 2, 0, 0, 4, 3, 0, 18500],
        sparse:                [4, 2, 1, 1, 2, 2, 0, 0, 4, 3, 0, 17900],
        "sparse-clean":        [4, 2, 1, 1, 2, 2, 0, 0, 4, 3, 0, 17900],
        "merged-dirty":        [4, 2, 1, 1, 2, 2, 0, 0, 4, 3, 0, 18500],
        "merged-eager-x2apic": [4, 2, 1, 1, 2, 2, 0, 0, 4, 3, 0, 18500],
      }),
    );
  });
});

describe("when the merged strategies merge", () => {
  it("merged merges once across entries, again after a pointer switch; eager on every use_bitmap-1 entry", () => {
    // L0 pass-all. Page A: intercept all but TSC. Page B: pass all but EFER.
    // 1-4 load A, load B, ptr A, use 1.
    // 5 rd TSC       entry (ent 1), all merged strategies merge (mrg 1). L1 no, L0 no:
    //                no-bitmap l1 (stops), l1-filter l0, merged none.
    // 6 vmexit       no-bitmap: entry (ent 2), oth 1. Others running: oth 1.
    // 7 rd TSC       entry (no-bitmap ent 3, others ent 2). merged/stale: current, no
    //                merge; eager mrg 2. Deliveries as at 5.
    // 8 vmexit       no-bitmap ent 4; oth 2 everywhere.
    // 9 vmentry      entry (no-bitmap ent 5, others ent 3); eager mrg 3.
    // 10 wr TSC      no-bitmap l1 (stops), l1-filter l0, merged none.
    // 11 ptr B       L1 event: oth 3 for l1-filter and merged family (no-bitmap stopped).
    // 12 rd TSC      entry (no-bitmap ent 6, others ent 4). Pointer changed: merged and
    //                merged-stale merge (mrg 2); eager mrg 4. B passes TSC: as at 5.
    // 13 rd EFER     B intercepts: L1 wants. no-bitmap ent 7, l1; others l1. All stop.
    // 14 use 0       L1 event, nothing runs.
    // 15 vmentry     entry (no-bitmap ent 8, others ent 5); use 0: nobody merges.
    // 16 rd TSC      L1 wants (use 0): l1 everywhere.
    // no-bitmap: acc 6 l1x 6, ent 8, oth 2, est 90000.
    // l1-filter: l0 at 5 7 10 12, l1 at 13 16; ent 5, oth 3; est 6000 + 30000.
    // merged: none at 5 7 10 12, l1 at 13 16; mrg 2; est 30000 + 2000.
    // merged-eager: mrg 4 (entries 5 7 9 12; not 15): est 34000. merged-stale as merged.
    // sparse: TSC is not allow-listed, so where merged gives none (5 7 10 12) sparse
    //   gives l0; mrg 4 as eager: est 6000 + 30000 + 2800 = 38800.
    // sparse-clean: the same deliveries; merges at 5 (no shadow) and 12 (GPA changed):
    //   mrg 2, est 6000 + 30000 + 1400 = 37400.
    // merged-dirty: as merged; mrg 2 (5, and 12 without a check: GPA changed); entries
    //   7 and 9 reuse the shadow: dc 2 (clean); est 30000 + 2000 + 600 = 32600.
    // merged-eager-x2apic: as merged-eager.
    const pageA = bitmapPage("intercept", [TSC]);
    const pageB = bitmapPage("pass", [], [EFER]);
    const r = run(
      "all",
      [
        load(0, A, pageA),
        load(0, B, pageB),
        ptr(0, A),
        use(0, 1),
        rd(0, TSC),
        vmexit(0),
        rd(0, TSC),
        vmexit(0),
        vmentry(0),
        wr(0, TSC),
        ptr(0, B),
        rd(0, TSC),
        rd(0, EFER),
        use(0, 0),
        vmentry(0),
        rd(0, TSC),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [6, 6, 6, 0, 0, 0, 0, 0, 8, 2, 0, 90000],
        "l1-filter":           [6, 6, 2, 4, 0, 0, 0, 0, 5, 3, 0, 36000],
        merged:                [6, 2, 2, 0, 4, 2, 0, 0, 5, 3, 0, 32000],
        "merged-eager":        [6, 2, 2, 0, 4, 4, 0, 0, 5, 3, 0, 34000],
        "merged-stale":        [6, 2, 2, 0, 4, 2, 0, 0, 5, 3, 0, 32000],
        sparse:                [6, 6, 2, 4, 0, 4, 0, 0, 5, 3, 0, 38800],
        "sparse-clean":        [6, 6, 2, 4, 0, 2, 0, 0, 5, 3, 0, 37400],
        "merged-dirty":        [6, 2, 2, 0, 4, 2, 0, 2, 5, 3, 0, 32600],
        "merged-eager-x2apic": [6, 2, 2, 0, 4, 4, 0, 0, 5, 3, 0, 34000],
      }),
    );
  });

  it("merged-eager merges on every entry with use_bitmap 1 and never with 0", () => {
    // L0 pass-all.
    // 1 vmentry   use 0: entry (ent 1), nothing merged.   2 vmexit: oth 1.
    // 3 vmentry   ent 2, no merge.                        4 vmexit: oth 2.
    // 5-7 load A, ptr A, use 1 (nothing runs).
    // 8 vmentry   ent 3: every merged strategy merges (no shadow yet): mrg 1.
    // 9 vmexit    oth 3.
    // 10 vmentry  ent 4: eager mrg 2; merged and stale: current, no merge.
    // 11 vmexit   oth 4.
    // 12 vmentry  ent 5: eager mrg 3.
    // No accesses. est: merged 1000, eager 3000, stale 1000, the others 0.
    // sparse and merged-eager-x2apic merge on every use-1 entry like eager: mrg 3
    // (8 10 12), est 3 x 700 = 2100 and 3000. sparse-clean: the load at 5 came before
    // the shadow was built at 8: mrg 1, est 700. merged-dirty: mrg 1 (8); 10 and 12
    // check the page (clean): dc 2, est 1000 + 600.
    const r = run(
      "all",
      [
        vmentry(0),
        vmexit(0),
        vmentry(0),
        vmexit(0),
        load(0, A, passAllPage()),
        ptr(0, A),
        use(0, 1),
        vmentry(0),
        vmexit(0),
        vmentry(0),
        vmexit(0),
        vmentry(0),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [0, 0, 0, 0, 0, 0, 0, 0, 5, 4, 0, 0],
        "l1-filter":           [0, 0, 0, 0, 0, 0, 0, 0, 5, 4, 0, 0],
        merged:                [0, 0, 0, 0, 0, 1, 0, 0, 5, 4, 0, 1000],
        "merged-eager":        [0, 0, 0, 0, 0, 3, 0, 0, 5, 4, 0, 3000],
        "merged-stale":        [0, 0, 0, 0, 0, 1, 0, 0, 5, 4, 0, 1000],
        sparse:                [0, 0, 0, 0, 0, 3, 0, 0, 5, 4, 0, 2100],
        "sparse-clean":        [0, 0, 0, 0, 0, 1, 0, 0, 5, 4, 0, 700],
        "merged-dirty":        [0, 0, 0, 0, 0, 1, 0, 2, 5, 4, 0, 1600],
        "merged-eager-x2apic": [0, 0, 0, 0, 0, 3, 0, 0, 5, 4, 0, 3000],
      }),
    );
  });

  it("an l0-set while L2 is not running is merged at the next entry", () => {
    // L0 kvm-2013 (passes FS_BASE). Page A passes everything.
    // 4 rd FS_BASE          entry (ent 1, mrg 1); L1 no, L0 no: no-bitmap l1 (stops),
    //                       l1-filter l0, merged none.
    // 5 vmexit              no-bitmap entry (ent 2); oth 1 everywhere.
    // 6 l0-set FS_BASE r 1  L0 event, not L1: no exit; L2 runs nowhere -> no merge now.
    // 7 rd FS_BASE          entry (no-bitmap ent 3, others ent 2). The override count
    //                       changed: merged, eager and stale all merge (mrg 2). L0 now
    //                       wants the read, L1 not: no-bitmap l1, l1-filter l0, merged
    //                       family shadow 1 -> l0.
    // 8 wr FS_BASE          write bit still passed by L0: no-bitmap ent 4, l1;
    //                       l1-filter l0; merged none.
    // 9 vmentry             no-bitmap: entry (ent 5); others running: nothing.
    // no-bitmap: l1x 3, est 45000. l1-filter: l0h 3, est 4500.
    // merged family: none 2, l0h 1, mrg 2: est 1500 + 2000.
    // The four of docs/model.md §8 alike: FS_BASE is allow-listed (L0's read bit 1 at 7,
    // write bit 0 at 8); the override count changed, so sparse-clean and merged-dirty
    // rebuild at 7, merged-dirty without a dirty check (dc 0). sparse, sparse-clean:
    // est 1500 + 2 x 700 = 2900.
    const r = run("all", [
      load(0, A, passAllPage()),
      ptr(0, A),
      use(0, 1),
      rd(0, FS_BASE),
      vmexit(0),
      l0set(0, FS_BASE, "r", 1),
      rd(0, FS_BASE),
      wr(0, FS_BASE),
      vmentry(0),
    ]);
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [3, 3, 3, 0, 0, 0, 0, 0, 5, 1, 0, 45000],
        "l1-filter":           [3, 3, 0, 3, 0, 0, 0, 0, 2, 1, 0, 4500],
        merged:                [3, 1, 0, 1, 2, 2, 0, 0, 2, 1, 0, 3500],
        "merged-eager":        [3, 1, 0, 1, 2, 2, 0, 0, 2, 1, 0, 3500],
        "merged-stale":        [3, 1, 0, 1, 2, 2, 0, 0, 2, 1, 0, 3500],
        sparse:                [3, 1, 0, 1, 2, 2, 0, 0, 2, 1, 0, 2900],
        "sparse-clean":        [3, 1, 0, 1, 2, 2, 0, 0, 2, 1, 0, 2900],
        "merged-dirty":        [3, 1, 0, 1, 2, 2, 0, 0, 2, 1, 0, 3500],
        "merged-eager-x2apic": [3, 1, 0, 1, 2, 2, 0, 0, 2, 1, 0, 3500],
      }),
    );
  });
});

describe("write protection under merged", () => {
  // L0 pass-all; page A starts all zeros (L1 passes everything).
  // 1-3 load A (A not protected yet: no fault), ptr A, use 1.
  // 4 rd TSC          entry (ent 1), every merged strategy merges (mrg 1); merged
  //                   protects A. L1 no, L0 no: no-bitmap l1 (stops), l1-filter l0,
  //                   merged family none.
  // 5 set A TSC r 1   L1 event: oth 1 for l1-filter and merged family. merged: A is
  //                   protected -> wp 1, A unprotected, v0's shadow stale.
  // 6 set A TSC w 1   nothing runs; A unprotected: free.
  // 7 set A TSC r 1   changes no bit; A unprotected: free.
  // 8 rd TSC          L1 wants now. Entry everywhere (ent 2). merged: stale -> mrg 2,
  //                   protects A; eager mrg 2; merged-stale: current by its rules, no
  //                   merge, old shadow bit 0 -> none, but L1 wants: violation 1 (it
  //                   keeps running). Everyone else l1 (stops).
  // 9 vmentry         entry for all but merged-stale (ent 3); merged: current, no
  //                   merge; eager mrg 3.
  // 10 set A TSC r 1  changes no bit, but A is protected again: merged wp 2. L1 event:
  //                   L2 runs under every strategy -> oth +1 everywhere.
  // 11 rd TSC         entry everywhere (merged-stale ent 3, others ent 4). merged:
  //                   stale -> mrg 3; eager mrg 4; stale: none again -> violation 2.
  // no-bitmap: l1 at 4 8 11; ent 4 (4 8 9 11), oth 1 (10).
  // l1-filter: l0 at 4, l1 at 8 11; ent 4 (4 8 9 11), oth 2 (5 10).
  // merged: none at 4, l1 at 8 11; mrg 3, wp 2; ent 4, oth 2.
  // merged-eager: none at 4, l1 at 8 11; mrg 4; ent 4, oth 2.
  // merged-stale: none at 4 8 11; mrg 1; ent 3 (4 8 11), oth 2 (5 10); vio 2.
  // docs/model.md §8 (nothing is write-protected: wp 0; entries and exits as merged):
  // sparse: TSC is not allow-listed: l0 at 4 (L1 does not want it yet), l1 at 8 11;
  //   merges on every entry: mrg 4 (4 8 9 11).
  // sparse-clean: the same deliveries; rebuilds at 4 (no shadow), 8 (stores at 5-7)
  //   and 11 (the store at 10, though it changed no bit), not at 9: mrg 3.
  // merged-dirty: as merged: none at 4, l1 at 8 11; mrg 3 (4 without a check; 8 and
  //   11 check, find the page dirty and rebuild); 9 checks and finds it clean: dc 3.
  // merged-eager-x2apic: as merged-eager (no x2APIC MSR).
  const events = () => [
    load(0, A, passAllPage()),
    ptr(0, A),
    use(0, 1),
    rd(0, TSC),
    set(0, A, TSC, "r", 1),
    set(0, A, TSC, "w", 1),
    set(0, A, TSC, "r", 1),
    rd(0, TSC),
    vmentry(0),
    set(0, A, TSC, "r", 1),
    rd(0, TSC),
  ];

  it("one fault per first write after a merge, even a write that changes nothing (default costs)", () => {
    // est: no-bitmap 3 x 15000; l1-filter 1500 + 2 x 15000;
    // merged 2 x 15000 + 3 x 1000 + 2 x 3000 = 39000; eager 30000 + 4000;
    // merged-stale 1 x 1000. sparse 1500 + 30000 + 4 x 700 = 34300; sparse-clean
    // 1500 + 30000 + 3 x 700 = 33600; merged-dirty 30000 + 3000 + 3 x 300 = 33900;
    // merged-eager-x2apic as eager, 34000.
    expect(run("all", events(), { l0: "pass-all" })).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [3, 3, 3, 0, 0, 0, 0, 0, 4, 1, 0, 45000],
        "l1-filter":           [3, 3, 2, 1, 0, 0, 0, 0, 4, 2, 0, 31500],
        merged:                [3, 2, 2, 0, 1, 3, 2, 0, 4, 2, 0, 39000],
        "merged-eager":        [3, 2, 2, 0, 1, 4, 0, 0, 4, 2, 0, 34000],
        "merged-stale":        [3, 0, 0, 0, 3, 1, 0, 0, 3, 2, 2, 1000],
        sparse:                [3, 3, 2, 1, 0, 4, 0, 0, 4, 2, 0, 34300],
        "sparse-clean":        [3, 3, 2, 1, 0, 3, 0, 0, 4, 2, 0, 33600],
        "merged-dirty":        [3, 2, 2, 0, 1, 3, 0, 3, 4, 2, 0, 33900],
        "merged-eager-x2apic": [3, 2, 2, 0, 1, 4, 0, 0, 4, 2, 0, 34000],
      }),
    );
  });

  it("est_cycles follows a custom cost model", () => {
    // Same counters; cost l0_exit 2, l1_exit 10, merge 100, merge_sparse 70,
    // wp_fault 1000, dirty_check 5:
    // no-bitmap 3 x 10 = 30; l1-filter 1 x 2 + 2 x 10 = 22;
    // merged 2 x 10 + 3 x 100 + 2 x 1000 = 2320; eager 20 + 400 = 420; stale 100;
    // sparse 2 + 20 + 4 x 70 = 302; sparse-clean 2 + 20 + 3 x 70 = 232;
    // merged-dirty 20 + 3 x 100 + 3 x 5 = 335; merged-eager-x2apic 20 + 400 = 420.
    const cost = { l0_exit: 2, l1_exit: 10, merge: 100, merge_sparse: 70, wp_fault: 1000, dirty_check: 5 };
    expect(run("all", events(), { l0: "pass-all", cost })).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [3, 3, 3, 0, 0, 0, 0, 0, 4, 1, 0, 30],
        "l1-filter":           [3, 3, 2, 1, 0, 0, 0, 0, 4, 2, 0, 22],
        merged:                [3, 2, 2, 0, 1, 3, 2, 0, 4, 2, 0, 2320],
        "merged-eager":        [3, 2, 2, 0, 1, 4, 0, 0, 4, 2, 0, 420],
        "merged-stale":        [3, 0, 0, 0, 3, 1, 0, 0, 3, 2, 2, 100],
        sparse:                [3, 3, 2, 1, 0, 4, 0, 0, 4, 2, 0, 302],
        "sparse-clean":        [3, 3, 2, 1, 0, 3, 0, 0, 4, 2, 0, 232],
        "merged-dirty":        [3, 2, 2, 0, 1, 3, 0, 3, 4, 2, 0, 335],
        "merged-eager-x2apic": [3, 2, 2, 0, 1, 4, 0, 0, 4, 2, 0, 420],
      }),
    );
  });

  it("a write to a page no merge protected is free, and so is a bitmap-load over it", () => {
    // L0 pass-all. use_bitmap stays 0, so nothing is ever merged or protected.
    // 1 load A; 2 set A TSC rw 1; 3 ptr A: L1 events, nothing runs, no faults.
    // 4 rd TSC   entry (ent 1); use 0: L1 wants -> l1 everywhere.
    // 5 load A   nothing runs; A never protected: no fault.
    // Every strategy: acc 1, l1x 1, ent 1; est 15000.
    const r = run(
      ["merged", "merged-stale"],
      [load(0, A, passAllPage()), set(0, A, TSC, "rw", 1), ptr(0, A), rd(0, TSC), load(0, A, interceptAllPage())],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 15000],
        "merged-stale": [1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 15000],
      }),
    );
  });
});

describe("--l1-bitmap (the l1Bitmap option)", () => {
  it("puts the page at 0x1000 and starts every vCPU with use_bitmap 1", () => {
    // L0 pass-all. l1Bitmap: intercept everything but TSC read. No bitmap-ptr or
    // use-bitmap events: each vCPU starts with ptr 0x1000, use 1, so entries succeed.
    // 1 rd v0 TSC    entry (ent 1), merged family mrg 1 (v0). L1 no, L0 no: no-bitmap
    //                l1 (stops), l1-filter l0, merged none.
    // 2 wr v0 TSC    L1 wants (write intercepted). no-bitmap entry (ent 2), l1;
    //                l1-filter l1; merged family shadow 1 -> l1. All stop.
    // 3 rd v3 TSC    vCPU 3's first event: ptr 0x1000, use 1. Entry (no-bitmap ent 3,
    //                others ent 2); merged family mrg 2 (v3 has no shadow). As at 1.
    // 4 vmexit v3    no-bitmap entry (ent 4), oth 1; others running: oth 1.
    // 5 use v3 0     L1 event; nothing runs on v3.
    // 6 rd v3 TSC    entry (no-bitmap ent 5, others ent 3), no merge (use 0);
    //                L1 wants -> l1 everywhere.
    // no-bitmap: l1x 4, est 60000. l1-filter: l0h 2 (1 3), l1x 2 (2 6): 3000 + 30000.
    // merged family: none 2 (1 3), l1x 2, mrg 2: 30000 + 2000.
    // sparse, sparse-clean: TSC is not allow-listed: l0 at 1 and 3 (L1 passes the
    //   read), l1 at 2 6; mrg 2 (a first entry on each vCPU): 3000 + 30000 + 1400.
    // merged-dirty: as merged; each vCPU's one use-1 entry has no shadow: dc 0.
    // merged-eager-x2apic: as merged-eager.
    const l1 = bitmapPage("intercept", [[TSC, "r"]]);
    const r = run("all", [rd(0, TSC), wr(0, TSC), rd(3, TSC), vmexit(3), use(3, 0), rd(3, TSC)], {
      l0: "pass-all",
      l1Bitmap: l1,
    });
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [4, 4, 4, 0, 0, 0, 0, 0, 5, 1, 0, 60000],
        "l1-filter":           [4, 4, 2, 2, 0, 0, 0, 0, 3, 1, 0, 33000],
        merged:                [4, 2, 2, 0, 2, 2, 0, 0, 3, 1, 0, 32000],
        "merged-eager":        [4, 2, 2, 0, 2, 2, 0, 0, 3, 1, 0, 32000],
        "merged-stale":        [4, 2, 2, 0, 2, 2, 0, 0, 3, 1, 0, 32000],
        sparse:                [4, 4, 2, 2, 0, 2, 0, 0, 3, 1, 0, 34400],
        "sparse-clean":        [4, 4, 2, 2, 0, 2, 0, 0, 3, 1, 0, 34400],
        "merged-dirty":        [4, 2, 2, 0, 2, 2, 0, 0, 3, 1, 0, 32000],
        "merged-eager-x2apic": [4, 2, 2, 0, 2, 2, 0, 0, 3, 1, 0, 32000],
      }),
    );
  });

  it("the page is an ordinary guest page at 0x1000: L1 can edit it", () => {
    // L0 pass-all; l1Bitmap passes everything.
    // 1 rd TSC             entry (ent 1, mrg 1; merged protects 0x1000). L1 no:
    //                      l1-filter l0, merged none.
    // 2 set 0x1000 TSC r 1 L1 event: oth 1 (both run). merged: 0x1000 protected -> wp 1.
    // 3 rd TSC             entry (ent 2): merged: stale -> mrg 2. L1 wants -> l1.
    // l1-filter: l0h 1, l1x 1: 1500 + 15000. merged: none 1, l1x 1, mrg 2, wp 1:
    // 15000 + 2000 + 3000.
    const r = run(["l1-filter", "merged"], [rd(0, TSC), set(0, 0x1000, TSC, "r", 1), rd(0, TSC)], {
      l0: "pass-all",
      l1Bitmap: passAllPage(),
    });
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        "l1-filter":    [2, 2, 1, 1, 0, 0, 0, 0, 2, 1, 0, 16500],
        merged:         [2, 1, 1, 0, 1, 2, 1, 0, 2, 1, 0, 20000],
      }),
    );
  });
});

describe("entry errors (VM entry fails on hardware)", () => {
  function replayError(events: ReturnType<typeof rd>[]): ReplayError {
    const replay = newReplay();
    try {
      for (const ev of events) replay.apply(ev);
    } catch (e) {
      expect(e).toBeInstanceOf(ReplayError);
      return e as ReplayError;
    }
    throw new Error("expected a ReplayError");
  }

  it("use-bitmap 1 with no bitmap-ptr fails at the first entry, with that event's line", () => {
    const e = replayError([at(3, use(0, 1)), at(7, rd(0, TSC))]);
    expect(e.line).toBe(7);
  });

  it("fails on vmentry and vmexit too", () => {
    expect(replayError([at(2, use(1, 1)), at(5, vmentry(1))]).line).toBe(5);
    expect(replayError([at(2, use(1, 1)), at(9, vmexit(1))]).line).toBe(9);
    expect(replayError([at(2, use(1, 1)), at(11, wr(1, 0x2000))]).line).toBe(11);
  });

  it("a bitmap-ptr to a page never written fails at the entry, not at the pointer", () => {
    const e = replayError([at(1, load(0, A, passAllPage())), at(2, ptr(0, B)), at(3, use(0, 1)), at(4, vmentry(0))]);
    expect(e.line).toBe(4);
  });

  it("the error comes after an earlier good entry once L1 breaks vmcs12", () => {
    // 1-3 valid; 4 rd enters fine; 5 ptr to an unwritten page; 6 rd must enter: fails.
    const e = replayError([
      at(1, load(0, A, passAllPage())),
      at(2, ptr(0, A)),
      at(3, use(0, 1)),
      at(4, rd(0, TSC)),
      at(5, ptr(0, B)),
      at(6, rd(0, TSC)),
    ]);
    expect(e.line).toBe(6);
  });

  it("no error: use_bitmap 0 ignores the pointer; a page created by bitmap-set exists", () => {
    // ptr to an unwritten page with use 0: entries are fine.
    expect(() => run("all", [ptr(0, B), vmentry(0), rd(0, TSC)])).not.toThrow();
    // A page first touched by bitmap-set exists (all zeros + that bit).
    const r = run(["merged"], [set(0, B, TSC, "r", 1), ptr(0, B), use(0, 1), rd(0, TSC), wr(0, TSC)], {
      l0: "pass-all",
    });
    // rd: entry, merge; B intercepts TSC read -> l1. wr: entry, current; B passes the
    // write (zeros) -> none.
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [2, 1, 1, 0, 1, 1, 0, 0, 2, 0, 0, 16000],
      }),
    );
  });

  it("with --l1-bitmap a vCPU needs no bitmap-ptr", () => {
    expect(() => run("all", [vmentry(2), rd(2, TSC), vmexit(2)], { l1Bitmap: passAllPage() })).not.toThrow();
  });
});
