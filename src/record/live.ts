/**
 * The live event count `record` shows on stderr: only on a terminal, never
 * with --quiet, rewritten in place like the other commands' progress line
 * (src/cli/progress.ts).
 */
import { count } from "../render/text-table.js";

/** How often the line is rewritten. */
const EVERY_MS = 250;

export interface LiveCount {
  update(lines: number, seconds: number): void;
  done(): void;
}

export function liveCount(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): LiveCount {
  if (quiet || stream.isTTY !== true) return { update() {}, done() {} };
  let last = 0;
  let shown = false;
  return {
    update(lines, seconds) {
      const now = Date.now();
      if (now - last < EVERY_MS) return;
      last = now;
      stream.write(`\r\u001b[Krecording: ${count(lines)} events, ${seconds.toFixed(0)} s (Ctrl-C aborts)`);
      shown = true;
    },
    done() {
      if (shown) stream.write("\r\u001b[K");
    },
  };
}
