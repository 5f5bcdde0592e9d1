/**
 * `--strategy-module FILE`: plug-in strategies from ES modules, joined to the
 * built-ins for one run (engine/strategies/index.ts registryWith). The main
 * thread loads them to check names and list them; a worker thread loads them
 * again from the same files (ReplaySpec.strategyModules), with the same
 * checks, since a strategy is code and cannot cross threads.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { StrategyDefinitionError, validateStrategy } from "../engine/define-strategy.js";
import { BUILT_IN_REGISTRY, registryWith, type StrategyRegistry } from "../engine/strategies/index.js";
import type { Strategy } from "../engine/strategy.js";
import { at, InputError, reason } from "./errors.js";
import { importEsm } from "./esm-import.js";

/**
 * The registry of the built-ins and every strategy the modules export, in
 * the order of the files, then of their exports. Each module's problem is
 * an InputError naming the file: it cannot be loaded, it exports no
 * strategy, one breaks the interface (validateStrategy), or a name is taken
 * (by a built-in, or by another strategy of these modules). A file named
 * twice is loaded once.
 */
export async function loadStrategyModules(files: readonly string[]): Promise<StrategyRegistry> {
  if (files.length === 0) return BUILT_IN_REGISTRY;
  const seen = new Set<string>();
  const loaded: Strategy[] = [];
  const definedIn = new Map<string, string>();
  for (const file of files) {
    const path = resolve(file);
    if (seen.has(path)) continue;
    seen.add(path);
    for (const strategy of await strategiesIn(file, path)) {
      const other = definedIn.get(strategy.name);
      if (other !== undefined) {
        const where = other === file ? "defined twice in this module" : `also defined by ${other}`;
        throw new InputError(`${at(file)}--strategy-module: strategy "${strategy.name}" is ${where}`);
      }
      definedIn.set(strategy.name, file);
      loaded.push(strategy);
    }
  }
  return registryWith(loaded);
}

/**
 * The strategies one module exports, checked. An export is taken for a
 * strategy when it is an object with a `name` or a `create` member (the
 * default export may also be an array of them); anything else a module
 * exports (helpers, constants) is left alone. An object exported under
 * several names counts once.
 */
async function strategiesIn(file: string, path: string): Promise<Strategy[]> {
  const prefix = `${at(file)}--strategy-module: `;
  const module = await importModule(path, prefix);
  const candidates: [string, unknown][] = [];
  for (const [key, value] of Object.entries(module)) {
    if (key === "default" && Array.isArray(value)) {
      value.forEach((item, i) => {
        candidates.push([`default export [${i}]`, item]);
      });
    } else if (looksLikeStrategy(value)) {
      candidates.push([key === "default" ? "default export" : `export ${key}`, value]);
    }
  }
  const unique = new Map<unknown, string>();
  for (const [what, value] of candidates) if (!unique.has(value)) unique.set(value, what);
  if (unique.size === 0) {
    throw new InputError(
      `${prefix}exports no strategy (export objects made with defineStrategy(), or a default export of one or an array of them)`,
    );
  }
  return [...unique].map(([value, what]) => {
    let strategy: Strategy;
    try {
      strategy = validateStrategy(value);
    } catch (error) {
      if (!(error instanceof StrategyDefinitionError)) throw error;
      throw new InputError(`${prefix}${what}: ${error.message}`);
    }
    return guarded(strategy, file);
  });
}

/**
 * A plug-in strategy whose failures name it: an exception thrown by its
 * create(), entry() or l1Write() becomes an InputError naming the file, the
 * strategy and the member, in one line (exit 1), not an internal error of
 * this program's. Built-in strategies are not wrapped: they run unguarded in
 * the replay's loops.
 */
function guarded(strategy: Strategy, file: string): Strategy {
  const failed = (member: string, error: unknown) => {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new InputError(
      `${at(file)}--strategy-module: strategy "${strategy.name}" failed in ${member}: ${why.split("\n")[0]}`,
    );
  };
  const create: Strategy["create"] = (machine, counters) => {
    let l0: ReturnType<Strategy["create"]>;
    try {
      l0 = strategy.create(machine, counters);
    } catch (error) {
      throw failed("create()", error);
    }
    const { entry, l1Write } = l0;
    return {
      ...(entry
        ? {
            entry: (v, state) => {
              try {
                return entry.call(l0, v, state);
              } catch (error) {
                throw failed("entry()", error);
              }
            },
          }
        : {}),
      ...(l1Write
        ? {
            l1Write: (gpa) => {
              try {
                l1Write.call(l0, gpa);
              } catch (error) {
                throw failed("l1Write()", error);
              }
            },
          }
        : {}),
    };
  };
  return Object.freeze({ ...strategy, create });
}

function looksLikeStrategy(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && ("name" in value || "create" in value);
}

/** import() of the file's URL; a file that is missing or does not load is an InputError with the first line of why. */
async function importModule(path: string, prefix: string): Promise<Record<string, unknown>> {
  try {
    if (!statSync(path).isFile()) throw new InputError(`${prefix}not a file`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new InputError(`${prefix}${missing ? "no such file" : reason(error)}`);
  }
  try {
    return await importEsm(pathToFileURL(path).href);
  } catch (error) {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new InputError(`${prefix}cannot be loaded: ${why.split("\n")[0]}`);
  }
}
