/**
 * import() of an ES module by URL, as a function of its own: the command
 * line's CommonJS bundle (built for the compile cache, src/cli/start.ts)
 * runs as code compiled by node:vm, which cannot call import() itself on
 * Node 20 without an experimental flag. That bundle gets this module
 * replaced by one that calls the import() start.ts hands it
 * (scripts/build.mjs); everywhere else it is the plain import() below.
 */
export function importEsm(url: string): Promise<Record<string, unknown>> {
  return import(url) as Promise<Record<string, unknown>>;
}
