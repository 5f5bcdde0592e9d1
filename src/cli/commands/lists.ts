import type { Command } from "commander";
import { L0_PROFILES } from "../../engine/profiles.js";
import { STRATEGIES } from "../../engine/strategies/index.js";
import { examples } from "./shared.js";

function list(entries: readonly { name: string; summary: string }[]): string {
  const width = Math.max(...entries.map((e) => e.name.length));
  return `${entries.map((e) => `${e.name.padEnd(width)}  ${e.summary}`).join("\n")}\n`;
}

export function registerLists(program: Command): void {
  program
    .command("strategies")
    .summary("list the strategies, one line each")
    .description("Lists the strategies compare and replay can run, one line each.")
    .addHelpText("after", examples("nvmx-replay strategies"))
    .action(() => {
      process.stdout.write(list(STRATEGIES));
    });
  program
    .command("profiles")
    .summary("list the built-in L0 profiles, one line each")
    .description("Lists the built-in L0 (vmcs01) bitmap profiles for --l0-profile, one line each.")
    .addHelpText("after", examples("nvmx-replay profiles", "nvmx-replay compare traces/linux-kvm.csv --l0-profile kvm-modern"))
    .action(() => {
      process.stdout.write(list(L0_PROFILES));
    });
}
