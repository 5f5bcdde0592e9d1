/**
 * The four strategies of docs/model.md §8 (`sparse`, `sparse-clean`,
 * `merged-dirty`, `merged-eager-x2apic`) on small scenarios, every counter
 * derived by hand from docs/model.md §6, §7 and §8. Each test's comment walks the
 * events; the table then states the result. Columns (docs/model.md §7 order):
 *   acc  accesses      l0x  l0_exits    l1x  l1_exits   l0h  l0_handled
 *   none no_exit       mrg  merges      wp   wp_faults  dc   dirty_checks
 *   ent  entries       oth  other_exits vio  violations est  est_cycles
 * Default cost model: l0_exit 1500 (per l0_handled), l1_exit 15000 (per
 * l1_exits), merge 1000, merge_sparse 700 (per merge of sparse and
 * sparse-clean), wp_fault 3000, dirty_check 300.
 *
 * The allow-list (docs/model.md §8): FS_BASE, GS_BASE, KERNEL_GS_BASE and
 * SPEC_CTRL read and write; PRED_CMD and FLUSH_CMD write; MPERF and APERF read;
 * U_CET, S_CET, PL0_SSP-PL3_SSP (0x6A0, 0x6A2, 0x6A4-0x6A7) read and write;
 * x2APIC 0x800-0x8FF read; TPR 0x808, EOI 0x80B, SELF_IPI 0x83F write. Under
 * sparse and sparse-clean an allow-listed bit is L0's OR L1's; every other bit
 * is 1, so an access L1 does not want there exits to L0 (l0).
 */
import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../src/engine/events.js";
import {
  ALL_STRATEGIES,
  bitmapPage,
  l0set,
  load,
  mode,
  passAllPage,
  ptr,
  rd,
  run,
  set,
  table,
  use,
  vmentry,
  vmexit,
  wr,
} from "./helpers/events.js";

const TSC = 0x10;
const SPEC_CTRL = 0x48;
const PRED_CMD = 0x49;
const FLUSH_CMD = 0x10b;
const MPERF = 0xe7;
const APERF = 0xe8;
const SYSENTER_CS = 0x174;
const SYSENTER_ESP = 0x175;
const EFER = 0xc000_0080;
const FS_BASE = 0xc000_0100;
const GS_BASE = 0xc000_0101;
const KERNEL_GS_BASE = 0xc000_0102;
const TSC_AUX = 0xc000_0103;
const X2APIC_TPR = 0x808;
const X2APIC_EOI = 0x80b;
const X2APIC_ICR = 0x830;
const X2APIC_SELF_IPI = 0x83f;
const A = 0x5000; // guest-physical addresses of L1's bitmap pages
const B = 0x6000;

/**
 * L0 pass-all and an L1 page A that passes everything, so only the allow-list
 * (and the x2APIC forcing) can make an access with a bit exit: L1 and L0 want
 * none of them. The first access enters (ent 1) and every strategy merges once
 * (mrg 1); no access reaches L1, so L2 never stops and nothing enters again.
 */
function isolated(names: readonly string[], accesses: readonly TraceEvent[]) {
  return run(names, [load(0, A, passAllPage()), ptr(0, A), use(0, 1), ...accesses], { l0: "pass-all" });
}

