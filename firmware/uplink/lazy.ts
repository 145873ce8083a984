// What the scheduler calls of the link's code and of the commands'. Neither is parsed at a wake
// that does not need it: the bundle keeps each as a raw string, which Espruino's lexer skips
// (docs/espruino-dialect.md), and evaluates it the first time it is needed:
// - the link (link.ts, the MQTT client, SenML; ~13 KB of image) when a wake connects; on a
//   planned upload while the sensors start and the prelude's join goes on;
// - the commands (their format, HMAC check and actions; ~5 KB) when one arrives, which is rare.
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "../runtime/state.js";
import type { Uplink } from "./link.js";
import { loadUplink } from "./load.js";
import { loadCommands } from "../runtime/commands-load.js";

export interface UplinkApi {
  Uplink: new (rt: Runtime, persistent: boolean) => Uplink;
}

export interface CommandsApi {
  handleCommand(rt: Runtime, payload: string): void;
  refuseTooLarge(rt: Runtime, bytes: number, head: string): void;
}

var link: UplinkApi | null = null, commands: CommandsApi | null = null;

/** the link's code, evaluated once */
export function uplinkApi(): UplinkApi {
  if (!link) link = loadUplink();
  return link;
}

/** the commands' code, evaluated once */
export function commandsApi(): CommandsApi {
  if (!commands) commands = loadCommands();
  return commands;
}
