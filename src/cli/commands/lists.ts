import type { Command } from "commander";
import { L1_PROFILES } from "../../bitmaps/l1-profiles.js";
import { L0_PROFILES } from "../../engine/profiles.js";
import { registerOptions } from "../option-table.js";
import { strategyRegistry } from "../strategy-modules.js";
import { examples } from "./shared.js";

function list(entries: readonly { name: string; summary: string }[]): string {
  const width = Math.max(...entries.map((e) => e.name.length));
  return `${entries.map((e) => `${e.name.padEnd(width)}  ${e.summary}`).join("\n")}\n`;
}

export function registerLists(program: Command): void {
  registerOptions(program.command("strategies"), "strategies")
    .summary("list the strategies, one line each")
    .description(
      "Lists the strategies compare and replay can run, in the order --strategies all runs them, one line each: " +
        "how L0 builds vmcs02's MSR bitmap, then who does it today and the kernel function or file it models.",
    )
    .addHelpText(
      "after",
      examples("nvmx-replay strategies", "nvmx-replay strategies --strategy-module examples/pml.mjs"),
    )
    .action(async (raw: unknown) => {
      const { all } = await strategyRegistry(raw);
      process.stdout.write(list(all.map((s) => ({ name: s.name, summary: `${s.summary} — ${s.origin}` }))));
    });
  registerOptions(program.command("profiles"), "profiles")
    .summary("list the built-in bitmap profiles, one line each")
    .description(
      "Lists the built-in bitmaps, one line each: L0 (vmcs01) profiles for --l0-profile, then the bitmaps " +
        "real guest hypervisors give their L2, for --l1-profile.",
    )
    .addHelpText(
      "after",
      examples(
        "nvmx-replay profiles",
        "nvmx-replay compare traces/linux-kvm.csv --l0-profile kvm-modern --l1-profile xen",
      ),
    )
    .action(() => {
      const entries = [
        ...L0_PROFILES.map((p) => ({ name: p.name, summary: `L0  ${p.summary}` })),
        ...L1_PROFILES.map((p) => ({ name: p.name, summary: `L1  ${p.summary}` })),
      ];
      process.stdout.write(list(entries));
    });
}