describe("the allow-list of sparse and sparse-clean", () => {
  it("kvm-2013: allow-listed MSRs both levels pass never exit; SYSENTER_CS, passed by both, exits to L0", () => {
    // L0 kvm-2013 (longmode passes FS_BASE, GS_BASE, KERNEL_GS_BASE, SYSENTER_CS/ESP/EIP;
    // intercepts SPEC_CTRL). Page A passes everything but the FS_BASE write.
    // 1-3 load A, ptr A, use 1.
    // 4 rd FS_BASE        entry (ent 1), every strategy merges (mrg 1; merged-dirty has
    //                     no shadow: no check). Allow-listed, L0 0 | A 0 = 0: none under
    //                     sparse as under merged.
    // 5 rd GS_BASE        allow-listed, passed by both: none everywhere.
    // 6 wr KERNEL_GS_BASE allow-listed, passed by both: none everywhere.
    // 7 rd SYSENTER_CS    both pass, so merged's bit is 0: none (merged, merged-dirty,
    //                     merged-eager-x2apic). Not on the allow-list: sparse and
    //                     sparse-clean have 1, L1 does not want it -> l0.
    // 8 wr SYSENTER_ESP   the same: none, or l0 under the sparse two.
    // 9 rd SPEC_CTRL      allow-listed, but L0 intercepts it: the bit is L0 1 | A 0 = 1,
    //                     L1 does not want it -> l0 everywhere.
    // 10 wr FS_BASE       allow-listed, L1 intercepts it: 0 | 1 = 1 -> l1 everywhere;
    //                     L2 stops.
    // 11 rd FS_BASE       entry (ent 2). merged: current; sparse and merged-eager-x2apic
    //                     merge on every entry (mrg 2); sparse-clean: nothing stored, the
    //                     same GPA, mode and overrides: no merge; merged-dirty: reuses
    //                     its shadow, checks the page (dc 1), clean: no merge. none.
    // merged: none 6 (4-8, 11), l0 1 (9), l1 1 (10); est 1500 + 15000 + 1000 = 17500.
    // sparse: none 4 (4 5 6 11), l0 3 (7 8 9), l1 1; est 4500 + 15000 + 2 x 700 = 20900.
    // sparse-clean: as sparse with mrg 1: est 4500 + 15000 + 700 = 20200.
    // merged-dirty: as merged with dc 1: est 17500 + 300 = 17800.
    // merged-eager-x2apic: as merged with mrg 2 (no x2APIC MSR): est 18500.
    const page = bitmapPage("pass", [], [[FS_BASE, "w"]]);
    const r = run(
      ["merged", "sparse", "sparse-clean", "merged-dirty", "merged-eager-x2apic"],
      [
        load(0, A, page),
        ptr(0, A),
        use(0, 1),
        rd(0, FS_BASE),
        rd(0, GS_BASE),
        wr(0, KERNEL_GS_BASE),
        rd(0, SYSENTER_CS),
        wr(0, SYSENTER_ESP),
        rd(0, SPEC_CTRL),
        wr(0, FS_BASE),
        rd(0, FS_BASE),
      ],
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:                [8, 2, 1, 1, 6, 1, 0, 0, 2, 0, 0, 17500],
        sparse:                [8, 4, 1, 3, 4, 2, 0, 0, 2, 0, 0, 20900],
        "sparse-clean":        [8, 4, 1, 3, 4, 1, 0, 0, 2, 0, 0, 20200],
        "merged-dirty":        [8, 2, 1, 1, 6, 1, 0, 1, 2, 0, 0, 17800],
        "merged-eager-x2apic": [8, 2, 1, 1, 6, 2, 0, 0, 2, 0, 0, 18500],
      }),
    );
  });

  it("kvm-modern: a TSC read both levels pass exits under sparse; SPEC_CTRL, PRED_CMD and FLUSH_CMD writes do not", () => {
    // L0 kvm-modern (the kvm-2013 set plus TSC read, SPEC_CTRL rw, PRED_CMD write,
    // FLUSH_CMD write). Page A passes everything.
    // 4 rd TSC        entry (ent 1, mrg 1). Both pass: merged none. TSC is not on the
    //                 allow-list: sparse l0.
    // 5 wr TSC        L0 intercepts the TSC write: l0 under both.
    // 6 rd SPEC_CTRL  allow-listed, both pass: none under both.
    // 7 wr SPEC_CTRL  the same: none.
    // 8 wr PRED_CMD   allow-listed write, both pass: none.
    // 9 rd PRED_CMD   L0 intercepts the read: l0 under both.
    // 10 wr FLUSH_CMD allow-listed write, both pass: none.
    // merged: l0 at 5 9, none 5: est 3000 + 1000. sparse: l0 at 4 5 9, none 4: 4500 + 700.
    const r = run(
      ["merged", "sparse"],
      [
        load(0, A, passAllPage()),
        ptr(0, A),
        use(0, 1),
        rd(0, TSC),
        wr(0, TSC),
        rd(0, SPEC_CTRL),
        wr(0, SPEC_CTRL),
        wr(0, PRED_CMD),
        rd(0, PRED_CMD),
        wr(0, FLUSH_CMD),
      ],
      { l0: "kvm-modern" },
    );
    expect(r).toEqual(
      table({
        //      acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged: [7, 2, 0, 2, 5, 1, 0, 0, 1, 0, 0, 4000],
        sparse: [7, 3, 0, 3, 4, 1, 0, 0, 1, 0, 0, 5200],
      }),
    );
  });

  it("SPEC_CTRL both ways, PRED_CMD and FLUSH_CMD only written, and their neighbours", () => {
    // isolated(): everything passes, one entry, mrg 1.
    // wr PRED_CMD (listed: none), rd PRED_CMD (write only: l0), wr FLUSH_CMD (none),
    // rd FLUSH_CMD (l0), rd SPEC_CTRL (none), wr SPEC_CTRL (none), rd 0x47 (l0),
    // wr 0x4A (l0).
    // sparse and sparse-clean: l0 4, none 4; est 4 x 1500 + 700 = 6700.
    // merged, merged-eager-x2apic: none 8; est 1000.
    const r = isolated(
      ["merged", "sparse", "sparse-clean", "merged-eager-x2apic"],
      [
        wr(0, PRED_CMD),
        rd(0, PRED_CMD),
        wr(0, FLUSH_CMD),
        rd(0, FLUSH_CMD),
        rd(0, SPEC_CTRL),
        wr(0, SPEC_CTRL),
        rd(0, 0x47),
        wr(0, 0x4a),
      ],
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:                [8, 0, 0, 0, 8, 1, 0, 0, 1, 0, 0, 1000],
        sparse:                [8, 4, 0, 4, 4, 1, 0, 0, 1, 0, 0, 6700],
        "sparse-clean":        [8, 4, 0, 4, 4, 1, 0, 0, 1, 0, 0, 6700],
        "merged-eager-x2apic": [8, 0, 0, 0, 8, 1, 0, 0, 1, 0, 0, 1000],
      }),
    );
  });

  it("MPERF and APERF are listed for reads only", () => {
    // isolated(): rd MPERF (none), wr MPERF (l0), rd APERF (none), wr APERF (l0),
    // rd 0xE6 (l0), rd 0xE9 (l0).
    // sparse and sparse-clean: l0 4, none 2; est 6000 + 700. merged: none 6, est 1000.
    const r = isolated(
      ["merged", "sparse", "sparse-clean"],
      [rd(0, MPERF), wr(0, MPERF), rd(0, APERF), wr(0, APERF), rd(0, 0xe6), rd(0, 0xe9)],
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [6, 0, 0, 0, 6, 1, 0, 0, 1, 0, 0, 1000],
        sparse:         [6, 4, 0, 4, 2, 1, 0, 0, 1, 0, 0, 6700],
        "sparse-clean": [6, 4, 0, 4, 2, 1, 0, 0, 1, 0, 0, 6700],
      }),
    );
  });

  it("the CET MSRs 0x6A0, 0x6A2, 0x6A4-0x6A7 both ways, not the gaps 0x6A1 and 0x6A3 nor the ends' neighbours", () => {
    // isolated(). Listed (none under sparse): rd/wr 0x6A0, rd/wr 0x6A2, rd 0x6A4,
    // rd 0x6A5, wr 0x6A6, wr 0x6A7: 8. Not listed (l0): rd/wr 0x6A1, rd/wr 0x6A3,
    // rd 0x69F, wr 0x6A8: 6.
    // sparse and sparse-clean: l0 6, none 8; est 9000 + 700 = 9700. merged: none 14.
    const r = isolated(
      ["merged", "sparse", "sparse-clean"],
      [
        rd(0, 0x6a0),
        wr(0, 0x6a0),
        rd(0, 0x6a1),
        wr(0, 0x6a1),
        rd(0, 0x6a2),
        wr(0, 0x6a2),
        rd(0, 0x6a3),
        wr(0, 0x6a3),
        rd(0, 0x6a4),
        rd(0, 0x6a5),
        wr(0, 0x6a6),
        wr(0, 0x6a7),
        rd(0, 0x69f),
        wr(0, 0x6a8),
      ],
    );
    expect(r).toEqual(
      table({
        //              acc  l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [14, 0, 0, 0, 14, 1, 0, 0, 1, 0, 0, 1000],
        sparse:         [14, 6, 0, 6, 8, 1, 0, 0, 1, 0, 0, 9700],
        "sparse-clean": [14, 6, 0, 6, 8, 1, 0, 0, 1, 0, 0, 9700],
      }),
    );
  });

  it("FS_BASE-KERNEL_GS_BASE both ways, not their neighbours nor the ends of the two ranges", () => {
    // isolated(). Listed (none): rd/wr FS_BASE, rd/wr GS_BASE, rd/wr KERNEL_GS_BASE: 6.
    // Not listed (l0): rd 0xC00000FF, rd/wr TSC_AUX 0xC0000103, rd EFER, rd 0xC0000000,
    // wr 0xC0001FFF, rd 0x0, wr 0x1FFF: 8.
    // sparse and sparse-clean: l0 8, none 6; est 12000 + 700 = 12700. merged: none 14.
    const r = isolated(
      ["merged", "sparse", "sparse-clean"],
      [
        rd(0, 0xc000_00ff),
        rd(0, FS_BASE),
        wr(0, FS_BASE),
        rd(0, GS_BASE),
        wr(0, GS_BASE),
        rd(0, KERNEL_GS_BASE),
        wr(0, KERNEL_GS_BASE),
        rd(0, TSC_AUX),
        wr(0, TSC_AUX),
        rd(0, EFER),
        rd(0, 0xc000_0000),
        wr(0, 0xc000_1fff),
        rd(0, 0x0),
        wr(0, 0x1fff),
      ],
    );
    expect(r).toEqual(
      table({
        //              acc  l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [14, 0, 0, 0, 14, 1, 0, 0, 1, 0, 0, 1000],
        sparse:         [14, 8, 0, 8, 6, 1, 0, 0, 1, 0, 0, 12700],
        "sparse-clean": [14, 8, 0, 8, 6, 1, 0, 0, 1, 0, 0, 12700],
      }),
    );
  });

  it("x2APIC: every read 0x800-0x8FF is listed, writes only TPR, EOI and SELF_IPI; merged-eager-x2apic traps them all", () => {
    // isolated(). For each access: sparse / merged-eager-x2apic (merged and
    // merged-eager: none for all 19, both levels pass).
    //  rd 0x7FF   not listed, not x2APIC        l0   / none
    //  rd 0x800   listed read (first)           none / l0 (forced 1, L1 does not want)
    //  rd ICR     listed read                   none / l0
    //  rd 0x8FF   listed read (last)            none / l0
    //  rd 0x900   not listed, not x2APIC        l0   / none
    //  wr TPR     listed write                  none / l0
    //  wr EOI     listed write                  none / l0
    //  wr SELF_IPI listed write                 none / l0
    //  wr ICR     not listed, though both pass  l0   / l0
    //  wr 0x800, 0x807, 0x809, 0x80A, 0x80C, 0x83E, 0x840, 0x8FF: not listed, x2APIC:
    //                                           l0   / l0 (8 accesses)
    //  wr 0x7FF, wr 0x900: neither              l0   / none
    // sparse and sparse-clean: none 6, l0 13; est 19500 + 700 = 20200.
    // merged-eager-x2apic: l0 15 (3 reads + 12 writes in 0x800-0x8FF), none 4;
    // est 22500 + 1000 = 23500.
    const r = isolated(
      ["merged", "merged-eager", "sparse", "sparse-clean", "merged-eager-x2apic"],
      [
        rd(0, 0x7ff),
        rd(0, 0x800),
        rd(0, X2APIC_ICR),
        rd(0, 0x8ff),
        rd(0, 0x900),
        wr(0, X2APIC_TPR),
        wr(0, X2APIC_EOI),
        wr(0, X2APIC_SELF_IPI),
        wr(0, X2APIC_ICR),
        wr(0, 0x800),
        wr(0, 0x807),
        wr(0, 0x809),
        wr(0, 0x80a),
        wr(0, 0x80c),
        wr(0, 0x83e),
        wr(0, 0x840),
        wr(0, 0x8ff),
        wr(0, 0x7ff),
        wr(0, 0x900),
      ],
    );
    expect(r).toEqual(
      table({
        //                     acc  l0x l1x l0h none mrg wp dc ent oth vio est
        merged:                [19, 0, 0, 0, 19, 1, 0, 0, 1, 0, 0, 1000],
        "merged-eager":        [19, 0, 0, 0, 19, 1, 0, 0, 1, 0, 0, 1000],
        sparse:                [19, 13, 0, 13, 6, 1, 0, 0, 1, 0, 0, 20200],
        "sparse-clean":        [19, 13, 0, 13, 6, 1, 0, 0, 1, 0, 0, 20200],
        "merged-eager-x2apic": [19, 15, 0, 15, 4, 1, 0, 0, 1, 0, 0, 23500],
      }),
    );
  });

  it("is the same in legacy mode", () => {
    // L0 pass-all (both modes), page A passes everything. The l1-mode event comes
    // before any L2 event: no exit.
    // 5 rd FS_BASE (listed: none), 6 wr KERNEL_GS_BASE (none), 7 rd MPERF (none),
    // 8 rd SYSENTER_CS (not listed: l0 under sparse), 9 wr TPR (none). One entry, mrg 1.
    // merged: none 5, est 1000. sparse: l0 1, none 4; est 1500 + 700.
    const r = run(
      ["merged", "sparse"],
      [
        load(0, A, passAllPage()),
        ptr(0, A),
        use(0, 1),
        mode(0, "legacy"),
        rd(0, FS_BASE),
        wr(0, KERNEL_GS_BASE),
        rd(0, MPERF),
        rd(0, SYSENTER_CS),
        wr(0, X2APIC_TPR),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //      acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged: [5, 0, 0, 0, 5, 1, 0, 0, 1, 0, 0, 1000],
        sparse: [5, 1, 0, 1, 4, 1, 0, 0, 1, 0, 0, 2200],
      }),
    );
  });
});

