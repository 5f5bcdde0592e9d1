/**
 * A progress line on stderr for long replays: bytes read, events, events/s
 * and time left. Only on a terminal, never with --quiet, never on stdout.
 */
import { statSync } from "node:fs";
import { printable } from "../io/printable.js";
import { STDIN } from "../io/trace-source.js";

const EVERY_MS = 250;
/** Short runs finish before a line would help. */
const AFTER_MS = 500;

export interface Progress {
  update(bytes: number, events: number): void;
  done(): void;
}

const silent: Progress = { update() {}, done() {} };

export function progressFor(file: string, quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (quiet || stream.isTTY !== true) return silent;
  let total = 0;
  try {
    total = file === STDIN ? 0 : statSync(file).size;
  } catch {
    total = 0;
  }
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(bytes, events) {
      const now = Date.now();
      if (now - started < AFTER_MS || now - last < EVERY_MS) return;
      last = now;
      const seconds = (now - started) / 1000;
      const rate = events / seconds;
      const parts = [
        `${printable(file)}: ${mib(bytes)}${total > 0 ? ` of ${mib(total)}` : ""}`,
        `${million(events)} events`,
        `${million(rate)}/s`,
      ];
      if (total > 0 && bytes > 0) parts.push(`${Math.max(0, (seconds * (total - bytes)) / bytes).toFixed(0)} s left`);
      stream.write(`\r\u001b[K${parts.join(", ")}`);
      shown = true;
    },
    done() {
      if (shown) stream.write("\r\u001b[K");
    },
  };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function million(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`;
}
