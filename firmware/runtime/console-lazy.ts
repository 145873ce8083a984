// The maintenance console's code and the diag report, evaluated the first time they are needed
// (a crew calls a command, the lock shows the report, a power-on or safe boot publishes it). Its
// own module, apart from uplink/lazy.ts: the link's code calls it, and lazy.ts loads the link.
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "./state.js";
import type { NodeConsole } from "./console.js";
import type { ConsoleGuard } from "./lock-guard.js";
import type { ConsoleApi } from "../uplink/lazy.js";
import { loadConsole } from "./console-load.js";
import { once } from "./once.js";

export var consoleApi = once<ConsoleApi>(loadConsole);

/** the object on global.casanode: each call makes the real console (evaluating its code) first */
export function lazyConsole(rt: Runtime, lock?: ConsoleGuard | null): NodeConsole {
  var real: NodeConsole | null = null, out: any = {};
  ["diag", "status", "config", "queue", "help", "lock", "restart", "selftest"].forEach(function (name) {
    out[name] = function () {
      if (!real) real = consoleApi().makeConsole(rt, lock);
      return (real as any)[name]();
    };
  });
  return out as NodeConsole;
}
