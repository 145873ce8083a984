// SenML JSON packs (RFC 8428) for the data topic.
//
// Each message is one pack: the first record carries bn = "casanode/<site>/<node>/" (the
// topic root of the node, so a name resolves to "casanode/s1/n7/pm.pm25" and a consumer can
// check it against the topic it came in on; all its chars are legal in SenML names, 4.5.1),
// bt = base time in whole seconds since the epoch, and each record n, u, v and t (seconds
// relative to bt, omitted when 0).
//
// Units: PM is sent in "ug/m3" and distances in "mm", as the sensors and the air-quality
// limits state them, not converted to kg/m3 (1e-9 factors) or m. Both are RFC 8798
// secondary units, which a pack may use when it says so: packs that contain one carry
// bver = 26, the base version 10 plus the "Secondary Units" feature (code 4, RFC 9100).
// A consumer converts with the registry's scale (ug/m3 -> kg/m3: 1e-9; mm -> m: 1/1000).

import { DEFAULT_RES, roundTo } from "../../drivers/quantities.js";

export interface TimedReading {
  /** record name relative to bn, chars [A-Za-z0-9:./_-], e.g. "pm.pm25" */
  name: string;
  unit: string;
  value: number;
  /** seconds since the epoch */
  t: number;
}

/** base version with the "Secondary Units" feature bit (RFC 9100 section 4) */
export const SENML_BVER_SECONDARY = 26;

/** RFC 8798 secondary units the firmware may emit */
export const SECONDARY_UNITS = ["ug/m3", "mm", "ms", "min", "h", "mA", "mV", "hPa", "ppm", "Ah", "Wh", "kWh"];

export function senmlBaseName(site: string, node: string): string {
  return "casanode/" + site + "/" + node + "/";
}

/** 12.345678 -> 12.346: readings carry no more than the table's DEFAULT_RES (and Espruino prints ~11 digits) */
function round3(v: number): number {
  return roundTo(v, DEFAULT_RES);
}

function record(r: TimedReading, bt: number): string {
  var s = '"n":' + JSON.stringify(r.name) + (r.unit ? ',"u":' + JSON.stringify(r.unit) : "") + ',"v":' + round3(r.value);
  var t = round3(r.t - bt);
  return t ? s + ',"t":' + t : s;
}

/**
 * Pack readings into SenML JSON messages of at most maxBytes each, in order.
 * Readings with a non-finite value, and any single reading too big for maxBytes alone, are left out.
 */
export function packReadings(bn: string, readings: TimedReading[], maxBytes: number): string[] {
  var out: string[] = [], msg = "", bt = 0, i: number, r: TimedReading, rec: string;
  var head = '{"bn":' + JSON.stringify(bn);
  for (i = 0; i < readings.length; i++) {
    if (SECONDARY_UNITS.indexOf(readings[i].unit) >= 0) {
      head += ',"bver":' + SENML_BVER_SECONDARY;
      break;
    }
  }
  for (i = 0; i < readings.length; i++) {
    r = readings[i];
    if (!isFinite(r.value) || !isFinite(r.t)) continue;
    if (msg) {
      rec = ",{" + record(r, bt) + "}";
      // +1 for the closing "]"
      if (msg.length + rec.length + 1 <= maxBytes) {
        msg += rec;
        continue;
      }
      out.push(msg + "]");
      msg = "";
    }
    bt = Math.floor(r.t);
    rec = "[" + head + ',"bt":' + bt + "," + record(r, bt) + "}";
    if (rec.length + 1 <= maxBytes) msg = rec;
  }
  if (msg) out.push(msg + "]");
  return out;
}
