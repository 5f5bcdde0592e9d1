#!/usr/bin/env node
// scripts/bench/byte-scan.mjs — the byte-scanning floor of scripts/bench.mjs:
// reads FILE in 1 MiB chunks and counts newlines in a plain JS loop over the
// bytes, which is about the least work any JS reader of the file can do.
// Writes `lines=N` and `maxrss_kib=N` to stderr.
//
//   node scripts/bench/byte-scan.mjs FILE
import { closeSync, openSync, readSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: byte-scan.mjs FILE\n");
  process.exit(2);
}

const CHUNK = 1 << 20;
const buffer = Buffer.allocUnsafe(CHUNK);
const fd = openSync(file, "r");
let lines = 0;
try {
  for (;;) {
    const n = readSync(fd, buffer, 0, CHUNK, null);
    if (n === 0) break;
    for (let i = 0; i < n; i++) if (buffer[i] === 0x0a) lines++;
  }
} finally {
  closeSync(fd);
}

process.stderr.write(`lines=${lines}\nmaxrss_kib=${process.resourceUsage().maxRSS}\n`);
