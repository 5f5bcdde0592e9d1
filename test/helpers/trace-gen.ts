/**
 * Random CSV traces (SPEC section 3) for comparing the trace reader's fast
 * scanner with its csv-parse reference path. The traces are valid most of the
 * time, so long runs of rows get decoded, and now and then break a rule:
 *
 * - header: `event` plus a random subset of the other columns, in the
 *   canonical `event,vcpu,msr,value,…` order or shuffled; sometimes an
 *   unknown or a duplicate column; names sometimes padded with spaces or quoted;
 * - rows of every event kind (bitmap-load naming snapshots that
 *   `SNAPSHOT_FILES` says to create next to the trace), numbers in hex (either
 *   case of digits and of the x) and decimal, with leading zeros; unused
 *   columns empty or holding junk; now and then one invalid field (bad or too
 *   big an MSR or value, vCPU 4096, an unaligned page, a bad dir or flag, an
 *   empty required field, an unknown event), fewer fields than the header or
 *   more;
 * - fields padded with spaces or quoted (with doubled quotes, commas, LF and
 *   CRLF inside), non-ASCII text in the `t` column;
 * - comment lines, blank lines, lines of spaces (before the header too);
 * - LF, CRLF or mixed line ends, a UTF-8 BOM, a missing final newline.
 *
 * A trace is a string (the BOM is U+FEFF): encode it as UTF-8.
 */
import fc from "fast-check";

export const TRACE_COLUMNS = ["event", "vcpu", "msr", "value", "page", "dir", "file", "t"] as const;
type Column = (typeof TRACE_COLUMNS)[number];
type Fields = Partial<Record<Column, string>>;

/** Snapshots the generated bitmap-load rows name: create these next to the trace. */
export const SNAPSHOT_FILES: Readonly<Record<string, Uint8Array>> = {
  "a.bin": new Uint8Array(4096).fill(0xff),
  "b.bin": Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff),
  // Not 4096 bytes: bitmap-load rows naming it are errors.
  "short.bin": new Uint8Array(100),
};

// ---------------------------------------------------------------------------
// Numbers.

/** An unsigned number as a trace may spell it: hex (0x or 0X, either case of digits) or decimal, maybe with leading zeros. */
function spelled(n: fc.Arbitrary<bigint>): fc.Arbitrary<string> {
  return fc
    .tuple(
      n,
      fc.constantFrom("0x", "0x", "0X", "dec", "dec"),
      fc.boolean(),
      fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(12) }),
    )
    .map(([value, style, upper, zeros]) => {
      if (style === "dec") return "0".repeat(zeros) + value.toString(10);
      const digits = value.toString(16);
      return style + "0".repeat(zeros) + (upper ? digits.toUpperCase() : digits);
    });
}

const big = (n: number) => BigInt(n);

/** MSRs with a bit in the MSR bitmap, edges included. */
const BIT_MSRS = [0x0, 0x10, 0x1b, 0x48, 0x174, 0x1fff, 0xc000_0000, 0xc000_0080, 0xc000_0100, 0xc000_1fff];
/** Any 32-bit MSR. */
const MSRS = [...BIT_MSRS, 0x2000, 0xc000_2000, 0x4000_0000, 0xffff_ffff];

const msrNumber = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...MSRS).map(big) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }).map(big) },
);
const bitMsrNumber = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...BIT_MSRS).map(big) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1fff }).map(big) },
  { weight: 1, arbitrary: fc.integer({ min: 0xc000_0000, max: 0xc000_1fff }).map(big) },
);
const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 0xffn, 1n << 63n, (1n << 64n) - 1n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);
/** 4 KiB-aligned guest-physical pages below 2^52. */
const pageNumber = fc.oneof(
  fc.constantFrom(0, 0x1000, 0x2000, 0x3000, 2 ** 52 - 4096).map(big),
  fc.integer({ min: 0, max: 2 ** 40 - 1 }).map((n) => BigInt(n) * 4096n),
);
const vcpuText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 7 }).map(String) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 4095 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom("", "4095", "0000", "00003", "0x1f") },
);

const msrText = spelled(msrNumber);
const bitMsrText = spelled(bitMsrNumber);
const u64Text = spelled(u64);
const pageText = spelled(pageNumber);
const dirText = fc.constantFrom("r", "w", "rw");
const flagText = fc.constantFrom("0", "1");

