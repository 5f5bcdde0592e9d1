/**
 * Random CSV traces (docs/model.md §3) for comparing the trace reader's fast
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
      // Twelve zeros take some spellings past the lengths parseUnsigned accepts.
      fc.oneof(
        { weight: 24, arbitrary: fc.constant(0) },
        { weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) },
        { weight: 1, arbitrary: fc.constant(12) },
      ),
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
/** t texts that must be quoted, and non-ASCII ones. */
const oddText = fc.constantFrom(
  'say "hi"',
  "a,b",
  "two\nlines",
  "crlf\r\ninside",
  '"',
  '""',
  ",",
  "\r\n",
  "é",
  "naïve",
  "漢字",
  "😀",
  'ü,"x"\r\nß',
);

/** How a trace is written, so that some traces are plain and valid throughout and others full of oddities. */
interface Style {
  /** Per 100 rows: rows with one invalid field. */
  readonly broken: number;
  /** Per 100 rows: rows with fewer or more fields than the header. */
  readonly ragged: number;
  /** Per 100 fields: quoted fields; per 100 rows: odd t texts. */
  readonly quoted: number;
  /** Per 100 fields: fields padded with spaces. */
  readonly padded: number;
  /** Per 100 rows: comment, blank and space lines. */
  readonly other: number;
  /** Per 100 rows: rows of an event whose columns the header may lack. */
  readonly anyEvent: number;
}

const style: fc.Arbitrary<Style> = fc.record({
  broken: fc.constantFrom(0, 0, 0, 1, 5),
  ragged: fc.constantFrom(0, 0, 0, 1, 3),
  quoted: fc.constantFrom(0, 0, 0, 1, 2, 10),
  padded: fc.constantFrom(0, 0, 2, 10),
  other: fc.constantFrom(0, 5, 10, 30),
  anyEvent: fc.constantFrom(0, 0, 0, 2),
});

/** `yes` with probability percent/100, else `no`. */
function sometimes<T, U>(percent: number, yes: fc.Arbitrary<T>, no: fc.Arbitrary<U>): fc.Arbitrary<T | U> {
  if (percent <= 0) return no;
  if (percent >= 100) return yes;
  return fc.oneof({ weight: percent, arbitrary: yes }, { weight: 100 - percent, arbitrary: no });
}

// ---------------------------------------------------------------------------
// Rows.

interface Kind {
  /** Columns a valid row of this event needs. */
  readonly needs: readonly Column[];
  readonly weight: number;
  readonly row: fc.Arbitrary<Fields>;
}

/** Valid rows of each event kind: the fields it needs (other columns are filled in later). */
const KINDS: readonly Kind[] = [
  {
    needs: ["msr"],
    weight: 6,
    row: fc.record({
      event: fc.constant("rdmsr"),
      vcpu: vcpuText,
      msr: msrText,
      value: fc.oneof(fc.constant(""), u64Text),
    }),
  },
  {
    needs: ["msr", "value"],
    weight: 6,
    row: fc.record({ event: fc.constant("wrmsr"), vcpu: vcpuText, msr: msrText, value: u64Text }),
  },
  {
    needs: [],
    weight: 3,
    row: fc.record({
      event: fc.constant("vmexit"),
      vcpu: vcpuText,
      value: fc.constantFrom("", "EXTERNAL_INTERRUPT", "HLT", "0x1"),
    }),
  },
  { needs: [], weight: 3, row: fc.record({ event: fc.constant("vmentry"), vcpu: vcpuText }) },
  {
    needs: ["page", "file"],
    weight: 1,
    row: fc.record({
      event: fc.constant("bitmap-load"),
      vcpu: vcpuText,
      page: pageText,
      file: fc.constantFrom("a.bin", "b.bin"),
    }),
  },
  {
    needs: ["page", "msr", "dir", "value"],
    weight: 1,
    row: fc.record({
      event: fc.constant("bitmap-set"),
      vcpu: vcpuText,
      page: pageText,
      msr: bitMsrText,
      dir: dirText,
      value: flagText,
    }),
  },
  { needs: ["page"], weight: 1, row: fc.record({ event: fc.constant("bitmap-ptr"), vcpu: vcpuText, page: pageText }) },
  {
    needs: ["value"],
    weight: 1,
    row: fc.record({ event: fc.constant("use-bitmap"), vcpu: vcpuText, value: flagText }),
  },
  {
    needs: ["value"],
    weight: 1,
    row: fc.record({ event: fc.constant("l1-mode"), vcpu: vcpuText, value: fc.constantFrom("longmode", "legacy") }),
  },
  {
    needs: ["msr", "dir", "value"],
    weight: 1,
    row: fc.record({ event: fc.constant("l0-set"), vcpu: vcpuText, msr: bitMsrText, dir: dirText, value: flagText }),
  },
];