describe("merged-eager-x2apic", () => {
  it("x2APIC accesses always exit: to L1 when it wants them, else to L0; other MSRs as merged-eager", () => {
    // L0 pass-all. Page A passes everything but the ICR write.
    // 1-3 load A, ptr A, use 1.
    // 4 rd ICR    entry (ent 1), all merge (mrg 1). L1 and L0 pass: merged-eager none;
    //             merged-eager-x2apic forces 1 -> l0; sparse: listed read, 0 -> none.
    // 5 wr ICR    L1 wants: l1 under all three; L2 stops.
    // 6 rd TSC    entry (ent 2), all merge on every entry (mrg 2). Both pass:
    //             merged-eager and merged-eager-x2apic none; sparse (not listed) l0.
    // 7 vmexit    oth 1.
    // 8 wr EOI    entry (ent 3, mrg 3). merged-eager none; merged-eager-x2apic l0;
    //             sparse: listed write, 0 -> none.
    // merged-eager: l1 1, none 3; est 15000 + 3000 = 18000.
    // merged-eager-x2apic: l0 2 (4 8), l1 1, none 1; est 3000 + 15000 + 3000 = 21000:
    //   one more exit than merged-eager per x2APIC access L1 passes.
    // sparse: l0 1 (6), l1 1, none 2; est 1500 + 15000 + 2100 = 18600.
    const page = bitmapPage("pass", [], [[X2APIC_ICR, "w"]]);
    const r = run(
      ["merged-eager", "merged-eager-x2apic", "sparse"],
      [
        load(0, A, page),
        ptr(0, A),
        use(0, 1),
        rd(0, X2APIC_ICR),
        wr(0, X2APIC_ICR),
        rd(0, TSC),
        vmexit(0),
        wr(0, X2APIC_EOI),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "merged-eager":        [4, 1, 1, 0, 3, 3, 0, 0, 3, 1, 0, 18000],
        "merged-eager-x2apic": [4, 3, 1, 2, 1, 3, 0, 0, 3, 1, 0, 21000],
        sparse:                [4, 2, 1, 1, 2, 3, 0, 0, 3, 1, 0, 18600],
      }),
    );
  });

  it("with use_bitmap 0 runs L2 with no bitmap and merges nothing, like merged-eager", () => {
    // L0 pass-all; no bitmap-ptr, use_bitmap 0.
    // 1 rd TPR   entry (ent 1), no merge; L1 wants everything -> l1, L2 stops.
    // 2 wr TPR   entry (ent 2), l1. Both: l1x 2, est 30000.
    const r = run(["merged-eager", "merged-eager-x2apic"], [rd(0, X2APIC_TPR), wr(0, X2APIC_TPR)], {
      l0: "pass-all",
    });
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "merged-eager":        [2, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0, 30000],
        "merged-eager-x2apic": [2, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0, 30000],
      }),
    );
  });

  it("can exit less than merged-eager only after a store racing with L2 (unjudged)", () => {
    // L0 pass-all. Page A passes everything but TSC (both ways).
    // 1-3 v0: load A, ptr A, use 1.
    // 4 v0 vmentry        entry (ent 1), both merge (mrg 1): TSC bits 1; the ICR write
    //                     bit 0 under merged-eager, forced 1 under merged-eager-x2apic.
    // 5 v1 set A TSC rw 0 L1 on vCPU 1 (never in L2: no exit) stores to A while L2 runs
    //                     on v0 with bitmap_ptr A: v0's TSC bits are unjudged.
    // 6 v1 set A ICR w 1  likewise: v0's ICR write bit is unjudged.
    // 7 v0 wr ICR         L1 wants it (live). merged-eager: old bit 0 -> none (unjudged,
    //                     no violation). merged-eager-x2apic: 1 -> l1; L2 stops.
    // 8 v0 rd TSC         L1 and L0 pass it now. merged-eager, still in L2: old bit 1 ->
    //                     l0. merged-eager-x2apic: entry (ent 2), mrg 2, fresh bit 0 -> none.
    // 9 v0 wr TSC         the same: merged-eager l0, merged-eager-x2apic none.
    // merged-eager: l0 2, none 1, mrg 1, ent 1: est 3000 + 1000 = 4000.
    // merged-eager-x2apic: l1 1, none 2, mrg 2, ent 2: est 15000 + 2000 = 17000.
    // So merged-eager-x2apic has fewer L0 exits (1 < 2); without such a racing store it
    // never does (properties.test.ts).
    const page = bitmapPage("pass", [], [TSC]);
    const r = run(
      ["merged-eager", "merged-eager-x2apic"],
      [
        load(0, A, page),
        ptr(0, A),
        use(0, 1),
        vmentry(0),
        set(1, A, TSC, "rw", 0),
        set(1, A, X2APIC_ICR, "w", 1),
        wr(0, X2APIC_ICR),
        rd(0, TSC),
        wr(0, TSC),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "merged-eager":        [3, 2, 0, 2, 1, 1, 0, 0, 1, 0, 0, 4000],
        "merged-eager-x2apic": [3, 1, 1, 0, 2, 2, 0, 0, 2, 0, 0, 17000],
      }),
    );
  });
});