/** Free text for the t column and for junk in unused columns. */
const plainText = fc.constantFrom("", "", "", "12.5", "t0", "0x10", "x y", "a#b", "#");
const tText = fc.oneof(
  { weight: 6, arbitrary: plainText },
  { weight: 1, arbitrary: fc.constantFrom('say "hi"', "a,b", "two\nlines", "crlf\r\ninside", '"', '""', ",", "\r\n") },
  { weight: 1, arbitrary: fc.constantFrom("é", "naïve", "漢字", "😀", "ü,\"x\"\r\nß") },
);

// ---------------------------------------------------------------------------
// Rows.

/** A valid row of each event kind: the fields it needs (others are filled in later). */
const validRow: fc.Arbitrary<Fields> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ event: fc.constant("rdmsr"), vcpu: vcpuText, msr: msrText, value: fc.oneof(fc.constant(""), u64Text) }) },
  { weight: 6, arbitrary: fc.record({ event: fc.constant("wrmsr"), vcpu: vcpuText, msr: msrText, value: u64Text }) },
  { weight: 3, arbitrary: fc.record({ event: fc.constant("vmexit"), vcpu: vcpuText, value: fc.constantFrom("", "EXTERNAL_INTERRUPT", "HLT", "0x1") }) },
  { weight: 3, arbitrary: fc.record({ event: fc.constant("vmentry"), vcpu: vcpuText }) },
  { weight: 1, arbitrary: fc.record({ event: fc.constant("bitmap-load"), vcpu: vcpuText, page: pageText, file: fc.constantFrom("a.bin", "b.bin") }) },
  {
    weight: 1,
    arbitrary: fc.record({ event: fc.constant("bitmap-set"), vcpu: vcpuText, page: pageText, msr: bitMsrText, dir: dirText, value: flagText }),
  },
  { weight: 1, arbitrary: fc.record({ event: fc.constant("bitmap-ptr"), vcpu: vcpuText, page: pageText }) },
  { weight: 1, arbitrary: fc.record({ event: fc.constant("use-bitmap"), vcpu: vcpuText, value: flagText }) },
  { weight: 1, arbitrary: fc.record({ event: fc.constant("l1-mode"), vcpu: vcpuText, value: fc.constantFrom("longmode", "legacy") }) },
  { weight: 1, arbitrary: fc.record({ event: fc.constant("l0-set"), vcpu: vcpuText, msr: bitMsrText, dir: dirText, value: flagText }) },
);

/** Field texts that break a rule, whatever event the row has. */
const INVALID: Readonly<Record<Column, readonly string[]>> = {
  event: ["foo", "", "RDMSR", "rd msr", "bitmap_set", "vmexi", "vmentryy"],
  vcpu: ["4096", "99999", "-1", "x", "0x1000"],
  msr: ["0xZZ", "0x100000000", "4294967296", "0x", "-1", "1.5", "", "0x2000", "0xc0002000"],
  value: ["0x10000000000000000", "18446744073709551616", "ten", "", "2", "long", "0x"],
  page: ["0x1001", "4097", "0x10000000000000", "page", ""],
  dir: ["x", "wr", "R", ""],
  file: ["missing.bin", "short.bin", "snap.txt", ""],
  t: [""],
};

const invalidField = fc.constantFrom(...(["event", "vcpu", "msr", "value", "page", "dir", "file"] as const)).chain((column) =>
  fc.constantFrom(...INVALID[column]).map((text) => [column, text] as const),
);

/** How one field is written. */
interface Look {
  readonly pad: readonly [number, number];
  readonly quote: boolean;
}

const look: fc.Arbitrary<Look> = fc.record({
  pad: fc.oneof(
    { weight: 12, arbitrary: fc.constant([0, 0] as const) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })) },
  ),
  quote: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** Writes a field: quoted when asked or when it must be; spaces go inside the quotes (outside would not be CSV). */
function field(text: string, how: Look): string {
  const padded = " ".repeat(how.pad[0]) + text + " ".repeat(how.pad[1]);
  if (how.quote || /["\r\n,]/.test(text)) return `"${padded.replaceAll('"', '""')}"`;
  return padded;
}

type Line = { kind: "row"; text: string } | { kind: "other"; text: string };

const otherLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("#", "# a comment", '# say "hi", then go', "#event,msr", "# naïve ü", "#,,,") },
  { weight: 3, arbitrary: fc.constant("") },
  { weight: 2, arbitrary: fc.constantFrom(" ", "   ") },
);

