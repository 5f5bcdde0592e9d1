/**
 * The entries of the table of options (option-table.ts) for the commands that
 * make or look at files rather than replay: gen, import, record, the bitmap
 * tools, and pack's -o (pack shares --snapshots-dir and --quiet with the
 * commands that read a trace). They are listed before the replaying commands'
 * entries, so that each command's --help keeps the order it had. The schemas
 * of single values only these commands take are here too; the rules between
 * options are in options-tools.ts.
 */
import { extname } from "node:path";
import { MODES } from "../bitmaps/builtin.js";
import { MAX_VCPUS } from "../engine/machine.js";
import { parseCount } from "../gen/count.js";
import { DEFAULT_GEN_SEED, DEFAULT_GEN_VCPUS } from "../gen/workload.js";
import { parseSeconds } from "../import/merge.js";
import { STDOUT_ARG } from "../io/output.js";
import { DEFAULT_BUFFER_KB, MAX_BUFFER_KB, MAX_DURATION_S, MIN_BUFFER_KB } from "../record/limits.js";
import * as z from "../zod.js";
import type { OptionEntry } from "./option-table.js";
import { OutputPath, oneOf } from "./option-values.js";

const GEN_OUTPUT_ERROR = "is required: the trace file to write (-o FILE)";

/** `gen -o FILE`: required (gen has no default file), and named in the trace's header comment, so one line. */
const GenOutput = z
  .string({ error: GEN_OUTPUT_ERROR })
  .min(1, { error: GEN_OUTPUT_ERROR })
  .refine((path) => !/[\r\n]/.test(path), { error: "a file name with a line break cannot be named in the trace" });

/** `gen --events N`: a count with an optional k, M or G (src/gen/count.ts). */
const GenEvents = z
  .string({ error: "is required: how many events to write (e.g. --events 1M)" })
  .transform((text, ctx) => {
    const n = parseCount(text);
    if (typeof n === "string") {
      ctx.addIssue({ code: "custom", message: n });
      return z.NEVER;
    }
    return n;
  });

/** `gen --vcpus K`: 1 to the machine's MAX_VCPUS, the most a trace may number. */
const GenVcpus = z
  .string()
  .refine((t) => /^\d+$/.test(t.trim()) && Number(t) >= 1 && Number(t) <= MAX_VCPUS, {
    error: (issue) => `"${String(issue.input)}" is not a vCPU count (1-${MAX_VCPUS})`,
  })
  .transform(Number);

/** `gen --seed S`: any non-negative integer (the PRNG folds it 32 bits at a time, src/gen/rng.ts). */
const GenSeed = z
  .string()
  .refine((t) => /^\d+$/.test(t.trim()), {
    error: (issue) => `"${String(issue.input)}" is not a seed (a non-negative integer)`,
  })
  .transform((t) => BigInt(t.trim()));

/** `import --clock-offset SECONDS`: a decimal number of seconds, signed, at most nanosecond digits kept. */
const ClockOffset = z
  .string()
  .regex(/^[+-]?\d{1,12}(\.\d{1,9})?$/, { error: "expected seconds, a decimal number such as -12.000350" })
  .transform((text) => parseSeconds(text) as number);

const DURATION_ERROR = `expected a number of seconds above 0, at most ${MAX_DURATION_S}`;
const BUFFER_ERROR = `expected a whole number of KiB from ${MIN_BUFFER_KB} to ${MAX_BUFFER_KB}`;

/** `record --duration S`: above 0, and no longer than one timer can wait (MAX_DURATION_S). */
const Duration = z.coerce
  .number({ error: DURATION_ERROR })
  .refine((s) => Number.isFinite(s) && s > 0 && s <= MAX_DURATION_S, { error: DURATION_ERROR });

/** `record --buffer-kb KIB`: the tracefs instance's ring buffer per CPU. */
const BufferKb = z.coerce
  .number({ error: BUFFER_ERROR })
  .int({ error: BUFFER_ERROR })
  .min(MIN_BUFFER_KB, { error: BUFFER_ERROR })
  .max(MAX_BUFFER_KB, { error: BUFFER_ERROR });

/** The extensions `bitmap … -o` picks its format by. */
const BITMAP_OUTPUTS = [".bin", ".json"];

/** `bitmap merge|build|profile -o OUT`: the extension picks the format; `-` is the description on stdout. */
const BitmapOutput = z
  .string()
  .refine((path) => path === STDOUT_ARG || BITMAP_OUTPUTS.includes(extname(path).toLowerCase()), {
    error: (issue) => `"${String(issue.input)}" must end in .bin (the raw 4096-byte page) or .json (its description)`,
  });