describe("sparse-clean and merged-dirty on a page two vCPUs share", () => {
  // L0 pass-all. Page P = A passes everything; vCPUs 0 and 1 both point at it.
  //  1-5  v0: load A, ptr A, use 1; v1: ptr A, use 1.
  //  6    v0 rd FS_BASE      v0 enters (ent 1); every strategy merges for v0 (mrg 1;
  //                          merged protects A; merged-dirty: no shadow, no check).
  //                          FS_BASE is listed and both pass: none everywhere.
  //  7    v1 rd FS_BASE      v1 enters (ent 2): no shadow for v1 -> mrg 2. none.
  //  8    v1 set A FS_BASE r 1  L1 event on v1, where L2 runs: oth 1. A store to A
  //                          while L2 runs on v0 with bitmap_ptr A: v0's FS_BASE read
  //                          bit is unjudged until v0's next entry. merged: A is
  //                          protected -> wp 1, both shadows stale.
  //  9    v0 rd FS_BASE      L1 wants it now, but v0's shadow (from 6) has 0 under all
  //                          four -> none, unjudged: no violation. L2 goes on.
  // 10    v0 wr FS_BASE      the write bit did not change, both pass: none (judged, fine).
  // 11    v0 vmexit          oth 2.
  // 12    v0 rd FS_BASE      v0 enters (ent 3). sparse merges (every entry, mrg 3);
  //                          sparse-clean: A was stored to (8) since v0's shadow was
  //                          built (6) -> mrg 3; merged-dirty: same GPA, mode and
  //                          overrides: checks (dc 1), dirty -> mrg 3; merged: stale ->
  //                          mrg 3. The read bit is now 1 -> l1; L2 stops on v0.
  // 13    v1 rd FS_BASE      v1 enters (ent 4; it left L2 at 8). Its shadow (7) also
  //                          predates the store: sparse mrg 4, sparse-clean mrg 4,
  //                          merged-dirty dc 2 and mrg 4 (v0's rebuild at 12 does not
  //                          make v1's shadow clean), merged stale -> mrg 4. l1.
  // 14    v0 vmentry         ent 5. sparse mrg 5; sparse-clean: no store since 12, no
  //                          merge; merged-dirty dc 3, clean; merged current.
  // 15    v1 vmentry         ent 6. sparse mrg 6; sparse-clean none; merged-dirty dc 4.
  // All: acc 6, none 4 (6 7 9 10), l1 2 (12 13), ent 6, oth 2, vio 0.
  // merged: mrg 4, wp 1: est 30000 + 4000 + 3000 = 37000.
  // sparse: mrg 6: est 30000 + 4200 = 34200.
  // sparse-clean: mrg 4: est 30000 + 2800 = 32800.
  // merged-dirty: mrg 4, dc 4: est 30000 + 4000 + 1200 = 35200.
  const events = () => [
    load(0, A, passAllPage()),
    ptr(0, A),
    use(0, 1),
    ptr(1, A),
    use(1, 1),
    rd(0, FS_BASE),
    rd(1, FS_BASE),
    set(1, A, FS_BASE, "r", 1),
    rd(0, FS_BASE),
    wr(0, FS_BASE),
    vmexit(0),
    rd(0, FS_BASE),
    rd(1, FS_BASE),
    vmentry(0),
    vmentry(1),
  ];

  it("a store from the other vCPU is unjudged until the next entry, which rebuilds on each vCPU", () => {
    expect(run(["merged", "sparse", "sparse-clean", "merged-dirty"], events(), { l0: "pass-all" })).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [6, 2, 2, 0, 4, 4, 1, 0, 6, 2, 0, 37000],
        sparse:         [6, 2, 2, 0, 4, 6, 0, 0, 6, 2, 0, 34200],
        "sparse-clean": [6, 2, 2, 0, 4, 4, 0, 0, 6, 2, 0, 32800],
        "merged-dirty": [6, 2, 2, 0, 4, 4, 0, 4, 6, 2, 0, 35200],
      }),
    );
  });

  it("the unjudged access alone counts no violation", () => {
    // Events 1-9: accesses 6 7 9, all none; the one L1 wants (9) falls on the bit v1
    // changed while v0 ran L2. mrg 2 (6 7), ent 2, oth 1, no check (both entries had
    // no shadow). sparse-clean est 1400, merged-dirty est 2000.
    expect(run(["sparse-clean", "merged-dirty"], events().slice(0, 9), { l0: "pass-all" })).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        "sparse-clean": [3, 0, 0, 0, 3, 2, 0, 0, 2, 1, 0, 1400],
        "merged-dirty": [3, 0, 0, 0, 3, 2, 0, 0, 2, 1, 0, 2000],
      }),
    );
  });
});

