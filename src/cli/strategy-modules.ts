/** `--strategy-module FILE` on the commands that name strategies: the run's registry it makes (the option is in the table). */
import { rememberStrategies, type StrategyRegistry } from "../engine/strategies/index.js";
import { loadStrategyModules } from "../io/strategy-modules.js";
import { parseOptions, StrategyModuleOptions } from "./options.js";

/**
 * The run's strategies: the built-ins and those of its --strategy-module
 * files (loaded and checked now, so a bad module fails before any trace is
 * read), also made known by name to what renders the results (their merge
 * cost, whether they are unsafe on purpose).
 */
export async function strategyRegistry(raw: unknown): Promise<StrategyRegistry> {
  const { strategyModule } = parseOptions(StrategyModuleOptions, raw);
  const registry = await loadStrategyModules(strategyModule);
  rememberStrategies(registry);
  return registry;
}
