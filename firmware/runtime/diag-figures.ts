// Figures the diag report (console.ts) works out: the charge drawn from the energy ledger, the
// flash's life from its write rate, the config with its secrets masked. In the console's part
// (rollup.config.mjs LAZY_PARTS): a wake lexes them only when a crew asks.
// Firmware code: ES5, Espruino subset.

import type { BoardProfile } from "../board.js";
import { SECRET_FIELDS } from "../config.js";
import { ESP32_STORAGE_BYTES } from "./store.js";

/** NOR flash sectors on ESP32 modules are rated for this many erase cycles (datasheets: >= 100k) */
export const FLASH_ENDURANCE_CYCLES = 100000;

/**
 * Charge drawn, mAh, from the totals and the board's figures: the board's sleep current
 * while asleep, awake current while awake, plus the radio, plus each device's "on" current
 * while powered (and its "off" current the rest of the time it was not powered).
 */
export function estimateMah(totals: { [state: string]: number }, board: BoardProfile): number {
  var h = function (s: string) { return (totals[s] || 0) / 3600000; };
  var all = h("awake") + h("sleep");
  var mah = h("sleep") * board.currentMa.sleep + h("awake") * board.currentMa.awake + h("radio") * board.currentMa.radio;
  for (var i = 0; i < board.devices.length; i++) {
    var d = board.devices[i], on = h("sensor:" + d.name);
    mah += on * d.currentMa.on + Math.max(0, all - on) * d.currentMa.off;
  }
  return mah;
}

/**
 * Flash life from the write rate. Espruino's Storage appends every write at the free end of
 * its area and erases only when it compacts: a compaction erases the area and copies the live
 * files back, reclaiming (size - live) bytes. So each sector is erased once per
 * (storageBytes - liveBytes) written, and
 *   erases per sector per day = bytesPerDay / (storageBytes - liveBytes)
 *   years = enduranceCycles / erases per sector per day / 365.25
 * e.g. 300 KB/day on 896 KB with 10 KB live: 0.339 erases/day, 100000 cycles -> 809 years.
 */
export function flashLifeYears(bytesPerDay: number, storageBytes?: number, enduranceCycles?: number, liveBytes?: number) {
  var size = storageBytes || ESP32_STORAGE_BYTES;
  var cycles = enduranceCycles || FLASH_ENDURANCE_CYCLES;
  var live = liveBytes || 0;
  var erasesPerDay = bytesPerDay / Math.max(1, size - live);
  var days = erasesPerDay > 0 ? cycles / erasesPerDay : Infinity;
  return { bytesPerDay: bytesPerDay, storageBytes: size, liveBytes: live, enduranceCycles: cycles, erasesPerSectorPerDay: erasesPerDay, years: days / 365.25 };
}

/** A copy with secrets replaced by "***" (console, diag). */
export function maskConfig(c: any): any {
  var out = JSON.parse(JSON.stringify(c));
  for (var i = 0; i < SECRET_FIELDS.length; i++) {
    var p = SECRET_FIELDS[i].split(".");
    var o = p.length > 1 ? out[p[0]] : out;
    var key = p[p.length - 1];
    if (o && o[key] !== undefined && o[key] !== "") o[key] = "***";
  }
  return out;
}