describe("when sparse-clean and merged-dirty rebuild", () => {
  it("a new pointer, mode or override count rebuilds without a dirty check; l0-set while L2 runs rebuilds at once", () => {
    // L0 kvm-2013 (legacy also passes FS_BASE). Pages A and B pass everything.
    // 1-4 load A, load B, ptr A, use 1.
    // 5 vmentry          entry (ent 1): no shadow -> mrg 1 (all three), no check.
    // 6 ptr B            L1 event, L2 runs: oth 1.
    // 7 vmentry          ent 2: the GPA differs -> mrg 2, no check (merged too).
    // 8 l1-mode legacy   oth 2.
    // 9 vmentry          ent 3: the mode differs -> mrg 3, no check.
    // 10 vmexit          oth 3.
    // 11 l0-set FS_BASE r 1  L2 runs nowhere: nothing now.
    // 12 vmentry         ent 4: the override count differs -> mrg 4, no check.
    // 13 rd FS_BASE      L0 wants it (listed: L0 1 | B 0 = 1 under sparse-clean):
    //                    l0 under all three; L2 goes on.
    // 14 l0-set FS_BASE r 0  L2 runs with use_bitmap 1: rebuilt at once, mrg 5.
    // 15 rd FS_BASE      both pass now: none.
    // 16 vmexit          oth 4.
    // 17 vmentry         ent 5: the shadow from 14 has this GPA, mode and override
    //                    count, nothing stored: sparse-clean and merged no merge;
    //                    merged-dirty checks (dc 1), clean.
    // 18 ptr A           oth 5.
    // 19 vmentry         ent 6: GPA differs -> mrg 6, no check.
    // 20 ptr B           oth 6.
    // 21 ptr A           L2 not running: nothing.
    // 22 vmentry         ent 7: the pointer is A again, as the shadow's; A not stored
    //                    to: no merge; merged-dirty dc 2, clean.
    // All: acc 2 (l0 1, none 1), mrg 6, ent 7, oth 6.
    // merged: est 1500 + 6000 = 7500. sparse-clean: 1500 + 4200 = 5700.
    // merged-dirty: dc 2, est 1500 + 6000 + 600 = 8100.
    const r = run(
      ["merged", "sparse-clean", "merged-dirty"],
      [
        load(0, A, passAllPage()),
        load(0, B, passAllPage()),
        ptr(0, A),
        use(0, 1),
        vmentry(0),
        ptr(0, B),
        vmentry(0),
        mode(0, "legacy"),
        vmentry(0),
        vmexit(0),
        l0set(0, FS_BASE, "r", 1),
        vmentry(0),
        rd(0, FS_BASE),
        l0set(0, FS_BASE, "r", 0),
        rd(0, FS_BASE),
        vmexit(0),
        vmentry(0),
        ptr(0, A),
        vmentry(0),
        ptr(0, B),
        ptr(0, A),
        vmentry(0),
      ],
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [2, 1, 0, 1, 1, 6, 0, 0, 7, 6, 0, 7500],
        "sparse-clean": [2, 1, 0, 1, 1, 6, 0, 0, 7, 6, 0, 5700],
        "merged-dirty": [2, 1, 0, 1, 1, 6, 0, 2, 7, 6, 0, 8100],
      }),
    );
  });

  it("an l0-set while L2 runs with use_bitmap 0 rebuilds nothing; the next use-1 entry does", () => {
    // L0 pass-all, page A passes everything.
    // 1-3 load A, ptr A, use 1.
    // 4 rd SYSENTER_CS   entry (ent 1), mrg 1. Both pass: sparse-clean (not listed) l0,
    //                    merged-dirty none.
    // 5 use 0            oth 1.
    // 6 vmentry          ent 2; use 0: no merge, no check.
    // 7 l0-set SYSENTER_CS r 1  L2 runs, but with use_bitmap 0: no merge.
    // 8 rd SYSENTER_CS   use 0: L1 wants -> l1 under both; L2 stops.
    // 9 use 1            L2 not running: nothing.
    // 10 rd SYSENTER_CS  ent 3; the override count differs from the shadow's -> mrg 2
    //                    without a check. L0 wants, L1 not: l0 under both.
    // 11 vmexit          oth 2.
    // 12 vmentry         ent 4: current; sparse-clean no merge; merged-dirty dc 1.
    // sparse-clean: l0 2 (4 10), l1 1; est 3000 + 15000 + 1400 = 19400.
    // merged-dirty: none 1, l1 1, l0 1; est 1500 + 15000 + 2000 + 300 = 18800.
    const r = run(
      ["sparse-clean", "merged-dirty"],
      [
        load(0, A, passAllPage()),
        ptr(0, A),
        use(0, 1),
        rd(0, SYSENTER_CS),
        use(0, 0),
        vmentry(0),
        l0set(0, SYSENTER_CS, "r", 1),
        rd(0, SYSENTER_CS),
        use(0, 1),
        rd(0, SYSENTER_CS),
        vmexit(0),
        vmentry(0),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        "sparse-clean": [3, 3, 1, 2, 0, 2, 0, 0, 4, 2, 0, 19400],
        "merged-dirty": [3, 2, 1, 1, 1, 2, 0, 1, 4, 2, 0, 18800],
      }),
    );
  });
});

