#!/usr/bin/env node
// scripts/make-traces.mjs — (re)writes the example traces in traces/.
//
//   node scripts/make-traces.mjs            write traces/, then self-check them
//   node scripts/make-traces.mjs --check    only self-check what is in traces/
//
// Plain Node 20 ES module, no dependencies. Deterministic: every random choice
// comes from a mulberry32 PRNG with a fixed seed per trace, all arithmetic is on
// integers (BigInt for 64-bit MSR values), so the output is byte-identical on
// every run. The format follows the behaviour contract, sections 2-5 (CSV trace,
// JSON bitmap snapshots, one raw 4096-byte .bin snapshot).
//
// After writing, the script re-reads every trace from disk and checks the rules
// the replayer enforces (known columns and events, required fields, value
// ranges, aligned pages, MSRs with a bit in bitmap-set/l0-set, a valid bitmap
// pointer before every entry that needs one, valid snapshots), plus what each
// trace is meant to show. Any failure exits with status 1.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "traces");
const SCRIPT = "scripts/make-traces.mjs";

// ---------------------------------------------------------------------------
// MSR indices used below (Intel SDM vol. 4 / Linux msr-index.h names)
// ---------------------------------------------------------------------------
const MSR = {
  TSC: 0x10,
  SPEC_CTRL: 0x48,
  PRED_CMD: 0x49,
  UCODE_REV: 0x8b,
  PLATFORM_INFO: 0xce,
  FLUSH_CMD: 0x10b,
  SYSENTER_CS: 0x174,
  SYSENTER_ESP: 0x175,
  SYSENTER_EIP: 0x176,
  MISC_ENABLE: 0x1a0,
  TSC_DEADLINE: 0x6e0,
  X2APIC_ID: 0x802,
  X2APIC_TPR: 0x808,
  X2APIC_EOI: 0x80b,
  X2APIC_ICR: 0x830,
  X2APIC_TMCCT: 0x839,
  X2APIC_SELF_IPI: 0x83f,
  FS_BASE: 0xc0000100,
  GS_BASE: 0xc0000101,
  KERNEL_GS_BASE: 0xc0000102,
};

// ---------------------------------------------------------------------------
// Bitmap snapshots (SPEC section 4). SPEC strings are hex numbers only.
// ---------------------------------------------------------------------------

// KVM's own vmcs01 MSR bitmap for a 64-bit guest with x2APIC + APICv (what a
// modern KVM L1 gives its L2), after L2 has written SPEC_CTRL once (KVM stops
// intercepting SPEC_CTRL on the first non-zero write): the replayer's `kvm` L1
// profile (`nvmx-replay bitmap profile kvm`; docs/l1-profiles.md has its
// sources). x2APIC reads pass only for the registers KVM calls readable
// (kvm_lapic_readable_reg_mask()); TMCCT stays intercepted.
const KVM_L1 = {
  default: "intercept",
  pass: [
    "0x10:r",
    "0x48",
    "0x49:w",
    "0x10b:w",
    "0x174-0x176",
    "0x802-0x803:r",
    "0x808",
    "0x80a:r",
    "0x80b:w",
    "0x80d:r",
    "0x80f-0x828:r",
    "0x830:r",
    "0x832-0x838:r",
    "0x83e:r",
    "0x83f:w",
    "0xc0000100-0xc0000102",
  ],
  intercept: [],
};

// KVM's global long-mode x2APIC/APICv bitmap from before 2018, when one set of
// MSR bitmap pages was shared by every vCPU. No TSC, SPEC_CTRL or PRED_CMD
// pass-through yet; reads of the x2APIC ID and TMCCT intercepted.
const MULTI_L1 = {
  default: "intercept",
  pass: ["0xc0000100-0xc0000102", "0x174-0x176", "0x800-0x8ff:r", "0x808:w", "0x80b:w", "0x83f:w"],
  intercept: ["0x802:r", "0x839:r"],
};

// edge-cases: every MSR that has a bit passes (written as two full ranges).
const EDGE_PASS_ALL = {
  default: "intercept",
  pass: ["0x0-0x1fff", "0xc0000000-0xc0001fff"],
  intercept: [],
};

// edge-cases: only the four range ends pass (default pass, then intercept the inside).
const EDGE_RANGE_ENDS = {
  default: "pass",
  pass: [],
  intercept: ["0x1-0x1ffe", "0xc0000001-0xc0001ffe"],
};

function hasBit(msr) {
  return (msr >= 0 && msr <= 0x1fff) || (msr >= 0xc0000000 && msr <= 0xc0001fff);
}

function dirsOf(dir) {
  if (dir === "r") return ["r"];
  if (dir === "w") return ["w"];
  if (dir === "rw") return ["r", "w"];
  throw new Error(`bad dir ${dir}`);
}

// SPEC section 2: byte offset and bit of (msr, direction) in the page.
function bitAt(msr, d) {
  const area = (d === "r" ? 0x000 : 0x800) + (msr >= 0xc0000000 ? 0x400 : 0x000);
  const n = msr & 0x1fff;
  return [area + (n >> 3), n & 7];
}

function setBit(page, msr, dir, v) {
  for (const d of dirsOf(dir)) {
    const [byte, bit] = bitAt(msr, d);
    if (v) page[byte] |= 1 << bit;
    else page[byte] &= ~(1 << bit) & 0xff;
  }
}

function getBit(page, msr, d) {
  const [byte, bit] = bitAt(msr, d);
  return (page[byte] >> bit) & 1;
}

const SPEC_RE = /^(0x[0-9a-f]+)(?:-(0x[0-9a-f]+))?(?::(r|w|rw))?$/;

function parseSpecString(s) {
  const m = SPEC_RE.exec(s);
  if (!m) throw new Error(`bad SPEC string ${JSON.stringify(s)}`);
  const lo = Number.parseInt(m[1], 16);
  const hi = m[2] === undefined ? lo : Number.parseInt(m[2], 16);
  const dir = m[3] ?? "rw";
  if (!hasBit(lo) || !hasBit(hi)) throw new Error(`SPEC ${s} names an MSR with no bit`);
  if (hi < lo || lo >= 0xc0000000 !== hi >= 0xc0000000) throw new Error(`SPEC ${s}: bad range`);
  return { lo, hi, dir };
}

function pageFromSnapshot(snap) {
  const keys = Object.keys(snap).sort().join(",");
  if (keys !== "default,intercept,pass") throw new Error(`snapshot keys ${keys}`);
  if (snap.default !== "intercept" && snap.default !== "pass") throw new Error(`bad default ${snap.default}`);
  if (!Array.isArray(snap.pass) || !Array.isArray(snap.intercept)) throw new Error("pass/intercept must be arrays");
  const page = new Uint8Array(4096).fill(snap.default === "intercept" ? 0xff : 0x00);
  for (const [list, v] of [
    [snap.pass, 0],
    [snap.intercept, 1],
  ]) {
    for (const s of list) {
      const { lo, hi, dir } = parseSpecString(s);
      for (let msr = lo; msr <= hi; msr++) setBit(page, msr, dir, v);
    }
  }
  return page;
}

// ---------------------------------------------------------------------------
// Deterministic randomness: mulberry32, integers only.
// ---------------------------------------------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

class Rng {
  constructor(seed) {
    this.u32 = mulberry32(seed);
  }
  // uniform integer in [lo, hi]
  int(lo, hi) {
    return lo + (this.u32() % (hi - lo + 1));
  }
  // true with probability permille/1000
  chance(permille) {
    return this.u32() % 1000 < permille;
  }
  pick(arr) {
    return arr[this.u32() % arr.length];
  }
}

// ---------------------------------------------------------------------------
// CSV helpers
// ---------------------------------------------------------------------------
const COLUMNS = ["event", "vcpu", "msr", "value", "page", "dir", "file", "t"];
const hx = (n) => `0x${typeof n === "bigint" ? n.toString(16) : n.toString(16)}`;

