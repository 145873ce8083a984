// Alarm rules. An alarm is "<device>:<name>": one a driver reports with its read (stuck-relay,
// lamp-failure...), or a reading above the config threshold its quantity names in the quantity
// table (drivers/quantities.ts: pm25 > thresholds.pm25 -> "pm25-high"). The set active after a
// cycle is kept in the store; the ones not active before are "raised" (battery nodes upload at once).
// Firmware code: ES5, Espruino subset.

import type { SensorResult } from "../../drivers/types.js";
import type { NodeConfig } from "../config.js";
import { QUANTITIES } from "../../drivers/quantities.js";

/**
 * Add the alarms of one device's read to `out` (this cycle's so far). A failed read neither
 * raises nor clears the device's alarms: those of it in `active` stay.
 */
export function readAlarms(dev: string, r: SensorResult, th: NodeConfig["thresholds"], active: string[], out: string[]): void {
  var j: number;
  if (r.alarms) for (j = 0; j < r.alarms.length; j++) out.push(dev + ":" + r.alarms[j]);
  if (!r.ok) {
    for (j = 0; j < active.length; j++) if (active[j].indexOf(dev + ":") === 0 && out.indexOf(active[j]) < 0) out.push(active[j]);
    return;
  }
  for (j = 0; j < r.readings.length; j++) {
    var v = r.readings[j].value, q = QUANTITIES[r.readings[j].name];
    if (!q || !q.alarm || !q.above || typeof v !== "number" || !isFinite(v)) continue;
    var limit = th[q.above];
    if (limit !== undefined && v > limit) out.push(dev + ":" + q.alarm);
  }
}

/** This cycle's alarms become the active set (each once); returns those that were not active. */
export function settleAlarms(st: { alarms: string[] }, alarms: string[]): string[] {
  var raised: string[] = [], now: string[] = [];
  for (var i = 0; i < alarms.length; i++) {
    if (now.indexOf(alarms[i]) >= 0) continue;
    now.push(alarms[i]);
    if (st.alarms.indexOf(alarms[i]) < 0) raised.push(alarms[i]);
  }
  st.alarms = now;
  return raised;
}
