/** Where a command's data goes: stdout, or `-o FILE` (src/io/output.ts). */
import { OutputFile, outputFile, refuseOverwritingInput, stdoutWriteError } from "../io/output.js";
import { plain, type Style, styleFor } from "../render/style.js";

export interface Destination {
  /** Colours for tables: none in files, pipes or under NO_COLOR. */
  readonly style: Style;
  /**
   * Writes the whole output (once), a string or chunks of one (written as they
   * come, so a huge output is never one string); an error is an InputError,
   * one line.
   */
  write(content: string | Iterable<string> | AsyncIterable<string>): Promise<void>;
}

/**
 * Opens the destination at once, before any work: `-o` into a folder that does
 * not exist or cannot be written fails here, not after a long replay. An output
 * opened and never written (the replay failed) is removed when the process
 * exits (output.ts), so the old file stays as it was.
 */
export async function destination(option: string | undefined, inputs: readonly string[]): Promise<Destination> {
  const output = outputFile(option);
  if (output !== undefined) {
    refuseOverwritingInput(output, inputs);
    const file = await OutputFile.open(output);
    return {
      style: plain,
      write: async (content) => {
        for await (const chunk of pieces(content)) await file.write(chunk);
        await file.commit();
      },
    };
  }
  return {
    style: await styleFor(process.stdout.isTTY === true, process.env),
    write: async (content) => {
      for await (const chunk of pieces(content)) {
        // A reader that went away (`| head`) is not an error: the data was for it.
        const gone = await new Promise<boolean>((resolve, reject) => {
          process.stdout.write(chunk, (error) =>
            error && !isEpipe(error) ? reject(stdoutWriteError(error)) : resolve(error !== null && error !== undefined),
          );
        });
        if (gone) return;
      }
    },
  };
}

/** An AsyncIterable (compare --window) is written as it comes. */
function pieces(content: string | Iterable<string> | AsyncIterable<string>): Iterable<string> | AsyncIterable<string> {
  return typeof content === "string" ? [content] : content;
}

export function isEpipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === "EPIPE";
}
