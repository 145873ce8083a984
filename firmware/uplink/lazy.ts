// What the scheduler calls of the link's code. That code (~17 KB of image: link.ts, the MQTT
// client, SenML, commands) is not parsed at a wake that only samples: the bundle keeps it as a
// raw string, which Espruino's lexer skips (docs/espruino-dialect.md), and evaluates it when a
// wake first connects. On a planned upload that happens while the prelude's join goes on.
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "../runtime/state.js";
import type { Uplink } from "./link.js";
import { loadUplink } from "./load.js";

export interface UplinkApi {
  Uplink: new (rt: Runtime, persistent: boolean) => Uplink;
  handleCommand(rt: Runtime, payload: string): void;
  refuseTooLarge(rt: Runtime, bytes: number, head: string): void;
}

var api: UplinkApi | null = null;

/** the link's code, evaluated once */
export function uplinkApi(): UplinkApi {
  if (!api) api = loadUplink();
  return api;
}