describe("merged-dirty's dirty checks", () => {
  it("one check on every use-1 entry that reuses the shadow, a merge too when the page is dirty, none with use_bitmap 0", () => {
    // L0 pass-all, page A passes everything.
    // 1-3 load A, ptr A, use 1 (the load comes before any shadow: no fault, not dirty
    //     for a shadow built later).
    // 4 vmentry       ent 1: no shadow -> mrg 1, no check. merged: mrg 1, protects A.
    // 5 vmexit        oth 1.
    // 6 vmentry       ent 2: merged-dirty checks (dc 1), clean; merged current.
    // 7 vmexit        oth 2.
    // 8 set A TSC r 1 L2 not running. merged: A protected -> wp 1, stale.
    // 9 vmentry       ent 3: merged-dirty checks (dc 2), dirty -> rebuilds (mrg 2): a
    //                 check and a merge on one entry. merged: stale -> mrg 2.
    // 10 rd TSC       L1 wants: l1 under both; L2 stops.
    // 11 vmentry      ent 4: dc 3, clean.
    // 12 vmexit       oth 3.
    // 13 use 0        L2 not running.
    // 14 vmentry      ent 5, use 0: no check, no merge.
    // 15 rd TSC       use 0: L1 wants -> l1; L2 stops.
    // 16 use 1        nothing.
    // 17 vmentry      ent 6: the shadow from 9 is kept across the use-0 stretch: dc 4,
    //                 clean; merged current.
    // merged: l1 2, mrg 2, wp 1: est 30000 + 2000 + 3000 = 35000.
    // merged-dirty: l1 2, mrg 2, dc 4: est 30000 + 2000 + 1200 = 33200.
    const r = run(
      ["merged", "merged-dirty"],
      [
        load(0, A, passAllPage()),
        ptr(0, A),
        use(0, 1),
        vmentry(0),
        vmexit(0),
        vmentry(0),
        vmexit(0),
        set(0, A, TSC, "r", 1),
        vmentry(0),
        rd(0, TSC),
        vmentry(0),
        vmexit(0),
        use(0, 0),
        vmentry(0),
        rd(0, TSC),
        use(0, 1),
        vmentry(0),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [2, 2, 2, 0, 0, 2, 1, 0, 6, 3, 0, 35000],
        "merged-dirty": [2, 2, 2, 0, 0, 2, 0, 4, 6, 3, 0, 33200],
      }),
    );
  });
});

