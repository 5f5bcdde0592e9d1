/**
 * What `record` must undo, run once on whichever exit path comes first: the
 * normal end, an error (the caller's finally), a signal, or the process
 * exiting some other way (an `exit` listener). The steps are synchronous,
 * since a signal handler and an `exit` listener cannot wait for anything.
 *
 * On SIGINT, SIGTERM or SIGHUP the steps run, then the process dies of the
 * signal as it would have without a handler. The handler is put first among
 * the signal's listeners: src/io/output.ts's own handler (which removes an
 * unfinished `-o` file) re-raises the signal, and the kernel's state must be
 * restored before that.
 */
export const CLEANUP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export class Cleanup {
  private readonly steps: (() => void)[] = [];
  private installed = false;
  private ran = false;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.beforeSignal?.(signal);
    this.run();
    // Another listener (output.ts's) re-raises the signal itself; otherwise do it here.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  private readonly onExit = (): void => this.run();

  /** Called first when a signal arrives (to pass it on to the recorded command). */
  beforeSignal: ((signal: NodeJS.Signals) => void) | null = null;

  /** Adds a step; steps run last added first. */
  push(step: () => void): void {
    this.steps.push(step);
  }

  install(): void {
    if (this.installed) return;
    this.installed = true;
    for (const s of CLEANUP_SIGNALS) process.prependListener(s, this.onSignal);
    process.on("exit", this.onExit);
  }

  /** Runs every step once (a failing step does not stop the others) and removes the listeners. */
  run(): void {
    this.uninstall();
    if (this.ran) return;
    this.ran = true;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        step();
      } catch {
        // each step reports its own failure; the others must still run
      }
    }
  }

  private uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    for (const s of CLEANUP_SIGNALS) process.off(s, this.onSignal);
    process.off("exit", this.onExit);
  }
}
