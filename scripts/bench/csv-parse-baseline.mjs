#!/usr/bin/env node
// scripts/bench/csv-parse-baseline.mjs — the csv-parse-only baseline of
// scripts/bench.mjs: streams FILE through csv-parse (the project's dependency)
// with the options a reader of a `gen` trace needs, and discards the records.
// Writes `records=N` and `maxrss_kib=N` to stderr.
//
//   node scripts/bench/csv-parse-baseline.mjs FILE
//
// `relax_column_count` is needed because `gen` rows stop after their last
// non-empty field; csv-parse is markedly slower on such short rows, which is why
// bench.mjs also runs this on a copy whose rows are padded to the header's width.
import { createReadStream } from "node:fs";
import { finished } from "node:stream/promises";
import { parse } from "csv-parse";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: csv-parse-baseline.mjs FILE\n");
  process.exit(2);
}

let records = 0;
const parser = parse({ comment: "#", relax_column_count: true, bom: true });
parser.on("data", () => {
  records++;
});
const input = createReadStream(file, { highWaterMark: 1 << 20 });
input.on("error", (error) => parser.destroy(error));
input.pipe(parser);
await finished(parser);

process.stderr.write(`records=${records}\nmaxrss_kib=${process.resourceUsage().maxRSS}\n`);