describe("a store that changes no bit", () => {
  it("still makes sparse-clean and merged-dirty rebuild, whichever vCPU stores; a store to another page does not", () => {
    // L0 pass-all, page A passes everything.
    // 1-3 v0: load A, ptr A, use 1.
    // 4 v0 rd TSC         ent 1, mrg 1 (merged protects A). Both pass: sparse-clean
    //                     (TSC not listed) l0; merged-dirty and merged none.
    // 5 v0 set A TSC r 0  the bit is already 0: no change, but a store. L2 runs on v0:
    //                     oth 1. merged: wp 1, stale.
    // 6 v0 rd TSC         ent 2. sparse-clean: stored since built -> mrg 2; merged-dirty:
    //                     dc 1, dirty -> mrg 2; merged: stale -> mrg 2 (protects A).
    //                     sparse-clean l0; the others none.
    // 7 v0 vmexit         oth 2.
    // 8 v1 load A         the same content, by vCPU 1 (which never ran L2: no exit; v0
    //                     is not in L2 either). merged: wp 2, stale.
    // 9 v0 vmentry        ent 3. sparse-clean mrg 3; merged-dirty dc 2, dirty, mrg 3;
    //                     merged mrg 3.
    // 10 v0 vmexit        oth 3.
    // 11 v0 vmentry       ent 4: nothing stored since 9. merged-dirty dc 3, clean.
    // 12 v0 set B TSC r 1 another page (created now): oth 4. merged: B never protected.
    // 13 v0 vmentry       ent 5: A was not stored to: no merge; merged-dirty dc 4, clean.
    // merged: none 2, mrg 3, wp 2: est 3000 + 6000 = 9000.
    // sparse-clean: l0 2, mrg 3: est 3000 + 2100 = 5100.
    // merged-dirty: none 2, mrg 3, dc 4: est 3000 + 1200 = 4200.
    const r = run(
      ["merged", "sparse-clean", "merged-dirty"],
      [
        load(0, A, passAllPage()),
        ptr(0, A),
        use(0, 1),
        rd(0, TSC),
        set(0, A, TSC, "r", 0),
        rd(0, TSC),
        vmexit(0),
        load(1, A, passAllPage()),
        vmentry(0),
        vmexit(0),
        vmentry(0),
        set(0, B, TSC, "r", 1),
        vmentry(0),
      ],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [2, 0, 0, 0, 2, 3, 2, 0, 5, 4, 0, 9000],
        "sparse-clean": [2, 2, 0, 2, 0, 3, 0, 0, 5, 4, 0, 5100],
        "merged-dirty": [2, 0, 0, 0, 2, 3, 0, 4, 5, 4, 0, 4200],
      }),
    );
  });
});

