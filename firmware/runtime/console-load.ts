// The console's commands (console-api.ts) as one object. The bundles replace this file: there it
// evaluates the same code from a string in the image, the first time a crew calls one
// (rollup.config.mjs `LAZY_PARTS`; uplink/lazy.ts). Firmware code: ES5.

import { makeConsole } from "./console-api.js";
import type { ConsoleApi } from "../uplink/lazy.js";

export function loadConsole(): ConsoleApi {
  return { makeConsole: makeConsole };
}
