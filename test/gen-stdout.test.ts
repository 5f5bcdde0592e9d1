/**
 * `gen … -o -` (issue 14): the trace goes to stdout, its snapshots to the
 * current folder (where a piped trace's snapshots are looked for), named
 * after the workload; stderr says where they went.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lines, runCli, useTempDirs } from "./helpers/cli.js";

const tempDir = useTempDirs("each");

describe("gen -o -", () => {
  it("writes the same trace as -o FILE, and its snapshot to the current folder", () => {
    const piped = tempDir({});
    const r = runCli(["gen", "linux-idle", "--events", "10", "-o", "-"], { cwd: piped });
    expect(r.status, r.stderr).toBe(0);
    // linux-idle loads one snapshot (SHARED_KVM_L1_SNAPSHOT, key "l1"); stdout has no
    // name, so it is named after the workload: linux-idle.l1.json.
    expect(readdirSync(piped)).toEqual(["linux-idle.l1.json"]);
    expect(r.stderr).toBe(
      "wrote 10 events to stdout (+ snapshot linux-idle.l1.json in the current folder, where a piped trace's snapshots are found)\n",
    );
    // -o linux-idle.csv names the snapshot the same way (its stem), so the two traces
    // differ only in the regenerate line of the header comment.
    const filed = tempDir({});
    expect(runCli(["gen", "linux-idle", "--events", "10", "-o", "linux-idle.csv"], { cwd: filed }).status).toBe(0);
    const file = readFileSync(join(filed, "linux-idle.csv"), "utf8");
    expect(r.stdout).toBe(file.replace("-o linux-idle.csv\n", "-o -\n"));
    expect(r.stdout).not.toBe(file);
    expect(readFileSync(join(piped, "linux-idle.l1.json"), "utf8")).toBe(
      readFileSync(join(filed, "linux-idle.l1.json"), "utf8"),
    );
    // 10 data rows after the header line: exactly --events.
    const rows = lines(r.stdout).filter((l) => l !== "" && !l.startsWith("#"));
    expect(rows.length).toBe(1 + 10);
  });

  it("pipes into compare -, which finds the snapshot in the current folder", () => {
    const dir = tempDir({});
    const gen = runCli(["gen", "linux-idle", "--events", "10", "-o", "-"], { cwd: dir });
    expect(gen.status, gen.stderr).toBe(0);
    const r = runCli(["compare", "-", "-s", "merged", "-f", "json"], { cwd: dir, input: gen.stdout });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { events: number }).events).toBe(10);
  });
});