function toCsv(headerComment, columns, rows) {
  for (const c of columns) if (!COLUMNS.includes(c)) throw new Error(`unknown column ${c}`);
  const lines = headerComment.map((l) => (l === "" ? "#" : `# ${l}`));
  lines.push(columns.join(","));
  for (const r of rows) {
    if (r.comment !== undefined) {
      lines.push(r.comment === "" ? "" : `# ${r.comment}`);
      continue;
    }
    for (const k of Object.keys(r)) {
      if (k !== "seq" && !columns.includes(k)) throw new Error(`row uses column ${k} not in header`);
    }
    lines.push(columns.map((c) => (c === "t" ? seconds(r.t) : (r[c] ?? ""))).join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** t is kept in whole nanoseconds and written in seconds, as ftrace and perf print it (and --window reads it). */
function seconds(ns) {
  if (ns === undefined || ns === "") return "";
  const n = BigInt(ns);
  return `${n / 1_000_000_000n}.${(n % 1_000_000_000n).toString().padStart(9, "0")}`;
}

// ---------------------------------------------------------------------------
// The simulated L2 (a Linux guest) and its L1 (a KVM-like hypervisor).
//
// Discrete-event simulation, one queue for all vCPUs. Each handler emits the
// rows one "episode" produces on one vCPU with increasing timestamps; at the
// end rows are sorted by time, which interleaves the vCPUs while keeping each
// vCPU's own order. Modelled L2 behaviour (Linux without FSGSBASE, x2APIC in
// cluster mode, TSC-deadline timer, HZ=250, NOHZ idle, eIBRS with SSBD and
// conditional IBPB for tasks that asked for it via prctl/seccomp):
//   context switch: [CR3 load] PRED_CMD (IBPB) if the mm changes and either
//     side asked for IBPB; FS_BASE for user tasks; KERNEL_GS_BASE only for
//     tasks with a user GS base; SPEC_CTRL when the SSBD bit changes.
//   timer tick: L1 emulates the TSC-deadline timer with the VMX preemption
//     timer: exit PREEMPTION_TIMER, entry, EOI, TSC_DEADLINE (next tick).
//   interrupts into a running L2 arrive as posted interrupts (no exit), the
//     handler writes EOI; into a halted vCPU, L1 re-enters it (vmentry).
//   L1's own host interrupts exit L2 with EXTERNAL_INTERRUPT.
//   IPIs: ICR writes (intercepted by L1, no IPI virtualisation).
//   idle: TSC_DEADLINE (next timer), HLT exit; woken by a vmentry.
//   block on I/O: virtio kick = EPT_MISCONFIG exit (MMIO doorbell).
//   page faults on memory L1 has not mapped yet: EPT_VIOLATION exits.
// ---------------------------------------------------------------------------
const NS_PER_MS = 1_000_000;
const NS_PER_US = 1_000;
const TICK_NS = 4 * NS_PER_MS; // HZ=250
const SPEC_CTRL_IBRS = 0x1n; // eIBRS: the kernel keeps IBRS set
const SPEC_CTRL_SSBD = 0x4n;
const RESCHEDULE_VECTOR = 0xfdn;
const CALL_FUNCTION_VECTOR = 0xfcn;
const ICR_DEST_LOGICAL = 0x800n;
const ICR_DM_NMI = 0x400n;
const NMI_VECTOR = 0x2n;

function icr(destMask, low) {
  // x2APIC cluster mode: logical destination = (cluster << 16) | (1 << (apicid & 15)); cluster 0 here.
  return (BigInt(destMask) << 32n) | ICR_DEST_LOGICAL | low;
}

const PROCS = [
  // name, threads, scheduling weight, flags
  { name: "postgres", threads: 4, weight: 5 },
  { name: "nginx", threads: 2, weight: 3 },
  { name: "chromium-renderer", threads: 3, weight: 3, ibpb: true, ssbd: true }, // seccomp sandbox
  { name: "gpg-agent", threads: 1, weight: 1, ibpb: true }, // prctl(PR_SPEC_INDIRECT_BRANCH)
  { name: "wine64-app", threads: 4, weight: 3, gs: true }, // TEB in the user GS base
  { name: "cc1", threads: 1, weight: 4 },
  { name: "systemd-journald", threads: 1, weight: 1 },
  { name: "sshd", threads: 1, weight: 1 },
];

function makeTasks(rng, nvcpu) {
  const tasks = [];
  for (const p of PROCS) {
    const proc = { ...p };
    // glibc: the main thread's TCB ends in ...740, pthreads' in ...640, 8 MiB + guard apart.
    const base = 0x7f0000000000n + BigInt(rng.int(0x100000, 0xfffffff)) * 0x1000n;
    for (let i = 0; i < p.threads; i++) {
      const fs = i === 0 ? base + 0x740n : base - BigInt(i) * 0x801000n + 0x640n;
      const gs = p.gs ? 0x7ffde000n - BigInt(i) * 0x2000n : 0n;
      tasks.push({ user: true, proc, name: `${p.name}/${i}`, fs, gs, weight: p.weight });
    }
  }
  const kthreads = [];
  for (let v = 0; v < nvcpu; v++) {
    kthreads.push([
      { user: false, name: `kworker/${v}` },
      { user: false, name: `ksoftirqd/${v}` },
    ]);
  }
  return { tasks, kthreads };
}

class Sim {
  constructor(opts) {
    this.o = opts;
    this.rng = new Rng(opts.seed);
    this.n = opts.nvcpu;
    this.end = opts.endNs;
    this.rows = [];
    this.q = [];
    this.qseq = 0;
    this.G = 0; // global cursor for scripted multi-vCPU sequences
    const w = makeTasks(this.rng, this.n);
    this.tasks = w.tasks;
    this.kthreads = w.kthreads;
    this.V = [];
    for (let v = 0; v < this.n; v++) {
      this.V.push({
        id: v,
        lastT: -1,
        ct: 0,
        halted: false,
        cur: null,
        lastMm: null,
        spec: SPEC_CTRL_IBRS,
        tgen: 0,
        rgen: 0,
        page: opts.pages[v],
        armed: false,
      });
    }
    this.handlers = {
      run: (v, T, d) => this.onRun(v, T, d),
      tick: (v, T, d) => this.onTick(v, T, d),
      devirq: (v, T) => this.onDevIrq(v, T),
      ipi: (v, T, d) => this.onIpi(v, T, d),
      l1irq: (v, T) => this.onL1Irq(v, T),
      nmibt: (v, T) => this.onNmiBacktrace(v, T),
      ...(opts.handlers ?? {}),
    };
  }

  // --- time and rows ---
  tsc(t) {
    return this.o.tsc0 + (BigInt(t) * 21n) / 10n; // 2.1 GHz TSC
  }
  schedule(time, v, kind, data = {}) {
    this.q.push({ time, seq: this.qseq++, v, kind, data });
  }
  pop() {
    let bi = 0;
    for (let i = 1; i < this.q.length; i++) {
      const a = this.q[i],
        b = this.q[bi];
      if (a.time < b.time || (a.time === b.time && a.seq < b.seq)) bi = i;
    }
    return this.q.splice(bi, 1)[0];
  }
  begin(v, T) {
    const s = this.V[v];
    s.ct = Math.max(T, s.lastT + this.rng.int(80, 300));
  }
  emit(v, event, f = {}) {
    const s = this.V[v];
    const t = s.ct;
    s.lastT = t;
    s.ct = t + this.rng.int(150, 900);
    this.rows.push({ event, vcpu: String(v), ...f, t: String(t), seq: this.rows.length });
  }
  // a step of a scripted sequence spanning several vCPUs, in global order
  step(v, fn) {
    this.begin(v, this.G);
    fn();
    this.G = Math.max(this.G, this.V[v].ct);
  }
  wr(v, msr, value) {
    this.emit(v, "wrmsr", { msr: hx(msr), value: hx(value) });
  }
  rd(v, msr) {
    this.emit(v, "rdmsr", { msr: hx(msr) });
  }
  exit(v, reason) {
    this.emit(v, "vmexit", { value: reason });
  }
  entry(v) {
    this.emit(v, "vmentry");
  }
  eoi(v) {
    this.wr(v, MSR.X2APIC_EOI, 0n);
  }
  bitmapSet(v, page, msr, dir, value) {
    this.emit(v, "bitmap-set", { msr: hx(msr), page: hx(page), dir, value: String(value) });
  }

  // --- L2 behaviour ---
  pickTask(v) {
    const s = this.V[v];
    if (this.rng.chance(110)) return this.rng.pick(this.kthreads[v]);
    const busy = new Set(this.V.map((x) => x.cur));
    const cand = this.tasks.filter((t) => t !== s.cur && !busy.has(t));
    let total = 0;
    for (const t of cand) total += t.weight;
    let x = this.rng.int(0, total - 1);
    for (const t of cand) {
      x -= t.weight;
      if (x < 0) return t;
    }
    return cand[cand.length - 1];
  }

  switchTo(v, next) {
    const s = this.V[v];
    if (next?.user) {
      if (next.proc !== s.lastMm) {
        this.o.onMmSwitch?.(this, v, next);
        if (next.proc.ibpb || s.lastMm?.ibpb) this.wr(v, MSR.PRED_CMD, 1n);
        s.lastMm = next.proc;
      }
      this.wr(v, MSR.FS_BASE, next.fs);
      if (next.gs !== 0n) this.wr(v, MSR.KERNEL_GS_BASE, next.gs);
    }
    const spec = SPEC_CTRL_IBRS | (next?.user && next.proc.ssbd ? SPEC_CTRL_SSBD : 0n);
    if (spec !== s.spec) {
      this.wr(v, MSR.SPEC_CTRL, spec);
      s.spec = spec;
    }
    s.cur = next;
  }

  armTimer(v, when) {
    const s = this.V[v];
    s.tgen++;
    this.wr(v, MSR.TSC_DEADLINE, this.tsc(when));
    this.schedule(when, v, "tick", { gen: s.tgen });
  }

  scheduleRun(v, T) {
    const s = this.V[v];
    s.rgen++;
    this.schedule(T, v, "run", { gen: s.rgen });
  }

  goIdle(v) {
    const s = this.V[v];
    this.switchTo(v, null);
    this.armTimer(v, s.ct + this.rng.int(2, 30) * NS_PER_MS); // NOHZ: next timer, not the next tick
    this.exit(v, "HLT");
    s.halted = true;
  }

  // a halted vCPU is woken by an interrupt that makes a task runnable
  wakeToTask(v) {
    const s = this.V[v];
    this.entry(v);
    s.halted = false;
    this.eoi(v);
    this.armTimer(v, s.ct + this.rng.int(400, 4000) * NS_PER_US); // tick restarts
    this.switchTo(v, this.pickTask(v));
    this.scheduleRun(v, s.ct + this.rng.int(10, 200) * NS_PER_US);
  }

  onRun(v, T, d) {
    const s = this.V[v];
    if (s.halted || d.gen !== s.rgen) return;
    this.begin(v, T);
    const frac = Math.min(1000, Math.floor((T * 1000) / Math.max(1, this.end)));
    const eptPermille = 15 + Math.max(0, Math.floor((80 * (500 - frac)) / 500));
    let x = this.rng.int(0, 999);
    const take = (p) => {
      if (x < p) return true;
      x -= p;
      return false;
    };
    if (take(200)) {
      // the task blocks on I/O
      if (this.rng.chance(600)) {
        this.exit(v, "EPT_MISCONFIG"); // virtio doorbell
        this.entry(v);
      }
      const irqv = this.rng.chance(700) ? v : this.rng.int(0, this.n - 1);
      this.schedule(s.ct + this.rng.int(30, 600) * NS_PER_US, irqv, "devirq");
      if (this.rng.chance(this.o.idlePermille[v])) {
        this.goIdle(v);
        return;
      }
      this.switchTo(v, this.pickTask(v));
    } else if (take(140)) {
      // wake a task on another vCPU
      const w = (v + this.rng.int(1, this.n - 1)) % this.n;
      if (this.V[w].halted || this.rng.chance(300)) {
        this.wr(v, MSR.X2APIC_ICR, icr(1 << w, RESCHEDULE_VECTOR));
        this.schedule(s.ct + this.rng.int(3, 15) * NS_PER_US, w, "ipi", { kind: "resched" });
      }
    } else if (take(30)) {
      // TLB shootdown to the other vCPUs running this mm (lazy ones are skipped): one ICR write per cluster
      const targets = this.V.filter((o) => o.id !== v && !o.halted && o.cur?.user).map((o) => o.id);
      if (targets.length) {
        this.wr(
          v,
          MSR.X2APIC_ICR,
          icr(
            targets.reduce((m, w) => m | (1 << w), 0),
            CALL_FUNCTION_VECTOR,
          ),
        );
        for (const w of targets) this.schedule(s.ct + this.rng.int(2, 8) * NS_PER_US, w, "ipi", { kind: "call" });
      }
    } else if (take(eptPermille)) {
      this.exit(v, "EPT_VIOLATION");
      this.entry(v);
    } else if (take(40)) {
      this.exit(v, "EPT_MISCONFIG"); // network transmit kick
      this.entry(v);
    } else if (take(25)) {
      // monitoring tools reading /dev/cpu/N/msr
      this.rd(v, this.rng.pick([MSR.TSC, MSR.TSC, MSR.MISC_ENABLE, MSR.MISC_ENABLE, MSR.PLATFORM_INFO, MSR.UCODE_REV]));
    } else if (take(6)) {
      if (s.cur?.user) this.rd(v, MSR.KERNEL_GS_BASE); // arch_prctl(ARCH_GET_GS)
    } else if (take(80)) {
      this.switchTo(v, this.pickTask(v)); // futex handoff / yield
    }
    this.scheduleRun(v, s.ct + this.rng.int(20, 400) * NS_PER_US);
  }

  onTick(v, T, d) {
    const s = this.V[v];
    if (d.gen !== s.tgen) return; // reprogrammed since
    this.begin(v, T);
    if (s.halted) {
      if (this.rng.chance(350)) {
        this.wakeToTask(v);
      } else {
        this.entry(v);
        s.halted = false;
        this.eoi(v);
        this.armTimer(v, s.ct + this.rng.int(2, 30) * NS_PER_MS);
        this.exit(v, "HLT");
        s.halted = true;
      }
      return;
    }
    this.exit(v, "PREEMPTION_TIMER");
    this.entry(v);
    this.eoi(v);
    this.armTimer(v, T + TICK_NS);
    if (this.rng.chance(300)) this.switchTo(v, this.pickTask(v)); // time slice over
  }

  onDevIrq(v, T) {
    const s = this.V[v];
    this.begin(v, T);
    if (s.halted) {
      this.wakeToTask(v);
      return;
    }
    this.eoi(v);
    if (this.rng.chance(400)) this.switchTo(v, this.pickTask(v)); // wakeup preemption
  }

  onIpi(v, T, d) {
    const s = this.V[v];
    this.begin(v, T);
    if (d.kind === "nmi") {
      // L1 must kick a running vCPU out of L2 to inject the NMI; paranoid_entry reads GS_BASE
      if (s.halted) {
        this.entry(v);
        this.rd(v, MSR.GS_BASE);
        this.exit(v, "HLT");
      } else {
        this.exit(v, "EXTERNAL_INTERRUPT");
        this.entry(v);
        this.rd(v, MSR.GS_BASE);
      }
      return;
    }
    if (s.halted) {
      if (d.kind === "resched") {
        this.wakeToTask(v);
      } else {
        this.entry(v);
        s.halted = false;
        this.eoi(v);
        this.exit(v, "HLT");
        s.halted = true;
      }
      return;
    }
    this.eoi(v);
    if (d.kind === "resched" && this.rng.chance(700)) this.switchTo(v, this.pickTask(v));
  }

  onL1Irq(v, T) {
    const s = this.V[v];
    if (!s.halted) {
      this.begin(v, T);
      this.exit(v, "EXTERNAL_INTERRUPT");
      this.entry(v);
    }
    this.schedule(T + this.rng.int(1000, 4000) * NS_PER_US, v, "l1irq");
  }

  onNmiBacktrace(v, T) {
    // sysrq-l: NMI backtrace of all other CPUs, then console output on the serial port
    const s = this.V[v];
    this.begin(v, T);
    const wasHalted = s.halted;
    if (wasHalted) {
      this.entry(v); // the serial console interrupt wakes it
      s.halted = false;
      this.eoi(v);
    }
    let mask = 0;
    for (let w = 0; w < this.n; w++) if (w !== v) mask |= 1 << w;
    this.wr(v, MSR.X2APIC_ICR, icr(mask, ICR_DM_NMI | NMI_VECTOR));
    for (let w = 0; w < this.n; w++) {
      if (w !== v) this.schedule(s.ct + this.rng.int(3, 10) * NS_PER_US, w, "ipi", { kind: "nmi" });
    }
    for (let i = 0; i < 4; i++) {
      this.exit(v, "IO_INSTRUCTION");
      this.entry(v);
    }
    if (wasHalted) this.goIdle(v);
  }

  // --- driver ---
  start(setupRows) {
    let t = 0;
    for (const r of setupRows) {
      const v = Number(r.vcpu);
      this.V[v].ct = t;
      this.emit(v, r.event, r.f ?? {});
      t = this.V[v].ct;
    }
    for (let v = 0; v < this.n; v++) {
      const s = this.V[v];
      do s.cur = this.pickTask(v);
      while (this.o.initialOk && !this.o.initialOk(s.cur));
      s.lastMm = s.cur.user ? s.cur.proc : null;
      s.spec = SPEC_CTRL_IBRS | (s.cur.user && s.cur.proc.ssbd ? SPEC_CTRL_SSBD : 0n);
      s.tgen++;
      this.schedule(t + this.rng.int(100, 4000) * NS_PER_US, v, "tick", { gen: s.tgen });
      this.scheduleRun(v, t + this.rng.int(20, 300) * NS_PER_US);
      this.schedule(t + this.rng.int(200, 4000) * NS_PER_US, v, "l1irq");
    }
    for (const nmi of this.o.nmiAt ?? []) this.schedule(nmi.t, nmi.v, "nmibt");
  }

  run() {
    while (this.q.length) {
      const e = this.pop();
      if (e.time >= this.end) break;
      this.handlers[e.kind](e.v, e.time, e.data);
    }
    this.rows.sort((a, b) => Number(a.t) - Number(b.t) || a.seq - b.seq);
    return this.rows;
  }
}

function setupRows(nvcpu, loads, pageOf) {
  // L1 writes the bitmap page(s), then on each vCPU points vmcs12 at its page,
  // turns "use MSR bitmaps" on and launches L2.
  const rows = [];
  for (const l of loads) rows.push({ vcpu: l.vcpu, event: "bitmap-load", f: { page: hx(l.page), file: l.file } });
  for (let v = 0; v < nvcpu; v++) {
    rows.push({ vcpu: v, event: "bitmap-ptr", f: { page: hx(pageOf(v)) } });
    rows.push({ vcpu: v, event: "use-bitmap", f: { value: "1" } });
    rows.push({ vcpu: v, event: "vmentry" });
  }
  return rows;
}

// ---------------------------------------------------------------------------
// 1. linux-kvm.csv
// ---------------------------------------------------------------------------
const SEED_LINUX_KVM = 0x6b766d31;

function genLinuxKvm() {
  const page = 0x10000;
  const sim = new Sim({
    seed: SEED_LINUX_KVM,
    nvcpu: 4,
    endNs: 110 * NS_PER_MS,
    tsc0: 0x2f1c3a5e7b00n,
    pages: [page, page, page, page],
    idlePermille: [150, 350, 500, 650],
    nmiAt: [{ t: 57 * NS_PER_MS, v: 0 }],
  });
  sim.start(setupRows(4, [{ vcpu: 0, page, file: "kvm-l1.json" }], () => page));
  const rows = sim.run();
  const header = [
    "nvmx-replay example trace: linux-kvm.csv",
    "",
    "Models: a 4-vCPU Linux L2 running a mixed server/desktop load (postgres, nginx, a",
    "compiler, a sandboxed browser renderer, a Wine program) under a KVM L1 on Intel with",
    "APICv (x2APIC virtualisation, posted interrupts, no IPI virtualisation). The recording",
    "starts when L1 (re)launches L2, e.g. after restoring it: vCPU 0 writes the bitmap page",
    "0x10000 from kvm-l1.json (KVM's own vmcs01 MSR bitmap for such a guest), every vCPU",
    'points vmcs12 at it, sets "use MSR bitmaps" and enters L2. (Real KVM keeps one page per',
    "vCPU with the same content; one shared page changes nothing here since L1 never edits it.)",
    "",
    "L2 behaviour (Linux without FSGSBASE, e.g. before 5.9 or booted with nofsgsbase, so",
    "__switch_to uses WRMSR): context switches write FS_BASE; KERNEL_GS_BASE only for tasks",
    "with a user GS base (the Wine threads), so it is rarer; SPEC_CTRL when the next task's",
    "SSBD setting differs (eIBRS keeps IBRS=1); PRED_CMD (IBPB) on mm switches involving",
    "tasks that asked for it. TSC_DEADLINE on every tick (HZ=250) and when going idle (NOHZ);",
    "x2APIC EOI after every interrupt; ICR writes for reschedule and TLB-shootdown IPIs",
    "(cluster mode); one NMI backtrace (sysrq-l) whose NMI handlers read GS_BASE; occasional",
    "RDMSR of TSC, MISC_ENABLE, PLATFORM_INFO, UCODE_REV (monitoring tools) and of",
    "KERNEL_GS_BASE (arch_prctl). Non-MSR exits handled by L1, each followed by vmentry:",
    "PREEMPTION_TIMER (L1 emulates the TSC-deadline timer), EXTERNAL_INTERRUPT (L1's own",
    "interrupts), HLT (idle; the vmentry that follows is the wake-up), EPT_MISCONFIG (virtio",
    "doorbells), EPT_VIOLATION (memory L1 has not mapped yet, more frequent early on),",
    "IO_INSTRUCTION (serial console). Interrupts into a running L2 are posted (no exit).",
    "",
    `Generated by ${SCRIPT} (mulberry32, seed ${hx(SEED_LINUX_KVM)}); regenerate with`,
    "`node scripts/make-traces.mjs` rather than editing. t = seconds since the start of",
    "the recording (what `compare --window 50ms` reads; otherwise carried through).",
    "",
    "Expected comparison (qualitative; run the replayer for the figures):",
    "- no-bitmap: every access is reflected to L1, the costliest by far.",
    "- l1-filter: every access exits to L0. FS_BASE, KERNEL_GS_BASE, SPEC_CTRL, PRED_CMD and",
    "  EOI writes are handled in L0; only what L1 intercepts (TSC_DEADLINE, ICR, MISC_ENABLE,",
    "  PLATFORM_INFO, UCODE_REV) reaches L1. It pays an L0 exit on every context switch.",
    "- merged: FS_BASE/GS_BASE/KERNEL_GS_BASE accesses complete in L2 with no exit. Under the",
    "  kvm-2013 L0 profile, TSC reads and SPEC_CTRL/PRED_CMD writes still exit to L0 because L0",
    "  intercepts them; under kvm-modern they pass too. EOI writes exit to L0 under every L0",
    "  profile but pass-all (no profile passes the x2APIC range). One merge per vCPU at its",
    "  first entry and no write-protection faults: L1 never writes its page after loading it.",
    "- merged-eager: the same exits as merged, plus a merge on every nested entry (after each",
    "  vmexit/vmentry pair and each access reflected to L1), so it pays many more merges.",
    "- merged-stale: the same as merged, with no violations, since L1 never edits its page.",
    "",
  ];
  return { csv: toCsv(header, ["event", "vcpu", "msr", "value", "page", "file", "t"], rows), rows };
}

// ---------------------------------------------------------------------------
// 2. bitmap-churn.csv
// ---------------------------------------------------------------------------
const SEED_CHURN = 0x63687231;

function genChurn() {
  const pages = [0x20000, 0x21000];
  const onMmSwitch = (sim, v, next) => {
    // CR3-load exiting is on: L1's introspection agent sees every mm switch, and
    // arms write interception of FS_BASE and KERNEL_GS_BASE while the watched
    // process runs on this vCPU, disarming it when another process is scheduled.
    const s = sim.V[v];
    sim.exit(v, "CR_ACCESS");
    const watch = next.proc.name === "wine64-app";
    if (watch !== s.armed) {
      sim.bitmapSet(v, s.page, MSR.FS_BASE, "w", watch ? 1 : 0);
      sim.bitmapSet(v, s.page, MSR.KERNEL_GS_BASE, "w", watch ? 1 : 0);
      s.armed = watch;
    }
    sim.entry(v);
  };
  const sim = new Sim({
    seed: SEED_CHURN,
    nvcpu: 2,
    endNs: 80 * NS_PER_MS,
    tsc0: 0x1d4c8e02a000n,
    pages,
    idlePermille: [200, 400],
    onMmSwitch,
    initialOk: (t) => !t.user || t.proc.name !== "wine64-app", // start outside the watched process
  });
  sim.start(
    setupRows(
      2,
      [
        { vcpu: 0, page: pages[0], file: "kvm-l1.json" },
        { vcpu: 1, page: pages[1], file: "kvm-l1.json" },
      ],
      (v) => pages[v],
    ),
  );
  const rows = sim.run();
  const header = [
    "nvmx-replay example trace: bitmap-churn.csv",
    "",
    "Models: an L1 that edits its MSR bitmap at run time, every few dozen events: a KVM-like",
    "L1 whose VM-introspection agent (in the style of KVMi's per-MSR write interception)",
    "watches one process of a 2-vCPU Linux L2, the Wine program, whose threads keep the TEB",
    "in the user GS base. L1 turns CR3-load exiting on, so every mm switch in L2 exits",
    "(CR_ACCESS). When the watched process is switched in, L1 arms write interception of",
    "FS_BASE and KERNEL_GS_BASE on that vCPU's bitmap page (two bitmap-set rows, value 1);",
    "when another process is switched in, it disarms them (value 0); then it re-enters L2.",
    "Each vCPU has its own page, loaded from kvm-l1.json: 0x20000 for vCPU 0, 0x21000 for",
    "vCPU 1, so no edit touches a page in use on another vCPU. Between edits L2 writes",
    "FS_BASE on every switch to a user task, KERNEL_GS_BASE on switches to Wine threads and",
    "reads KERNEL_GS_BASE now and then; the rest of the workload is the linux-kvm.csv model",
    "(timer, interrupts, IPIs, idle, SPEC_CTRL, PRED_CMD, EPT exits).",
    "",
    `Generated by ${SCRIPT} (mulberry32, seed ${hx(SEED_CHURN)}); regenerate with`,
    "`node scripts/make-traces.mjs` rather than editing. t = seconds since the start of",
    "the recording (what `compare --window 50ms` reads; otherwise carried through).",
    "",
    "Expected comparison (qualitative; run the replayer for the figures):",
    "- merged: its page is write-protected at each merge, so the first bitmap-set of each",
    "  arm/disarm pair takes a write-protection fault (the second is free) and marks that",
    "  vCPU's shadow stale; the entry that follows re-merges. One fault and one merge per pair.",
    "- merged-eager: no faults, but a merge on every nested entry, and entries are frequent",
    "  here (every CR_ACCESS exit is followed by one), so it merges far more often than merged.",
    "- merged-stale: no faults and one merge per vCPU, but wrong: its shadows keep the disarmed",
    "  state of the first entry, so while L1 has the intercepts armed, FS_BASE and",
    "  KERNEL_GS_BASE writes still complete in L2 (L0 passes them under every built-in profile",
    "  but intercept-all) and L1 never sees writes it asked for. Those are violations.",
    "- l1-filter and no-bitmap read L1's live bitmap on every exit, so edits cost them",
    "  nothing extra; they pay their usual exit per access.",
    "",
  ];
  return { csv: toCsv(header, COLUMNS, rows), rows };
}

// ---------------------------------------------------------------------------
// 3. multi-vcpu.csv
// ---------------------------------------------------------------------------
const SEED_MULTI = 0x6d756c31;

const MULTI_EDITS = [
  { msr: MSR.KERNEL_GS_BASE, dir: "w", value: 1 },
  { msr: MSR.KERNEL_GS_BASE, dir: "w", value: 0 },
  { msr: MSR.FS_BASE, dir: "w", value: 1 },
  { msr: MSR.FS_BASE, dir: "w", value: 0 },
  { msr: MSR.KERNEL_GS_BASE, dir: "rw", value: 1 },
  { msr: MSR.KERNEL_GS_BASE, dir: "rw", value: 0 },
  { msr: MSR.KERNEL_GS_BASE, dir: "w", value: 1 },
  { msr: MSR.FS_BASE, dir: "w", value: 1 },
  { msr: MSR.FS_BASE, dir: "w", value: 0 },
  { msr: MSR.KERNEL_GS_BASE, dir: "w", value: 0 },
];

function genMulti() {
  const page = 0x30000;
  const N = 4;
  const endNs = 32 * NS_PER_MS;
  const rounds = MULTI_EDITS.length;
  const sim = new Sim({
    seed: SEED_MULTI,
    nvcpu: N,
    endNs,
    tsc0: 0x41a7c0d39200n,
    pages: [page, page, page, page],
    idlePermille: [300, 400, 500, 600],
  });
  const wineThread = (v) => {
    const s = sim.V[v];
    if (s.cur?.user && s.cur.proc.name === "wine64-app") return s.cur;
    const busy = new Set(sim.V.map((x) => x.cur));
    return sim.tasks.find((t) => t.proc.name === "wine64-app" && !busy.has(t));
  };
  // arch_prctl() calls of the Wine thread running on u: they touch exactly the edited MSR
  const access = (u, e) => {
    const s = sim.V[u];
    if (e.msr === MSR.KERNEL_GS_BASE) {
      sim.wr(u, MSR.KERNEL_GS_BASE, s.cur.gs); // ARCH_SET_GS
      if (e.dir === "rw") sim.rd(u, MSR.KERNEL_GS_BASE); // ARCH_GET_GS
    } else {
      sim.wr(u, MSR.FS_BASE, s.cur.fs); // ARCH_SET_FS
    }
  };
  const round = (_v0, T, d) => {
    const e = MULTI_EDITS[d.k];
    sim.G = Math.max(T, ...sim.V.map((s) => s.lastT)) + 2 * NS_PER_US;
    // Prelude: every vCPU runs a Wine thread; vCPUs 1-3 are (re)entered and run L2
    // events that L1 passes through (EOI), so L2 is running there when vCPU 0 edits.
    for (let u = 0; u < N; u++) {
      sim.step(u, () => {
        const s = sim.V[u];
        if (s.halted) sim.wakeToTask(u);
        const w = wineThread(u);
        if (w !== s.cur) sim.switchTo(u, w);
        if (u !== 0) {
          sim.exit(u, "EXTERNAL_INTERRUPT");
          sim.entry(u);
          sim.eoi(u);
        }
      });
    }
    // vCPU 0: the in-guest agent asks L1 (VMCALL) to arm/disarm; L1 edits the shared page.
    sim.step(0, () => {
      sim.exit(0, "VMCALL");
      sim.bitmapSet(0, page, e.msr, e.dir, e.value);
      sim.entry(0);
    });
    // Before their next entry, vCPUs 1-3 touch the edited MSR (the SDM-undefined window) ...
    for (let u = 1; u < N; u++) sim.step(u, () => access(u, e));
    // ... then each exits to L1 and is re-entered, and touches it again.
    for (let u = 1; u < N; u++) {
      sim.step(u, () => {
        sim.exit(u, "EXTERNAL_INTERRUPT");
        sim.entry(u);
        access(u, e);
      });
    }
    sim.step(0, () => access(0, e));
    for (let u = 0; u < N; u++) {
      const s = sim.V[u];
      sim.scheduleRun(u, Math.max(s.ct, sim.G) + sim.rng.int(20, 200) * NS_PER_US);
    }
  };
  sim.handlers.round = round;
  sim.start(setupRows(N, [{ vcpu: 0, page, file: "multi-vcpu-l1.json" }], () => page));
  for (let k = 0; k < rounds; k++) {
    sim.schedule(Math.floor(((k + 1) * endNs) / (rounds + 1)), 0, "round", { k });
  }
  const rows = sim.run();
  const header = [
    "nvmx-replay example trace: multi-vcpu.csv",
    "",
    "Models: 4 vCPUs whose vmcs12s all point at ONE L1 bitmap page (0x30000), which L1 edits",
    "while L2 is running on the other vCPUs. The page is loaded from multi-vcpu-l1.json, the",
    "global long-mode x2APIC/APICv bitmap KVM shared between all vCPUs before 2018. An",
    "introspection agent in L1 arms and disarms interception of KERNEL_GS_BASE (writes, or",
    "reads and writes) and of FS_BASE writes on that shared page, at the request of its",
    `in-guest part (a VMCALL exit on vCPU 0). ${rounds} rounds, each one:`,
    "  1. every vCPU runs a Wine thread; vCPUs 1-3 exit (EXTERNAL_INTERRUPT), are re-entered",
    "     and write EOI (passed by L1), so L2 is running on them;",
    "  2. vCPU 0: vmexit VMCALL, bitmap-set on 0x30000, vmentry;",
    "  3. vCPUs 1-3 touch the edited MSR (arch_prctl ARCH_SET_GS / ARCH_GET_GS / ARCH_SET_FS)",
    "     before their next entry: an edit of a bitmap in use, which the SDM leaves undefined;",
    "  4. vCPUs 1-3 exit (EXTERNAL_INTERRUPT), are re-entered and touch it again; vCPU 0 too.",
    "Between rounds: the linux-kvm.csv workload model (timer, interrupts, IPIs, idle, context",
    "switches with FS_BASE/KERNEL_GS_BASE/SPEC_CTRL/PRED_CMD writes, EPT exits).",
    "",
    `Generated by ${SCRIPT} (mulberry32, seed ${hx(SEED_MULTI)}); regenerate with`,
    "`node scripts/make-traces.mjs` rather than editing. t = seconds since the start of",
    "the recording (what `compare --window 50ms` reads; otherwise carried through).",
    "",
    "Expected comparison (qualitative; run the replayer for the figures):",
    "- step 3 accesses fall in the undefined window: the replayer does not judge them.",
    "- merged: the first edit after a merge takes a write-protection fault and marks the",
    "  shadows of all four vCPUs stale (they share the page), so each re-merges at its next",
    "  entry: step 4 is delivered as L1 now asks. No violations.",
    "- merged-eager: no faults; a merge on every entry; no violations.",
    "- merged-stale: the shadows are never rebuilt (same pointer, mode and L0 overrides), so",
    "  after an arm, step-4 accesses and later context switches on every vCPU still complete",
    "  in L2 while L1 wants them: violations on all four vCPUs, not only the editing one.",
    "- l1-filter and no-bitmap: unaffected by the edits.",
    "",
  ];
  return { csv: toCsv(header, COLUMNS, rows), rows };
}

// ---------------------------------------------------------------------------
// 4. edge-cases.csv (hand-written, no randomness)
// ---------------------------------------------------------------------------
function genEdge() {
  const C = (comment) => ({ comment });
  const B = () => ({ comment: "" }); // blank line (ignored by the replayer)
  const r = (event, vcpu, f = {}) => ({ event, vcpu: String(vcpu), ...f });
  const wr = (v, msr, value) => r("wrmsr", v, { msr, value });
  const rd = (v, msr) => r("rdmsr", v, { msr });
  const rows = [
    C("--- setup: L1 writes its bitmap pages (shared guest memory, any vCPU may write them)"),
    C("0x40000: every MSR with a bit passes; 0x41000: only the four range ends pass;"),
    C("0x42000: kvm-l1.bin = kvm-l1.json as the raw 4096-byte page (KVM L1 bitmap)."),
    r("bitmap-load", 0, { page: "0x40000", file: "edge-pass-all.json" }),
    r("bitmap-load", 0, { page: "0x41000", file: "edge-range-ends.json" }),
    r("bitmap-load", 0, { page: "0x42000", file: "kvm-l1.bin" }),
    B(),
    C('--- (a) vCPU 1: L1 does not use MSR bitmaps ("use MSR bitmaps" = 0, no pointer at all).'),
    C("Every access exits to L0 and is reflected to L1 under every strategy, even FS_BASE."),
    r("use-bitmap", 1, { value: "0" }),
    r("vmentry", 1),
    wr(1, "0xc0000100", "0x7f3a1c2b4740"),
    wr(1, "0xc0000102", "0x0"),
    rd(1, "0x10"),
    wr(1, "0x48", "0x1"),
    wr(1, "0x49", "0x1"),
    wr(1, "0x80b", "0x0"),
    wr(1, "0x6e0", "0x2f1c3b1e4a80"),
    rd(1, "0x1a0"),
    r("vmexit", 1, { value: "HLT" }),
    r("vmentry", 1),
    wr(1, "0xc0000100", "0x7f3a1b8f3640"),
    C("(a) continued: L1 turns bitmaps on, pointing at the KVM L1 page; the same accesses"),
    C("are now filtered: FS_BASE, KERNEL_GS_BASE, TSC read, SPEC_CTRL, PRED_CMD, EOI stop"),
    C("reaching L1; TSC_DEADLINE and MISC_ENABLE still do."),
    r("bitmap-ptr", 1, { page: "0x42000" }),
    r("use-bitmap", 1, { value: "1" }),
    r("vmentry", 1),
    wr(1, "0xc0000100", "0x7f3a1c2b4740"),
    wr(1, "0xc0000102", "0x0"),
    rd(1, "0x10"),
    wr(1, "0x48", "0x1"),
    wr(1, "0x49", "0x1"),
    wr(1, "0x80b", "0x0"),
    wr(1, "0x6e0", "0x2f1c3b5f8e00"),
    rd(1, "0x1a0"),
    B(),
    C("--- (b) vCPU 0, L1 bitmap passes everything (0x40000). MSRs outside both bitmap ranges"),
    C("have no bit: they exit to L0 and are reflected to L1 whatever any bitmap says. For"),
    C("contrast 0x1fff and 0xc0001fff, the last MSRs with a bit, do not reach L1."),
    r("bitmap-ptr", 0, { page: "0x40000" }),
    r("use-bitmap", 0, { value: "1" }),
    r("vmentry", 0),
    rd(0, "0x1fff"),
    rd(0, "0x2000"),
    wr(0, "0x2000", "0x0"),
    rd(0, "0xbfffffff"),
    rd(0, "0xc0001fff"),
    rd(0, "0xc0002000"),
    wr(0, "0xc0002000", "0x1"),
    C("Hyper-V HV_X64_MSR_GUEST_OS_ID (Linux 6.10 guest id), then read back"),
    wr(0, "0x40000000", "0x810000060a000000"),
    rd(0, "0x40000000"),
    C("KVM MSR_KVM_WALL_CLOCK_NEW (guest-physical address of the wall-clock structure)"),
    wr(0, "0x4b564d00", "0x2a01000"),
    C("AMD MSR_K7_EVNTSEL0 (enable, INT, OS, USR, event 0x76)"),
    wr(0, "0xc0010000", "0x530076"),
    rd(0, "0xc0010000"),
    C("the largest 32-bit index, and a full 64-bit value"),
    wr(0, "0xffffffff", "0xffffffffffffffff"),
    C("a vmexit without a reason name (the value is optional)"),
    r("vmexit", 0),
    r("vmentry", 0),
    C("RFC 4180 quoting is allowed: the reason below is a quoted field"),
    r("vmexit", 0, { value: '"EPT_VIOLATION"' }),
    r("vmentry", 0),
    B(),
    C("--- (c) vCPU 2: range ends 0x0, 0x1fff, 0xc0000000, 0xc0001fff, read and written."),
    C("L1 passes exactly those four (0x41000); their neighbours stay intercepted by L1."),
    r("bitmap-ptr", 2, { page: "0x41000" }),
    r("use-bitmap", 2, { value: "1" }),
    C("no vmentry row: the first L2 event implies the nested entry"),
    rd(2, "0x1"),
    rd(2, "0x0"),
    wr(2, "0x0", "0x0"),
    C("L0 (default profile) still intercepts the edges: 0x0 above exits to L0, 0x1 to L1."),
    C("L0 now passes three of them through too, while L2 runs (merged strategies re-merge at once)."),
    r("l0-set", 2, { msr: "0x0", dir: "rw", value: "0" }),
    r("l0-set", 2, { msr: "0x1fff", dir: "r", value: "0" }),
    r("l0-set", 2, { msr: "0x1fff", dir: "w", value: "0" }),
    r("l0-set", 2, { msr: "0xc0000000", dir: "rw", value: "0" }),
    C("a vmentry while L2 is already running is a no-op"),
    r("vmentry", 2),
    rd(2, "0x0"),
    wr(2, "0x0", "0x0"),
    rd(2, "0x1fff"),
    wr(2, "0x1fff", "0x1"),
    rd(2, "0xc0000000"),
    wr(2, "0xc0000000", "0xffffffff"),
    C("0xc0001fff: L1 passes it but L0 does not yet, so it exits to L0 only"),
    rd(2, "0xc0001fff"),
    wr(2, "0xc0001fff", "0x0"),
    C("neighbours: L1 intercepts them"),
    rd(2, "0x1"),
    wr(2, "0x1ffe", "0x0"),
    rd(2, "0xc0000001"),
    wr(2, "0xc0001ffe", "0x0"),
    C("l0-set while L2 is not running on vCPU 2: the next entry rebuilds the shadow"),
    r("vmexit", 2, { value: "EXTERNAL_INTERRUPT" }),
    r("l0-set", 2, { msr: "0xc0001fff", dir: "rw", value: "0" }),
    r("vmentry", 2),
    rd(2, "0xc0001fff"),
    wr(2, "0xc0001fff", "0x0"),
    C("L0 intercepts 0x0 again (value 1), e.g. to trace it"),
    r("l0-set", 2, { msr: "0x0", dir: "rw", value: "1" }),
    rd(2, "0x0"),
    wr(2, "0x0", "0x0"),
    rd(2, "0x1fff"),
    B(),
    C("--- (d) vCPU 0: L1 leaves long mode and comes back. L0 picks its vmcs01 bitmap by L1's"),
    C("mode: in legacy mode the kvm-2013 profile intercepts KERNEL_GS_BASE, so the merged"),
    C("shadow must be rebuilt at the next entry (and again on the way back)."),
    wr(0, "0xc0000102", "0x0"),
    r("l1-mode", 0, { value: "legacy" }),
    r("vmentry", 0),
    wr(0, "0xc0000102", "0x7ffde000"),
    rd(0, "0xc0000102"),
    wr(0, "0xc0000100", "0x7f3a1c2b4740"),
    wr(0, "0x176", "0xffffffff81a01e70"),
    rd(0, "0x174"),
    r("vmexit", 0, { value: "HLT" }),
    r("l1-mode", 0, { value: "longmode" }),
    r("vmentry", 0),
    wr(0, "0xc0000102", "0x7ffde000"),
    rd(0, "0xc0000102"),
    wr(0, "0xc0000100", "0x7f3a1c2b4740"),
    wr(0, "0x176", "0xffffffff81a01e70"),
    rd(0, "0x174"),
    B(),
    C("--- (e) vCPU 3: L1 switches the bitmap pointer between pages."),
    C("Page A = 0x42000 (KVM L1 bitmap, shared read-only with vCPU 1). Page B = 0x43000 is"),
    C("created by a bitmap-set alone: it starts all zeros (everything passes) and then"),
    C("intercepts TSC_DEADLINE writes. MSR indices may be decimal: 16 = 0x10 (TSC)."),
    r("bitmap-ptr", 3, { page: "0x42000" }),
    r("use-bitmap", 3, { value: "1" }),
    r("vmentry", 3),
    wr(3, "0xc0000100", "0x7f52e09c3740"),
    wr(3, "0x6e0", "0x2f1c3c0a1b00"),
    rd(3, "16"),
    wr(3, "0x48", "0x5"),
    rd(3, "0x1a0"),
    r("bitmap-set", 3, { msr: "0x6e0", page: "0x43000", dir: "w", value: "1" }),
    r("bitmap-ptr", 3, { page: "0x43000" }),
    r("vmentry", 3),
    wr(3, "0xc0000100", "0x7f52e09c3740"),
    wr(3, "0x6e0", "0x2f1c3c4b2f00"),
    rd(3, "16"),
    wr(3, "0x48", "0x1"),
    rd(3, "0x1a0"),
    C("back to page A: the merged strategies must not reuse the shadow built from B"),
    r("bitmap-ptr", 3, { page: "0x42000" }),
    r("vmentry", 3),
    wr(3, "0x6e0", "0x2f1c3c8c4300"),
    rd(3, "0x1a0"),
    C("L1 edits B while no vCPU uses it: B was write-protected when merged, so merged takes"),
    C("a fault here, but no shadow is built from B, so nothing is marked stale"),
    r("bitmap-set", 3, { msr: "0x1a0", page: "0x43000", dir: "r", value: "1" }),
    r("vmentry", 3),
    rd(3, "0x1a0"),
    C("pointer back to B: MISC_ENABLE reads now reach L1"),
    r("bitmap-ptr", 3, { page: "0x43000" }),
    r("vmentry", 3),
    rd(3, "0x1a0"),
    wr(3, "0x6e0", "0x2f1c3ccd5700"),
    wr(3, "0xc0000100", "0x7f52e09c3740"),
  ];
  const header = [
    "nvmx-replay example trace: edge-cases.csv",
    "",
    "Models: small hand-readable corner cases, in the spirit of kvm-unit-tests' MSR tests:",
    "(a) L1 not using MSR bitmaps, then turning them on; (b) MSRs outside both bitmap ranges;",
    "(c) the ends of both ranges, with l0-set (value 0 = L0 passes the MSR through, 1 =",
    "intercepts) so that L0 passes them too; (d) L1 switching to legacy mode and back;",
    "(e) L1 switching the bitmap pointer between two pages, one created by bitmap-set alone.",
    "Each section is introduced by a comment. The L0 profile assumed in the comments is the",
    "default, kvm-2013. Snapshots: edge-pass-all.json, edge-range-ends.json, kvm-l1.bin.",
    "",
    `Written verbatim by ${SCRIPT} (no randomness); regenerate with`,
    "`node scripts/make-traces.mjs` rather than editing.",
    "",
    "Expected comparison (qualitative; run the replayer for the figures):",
    "- (a): every strategy reflects every access to L1 while use-bitmap is 0; afterwards the",
    "  strategies differ as in linux-kvm.csv.",
    '- (b): the out-of-range accesses are delivered to L1 under every strategy, never "none".',
    "- (c): once both L1 and L0 pass an edge, the merged strategies complete its accesses in",
    "  L2 (no exit); l1-filter still exits to L0 for each; no-bitmap reflects them all to L1.",
    "  Each l0-set while L2 runs costs a merge at once under the merged strategies.",
    "- (d): under kvm-2013, KERNEL_GS_BASE exits to L0 in legacy mode and not in long mode;",
    "  the merged strategies (merged-stale too) re-merge at both mode changes. No violations.",
    "- (e): every pointer change forces a re-merge; the edit of page B while it is not in use",
    "  costs merged one write-protection fault. No strategy should report violations here.",
    "",
  ];
  return { csv: toCsv(header, ["event", "vcpu", "msr", "value", "page", "dir", "file"], rows), rows };
}

// ---------------------------------------------------------------------------
// README
// ---------------------------------------------------------------------------
function genReadme(counts) {
  return `# Example traces

Generated by \`${SCRIPT}\` (deterministic: fixed seeds, byte-identical
output on every run). Do not edit them by hand: change the script and
regenerate with

    node scripts/make-traces.mjs

which rewrites every file in this folder and then re-reads and checks them
(\`node scripts/make-traces.mjs --check\` only checks). The format is the one in
the behaviour contract: CSV traces with \`#\` comment lines, JSON bitmap
snapshots \`{"default", "pass", "intercept"}\` with hex SPEC strings, and one raw
4096-byte \`.bin\` page. Paths in a trace's \`file\` column are relative to this
folder. Each trace's opening comments say what it models, how it was generated
and what a comparison of the strategies is expected to show.

**linux-kvm.csv** (${counts["linux-kvm.csv"]} events, 4 vCPUs). A Linux L2 running a mixed
workload under a KVM L1 with APICv: context switches (FS_BASE, the rarer
KERNEL_GS_BASE, SPEC_CTRL, IBPB through PRED_CMD), TSC-deadline timer ticks,
x2APIC EOI and ICR (IPI) writes, occasional reads of TSC, MISC_ENABLE and other
MSRs, and non-MSR exits that L1 handles before re-entering L2. All vCPUs point
at one page, 0x10000, loaded once from \`kvm-l1.json\`: KVM's own vmcs01 bitmap
for such a guest (FS/GS/KERNEL_GS_BASE, SYSENTER_*, TSC reads, SPEC_CTRL,
PRED_CMD and FLUSH_CMD writes, x2APIC reads, TPR, EOI and SELF_IPI pass; TMCCT
and everything else, including TSC_DEADLINE and ICR writes, is intercepted). L1
never edits the page, so this is the steady-state baseline.

**bitmap-churn.csv** (${counts["bitmap-churn.csv"]} events, 2 vCPUs). An L1 that edits its bitmap
every few dozen events: an introspection agent that arms write interception of
FS_BASE and KERNEL_GS_BASE (\`bitmap-set\`) whenever the watched L2 process is
switched in (seen through CR3-load exits) and disarms it when another process
is. Each vCPU has its own page (0x20000, 0x21000), both loaded from
\`kvm-l1.json\`. Shows the write-protection fault the \`merged\` strategy pays
per arm or disarm, the merges \`merged-eager\` pays per entry, and the
violations of \`merged-stale\`.

**multi-vcpu.csv** (${counts["multi-vcpu.csv"]} events, 4 vCPUs). Four vCPUs share one L1
bitmap page (0x30000, from \`multi-vcpu-l1.json\`, the global bitmap KVM used
before 2018). L1 on vCPU 0 edits it with \`bitmap-set\` while L2 runs on vCPUs
1-3, which then touch the edited MSR before and after their next \`vmentry\`:
the SDM-undefined window, stale shadows on vCPUs that did not edit, and the
violations \`merged-stale\` gets on all of them.

**edge-cases.csv** (${counts["edge-cases.csv"]} events, 4 vCPUs, hand-written). Corner cases in
commented sections: (a) \`use-bitmap 0\` (every access reflected to L1), then
bitmaps turned on; (b) MSRs with no bit (0x2000, 0xc0002000, 0x40000000,
0x4b564d00, 0xc0010000, ...), which exit whatever the bitmaps say; (c) the
range ends 0x0, 0x1fff, 0xc0000000, 0xc0001fff read and written, passed by L1
(\`edge-range-ends.json\`) and, through \`l0-set\` rows, by L0; (d) \`l1-mode\`
legacy and back; (e) \`bitmap-ptr\` switches between two pages, one of them
(\`kvm-l1.bin\`, the raw form of \`kvm-l1.json\`) loaded from a binary snapshot and
one created by \`bitmap-set\` alone. Also uses \`edge-pass-all.json\`, decimal MSR
indices and a quoted CSV field.

## Recorded traces: \`real/\`

Recorded with \`nvmx-replay record\` inside a Linux 6.18 guest with 2 vCPUs (an AMD
EPYC host), each gzipped; each opens with comments giving the kernel, CPU model,
vCPUs, workload, duration and date. They are the L2 view: every RDMSR and WRMSR
the guest kernel made through its traced accessors, and no exits for other
reasons and no bitmap rows (give L1's bitmap with \`--l1-profile\` or
\`--l1-bitmap\`).

**real/idle.csv.gz** (2,319 accesses in 10 s). The guest idle: TSC_DEADLINE
timer writes (0x6E0), x2APIC ICR writes (0x830) for the occasional IPI, a few
TSC_ADJUST reads (0x3B).

**real/build.csv.gz** (21,170 accesses in 6.4 s). Two TypeScript compiles of
this project at once (\`sh -c 'npx tsc -p tsconfig.json & npx tsc -p
test/tsconfig.json & wait'\`): mostly ICR writes, the IPIs of a busy
two-vCPU guest, then timer writes.

**real/ipi.csv.gz** (22,213 accesses in 0.7 s). Two threads waking each other
20,000 times through a futex (\`node scripts/workloads/ipi-pingpong.mjs\`): ICR
and TSC_DEADLINE writes at a high rate.

Recorded again on another machine they differ, as any recording does; the README
says what they show.
`;
}

// ---------------------------------------------------------------------------
// Self-check: re-read the files and assert the replayer's rules.
// ---------------------------------------------------------------------------
const EVENTS = new Set([
  "rdmsr",
  "wrmsr",
  "vmexit",
  "vmentry",
  "bitmap-load",
  "bitmap-set",
  "bitmap-ptr",
  "use-bitmap",
  "l1-mode",
  "l0-set",
]);
const L2_EVENTS = new Set(["rdmsr", "wrmsr", "vmexit"]);
const L1_EVENTS = new Set(["bitmap-load", "bitmap-set", "bitmap-ptr", "use-bitmap", "l1-mode"]);

function splitCsvLine(line) {
  // RFC 4180 fields on one line (no embedded newlines in these traces)
  const out = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = "";
      i++;
      for (;;) {
        if (i >= line.length) throw new Error("unterminated quoted field");
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      out.push(v);
      if (i === line.length) return out;
      if (line[i] !== ",") throw new Error("text after a closing quote");
      i++;
    } else {
      const j = line.indexOf(",", i);
      if (j < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, j));
      i = j + 1;
    }
  }
}

function parseU32(s) {
  let n;
  if (/^0x[0-9a-fA-F]+$/.test(s)) n = Number.parseInt(s.slice(2), 16);
  else if (/^[0-9]+$/.test(s)) n = Number.parseInt(s, 10);
  else return undefined;
  return n <= 0xffffffff ? n : undefined;
}

function parseU64(s) {
  let n;
  if (/^0x[0-9a-fA-F]+$/.test(s)) n = BigInt(s);
  else if (/^[0-9]+$/.test(s)) n = BigInt(s);
  else return undefined;
  return n < 1n << 64n ? n : undefined;
}

function loadSnapshotFile(path) {
  const buf = readFileSync(path);
  if (path.endsWith(".bin")) {
    if (buf.length !== 4096) throw new Error(`${path}: ${buf.length} bytes, want 4096`);
    return new Uint8Array(buf);
  }
  if (path.endsWith(".json")) return pageFromSnapshot(JSON.parse(buf.toString("utf8")));
  throw new Error(`${path}: unknown snapshot type`);
}

// Parses and validates one trace; returns its events (with line numbers).
export function readTrace(path) {
  const text = readFileSync(path, "utf8");
  const fail = (line, msg) => {
    throw new Error(`${path}:${line}: ${msg}`);
  };
  if (text.includes("\r")) fail(0, "CR in file (want \\n line ends)");
  if (!text.endsWith("\n")) fail(0, "no final newline");
  const lines = text.split("\n").slice(0, -1);
  let header;
  const events = [];
  lines.forEach((raw, idx) => {
    const ln = idx + 1;
    if (raw.startsWith("#") || raw.trim() === "") return;
    const fields = splitCsvLine(raw);
    if (!header) {
      header = fields;
      const seen = new Set();
      for (const c of header) {
        if (!COLUMNS.includes(c)) fail(ln, `unknown column ${c}`);
        if (seen.has(c)) fail(ln, `duplicate column ${c}`);
        seen.add(c);
      }
      if (!seen.has("event")) fail(ln, "no event column");
      return;
    }
    if (fields.length !== header.length) fail(ln, `${fields.length} fields, header has ${header.length}`);
    const row = {};
    header.forEach((c, i) => {
      row[c] = fields[i];
    });
    const ev = { line: ln, event: row.event, raw: row };
    if (!EVENTS.has(ev.event)) fail(ln, `unknown event ${ev.event}`);
    const vcpu = row.vcpu === undefined || row.vcpu === "" ? 0 : parseU32(row.vcpu);
    if (vcpu === undefined || vcpu > 4095) fail(ln, `bad vcpu ${row.vcpu}`);
    ev.vcpu = vcpu;
    const need = (c) => {
      if (row[c] === undefined || row[c] === "") fail(ln, `${ev.event} needs ${c}`);
      return row[c];
    };
    const forbid = (...cs) => {
      for (const c of cs) if (row[c] !== undefined && row[c] !== "") fail(ln, `${ev.event} does not use ${c}`);
    };
    const msrOf = () => {
      const m = parseU32(need("msr"));
      if (m === undefined) fail(ln, `bad msr ${row.msr}`);
      return m;
    };
    const pageOf = () => {
      const p = parseU64(need("page"));
      if (p === undefined) fail(ln, `bad page ${row.page}`);
      if (p % 4096n !== 0n) fail(ln, `page ${row.page} not 4 KiB aligned`);
      return p;
    };
    const dirOf = () => {
      const d = need("dir");
      if (!["r", "w", "rw"].includes(d)) fail(ln, `bad dir ${d}`);
      return d;
    };
    const bitOf = () => {
      const v = need("value");
      if (v !== "0" && v !== "1") fail(ln, `value must be 0 or 1, not ${v}`);
      return Number(v);
    };
    switch (ev.event) {
      case "rdmsr":
        ev.msr = msrOf();
        forbid("value", "page", "dir", "file");
        break;
      case "wrmsr":
        ev.msr = msrOf();
        ev.value = parseU64(need("value"));
        if (ev.value === undefined) fail(ln, `bad 64-bit value ${row.value}`);
        forbid("page", "dir", "file");
        break;
      case "vmexit":
        if (row.value && !/^[A-Z][A-Z0-9_]*$/.test(row.value)) fail(ln, `odd exit reason ${row.value}`);
        forbid("msr", "page", "dir", "file");
        break;
      case "vmentry":
        forbid("msr", "value", "page", "dir", "file");
        break;
      case "bitmap-load":
        ev.page = pageOf();
        ev.file = need("file");
        forbid("msr", "value", "dir");
        break;
      case "bitmap-set":
        ev.page = pageOf();
        ev.msr = msrOf();
        if (!hasBit(ev.msr)) fail(ln, `msr ${row.msr} has no bit`);
        ev.dir = dirOf();
        ev.value = bitOf();
        forbid("file");
        break;
      case "bitmap-ptr":
        ev.page = pageOf();
        forbid("msr", "value", "dir", "file");
        break;
      case "use-bitmap":
        ev.value = bitOf();
        forbid("msr", "page", "dir", "file");
        break;
      case "l1-mode":
        ev.value = need("value");
        if (ev.value !== "longmode" && ev.value !== "legacy") fail(ln, `bad mode ${ev.value}`);
        forbid("msr", "page", "dir", "file");
        break;
      case "l0-set":
        ev.msr = msrOf();
        if (!hasBit(ev.msr)) fail(ln, `msr ${row.msr} has no bit`);
        ev.dir = dirOf();
        ev.value = bitOf();
        forbid("page", "file");
        break;
    }
    if (row.t !== undefined) ev.t = row.t === "" ? undefined : Number(row.t);
    events.push(ev);
  });
  if (!header) fail(0, "no header");
  return { header, events };
}

// Replays a trace against L1's intent (what L1 wants, from live page contents)
// and checks the state rules. Returns statistics and per-event annotations.
export function checkTrace(path) {
  const dir = dirname(path);
  const { header, events } = readTrace(path);
  const fail = (ev, msg) => {
    throw new Error(`${path}:${ev.line}: ${msg}`);
  };
  const pages = new Map(); // GPA (BigInt) -> Uint8Array
  const V = new Map();
  const vc = (v) => {
    if (!V.has(v)) V.set(v, { use: 0, ptr: undefined, mode: "longmode", running: false, pending: new Map() });
    return V.get(v);
  };
  const stats = {
    events: events.length,
    accesses: 0,
    l1Wants: 0,
    edits: 0,
    vcpus: new Set(),
    counts: {},
    undefinedWindow: 0,
    sharedEdits: 0,
    afterEditAccesses: 0,
  };
  let lastT = -Infinity;
  const l1wants = (s, msr, d) => {
    if (s.use === 0 || !hasBit(msr)) return true;
    return getBit(pages.get(s.ptr), msr, d) === 1;
  };
  const enter = (ev, s) => {
    if (s.use === 1) {
      if (s.ptr === undefined) fail(ev, `entry on vCPU ${ev.vcpu} with use-bitmap 1 and no bitmap-ptr`);
      if (!pages.has(s.ptr)) fail(ev, `entry on vCPU ${ev.vcpu}: page ${hx(s.ptr)} does not exist`);
    }
    s.running = true;
    s.pending.clear();
  };
  for (const ev of events) {
    stats.counts[ev.event] = (stats.counts[ev.event] ?? 0) + 1;
    stats.vcpus.add(ev.vcpu);
    if (ev.t !== undefined) {
      if (!(ev.t >= lastT)) fail(ev, "t goes backwards");
      lastT = ev.t;
    }
    const s = vc(ev.vcpu);
    // Any L2 event may cause an entry (under no-bitmap every access exits to L1),
    // so the pointer must be valid at every one of them, not only at vmentry rows.
    if (L2_EVENTS.has(ev.event) || ev.event === "vmentry") {
      if (s.use === 1) {
        if (s.ptr === undefined) fail(ev, `L2 event on vCPU ${ev.vcpu} with use-bitmap 1 and no bitmap-ptr`);
        if (!pages.has(s.ptr)) fail(ev, `L2 event on vCPU ${ev.vcpu}: page ${hx(s.ptr)} does not exist`);
      }
    }
    if (L2_EVENTS.has(ev.event) && !s.running) enter(ev, s);
    if (L1_EVENTS.has(ev.event)) s.running = false;
    switch (ev.event) {
      case "rdmsr":
      case "wrmsr": {
        stats.accesses++;
        const d = ev.event === "rdmsr" ? "r" : "w";
        if (s.pending.has(`${ev.msr}:${d}`)) stats.undefinedWindow++;
        else if (s.sawEdit) stats.afterEditAccesses++;
        if (l1wants(s, ev.msr, d)) {
          stats.l1Wants++;
          s.running = false;
        }
        break;
      }
      case "vmexit":
        s.running = false;
        break;
      case "vmentry":
        if (!s.running) enter(ev, s);
        break;
      case "bitmap-load": {
        const f = join(dir, ev.file);
        if (!existsSync(f)) fail(ev, `snapshot ${ev.file} not found next to the trace`);
        let pg;
        try {
          pg = loadSnapshotFile(f);
        } catch (e) {
          fail(ev, `snapshot ${ev.file}: ${e.message}`);
        }
        pages.set(ev.page, Uint8Array.from(pg));
        stats.edits++;
        break;
      }
      case "bitmap-set": {
        if (!pages.has(ev.page)) pages.set(ev.page, new Uint8Array(4096));
        const pg = pages.get(ev.page);
        const changed = [];
        for (const d of dirsOf(ev.dir)) {
          if (getBit(pg, ev.msr, d) !== ev.value) changed.push(d);
        }
        setBit(pg, ev.msr, ev.dir, ev.value);
        stats.edits++;
        // L2 running elsewhere on this page: the SDM-undefined window
        for (const [u, o] of V) {
          if (u !== ev.vcpu && o.running && o.use === 1 && o.ptr === ev.page) {
            stats.sharedEdits++;
            for (const d of changed) o.pending.set(`${ev.msr}:${d}`, ev.line);
            o.sawEdit = true;
          }
        }
        s.sawEdit = true;
        break;
      }
      case "bitmap-ptr":
        if (!pages.has(ev.page)) fail(ev, `bitmap-ptr to ${hx(ev.page)}, which no bitmap-load or bitmap-set wrote yet`);
        s.ptr = ev.page;
        break;
      case "use-bitmap":
        s.use = ev.value;
        break;
      case "l1-mode":
        s.mode = ev.value;
        break;
      case "l0-set":
        break;
    }
  }
  stats.vcpus = [...stats.vcpus].sort((a, b) => a - b);
  return { header, events, stats, pages };
}

function assert(cond, msg) {
  if (!cond) throw new Error(`self-check: ${msg}`);
}

function selfCheck() {
  const results = {};
  for (const name of ["linux-kvm.csv", "bitmap-churn.csv", "multi-vcpu.csv", "edge-cases.csv"]) {
    results[name] = checkTrace(join(OUT, name));
  }
  // snapshots: every JSON parses, and the .bin is kvm-l1.json as bytes
  for (const f of readdirSync(OUT)) {
    if (f.endsWith(".json") || f.endsWith(".bin")) loadSnapshotFile(join(OUT, f));
  }
  const a = loadSnapshotFile(join(OUT, "kvm-l1.json"));
  const b = loadSnapshotFile(join(OUT, "kvm-l1.bin"));
  assert(Buffer.from(a).equals(Buffer.from(b)), "kvm-l1.bin differs from kvm-l1.json");
  // spot checks of the KVM L1 page against the brief
  const want = [
    [MSR.FS_BASE, "r", 0],
    [MSR.FS_BASE, "w", 0],
    [MSR.KERNEL_GS_BASE, "w", 0],
    [MSR.SYSENTER_EIP, "w", 0],
    [MSR.TSC, "r", 0],
    [MSR.TSC, "w", 1],
    [MSR.SPEC_CTRL, "w", 0],
    [MSR.PRED_CMD, "w", 0],
    [MSR.PRED_CMD, "r", 1],
    [MSR.FLUSH_CMD, "w", 0],
    [MSR.X2APIC_TPR, "w", 0],
    [MSR.X2APIC_EOI, "w", 0],
    [MSR.X2APIC_SELF_IPI, "w", 0],
    [MSR.X2APIC_ICR, "r", 0],
    [MSR.X2APIC_ICR, "w", 1],
    [MSR.TSC_DEADLINE, "w", 1],
    [MSR.MISC_ENABLE, "r", 1],
    [MSR.X2APIC_TMCCT, "r", 1],
    [0x8ff, "r", 1],
    [0x8ff, "w", 1],
  ];
  for (const [m, d, v] of want) assert(getBit(a, m, d) === v, `kvm-l1 bit ${hx(m)}:${d} should be ${v}`);

  const lk = results["linux-kvm.csv"].stats;
  assert(lk.events >= 3000 && lk.events <= 5000, `linux-kvm has ${lk.events} events`);
  assert(lk.vcpus.join() === "0,1,2,3", "linux-kvm uses vCPUs 0-3");
  assert((lk.counts["bitmap-load"] ?? 0) === 1 && !lk.counts["bitmap-set"], "linux-kvm: one load, no edits");
  const fsW = results["linux-kvm.csv"].events.filter((e) => e.event === "wrmsr" && e.msr === MSR.FS_BASE).length;
  const kgsW = results["linux-kvm.csv"].events.filter(
    (e) => e.event === "wrmsr" && e.msr === MSR.KERNEL_GS_BASE,
  ).length;
  assert(kgsW > 0 && kgsW < fsW, "linux-kvm: KERNEL_GS_BASE writes rarer than FS_BASE writes");
  for (const m of [MSR.SPEC_CTRL, MSR.PRED_CMD, MSR.TSC_DEADLINE, MSR.X2APIC_EOI, MSR.X2APIC_ICR]) {
    assert(
      results["linux-kvm.csv"].events.some((e) => e.event === "wrmsr" && e.msr === m),
      `linux-kvm writes ${hx(m)}`,
    );
  }
  for (const m of [MSR.TSC, MSR.MISC_ENABLE, MSR.GS_BASE]) {
    assert(
      results["linux-kvm.csv"].events.some((e) => e.event === "rdmsr" && e.msr === m),
      `linux-kvm reads ${hx(m)}`,
    );
  }

  const ch = results["bitmap-churn.csv"].stats;
  assert(ch.events >= 1500 && ch.events <= 2500, `bitmap-churn has ${ch.events} events`);
  assert(ch.counts["bitmap-set"] >= 40, "bitmap-churn edits often");
  assert(ch.sharedEdits === 0, "bitmap-churn edits no page in use on another vCPU");

  const mv = results["multi-vcpu.csv"];
  assert(mv.stats.events >= 1000 && mv.stats.events <= 2000, `multi-vcpu has ${mv.stats.events} events`);
  assert(mv.stats.vcpus.join() === "0,1,2,3", "multi-vcpu uses vCPUs 0-3");
  // every edit happens on vCPU 0 while L2 runs on all of 1-3, and each of them
  // touches the edited bits before and after its next entry
  const edits = mv.events.filter((e) => e.event === "bitmap-set");
  assert(edits.length === MULTI_EDITS.length, "multi-vcpu: one bitmap-set per round");
  assert(
    edits.every((e) => e.vcpu === 0),
    "multi-vcpu: vCPU 0 edits",
  );
  assert(
    mv.stats.sharedEdits === 3 * edits.length,
    `multi-vcpu: ${mv.stats.sharedEdits} edit/running-vCPU pairs, want ${3 * edits.length}`,
  );
  assert(mv.stats.undefinedWindow >= 3 * edits.length, "multi-vcpu: accesses in the undefined window");
  for (const e of edits) {
    const i = mv.events.indexOf(e);
    for (let u = 1; u <= 3; u++) {
      const later = mv.events.slice(i + 1).filter((x) => x.vcpu === u);
      const firstEntry = later.findIndex((x) => x.event === "vmentry");
      const touches = (x) => (x.event === "wrmsr" || x.event === "rdmsr") && x.msr === e.msr;
      assert(
        firstEntry > 0 && later.slice(0, firstEntry).some(touches),
        `multi-vcpu line ${e.line}: vCPU ${u} touches ${hx(e.msr)} before its next entry`,
      );
      assert(
        later.slice(firstEntry + 1, firstEntry + 4).some(touches),
        `multi-vcpu line ${e.line}: vCPU ${u} touches ${hx(e.msr)} after its next entry`,
      );
    }
  }

  const ed = results["edge-cases.csv"];
  assert(ed.stats.events >= 100 && ed.stats.events <= 200, `edge-cases has ${ed.stats.events} events`);
  const E = ed.events;
  assert(
    E.some((e) => e.event === "use-bitmap" && e.value === 0),
    "edge: use-bitmap 0",
  );
  for (const m of [0x2000, 0xc0002000, 0x40000000, 0x4b564d00, 0xc0010000]) {
    assert(
      E.some((e) => (e.event === "rdmsr" || e.event === "wrmsr") && e.msr === m),
      `edge: access to ${hx(m)}`,
    );
  }
  for (const m of [0x0, 0x1fff, 0xc0000000, 0xc0001fff]) {
    assert(
      E.some((e) => e.event === "rdmsr" && e.msr === m) && E.some((e) => e.event === "wrmsr" && e.msr === m),
      `edge: ${hx(m)} read and written`,
    );
    assert(
      E.some((e) => e.event === "l0-set" && e.msr === m && e.value === 0),
      `edge: l0-set passes ${hx(m)}`,
    );
    assert(
      getBit(ed.pages.get(0x41000n), m, "r") === 0 && getBit(ed.pages.get(0x41000n), m, "w") === 0,
      `edge: L1 passes ${hx(m)}`,
    );
  }
  assert(
    E.some((e) => e.event === "l1-mode" && e.value === "legacy") &&
      E.some((e) => e.event === "l1-mode" && e.value === "longmode"),
    "edge: l1-mode both ways",
  );
  const ptr3 = new Set(E.filter((e) => e.event === "bitmap-ptr" && e.vcpu === 3).map((e) => e.page));
  assert(ptr3.size >= 2, "edge: bitmap-ptr switch between pages");

  const counts = {};
  for (const [k, v] of Object.entries(results)) counts[k] = v.stats.events;
  return { results, counts };
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------
function generate() {
  const files = new Map();
  const json = (o) => `${JSON.stringify(o, null, 2)}\n`;
  files.set("kvm-l1.json", json(KVM_L1));
  files.set("kvm-l1.bin", Buffer.from(pageFromSnapshot(KVM_L1)));
  files.set("multi-vcpu-l1.json", json(MULTI_L1));
  files.set("edge-pass-all.json", json(EDGE_PASS_ALL));
  files.set("edge-range-ends.json", json(EDGE_RANGE_ENDS));
  const traces = {
    "linux-kvm.csv": genLinuxKvm(),
    "bitmap-churn.csv": genChurn(),
    "multi-vcpu.csv": genMulti(),
    "edge-cases.csv": genEdge(),
  };
  const counts = {};
  for (const [name, t] of Object.entries(traces)) {
    files.set(name, t.csv);
    counts[name] = t.rows.filter((r) => r.comment === undefined).length;
  }
  files.set("README.md", genReadme(counts));
  return files;
}

function sameFiles(a, b) {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !Buffer.from(v).equals(Buffer.from(w))) return false;
  }
  return true;
}

function main() {
  const checkOnly = process.argv.includes("--check");
  if (!checkOnly) {
    const files = generate();
    assert(sameFiles(files, generate()), "two generations differ: the script is not deterministic");
    mkdirSync(OUT, { recursive: true });
    for (const [name, content] of files) writeFileSync(join(OUT, name), content);
  }
  const { results, counts } = selfCheck();
  for (const [name, r] of Object.entries(results)) {
    const s = r.stats;
    console.log(
      `${name}: ${counts[name]} events, vCPUs ${s.vcpus.join(",")}, ${s.accesses} accesses ` +
        `(${s.l1Wants} wanted by L1), ${s.counts["bitmap-set"] ?? 0} bitmap-set, ` +
        `${s.counts.vmexit ?? 0} vmexit, ${s.counts.vmentry ?? 0} vmentry`,
    );
  }
  console.log(checkOnly ? "traces/ checked: OK" : "traces/ written and checked: OK");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
