/**
 * The violation oracle (docs/model.md §6): an access is a violation when L1
 * wants it and it is not delivered to l1, L1 does not want it and it is
 * delivered to l1, or L0 wants it and it is delivered to none. Expected values
 * are derived by hand from docs/model.md; columns as in strategies.test.ts:
 *   acc l0x l1x l0h none mrg wp dc ent oth vio est
 */
import { describe, expect, it } from "vitest";
import {
  interceptAllPage,
  l0set,
  load,
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
const FS_BASE = 0xc000_0100;
const P = 0x5000;

describe("in-place edits of L1's page", () => {
  it("merged-stale misses L1 starting to intercept an MSR it passed; the correct strategies do not", () => {
    // L0 pass-all (L0 wants nothing with a bit). Page P passes everything.
    // 4 rd TSC          entry (ent 1), merged family mrg 1 (merged protects P).
    //                   L1 no, L0 no: no-bitmap l1, l1-filter l0, merged none. Fine.
    // 5 set P TSC rw 1  L1 event: oth 1 where L2 runs (all but no-bitmap).
    //                   merged: wp 1, shadow stale.
    // 6 rd TSC          L1 wants now. Entry everywhere (ent 2). merged: stale ->
    //                   mrg 2 -> l1. eager: mrg 2 -> l1. l1-filter l1. merged-stale:
    //                   no merge, old shadow 0 -> none: VIOLATION 1 (L2 goes on).
    // 7 vmexit          merged-stale runs: oth 2. Others: entry (ent 3; eager mrg 3),
    //                   then oth (no-bitmap 1, others 2).
    // 8 wr TSC          L1 wants. Entry everywhere (merged-stale ent 3, others ent 4;
    //                   eager mrg 4; merged current). merged-stale none: VIOLATION 2.
    // docs/model.md §8 (no violations; entries and exits as merged):
    // sparse: TSC is not allow-listed: l0 at 4 (L1 does not want it), l1 at 6 8; it
    //   merges on every entry (4 6 7 8): mrg 4, est 1500 + 30000 + 4 x 700 = 34300.
    // sparse-clean: the same deliveries; rebuilds at 4 (no shadow) and 6 (the store at
    //   5), not at 7 or 8: mrg 2, est 1500 + 30000 + 1400 = 32900.
    // merged-dirty: as merged: mrg 2 (4; 6 after a check that finds the page dirty);
    //   7 and 8 check and find it clean: dc 3; est 30000 + 2000 + 900 = 32900.
    // merged-eager-x2apic: as merged-eager.
    const r = run(
      "all",
      [load(0, P, passAllPage()), ptr(0, P), use(0, 1), rd(0, TSC), set(0, P, TSC, "rw", 1), rd(0, TSC), vmexit(0), wr(0, TSC)],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [3, 3, 3, 0, 0, 0, 0, 0, 4, 1, 0, 45000],
        "l1-filter":           [3, 3, 2, 1, 0, 0, 0, 0, 4, 2, 0, 31500],
        merged:                [3, 2, 2, 0, 1, 2, 1, 0, 4, 2, 0, 35000],
        "merged-eager":        [3, 2, 2, 0, 1, 4, 0, 0, 4, 2, 0, 34000],
        "merged-stale":        [3, 0, 0, 0, 3, 1, 0, 0, 3, 2, 2, 1000],
        sparse:                [3, 3, 2, 1, 0, 4, 0, 0, 4, 2, 0, 34300],
        "sparse-clean":        [3, 3, 2, 1, 0, 2, 0, 0, 4, 2, 0, 32900],
        "merged-dirty":        [3, 2, 2, 0, 1, 2, 0, 3, 4, 2, 0, 32900],
        "merged-eager-x2apic": [3, 2, 2, 0, 1, 4, 0, 0, 4, 2, 0, 34000],
      }),
    );
  });

  it("L1 passing an MSR it intercepted costs merged-stale an L0 exit, not a violation", () => {
    // L0 pass-all. Page P intercepts everything.
    // 4 rd TSC          entry (ent 1, mrg 1); L1 wants: l1 everywhere, L2 stops.
    // 5 set P TSC r 0   L1 event, nothing runs. merged: wp 1, stale.
    // 6 rd TSC          L1 no, L0 no. Entry (ent 2). merged, eager: mrg 2, shadow 0 ->
    //                   none. merged-stale: old shadow 1 -> exit, L1 does not want ->
    //                   l0: neither l1 nor none, so no violation. l1-filter l0.
    const r = run(
      ["l1-filter", "merged", "merged-eager", "merged-stale"],
      [load(0, P, interceptAllPage()), ptr(0, P), use(0, 1), rd(0, TSC), set(0, P, TSC, "r", 0), rd(0, TSC)],
      { l0: "pass-all" },
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        "l1-filter":    [2, 2, 1, 1, 0, 0, 0, 0, 2, 0, 0, 16500],
        merged:         [2, 1, 1, 0, 1, 2, 1, 0, 2, 0, 0, 20000],
        "merged-eager": [2, 1, 1, 0, 1, 2, 0, 0, 2, 0, 0, 17000],
        "merged-stale": [2, 2, 1, 1, 0, 1, 0, 0, 2, 0, 0, 17500],
      }),
    );
  });
});

