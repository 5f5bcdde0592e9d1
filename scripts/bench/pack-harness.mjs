// scripts/bench/pack-harness.mjs — the measuring end of scripts/pack-bench.mjs,
// which bundles it (with src/ and apache-arrow) into .bench-cache/ and runs it
// as a separate process per measurement:
//
//   node pack-harness.bundle.mjs write-arrow TRACE.csv OUT.arrow
//   node pack-harness.bundle.mjs decode-arrow|decode-own|decode-own-columns|decode-csv FILE
//
// write-arrow reads the CSV with the tool's own reader and writes Arrow IPC
// (the file format, Feather v2), one record batch per 64 Ki events, one column
// per event field, as a user would want it in pandas, polars or DuckDB.
// decode-* hands every event of FILE to a ReplayFront (the machine and the
// entry checks), its batches dropped: the cost of getting events into the
// replay, the same for every format. decode-own and decode-csv read through
// readTrace one event at a time; decode-own-columns as the commands read a
// packed file, its runs of L2 events handed over in columns (onColumns).

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { RecordBatchFileWriter, RecordBatchReader, tableFromArrays } from "apache-arrow";
import { blankEvent, Ev } from "../../src/engine/events.js";
import { ReplayFront } from "../../src/engine/front.js";
import { findL0Profile } from "../../src/engine/profiles.js";
import { readTrace } from "../../src/io/trace-reader.js";

const BLOCK = 1 << 16;
const [mode, file, out] = process.argv.slice(2);

function front() {
  const { longmode, legacy } = findL0Profile("kvm-2013").bitmaps();
  return new ReplayFront({ l0: { longmode, legacy }, l1Bitmap: null, emit: () => undefined });
}

async function writeArrow() {
  const cols = {
    event: new Uint8Array(BLOCK),
    vcpu: new Uint16Array(BLOCK),
    msr: new Uint32Array(BLOCK),
    line: new Uint32Array(BLOCK),
    page: new Float64Array(BLOCK),
    dir: new Uint8Array(BLOCK),
    flag: new Uint8Array(BLOCK),
    snapshot: new Int32Array(BLOCK),
  };
  const snapshots = new Map();
  let writer = null;
  let sink = null;
  let n = 0;
  const flush = () => {
    if (n === 0) return;
    const table = tableFromArrays(Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v.slice(0, n)])));
    if (writer === null) {
      // The snapshots (4 KiB pages, base64) ride in the schema's metadata.
      const pages = [...snapshots.keys()].map((p) => Buffer.from(p).toString("base64"));
      table.schema.metadata.set("nvmx-replay.snapshots", JSON.stringify(pages));
      writer = new RecordBatchFileWriter();
      sink = pump(writer);
    }
    for (const batch of table.batches) writer.write(batch);
    n = 0;
  };
  await readTrace({
    file,
    onEvent: (ev) => {
      cols.event[n] = ev.code;
      cols.vcpu[n] = ev.vcpu;
      cols.msr[n] = ev.code <= Ev.wrmsr || ev.code === Ev.bitmapSet || ev.code === Ev.l0Set ? ev.msr : 0;
      cols.line[n] = ev.line;
      const machine = ev.code >= Ev.bitmapLoad;
      cols.page[n] = machine ? ev.page : 0;
      cols.dir[n] = machine ? ev.dir : 0;
      cols.flag[n] = machine ? ev.flag : 0;
      let s = -1;
      if (ev.code === Ev.bitmapLoad && ev.content) {
        s = snapshots.get(ev.content) ?? snapshots.size;
        snapshots.set(ev.content, s);
      }
      cols.snapshot[n] = s;
      if (++n === BLOCK) flush();
    },
  });
  flush();
  writer.finish();
  await sink;
}

/** The writer's bytes to the file. (Its toNodeStream() needs an adapter that bundling drops.) */
async function pump(writer) {
  const stream = createWriteStream(out);
  for await (const chunk of writer) if (!stream.write(chunk)) await once(stream, "drain");
  stream.end();
  await finished(stream);
}

async function* bytesOf(path) {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) yield new Uint8Array(chunk);
}

async function decodeArrow() {
  const f = front();
  const ev = blankEvent();
  const reader = await RecordBatchReader.from(bytesOf(file));
  let pages = null;
  let events = 0;
  for await (const batch of reader) {
    pages ??= JSON.parse(reader.schema.metadata.get("nvmx-replay.snapshots")).map(
      (b) => new Uint8Array(Buffer.from(b, "base64")),
    );
    const col = (name) => batch.getChild(name).data[0].values;
    const [event, vcpu, msr, line, page, dir, flag, snapshot] = [
      "event",
      "vcpu",
      "msr",
      "line",
      "page",
      "dir",
      "flag",
      "snapshot",
    ].map(col);
    for (let i = 0; i < batch.numRows; i++) {
      const code = event[i];
      ev.code = code;
      ev.vcpu = vcpu[i];
      ev.line = line[i];
      ev.msr = msr[i];
      if (code >= Ev.bitmapLoad) {
        ev.page = page[i];
        ev.dir = dir[i];
        ev.flag = flag[i];
        ev.content = snapshot[i] >= 0 ? pages[snapshot[i]] : null;
      } else ev.content = null;
      f.apply(ev);
    }
    events += batch.numRows;
  }
  return events;
}

async function decodeWithReadTrace(columns) {
  const f = front();
  const stats = await readTrace({
    file,
    onEvent: (ev) => f.apply(ev),
    ...(columns ? { onColumns: (c, from, to) => f.queueColumns(c, from, to) } : {}),
  });
  return stats.events;
}

if (mode === "write-arrow") await writeArrow();
else {
  const events =
    mode === "decode-arrow" ? await decodeArrow() : await decodeWithReadTrace(mode === "decode-own-columns");
  process.stderr.write(`events=${events}\nmaxrss_kib=${process.resourceUsage().maxRSS}\n`);
}