describe("est_cycles with merge_sparse and dirty_check", () => {
  // L0 pass-all, page A passes everything.
  // 1-3 load A, ptr A, use 1.
  // 4 rd TSC          entry everywhere (ent 1); the merged family merges (mrg 1;
  //                   merged protects A). L1 and L0 pass: no-bitmap l1 (stops);
  //                   l1-filter l0; merged, merged-eager, merged-stale, merged-dirty,
  //                   merged-eager-x2apic none; sparse, sparse-clean (not listed) l0.
  // 5 set A TSC r 1   L1 event: oth 1 wherever L2 runs (all but no-bitmap). merged:
  //                   wp 1, stale.
  // 6 rd TSC          L1 wants. Entry everywhere (ent 2). merged: stale -> mrg 2;
  //                   merged-eager, sparse, merged-eager-x2apic mrg 2; sparse-clean:
  //                   stored -> mrg 2; merged-dirty: dc 1, dirty -> mrg 2; merged-stale:
  //                   no merge, old bit 0 -> none while L1 wants: VIOLATION 1 (judged:
  //                   the store was on this vCPU, after L2 left). Everyone else l1.
  // 7 vmentry         entry (ent 3) where L2 stopped (all but merged-stale): merged-eager,
  //                   sparse, merged-eager-x2apic mrg 3; merged-dirty dc 2; others none.
  // 8 vmexit          oth: no-bitmap 1, the others 2.
  // 9 vmentry         entry: merged-stale ent 3, the others ent 4; merged-eager, sparse,
  //                   merged-eager-x2apic mrg 4; merged-dirty dc 3.
  // no-bitmap: l1 2; ent 4, oth 1.
  // l1-filter: l0 1, l1 1; ent 4, oth 2.
  // merged: none 1, l1 1; mrg 2, wp 1.      merged-eager: none 1, l1 1; mrg 4.
  // merged-stale: none 2; mrg 1; ent 3; vio 1.
  // sparse: l0 1, l1 1; mrg 4.              sparse-clean: l0 1, l1 1; mrg 2.
  // merged-dirty: none 1, l1 1; mrg 2, dc 3. merged-eager-x2apic: as merged-eager.
  const events = () => [
    load(0, A, passAllPage()),
    ptr(0, A),
    use(0, 1),
    rd(0, TSC),
    set(0, A, TSC, "r", 1),
    rd(0, TSC),
    vmentry(0),
    vmexit(0),
    vmentry(0),
  ];

  it("the default cost model", () => {
    // no-bitmap 30000; l1-filter 1500 + 15000 = 16500; merged 15000 + 2000 + 3000 =
    // 20000; merged-eager 15000 + 4000 = 19000; merged-stale 1000; sparse 1500 + 15000
    // + 4 x 700 = 19300; sparse-clean 1500 + 15000 + 2 x 700 = 17900; merged-dirty
    // 15000 + 2000 + 3 x 300 = 17900; merged-eager-x2apic 19000.
    expect(run("all", events(), { l0: "pass-all" })).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [2, 2, 2, 0, 0, 0, 0, 0, 4, 1, 0, 30000],
        "l1-filter":           [2, 2, 1, 1, 0, 0, 0, 0, 4, 2, 0, 16500],
        merged:                [2, 1, 1, 0, 1, 2, 1, 0, 4, 2, 0, 20000],
        "merged-eager":        [2, 1, 1, 0, 1, 4, 0, 0, 4, 2, 0, 19000],
        "merged-stale":        [2, 0, 0, 0, 2, 1, 0, 0, 3, 2, 1, 1000],
        sparse:                [2, 2, 1, 1, 0, 4, 0, 0, 4, 2, 0, 19300],
        "sparse-clean":        [2, 2, 1, 1, 0, 2, 0, 0, 4, 2, 0, 17900],
        "merged-dirty":        [2, 1, 1, 0, 1, 2, 0, 3, 4, 2, 0, 17900],
        "merged-eager-x2apic": [2, 1, 1, 0, 1, 4, 0, 0, 4, 2, 0, 19000],
      }),
    );
  });

  it("a custom cost model: merge_sparse prices only sparse and sparse-clean merges, dirty_check only dirty_checks", () => {
    // Each key a different power of ten, so each est_cycles spells out its counters:
    // l0_exit 1, l1_exit 10, merge 100, merge_sparse 1000, wp_fault 10000,
    // dirty_check 100000.
    // no-bitmap 2 x 10 = 20; l1-filter 1 + 10 = 11; merged 10 + 200 + 10000 = 10210;
    // merged-eager 10 + 400 = 410; merged-stale 100; sparse 1 + 10 + 4 x 1000 = 4011;
    // sparse-clean 1 + 10 + 2 x 1000 = 2011; merged-dirty 10 + 200 + 3 x 100000 =
    // 300210; merged-eager-x2apic 410.
    const cost = { l0_exit: 1, l1_exit: 10, merge: 100, merge_sparse: 1000, wp_fault: 10000, dirty_check: 100000 };
    expect(run(ALL_STRATEGIES, events(), { l0: "pass-all", cost })).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [2, 2, 2, 0, 0, 0, 0, 0, 4, 1, 0, 20],
        "l1-filter":           [2, 2, 1, 1, 0, 0, 0, 0, 4, 2, 0, 11],
        merged:                [2, 1, 1, 0, 1, 2, 1, 0, 4, 2, 0, 10210],
        "merged-eager":        [2, 1, 1, 0, 1, 4, 0, 0, 4, 2, 0, 410],
        "merged-stale":        [2, 0, 0, 0, 2, 1, 0, 0, 3, 2, 1, 100],
        sparse:                [2, 2, 1, 1, 0, 4, 0, 0, 4, 2, 0, 4011],
        "sparse-clean":        [2, 2, 1, 1, 0, 2, 0, 0, 4, 2, 0, 2011],
        "merged-dirty":        [2, 1, 1, 0, 1, 2, 0, 3, 4, 2, 0, 300210],
        "merged-eager-x2apic": [2, 1, 1, 0, 1, 4, 0, 0, 4, 2, 0, 410],
      }),
    );
  });
});
