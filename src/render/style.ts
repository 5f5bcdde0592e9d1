/** Colour for the table renderers: on a terminal only, never with NO_COLOR. */

/** The few styles the tables use. */
export interface Style {
  bold(text: string): string;
  red(text: string): string;
  /** Violations. */
  alarm(text: string): string;
  green(text: string): string;
}

const same = (text: string) => text;

export const plain: Style = { bold: same, red: same, alarm: same, green: same };

/**
 * chalk reads FORCE_COLOR and the terminal but not NO_COLOR
 * (https://no-color.org: present and not empty disables colour), so decide
 * here; chalk is loaded only when colour is on.
 */
export async function styleFor(isTTY: boolean, env: NodeJS.ProcessEnv): Promise<Style> {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  if (noColor || !(isTTY || forced)) return plain;
  const { Chalk } = await import("chalk");
  const chalk = new Chalk({ level: 1 });
  return { bold: chalk.bold, red: chalk.red, alarm: chalk.red.bold, green: chalk.green };
}
