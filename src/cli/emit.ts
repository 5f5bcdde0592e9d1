/** Where a command's data goes: stdout, or `-o FILE` written atomically. */
import { refuseOverwritingInput, writeFileAtomic } from "../io/output.js";
import { plain, type Style, styleFor } from "../render/style.js";

export interface Destination {
  /** Colours for tables: none in files, pipes or under NO_COLOR. */
  readonly style: Style;
  write(content: string): Promise<void>;
}

export async function destination(output: string | undefined, inputs: readonly string[]): Promise<Destination> {
  if (output !== undefined) {
    refuseOverwritingInput(output, inputs);
    return { style: plain, write: (content) => writeFileAtomic(output, content) };
  }
  return {
    style: await styleFor(process.stdout.isTTY === true, process.env),
    write: (content) =>
      new Promise<void>((resolve, reject) => {
        // A reader that went away (`| head`) is not an error: the data was for it.
        process.stdout.write(content, (error) => (error && !isEpipe(error) ? reject(error) : resolve()));
      }),
  };
}

export function isEpipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === "EPIPE";
}
