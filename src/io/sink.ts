/**
 * Where a streamed text output goes, row batches at a time: `-o FILE` (by the
 * rules of every output, src/io/output.ts) or stdout with backpressure. Used
 * by `import` and `record`, which write as they read.
 */
import { OutputFile, stdoutWriteError } from "./output.js";

export interface Sink {
  /** The destination went away (a closed pipe): stop reading. */
  readonly closed: boolean;
  write(text: string): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** `-o FILE`: a temporary file beside it, renamed over it at the end (or a FIFO or device, written into). */
export class FileSink implements Sink {
  readonly closed = false;
  private constructor(private readonly writer: OutputFile) {}

  static async open(path: string): Promise<FileSink> {
    return new FileSink(await OutputFile.open(path));
  }

  write(text: string): Promise<void> {
    return this.writer.write(text);
  }

  commit(): Promise<void> {
    return this.writer.commit();
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }
}

/** Stdout, with backpressure; a reader that went away (`| head`) ends the import quietly. */
export class StdoutSink implements Sink {
  closed = false;
  private failure: Error | null = null;
  private readonly onError = (error: Error): void => {
    if ((error as NodeJS.ErrnoException).code === "EPIPE") this.closed = true;
    else this.failure ??= stdoutWriteError(error); // one line naming stdout, not the input
  };

  constructor() {
    process.stdout.on("error", this.onError);
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed || process.stdout.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        process.stdout.off("drain", done);
        process.stdout.off("error", done);
        resolve();
      };
      process.stdout.on("drain", done);
      process.stdout.on("error", done);
    });
    if (this.failure) throw this.failure;
  }

  // The error listener stays: a pipe closed after the last write still reports EPIPE.
  async commit(): Promise<void> {
    if (!this.closed) await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
    if (this.failure) throw this.failure;
  }

  async abort(): Promise<void> {}
}
