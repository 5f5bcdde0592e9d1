/**
 * `nvmx-replay bitmap show|diff|merge|build|profile`: looking at, comparing,
 * ORing and writing MSR bitmap pages (docs/model.md §2 and §4).
 *
 * Inputs are snapshots (`.bin`, `.json`) or built-in bitmaps named
 * `profile:NAME` (an L0 profile takes `profile:NAME:legacy` for its legacy
 * page). Outputs: `-o FILE` picks the format by extension (`.bin` the raw
 * page, `.json` the description `show --format json` prints), written
 * atomically and never over an input; without `-o` the description goes to
 * stdout (a raw page never does).
 */
import { extname } from "node:path";
import type { Command } from "commander";
import { BUILTIN_NAMES, builtinBitmap, builtinList, MODES, type Mode } from "../../bitmaps/builtin.js";
import { descriptionJson, showText } from "../../bitmaps/describe.js";
import { diffBitmaps, diffJson, diffText } from "../../bitmaps/diff.js";
import { orPages, PAGE_SIZE } from "../../engine/bitmap.js";
import { outputFile, refuseOverwritingInput, writeFileAtomic } from "../../io/output.js";
import { readSnapshot } from "../../io/snapshot.js";
import { destination } from "../emit.js";
import { UsageError } from "../errors.js";
import { registerOptions } from "../option-table.js";
import { parseOptions } from "../options.js";
import {
  BitmapBuildOptions,
  BitmapDiffOptions,
  BitmapMergeOptions,
  BitmapProfileOptions,
  BitmapShowOptions,
} from "../options-tools.js";
import { examples } from "./shared.js";

const PROFILE_PREFIX = "profile:";

/** A page from a snapshot file or `profile:NAME[:MODE]`. */
function loadInput(arg: string): Uint8Array {
  if (!arg.startsWith(PROFILE_PREFIX)) return readSnapshot(arg);
  const [name = "", modeText, ...rest] = arg.slice(PROFILE_PREFIX.length).split(":");
  let mode: Mode | undefined;
  if (modeText !== undefined) {
    if (rest.length > 0 || !(MODES as readonly string[]).includes(modeText)) {
      throw new UsageError(`"${arg}": expected ${PROFILE_PREFIX}NAME or ${PROFILE_PREFIX}NAME:${MODES.join("|")}`);
    }
    mode = modeText as Mode;
  }
  const page = builtinBitmap(name, mode);
  if (typeof page === "string") throw new UsageError(`"${arg}": ${page}`);
  return page;
}

/** The inputs that are files (the ones `-o` must not overwrite). */
function fileInputs(args: readonly string[]): string[] {
  return args.filter((a) => !a.startsWith(PROFILE_PREFIX));
}

/** Writes `page` to `-o OUT` (format by extension) or its description to stdout. */
async function emitPage(page: Uint8Array, option: string | undefined, inputs: readonly string[]): Promise<void> {
  const output = outputFile(option);
  if (output === undefined) {
    const out = await destination(undefined, []);
    await out.write(descriptionJson(page));
    return;
  }
  refuseOverwritingInput(output, fileInputs(inputs));
  if (extname(output).toLowerCase() === ".bin") {
    await writeFileAtomic(output, page);
    process.stderr.write(`wrote ${output} (the ${PAGE_SIZE}-byte page)\n`);
  } else {
    await writeFileAtomic(output, descriptionJson(page));
    process.stderr.write(`wrote ${output} (its JSON description)\n`);
  }
}

async function print(text: string): Promise<void> {
  const out = await destination(undefined, []);
  await out.write(text);
}

const INPUT_HELP = `a snapshot (.bin or .json), or ${PROFILE_PREFIX}NAME for a built-in bitmap (${PROFILE_PREFIX}NAME:legacy for an L0 profile's legacy page)`;