/** One data row under `columns`. */
function rowLine(columns: readonly string[]): fc.Arbitrary<string> {
  return fc
    .record({
      row: validRow,
      broken: fc.option(invalidField, { freq: 12, nil: null }),
      junk: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant("") }, { weight: 1, arbitrary: plainText }), {
        minLength: columns.length,
        maxLength: columns.length,
      }),
      t: tText,
      looks: fc.array(look, { minLength: columns.length, maxLength: columns.length }),
      shape: fc.oneof(
        { weight: 30, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.record({ fewer: fc.integer({ min: 1, max: 8 }) }) },
        { weight: 1, arbitrary: fc.record({ extra: fc.array(plainText, { minLength: 1, maxLength: 2 }) }) },
      ),
    })
    .map(({ row, broken, junk, t, looks, shape }) => {
      const fields: Fields = { ...row, t };
      if (broken !== null) fields[broken[0]] = broken[1];
      let texts = columns.map((column, i) => {
        const text = (fields as Record<string, string | undefined>)[column] ?? (junk[i] as string);
        return field(text, looks[i] as Look);
      });
      if (shape !== null && "fewer" in shape) texts = texts.slice(0, Math.max(1, texts.length - shape.fewer));
      if (shape !== null && "extra" in shape) texts = [...texts, ...shape.extra];
      return texts.join(",");
    });
}

/** A copy of `list` with `item` inserted at `at` (modulo its length + 1). */
function insertAt(list: readonly string[], at: number, item: string): string[] {
  const i = at % (list.length + 1);
  return [...list.slice(0, i), item, ...list.slice(i)];
}

/** The header's column names: always `event`, sometimes a mistake. */
const headerColumns: fc.Arbitrary<string[]> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.shuffledSubarray(["page", "dir", "file", "t"]).map((rest) => ["event", "vcpu", "msr", "value", ...rest]),
  },
  { weight: 3, arbitrary: fc.shuffledSubarray([...TRACE_COLUMNS], { minLength: TRACE_COLUMNS.length }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.shuffledSubarray(["vcpu", "msr", "value", "page", "dir", "file", "t"]), fc.nat())
      .map(([cols, at]) => insertAt(cols, at, "event")),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.shuffledSubarray([...TRACE_COLUMNS], { minLength: 1 }), fc.constantFrom("valu", "bogus", "Event", "", "msr", "t"), fc.nat())
      .map(([cols, odd, at]) => insertAt(cols, at, odd)),
  },
);

const headerLine: fc.Arbitrary<{ columns: string[]; text: string }> = headerColumns.chain((columns) =>
  fc
    .array(look, { minLength: columns.length, maxLength: columns.length })
    .map((looks) => ({ columns, text: columns.map((c, i) => field(c, looks[i] as Look)).join(",") })),
);

/** A random trace; `maxRows` bounds the lines after the header. */
export function traceText(maxRows = 40): fc.Arbitrary<string> {
  return headerLine.chain(({ columns, text: header }) =>
    fc
      .record({
        before: fc.array(otherLine, { maxLength: 2 }),
        lines: fc.array(
          fc.oneof(
            { weight: 8, arbitrary: rowLine(columns).map((text): Line => ({ kind: "row", text })) },
            { weight: 1, arbitrary: otherLine.map((text): Line => ({ kind: "other", text })) },
          ),
          { maxLength: maxRows },
        ),
        ends: fc.oneof(
          fc.constant("lf" as const),
          fc.constant("crlf" as const),
          fc.array(fc.boolean(), { minLength: maxRows + 3, maxLength: maxRows + 3 }),
        ),
        bom: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        finalNewline: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      })
      .map(({ before, lines, ends, bom, finalNewline }) => {
        const all = [...before, header, ...lines.map((l) => l.text)];
        const eol = (i: number) => (ends === "lf" ? "\n" : ends === "crlf" ? "\r\n" : ends[i % ends.length] ? "\r\n" : "\n");
        let text = all.map((line, i) => line + eol(i)).join("");
        if (!finalNewline) text = text.slice(0, text.endsWith("\r\n") ? -2 : -1);
        return (bom ? "\ufeff" : "") + text;
      }),
  );
}

/**
 * How to cut the bytes into chunks: the whole input at once, single bytes, or
 * a cycle of sizes.
 */
export const chunkPlan: fc.Arbitrary<readonly number[]> = fc.oneof(
  fc.constant([Number.MAX_SAFE_INTEGER]),
  fc.constant([1]),
  fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
);

/** The bytes cut by a chunk plan (each chunk its own copy). */
export function cut(bytes: Buffer, plan: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = Math.min(plan[i % plan.length] as number, bytes.length - at);
    out.push(Buffer.from(bytes.subarray(at, at + size)));
    at += size;
  }
  return out;
}