describe("a cross-vCPU edit of a page in use is not judged until the next entry", () => {
  // L0 pass-all. X = FS_BASE, Y = TSC. Page P starts all zeros. vCPU 1 runs L2 on P.
  //  1-3  v1: load P, ptr P, use 1.
  //  4    v1 rd Y        entry (ent 1), merged family mrg 1 (merged protects P).
  //                      L1 no: no-bitmap l1, l1-filter l0, merged family none.
  //  5    v1 set P Y r 1 L1 event on v1: oth 1 except no-bitmap. merged: wp 1, stale.
  //  6    v1 vmentry     entry everywhere (ent 2). merged: stale -> mrg 2 (protects P);
  //                      eager mrg 2; merged-stale: current by its rules, no merge
  //                      (its shadow still has Y = 0).
  //  7    v0 set P X r 1 L1 on vCPU 0, which never ran L2: no other exit. L2 runs on
  //                      v1 (bitmap_ptr P) under every strategy: X's read bit is
  //                      unjudged on v1 until v1's next entry. merged: wp 2, v1 stale.
  //  8    v1 rd X        L1 wants (live). no-bitmap, l1-filter: l1 (stop). merged and
  //                      eager (shadow from 6) and merged-stale (shadow from 4):
  //                      X = 0 -> none; a violation by the definition, but unjudged.
  //  9    v1 rd Y        L1 wants. no-bitmap, l1-filter: entry (ent 3), l1. merged and
  //                      eager: shadow Y = 1 -> l1 (stop). merged-stale: Y = 0 ->
  //                      none, and the write at 7 did not change Y: VIOLATION 1.
  // 10    v1 vmexit      entry where L2 stopped (no-bitmap, l1-filter: ent 4; merged:
  //                      ent 3, stale -> mrg 3; eager: ent 3, mrg 3), then oth
  //                      everywhere (merged-stale still ran).
  // 11    v1 vmentry     entry everywhere (no-bitmap/l1-filter ent 5, merged/eager
  //                      ent 4, merged-stale ent 3); merged current; eager mrg 4;
  //                      merged-stale no merge. Unjudged bits are forgotten.
  // 12    v1 rd X        L1 wants. merged (shadow from 10), eager (from 11): l1.
  //                      merged-stale (from 4): none: VIOLATION 2, now judged.
  const events = () => [
    load(1, P, passAllPage()),
    ptr(1, P),
    use(1, 1),
    rd(1, TSC),
    set(1, P, TSC, "r", 1),
    vmentry(1),
    set(0, P, FS_BASE, "r", 1),
    rd(1, FS_BASE),
    rd(1, TSC),
    vmexit(1),
    vmentry(1),
    rd(1, FS_BASE),
  ];

  it("counts as derived from docs/model.md", () => {
    // no-bitmap: l1 at 4 8 9 12; ent 1 2 3(9) 4(10) 5(11); oth 1 (10).
    // l1-filter: l0 at 4, l1 at 8 9 12; ent 5; oth 2 (5 10).
    // merged: none at 4 8, l1 at 9 12; mrg 3; wp 2; ent 4; oth 2.
    // merged-eager: none at 4 8, l1 at 9 12; mrg 4; ent 4; oth 2.
    // merged-stale: none at 4 8 9 12; mrg 1; ent 3 (4 6 11); oth 2 (5 10); vio 2.
    // docs/model.md §8, the same entries and exits as merged (L2 stops at 9 everywhere):
    // sparse: 4 rd Y: TSC is not allow-listed -> l0 (L1 did not want it yet). 8 rd X:
    //   FS_BASE is allow-listed, its bit from 6 is L0 0 | P 0 = 0 -> none, unjudged.
    //   9, 12 l1. Merges on every entry (4 6 10 11): mrg 4; est 1500 + 30000 + 2800.
    // sparse-clean: the same deliveries; rebuilds at 4 (no shadow), 6 (store at 5), 10
    //   (vCPU 0's store at 7), not at 11: mrg 3; est 1500 + 30000 + 2100 = 33600.
    // merged-dirty: as merged (none at 4 8, l1 at 9 12); mrg 3 (4 with no check; 6 and
    //   10 check, find P dirty, rebuild); 11 checks, clean: dc 3; est 30000+3000+900.
    // merged-eager-x2apic: as merged-eager.
    expect(run("all", events(), { l0: "pass-all" })).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [4, 4, 4, 0, 0, 0, 0, 0, 5, 1, 0, 60000],
        "l1-filter":           [4, 4, 3, 1, 0, 0, 0, 0, 5, 2, 0, 46500],
        merged:                [4, 2, 2, 0, 2, 3, 2, 0, 4, 2, 0, 39000],
        "merged-eager":        [4, 2, 2, 0, 2, 4, 0, 0, 4, 2, 0, 34000],
        "merged-stale":        [4, 0, 0, 0, 4, 1, 0, 0, 3, 2, 2, 1000],
        sparse:                [4, 3, 2, 1, 1, 4, 0, 0, 4, 2, 0, 34300],
        "sparse-clean":        [4, 3, 2, 1, 1, 3, 0, 0, 4, 2, 0, 33600],
        "merged-dirty":        [4, 2, 2, 0, 2, 3, 0, 3, 4, 2, 0, 33900],
        "merged-eager-x2apic": [4, 2, 2, 0, 2, 4, 0, 0, 4, 2, 0, 34000],
      }),
    );
  });

  it("the unjudged access alone counts no violation under merged-stale or merged", () => {
    // Events 1-8 only: the one access that a correct reading would call wrong (8)
    // falls on the bit vCPU 0 changed while vCPU 1 ran L2.
    const r = run(["merged", "merged-stale"], events().slice(0, 8), { l0: "pass-all" });
    expect(r.merged?.violations).toBe(0);
    expect(r["merged-stale"]?.violations).toBe(0);
    expect(r.merged?.no_exit).toBe(2);
    expect(r["merged-stale"]?.no_exit).toBe(2);
  });

  it("an edit made while the other vCPU is not running L2 is judged", () => {
    // The same as 1-8, but vCPU 1 leaves L2 (vmexit) before vCPU 0's edit, then
    // re-enters. merged-stale: at the entry its shadow (from 4) is kept; rd X -> none
    // while L1 wants: VIOLATION. merged: the edit faulted (P protected at 6),
    // so the entry re-merges and rd X -> l1.
    const ev = events().slice(0, 6);
    ev.push(vmexit(1), set(0, P, FS_BASE, "r", 1), vmentry(1), rd(1, FS_BASE));
    const r = run(["merged", "merged-stale"], ev, { l0: "pass-all" });
    expect(r["merged-stale"]?.violations).toBe(1);
    expect(r.merged?.violations).toBe(0);
    expect(r.merged?.wp_faults).toBe(2);
    expect(r.merged?.merges).toBe(3);
  });
});