const BITMAP_OUTPUT_HELP =
  "write to FILE, atomically: .bin for the raw page, .json for its description (default, or -: the description on stdout)";

/** The tool commands' entries, in the order --help lists them (before the replaying commands'). */
export const TOOL_OPTIONS = [
  {
    key: "output",
    flags: "-o, --output <file>",
    help: "write to FILE (atomically); - for stdout",
    commands: ["pack"],
    schema: OutputPath.optional(),
  },
  {
    key: "events",
    flags: "--events <count>",
    help: "events (data rows) to write: an integer, or with k, M or G (500k, 10M, 1G)",
    commands: ["gen"],
    schema: GenEvents,
  },
  {
    key: "vcpus",
    flags: "--vcpus <count>",
    help: `vCPUs, 1-${MAX_VCPUS}`,
    commands: ["gen"],
    default: String(DEFAULT_GEN_VCPUS),
    schema: GenVcpus,
  },
  {
    key: "seed",
    flags: "--seed <n>",
    help: "seed of the generator's PRNG, a non-negative integer",
    commands: ["gen"],
    default: String(DEFAULT_GEN_SEED),
    schema: GenSeed,
  },
  {
    key: "output",
    flags: "-o, --output <file>",
    help: "the trace file to write (snapshots go beside it); - writes the trace to stdout and the snapshots to the current folder",
    commands: ["gen"],
    schema: GenOutput,
  },
  {
    key: "list",
    flags: "--list",
    help: "list the workloads, one line each, and exit",
    commands: ["gen"],
    schema: z.boolean().default(false),
  },
  {
    key: "output",
    flags: "-o, --output <file>",
    help: "write the trace to FILE (a temporary file renamed at the end) instead of stdout (-)",
    commands: ["import", "record"],
    schema: OutputPath.optional(),
  },
  {
    key: "strict",
    flags: "--strict",
    help: "a malformed kvm_* or msr payload is an error naming its line (by default it is skipped and counted)",
    commands: ["import"],
    schema: z.boolean().default(false),
  },
  {
    key: "exits",
    flags: "--exits <file>",
    help: "a host's recording (L0's or L1's kvm_* events) whose exits to merge into FILE, recorded inside L2",
    commands: ["import"],
    schema: z.string().min(1, { error: "names no file" }).optional(),
  },
  {
    key: "clockOffset",
    flags: "--clock-offset <seconds>",
    help:
      "with --exits: L2 time = the --exits file's time + SECONDS (negative allowed), instead of finding it " +
      "from MSR writes seen in both",
    commands: ["import"],
    schema: ClockOffset.optional(),
  },
  {
    key: "duration",
    flags: "--duration <seconds>",
    help: "record for this many seconds (instead of a command)",
    commands: ["record"],
    schema: Duration.optional(),
  },
  {
    key: "bufferKb",
    flags: "--buffer-kb <kib>",
    help: `the instance's ring buffer per CPU, KiB (${MIN_BUFFER_KB}-${MAX_BUFFER_KB}); raise it if events are lost`,
    commands: ["record"],
    default: String(DEFAULT_BUFFER_KB),
    schema: BufferKb,
  },
  {
    key: "quiet",
    flags: "-q, --quiet",
    help: "no live event count on stderr",
    commands: ["record"],
    schema: z.boolean().default(false),
  },
  {
    key: "format",
    flags: "-f, --format <format>",
    help: "text or json",
    commands: ["bitmap show", "bitmap diff"],
    default: "text",
    schema: oneOf(["text", "json"], "expected text or json"),
  },
  {
    key: "mode",
    flags: "--mode <mode>",
    help: `for an L0 profile: ${MODES.join(" or ")} (default longmode)`,
    commands: ["bitmap profile"],
    schema: oneOf(MODES, `expected ${MODES.join(" or ")}`).optional(),
  },
  {
    key: "output",
    flags: "-o, --output <file>",
    help: BITMAP_OUTPUT_HELP,
    commands: ["bitmap merge", "bitmap build", "bitmap profile"],
    schema: BitmapOutput.optional(),
  },
  {
    key: "list",
    flags: "--list",
    help: "list the built-in bitmaps, one line each, and exit",
    commands: ["bitmap profile"],
    schema: z.boolean().default(false),
  },
] as const satisfies readonly OptionEntry[];
