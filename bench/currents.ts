// The current figures the energy model uses (boards/profiles/currents.ts), with their sources
// (sim/current-sources.ts) and the boards that use each part.

import { CURRENTS } from "../boards/profiles/currents.js";
import { CURRENT_SOURCES } from "../sim/current-sources.js";
import type { BoardProfile } from "../firmware/board.js";

export interface CurrentRow {
  part: string;
  /** mA powered and working / asleep or switched off */
  onMa: number;
  offMa: number;
  source: string;
  /** boards whose profile uses this part's figures */
  boards: string[];
}

/** the parts of CURRENTS a board's profile draws on: its module, the radio, each device */
function partsOf(p: BoardProfile): string[] {
  const parts: string[] = [];
  // a latched supply's flip-flop (DeviceSpec power.offPin) draws from the board's rail, asleep too
  const latches = p.devices.filter((d) => d.power?.offPin !== undefined).length;
  const rail = latches * CURRENTS["latch-74lvc1g74"].off;
  for (const part of ["esp32-cpu", "esp32-devkitc", "esp32-lowpower"]) {
    if (CURRENTS[part].on === p.currentMa.awake && Math.abs(CURRENTS[part].off + rail - p.currentMa.sleep) < 1e-9) parts.push(part);
  }
  if (latches) parts.push("latch-74lvc1g74");
  if (p.currentMa.radio && CURRENTS["esp32-wifi"].on === p.currentMa.radio) parts.push("esp32-wifi");
  for (const d of p.devices) {
    if (d.model === "hcsr04") parts.push(d.options?.model === "jsn-sr04t" ? "jsn-sr04t" : "hc-sr04");
    else if (d.model === "relay") parts.push("relay-5v", "acs712");
    else if (CURRENTS[d.model]) parts.push(d.model);
  }
  return parts;
}

export function currentsTable(profiles: BoardProfile[] = []): CurrentRow[] {
  const used = new Map<string, string[]>();
  for (const p of profiles) for (const part of partsOf(p)) used.set(part, [...(used.get(part) ?? []), p.name]);
  return Object.keys(CURRENTS).map((part) => ({
    part,
    onMa: CURRENTS[part].on,
    offMa: CURRENTS[part].off,
    source: CURRENT_SOURCES[part] ?? "(no source given)",
    boards: used.get(part) ?? [],
  }));
}
