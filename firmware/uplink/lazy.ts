// What the scheduler calls of the link's code and of the commands'. Neither is parsed at a wake
// that does not need it: the bundle keeps each as a raw string, which Espruino's lexer skips
// (docs/espruino-dialect.md), and evaluates it the first time it is needed:
// - the link (link.ts, the MQTT client, SenML; ~13 KB of image) when a wake connects; on a
//   planned upload while the sensors start and the prelude's join goes on;
// - the commands (their format, HMAC check and actions; ~5 KB) when one arrives, which is rare,
//   with the config check (config-check.ts) when the config changed since it last passed;
// - the maintenance console's commands (casanode.diag() and the rest) when a crew calls one.
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "../runtime/state.js";
import type { Uplink } from "./link.js";
import { loadUplink } from "./load.js";
import { loadCommands } from "../runtime/commands-load.js";
import { loadConsole } from "../runtime/console-load.js";
import type { NodeConsole } from "../runtime/console.js";
import type { ConsoleLock } from "../runtime/lock.js";
import type { BoardProfile } from "../board.js";
import type { ConfigResult } from "../config-check.js";

export interface UplinkApi {
  Uplink: new (rt: Runtime, persistent: boolean) => Uplink;
}

export interface CommandsApi {
  handleCommand(rt: Runtime, payload: string): void;
  refuseTooLarge(rt: Runtime, bytes: number, head: string): void;
  validateConfig(raw: any, board: BoardProfile): ConfigResult;
}

export interface ConsoleApi {
  makeConsole(rt: Runtime, lock?: ConsoleLock | null): NodeConsole;
}

/** a part's code, evaluated the first time it is asked for */
function once<T>(load: () => T): () => T {
  var api: T | null = null;
  return function () {
    if (!api) api = load();
    return api;
  };
}

export var uplinkApi = once(loadUplink);
export var commandsApi = once(loadCommands);
export var consoleApi = once(loadConsole);

/** the object on global.casanode: each call makes the real console (evaluating its code) first */
export function lazyConsole(rt: Runtime, lock?: ConsoleLock | null): NodeConsole {
  var real: NodeConsole | null = null, out: any = {};
  ["diag", "status", "config", "queue", "help", "lock", "restart", "selftest"].forEach(function (name) {
    out[name] = function () {
      if (!real) real = consoleApi().makeConsole(rt, lock);
      return (real as any)[name]();
    };
  });
  return out as NodeConsole;
}
