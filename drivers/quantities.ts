// The quantity table: every quantity a node publishes, by the name drivers give a reading
// ("pm25", "fill") or the runtime gives a summary ("Lden"). Drivers take the unit from it,
// window summaries and Lden round to its resolution, SenML to the wire's (DEFAULT_RES), and
// the alarm rules (runtime/alarms.ts) read which config threshold raises which alarm.
// Firmware code: ES5, Espruino subset.

export interface Quantity {
  unit: string;
  /** smallest step a reading takes, the finest any supported sensor reports: 1, 0.1, 0.01 or 0.001 */
  res: number;
  /** plausible published range: what any supported sensor can report (beyond: a fault, not a value) */
  min: number;
  max: number;
  /** alarm "<device>:<alarm>" raised while a reading is above config.thresholds[above] (unset: no alarm) */
  alarm?: string;
  above?: "pm25" | "binFill" | "noiseDb";
}

// PM: the SDS011's and SPS30's 0.1 ug/m3 (the PMS5003 reports whole ug/m3), up to the PMS5003's
// and SPS30's 1000. Levels: the DNMS's 20 dB to the histogram's 140 (aggregate.ts); Lday...Lden
// are energetic means of LAeq. Distance: the A02YYUW's 4500 mm. Lamp current: the ACS712-05B's 5 A.
// Quantities alike share one row (read-only: bundle size and RAM).
const PM: Quantity = { unit: "ug/m3", res: 0.1, min: 0, max: 1000 };
const LEVEL: Quantity = { unit: "dB", res: 0.1, min: 20, max: 140 };

export const QUANTITIES: { [name: string]: Quantity } = {
  pm1: PM,
  pm25: { unit: "ug/m3", res: 0.1, min: 0, max: 1000, alarm: "pm25-high", above: "pm25" },
  pm10: PM,
  LAeq: { unit: "dB", res: 0.1, min: 20, max: 140, alarm: "noise-high", above: "noiseDb" },
  LAmin: LEVEL,
  LAmax: LEVEL,
  Lday: LEVEL,
  Levening: LEVEL,
  Lnight: LEVEL,
  Lden: LEVEL,
  distance: { unit: "mm", res: 1, min: 0, max: 4500 },
  fill: { unit: "/", res: 0.001, min: 0, max: 1, alarm: "bin-full", above: "binFill" },
  relay: { unit: "/", res: 1, min: 0, max: 1 },
  lampCurrent: { unit: "A", res: 0.001, min: 0, max: 5 },
};

/** what SenML carries at most (3 decimals): the resolution of a quantity not in the table */
export const DEFAULT_RES = 0.001;

/** resolution of "<device>.<quantity>" or "<quantity>" */
export function resolutionOf(name: string): number {
  var q = QUANTITIES[name.slice(name.lastIndexOf(".") + 1)];
  return q ? q.res : DEFAULT_RES;
}

/** v rounded to a resolution of 10^-n (as decimals, so 0.207 stays 0.207, not 0.20700000000000002) */
export function roundTo(v: number, res: number): number {
  var k = Math.round(1 / res);
  return Math.round(v * k) / k;
}