describe("l0-set", () => {
  it("while L2 runs rebuilds the shadow at once; the next access follows the new L0 bit", () => {
    // L0 kvm-2013 (passes FS_BASE). Page P passes everything.
    // 4 rd FS_BASE          entry (ent 1, mrg 1). L1 no, L0 no: no-bitmap l1 (stops),
    //                       l1-filter l0, merged family none.
    // 5 l0-set FS_BASE r 1  L0 event: no exit. L2 runs with use_bitmap 1 under the
    //                       merged family: each rebuilds now (mrg 2).
    // 6 rd FS_BASE          L0 wants, L1 not: merged family shadow 1 -> l0 (without the
    //                       rebuild it would be none: a violation). l1-filter l0.
    //                       no-bitmap ent 2, l1.
    // 7 l0-set FS_BASE r 0  rebuild again (mrg 3).
    // 8 rd FS_BASE          merged family none; l1-filter l0; no-bitmap ent 3, l1.
    // The four of docs/model.md §8 alike (FS_BASE is allow-listed, so sparse's bit is
    // L0 | P too): mrg 3, dc 0 (one entry, which had no shadow). sparse and
    // sparse-clean: est 1500 + 3 x 700 = 3600.
    const r = run("all", [
      load(0, P, passAllPage()),
      ptr(0, P),
      use(0, 1),
      rd(0, FS_BASE),
      l0set(0, FS_BASE, "r", 1),
      rd(0, FS_BASE),
      l0set(0, FS_BASE, "r", 0),
      rd(0, FS_BASE),
    ]);
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [3, 3, 3, 0, 0, 0, 0, 0, 3, 0, 0, 45000],
        "l1-filter":           [3, 3, 0, 3, 0, 0, 0, 0, 1, 0, 0, 4500],
        merged:                [3, 1, 0, 1, 2, 3, 0, 0, 1, 0, 0, 4500],
        "merged-eager":        [3, 1, 0, 1, 2, 3, 0, 0, 1, 0, 0, 4500],
        "merged-stale":        [3, 1, 0, 1, 2, 3, 0, 0, 1, 0, 0, 4500],
        sparse:                [3, 1, 0, 1, 2, 3, 0, 0, 1, 0, 0, 3600],
        "sparse-clean":        [3, 1, 0, 1, 2, 3, 0, 0, 1, 0, 0, 3600],
        "merged-dirty":        [3, 1, 0, 1, 2, 3, 0, 0, 1, 0, 0, 4500],
        "merged-eager-x2apic": [3, 1, 0, 1, 2, 3, 0, 0, 1, 0, 0, 4500],
      }),
    );
  });

  it("while L2 is not running rebuilds at the next entry", () => {
    // L0 kvm-2013. Page P passes everything.
    // 4 rd FS_BASE           entry (ent 1, mrg 1); none / l0 / l1 as above.
    // 5 vmexit               no-bitmap entry (ent 2); oth 1 everywhere.
    // 6 l0-set FS_BASE rw 1  L2 runs nowhere: no merge now.
    // 7 vmentry              entry (no-bitmap ent 3, others ent 2): override count
    //                        changed -> merged, eager and stale merge (mrg 2).
    // 8 rd FS_BASE           L0 wants: merged family l0; l1-filter l0; no-bitmap l1.
    // 9 wr FS_BASE           same; no-bitmap entry (ent 4) first.
    // The four of docs/model.md §8 alike (FS_BASE is allow-listed): the override count
    // changed, so sparse-clean and merged-dirty rebuild at 7, merged-dirty without a
    // dirty check (dc 0). sparse and sparse-clean: est 3000 + 2 x 700 = 4400.
    const r = run("all", [
      load(0, P, passAllPage()),
      ptr(0, P),
      use(0, 1),
      rd(0, FS_BASE),
      vmexit(0),
      l0set(0, FS_BASE, "rw", 1),
      vmentry(0),
      rd(0, FS_BASE),
      wr(0, FS_BASE),
    ]);
    expect(r).toEqual(
      table({
        //                     acc l0x l1x l0h none mrg wp dc ent oth vio est
        "no-bitmap":           [3, 3, 3, 0, 0, 0, 0, 0, 4, 1, 0, 45000],
        "l1-filter":           [3, 3, 0, 3, 0, 0, 0, 0, 2, 1, 0, 4500],
        merged:                [3, 2, 0, 2, 1, 2, 0, 0, 2, 1, 0, 5000],
        "merged-eager":        [3, 2, 0, 2, 1, 2, 0, 0, 2, 1, 0, 5000],
        "merged-stale":        [3, 2, 0, 2, 1, 2, 0, 0, 2, 1, 0, 5000],
        sparse:                [3, 2, 0, 2, 1, 2, 0, 0, 2, 1, 0, 4400],
        "sparse-clean":        [3, 2, 0, 2, 1, 2, 0, 0, 2, 1, 0, 4400],
        "merged-dirty":        [3, 2, 0, 2, 1, 2, 0, 0, 2, 1, 0, 5000],
        "merged-eager-x2apic": [3, 2, 0, 2, 1, 2, 0, 0, 2, 1, 0, 5000],
      }),
    );
  });

  it("while L2 runs with use_bitmap 0 merges nothing", () => {
    // L0 kvm-2013, use_bitmap 0 throughout.
    // 1 rd FS_BASE        entry (ent 1); L1 wants -> l1 everywhere, L2 stops.
    // 2 vmentry           entry (ent 2).
    // 3 l0-set FS_BASE r 1 L2 runs, but use_bitmap is 0: nothing to rebuild.
    // 4 rd FS_BASE        l1 everywhere.
    // The same for the four of docs/model.md §8: no merge, and merged-dirty checks nothing.
    const r = run("all", [rd(0, FS_BASE), vmentry(0), l0set(0, FS_BASE, "r", 1), rd(0, FS_BASE)]);
    const row = [2, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0, 30000] as const;
    expect(r).toEqual(
      table({
        "no-bitmap": row,
        "l1-filter": row,
        merged: row,
        "merged-eager": row,
        "merged-stale": row,
        sparse: row,
        "sparse-clean": row,
        "merged-dirty": row,
        "merged-eager-x2apic": row,
      }),
    );
  });

  it("affects only its own vCPU", () => {
    // L0 kvm-2013, P passes everything; vCPUs 0 and 1 both run L2 on P.
    // 4 v0 rd FS_BASE: entry, mrg 1, none.  5 v1 rd FS_BASE: entry, mrg 2, none.
    // 6 v0 l0-set FS_BASE r 1: v0 runs -> mrg 3.
    // 7 v1 rd FS_BASE: v1's L0 bitmap is unchanged -> none (no violation).
    // 8 v0 rd FS_BASE: l0.
    const r = run(
      ["merged", "merged-stale"],
      [
        load(0, P, passAllPage()),
        ptr(0, P),
        use(0, 1),
        ptr(1, P),
        use(1, 1),
        rd(0, FS_BASE),
        rd(1, FS_BASE),
        l0set(0, FS_BASE, "r", 1),
        rd(1, FS_BASE),
        rd(0, FS_BASE),
      ],
    );
    expect(r).toEqual(
      table({
        //              acc l0x l1x l0h none mrg wp dc ent oth vio est
        merged:         [4, 1, 0, 1, 3, 3, 0, 0, 2, 0, 0, 4500],
        "merged-stale": [4, 1, 0, 1, 3, 3, 0, 0, 2, 0, 0, 4500],
      }),
    );
  });
});
