// Bin fill from a lid-mounted distance sensor: pure arithmetic shared by the A02YYUW and
// HC-SR04 drivers. Common practice: median of N pings, then a linear map from the empty
// depth (distance to the bin floor) to the full depth (distance when full), clamped 0..1.

import { reading } from "./types.js";
import type { Reading, SensorResult } from "./types.js";

/** Median of the values (mean of the middle two for an even count); NaN when empty. */
export function median(values: number[]): number {
  const n = values.length;
  if (!n) return NaN;
  const s = values.slice();
  s.sort(function (a, b) { return a - b; });
  const mid = n >> 1;
  return n % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Fill fraction 0..1: 0 at emptyDepthMm (sensor to bin floor), 1 at fullDepthMm (sensor to
 * the "full" line), clamped. NaN when the depths make no sense (empty must exceed full).
 */
export function fillFraction(distanceMm: number, emptyDepthMm: number, fullDepthMm: number): number {
  if (!(emptyDepthMm > fullDepthMm) || fullDepthMm < 0 || distanceMm !== distanceMm) return NaN;
  const f = (emptyDepthMm - distanceMm) / (emptyDepthMm - fullDepthMm);
  return f < 0 ? 0 : f > 1 ? 1 : f;
}

/** Bin options both distance drivers take from the board profile. */
export interface BinOptions {
  /** sensor to bin floor, mm: fill 0 */
  emptyDepthMm?: number;
  /** sensor to the full line, mm: fill 1 */
  fullDepthMm?: number;
}

/** "distance" (mm) and, when both depths are configured, "fill" (SenML ratio "/", 0..1). */
export function binReadings(distanceMm: number, options: BinOptions): Reading[] {
  const out: Reading[] = [reading("distance", Math.round(distanceMm))];
  if (typeof options.emptyDepthMm === "number" && typeof options.fullDepthMm === "number") {
    const f = fillFraction(distanceMm, options.emptyDepthMm, options.fullDepthMm);
    if (f === f) out.push(reading("fill", Math.round(f * 1000) / 1000));
  }
  return out;
}

/** ", 5 pings, bin 1100-200 mm" for describe(): pings per read, empty and full depths */
export function binText(pings: number, options: BinOptions): string {
  return ", " + pings + " pings" + (typeof options.emptyDepthMm === "number" ? ", bin " + options.emptyDepthMm + "-" + options.fullDepthMm + " mm" : "");
}

/** a read's bin fill fraction, or null (the scheduler's significant-change rule: binFillStep) */
export function fillOf(r: SensorResult): number | null {
  if (!r || !r.ok) return null;
  for (var i = 0; i < r.readings.length; i++) if (r.readings[i].name === "fill" && typeof r.readings[i].value === "number") return r.readings[i].value as number;
  return null;
}
