// The commands' code (commands.ts, their format and HMAC check) and the config check
// (config-check.ts) as one object. The bundles replace this file: there it evaluates the same
// code from a string in the image, the first time a command arrives or a config is to be checked (rollup.config.mjs `LAZY_PARTS`; uplink/lazy.ts). Firmware code: ES5.

import { handleCommand, refuseTooLarge } from "./commands.js";
import { validateConfig, refusedPassword } from "../config-check.js";
import type { CommandsApi } from "../uplink/lazy.js";

/**
 * Which build of this code runs: in a bundle, the hash of the commands' image (rollup.config.mjs
 * `build`), so a config that passed other rules is checked again (node.ts checkedConfig).
 */
export var COMMANDS_BUILD = "source";

export function loadCommands(): CommandsApi {
  return { handleCommand: handleCommand, refuseTooLarge: refuseTooLarge, validateConfig: validateConfig, refusedPassword: refusedPassword };
}