/** A valid row of an event the header has the columns for, or (anyEvent per 100) of any event. */
function validRow(columns: readonly string[], anyEvent: number): fc.Arbitrary<Fields> {
  const pick = (kinds: readonly Kind[]) => fc.oneof(...kinds.map((k) => ({ weight: k.weight, arbitrary: k.row })));
  const fitting = KINDS.filter((k) => k.needs.every((c) => columns.includes(c)));
  return sometimes(anyEvent, pick(KINDS), pick(fitting));
}

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

const invalidField = fc
  .constantFrom(...(["event", "vcpu", "msr", "value", "page", "dir", "file"] as const))
  .chain((column) => fc.constantFrom(...INVALID[column]).map((text) => [column, text] as const));

/** How one field is written. */
interface Look {
  readonly pad: readonly [number, number];
  readonly quote: boolean;
}

function look(st: Style): fc.Arbitrary<Look> {
  return fc.record({
    pad: sometimes(
      st.padded,
      fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
      fc.constant([0, 0] as const),
    ),
    quote: sometimes(st.quoted, fc.constant(true), fc.constant(false)),
  });
}

/** Writes a field: quoted when asked or when it must be; spaces go inside the quotes (outside would not be CSV). */
function field(text: string, how: Look): string {
  const padded = " ".repeat(how.pad[0]) + text + " ".repeat(how.pad[1]);
  if (how.quote || /["\r\n,]/.test(text)) return `"${padded.replaceAll('"', '""')}"`;
  return padded;
}

/** Comment, blank and space lines; `quotes`: comments may hold quotes and non-ASCII text. */
function otherLine(quotes: boolean): fc.Arbitrary<string> {
  const comments = ["#", "# a comment", "#event,msr", "#,,,", "#rdmsr,0,0x10"];
  if (quotes) comments.push('# say "hi", then go', "# naïve ü", '#,"');
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...comments) },
    { weight: 3, arbitrary: fc.constant("") },
    { weight: 2, arbitrary: fc.constantFrom(" ", "   ") },
  );
}

/** One data row under `columns`. */
function rowLine(columns: readonly string[], st: Style): fc.Arbitrary<string> {
  const n = columns.length;
  return fc
    .record({
      row: validRow(columns, st.anyEvent),
      broken: sometimes(st.broken, invalidField, fc.constant(null)),
      junk: fc.array(sometimes(20, plainText, fc.constant("")), { minLength: n, maxLength: n }),
      t: sometimes(st.quoted, oddText, plainText),
      looks: fc.array(look(st), { minLength: n, maxLength: n }),
      shape: sometimes(
        st.ragged,
        fc.oneof(
          fc.record({ fewer: fc.integer({ min: 1, max: 8 }) }),
          fc.record({ extra: fc.array(plainText, { minLength: 1, maxLength: 2 }) }),
        ),
        fc.constant(null),
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
    arbitrary: fc
      .shuffledSubarray(["page", "dir", "file", "t"])
      .map((rest) => ["event", "vcpu", "msr", "value", ...rest]),
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
      .tuple(
        fc.shuffledSubarray([...TRACE_COLUMNS], { minLength: 1 }),
        fc.constantFrom("valu", "bogus", "Event", "", "msr", "t"),
        fc.nat(),
      )
      .map(([cols, odd, at]) => insertAt(cols, at, odd)),
  },
);

/** A random trace (a string; U+FEFF first for a BOM: encode it as UTF-8); `maxRows` bounds the lines after the header. */
export function traceText(maxRows = 40): fc.Arbitrary<string> {
  return fc.tuple(headerColumns, style).chain(([columns, st]) =>
    fc
      .record({
        header: fc.array(look(st), { minLength: columns.length, maxLength: columns.length }),
        before: fc.array(otherLine(st.quoted > 0), { maxLength: 2 }),
        lines: fc.array(sometimes(st.other, otherLine(st.quoted > 0), rowLine(columns, st)), {
          maxLength: maxRows,
          size: "medium",
        }),
        ends: fc.oneof(
          fc.constant("lf" as const),
          fc.constant("crlf" as const),
          fc.array(fc.boolean(), { minLength: maxRows + 3, maxLength: maxRows + 3 }),
        ),
        bom: sometimes(20, fc.constant(true), fc.constant(false)),
        finalNewline: sometimes(80, fc.constant(true), fc.constant(false)),
      })
      .map(({ header, before, lines, ends, bom, finalNewline }) => {
        const all = [...before, columns.map((c, i) => field(c, header[i] as Look)).join(","), ...lines];
        const eol = (i: number) =>
          ends === "lf" ? "\n" : ends === "crlf" ? "\r\n" : ends[i % ends.length] ? "\r\n" : "\n";
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