export function registerBitmap(program: Command): void {
  const bitmap = registerOptions(program.command("bitmap"), "bitmap")
    .summary("show, compare, merge, build and export MSR bitmaps")
    .description(
      "Tools for MSR bitmap pages (4096 bytes, 1 = the access exits). A snapshot is a .bin page or a .json " +
        `description; wherever a snapshot is read, ${PROFILE_PREFIX}NAME names a built-in bitmap instead ` +
        `(${BUILTIN_NAMES.join(", ")}). See docs/l1-profiles.md for where the L1 profiles come from.`,
    )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay bitmap show traces/kvm-l1.json",
        "nvmx-replay bitmap diff profile:kvm-2013 profile:kvm",
        "nvmx-replay bitmap merge profile:kvm-2013 traces/kvm-l1.json -o vmcs02.bin",
        "nvmx-replay bitmap build my-l1.json -o my-l1.bin",
        "nvmx-replay bitmap profile xen -o xen-l1.json",
      ),
    );

  registerOptions(bitmap.command("show"), "bitmap show")
    .summary("list the intercepted and passed MSR ranges of a bitmap")
    .description(
      "Prints every run of intercepted and of passed MSRs, reads then writes, with the MSRs' names. " +
        "--format json prints instead the shortest JSON description of exactly that page (the majority " +
        "state as default, the other state's ranges per direction), which `bitmap build` turns back into the same bytes.",
    )
    .argument("<file>", INPUT_HELP)
    .addHelpText(
      "after",
      examples(
        "nvmx-replay bitmap show traces/kvm-l1.json",
        "nvmx-replay bitmap show traces/kvm-l1.bin --format json > kvm-l1.json",
        "nvmx-replay bitmap show profile:kvm-2013:legacy",
      ),
    )
    .action(async (file: string, raw: unknown) => {
      const options = parseOptions(BitmapShowOptions, raw);
      const page = loadInput(file);
      await print(options.format === "json" ? descriptionJson(page) : showText(file, page));
    });

  registerOptions(bitmap.command("diff"), "bitmap diff")
    .summary("list the accesses two bitmaps treat differently")
    .description(
      "Prints, per direction, the MSR ranges where A and B differ: + where B intercepts and A passes, " +
        "- where B passes and A intercepts. Says so when they are identical. Exits 0 either way.",
    )
    .argument("<a>", INPUT_HELP)
    .argument("<b>", "the same, compared with A")
    .addHelpText(
      "after",
      examples(
        "nvmx-replay bitmap diff profile:kvm-2013 profile:kvm-modern",
        "nvmx-replay bitmap diff traces/kvm-l1.json profile:kvm",
        "nvmx-replay bitmap diff old.bin new.bin --format json",
      ),
    )
    .action(async (a: string, b: string, raw: unknown) => {
      const options = parseOptions(BitmapDiffOptions, raw);
      const diffs = diffBitmaps(loadInput(a), loadInput(b));
      await print(options.format === "json" ? diffJson(a, b, diffs) : diffText(a, b, diffs));
    });

  registerOptions(bitmap.command("merge"), "bitmap merge")
    .summary("OR two bitmaps, as L0 builds vmcs02's from vmcs01's and vmcs12's")
    .description(
      "Writes A OR B: an access exits if either bitmap intercepts it, the shadow bitmap L0 runs L2 on. " +
        "OUT's extension picks the format; without -o the JSON description goes to stdout.",
    )
    .argument("<a>", INPUT_HELP)
    .argument("<b>", "the same")
    .addHelpText(
      "after",
      examples(
        "nvmx-replay bitmap merge profile:kvm-2013 traces/kvm-l1.json -o vmcs02.bin",
        "nvmx-replay bitmap merge profile:kvm-modern profile:xen",
      ),
    )
    .action(async (a: string, b: string, raw: unknown) => {
      const options = parseOptions(BitmapMergeOptions, raw);
      const merged = new Uint8Array(PAGE_SIZE);
      orPages(merged, loadInput(a), loadInput(b));
      await emitPage(merged, options.output, [a, b]);
    });

  registerOptions(bitmap.command("build"), "bitmap build")
    .summary("turn a JSON description into a page (or normalise it)")
    .description(
      'Reads SPEC (a JSON description such as {"default": "intercept", "pass": ["FS_BASE-KERNEL_GS_BASE"]}, ' +
        "or any snapshot) and writes the page: -o OUT.bin for the raw 4096 bytes, -o OUT.json for the " +
        "normalised description; without -o the description goes to stdout.",
    )
    .argument("<spec>", INPUT_HELP)
    .addHelpText(
      "after",
      examples(
        "nvmx-replay bitmap build my-l1.json -o my-l1.bin",
        "nvmx-replay bitmap build messy.json -o tidy.json",
        "nvmx-replay bitmap build page.bin",
      ),
    )
    .action(async (spec: string, raw: unknown) => {
      const options = parseOptions(BitmapBuildOptions, raw);
      await emitPage(loadInput(spec), options.output, [spec]);
    });

  registerOptions(bitmap.command("profile"), "bitmap profile")
    .summary("write a built-in L0 or L1 bitmap as a snapshot")
    .description(
      "Writes a built-in bitmap: an L0 profile (vmcs01's bitmap; --mode picks the long-mode or legacy page, " +
        "default longmode) or an L1 profile (the bitmap a real hypervisor gives its guest; one page, no mode). " +
        "See --list, and docs/l1-profiles.md for the sources of the L1 profiles.",
    )
    .argument("[name]", `the profile: ${BUILTIN_NAMES.join(", ")}`)
    .addHelpText(
      "after",
      examples(
        "nvmx-replay bitmap profile --list",
        "nvmx-replay bitmap profile kvm -o kvm-l1.bin",
        "nvmx-replay bitmap profile kvm-2013 --mode legacy -o kvm-2013-legacy.json",
      ),
    )
    .action(async (name: string | undefined, raw: unknown) => {
      const options = parseOptions(BitmapProfileOptions, raw);
      if (options.list) {
        await print(builtinList());
        return;
      }
      if (name === undefined)
        throw new UsageError(`name a profile: ${BUILTIN_NAMES.join(", ")} (see nvmx-replay bitmap profile --list)`);
      const page = builtinBitmap(name, options.mode);
      if (typeof page === "string")
        throw new UsageError(options.mode !== undefined && BUILTIN_NAMES.includes(name) ? `--mode: ${page}` : page);
      await emitPage(page, options.output, []);
    });
}
