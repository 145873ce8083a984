// The console's commands (console-api.ts), the diag report (console.ts) and the lock's code (lock.ts) as one object. The bundles replace this file: there it
// evaluates the same code from a string in the image, the first time a crew calls one or a
// boot publishes its diag (rollup.config.mjs `LAZY_PARTS`; uplink/lazy.ts). Firmware code: ES5.

import { makeConsole } from "./console-api.js";
import { diagReport } from "./console.js";
import { ConsoleLock } from "./lock.js";
import type { ConsolePort } from "./lock-guard.js";
import type { ConsoleApi } from "../uplink/lazy.js";

export function loadConsole(): ConsoleApi {
  return {
    makeConsole: makeConsole,
    diagReport: diagReport,
    consoleLock: function (cons: ConsolePort[], password: string, health: () => any) {
      return new ConsoleLock(cons, password, health);
    },
  };
}
