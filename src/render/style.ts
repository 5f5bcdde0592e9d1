/** Colour for the table renderer: on a terminal only, never with NO_COLOR. */
import { Chalk, type ChalkInstance } from "chalk";

export type Style = ChalkInstance;

/**
 * chalk reads FORCE_COLOR and the terminal but not NO_COLOR
 * (https://no-color.org: present and not empty disables colour), so decide here.
 */
export function styleFor(isTTY: boolean, env: NodeJS.ProcessEnv): Style {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  return new Chalk({ level: !noColor && (isTTY || forced) ? 1 : 0 });
}

export const plain: Style = new Chalk({ level: 0 });
