// The console's commands (console-api.ts) and the diag report (console.ts) as one object. The bundles replace this file: there it
// evaluates the same code from a string in the image, the first time a crew calls one or a
// boot publishes its diag (rollup.config.mjs `LAZY_PARTS`; uplink/lazy.ts). Firmware code: ES5.

import { makeConsole } from "./console-api.js";
import { diagReport } from "./console.js";
import type { ConsoleApi } from "../uplink/lazy.js";

export function loadConsole(): ConsoleApi {
  return { makeConsole: makeConsole, diagReport: diagReport };
}
