// What the scheduler calls of the link's code and of the commands'. Neither is parsed at a wake
// that does not need it: the bundle keeps each as a raw string, which Espruino's lexer skips
// (docs/espruino-dialect.md), and evaluates it the first time it is needed:
// - the link (link.ts, the MQTT client, SenML, and a battery session: session.ts; ~12 KB of
//   image) when a wake connects, a mains node at boot (with mains.ts: uplink/mains-lazy.ts); on
//   a planned upload while the sensors start and the prelude's join goes on;
// - the commands (their format, HMAC check and actions; ~5 KB) when one arrives, which is rare,
//   with the config check (config-check.ts) when the config changed since it last passed
//   (runtime/commands-lazy.ts);
// - the maintenance console's commands (casanode.diag() and the rest) when a crew calls one,
//   and the diag report with them (a power-on or safe boot publishes it; the lock shows it).
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "../runtime/state.js";
import type { Scheduler } from "../runtime/cycle.js";
import type { Uplink } from "./link.js";
import { loadUplink } from "./load.js";
import { once } from "../runtime/once.js";
import type { NodeConsole } from "../runtime/console.js";
import type { ConsoleGuard, ConsolePort, FullLock } from "../runtime/lock-guard.js";
import type { BoardProfile } from "../board.js";
import type { ConfigResult } from "../config-check.js";

export interface UplinkApi {
  /** a battery wake's session (uplink/session.ts) */
  session(s: Scheduler, done: () => void): void;
  /** the link to the broker, commands and the OTA topic wired to it (persistent: mains) */
  openLink(rt: Runtime, persistent: boolean): Uplink;
  /** an upload's outcome in the books */
  uploaded(rt: Runtime, err: string | null): void;
}

export interface CommandsApi {
  handleCommand(rt: Runtime, payload: string): void;
  refuseTooLarge(rt: Runtime, bytes: number, head: string): void;
  validateConfig(raw: any, board: BoardProfile): ConfigResult;
  /** the console password of a refused config file (config-check.ts) */
  refusedPassword(raw: any, text: string): string | undefined;
}

export interface ConsoleApi {
  makeConsole(rt: Runtime, lock?: ConsoleGuard | null): NodeConsole;
  diagReport(rt: Runtime): any;
  /** the console lock's code, taking over the devices lock-guard.ts locked */
  consoleLock(cons: ConsolePort[], password: string, health: () => any): FullLock;
}

export var uplinkApi = once(loadUplink);
