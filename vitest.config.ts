import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // CLI tests start node processes; give them room on a 2-core machine.
    testTimeout: 30_000,
    pool: "forks",
    // No test writes the user's cache or sees its notes on stderr; test/cache.test.ts turns it on, in a folder of its own.
    env: { NVMX_REPLAY_NO_CACHE: "1" },
  },
});
