// The quantities nodes publish, by the name drivers give a reading ("pm25", "fill"): unit and
// resolution, the finest any supported sensor reports (PM: the SDS011's and SPS30's 0.1 ug/m3;
// the PMS5003 reports whole ug/m3). Window summaries round to it. The seed of one quantity
// table (name, unit, resolution, range). Firmware code: ES5, Espruino subset.

export interface Quantity {
  unit: string;
  /** smallest step a reading takes: 1, 0.1, 0.01 or 0.001 */
  res: number;
}

export const QUANTITIES: { [name: string]: Quantity } = {
  pm1: { unit: "ug/m3", res: 0.1 },
  pm25: { unit: "ug/m3", res: 0.1 },
  pm10: { unit: "ug/m3", res: 0.1 },
  LAeq: { unit: "dB", res: 0.1 },
  LAmin: { unit: "dB", res: 0.1 },
  LAmax: { unit: "dB", res: 0.1 },
  distance: { unit: "mm", res: 1 },
  fill: { unit: "/", res: 0.001 },
  relay: { unit: "/", res: 1 },
  lampCurrent: { unit: "A", res: 0.001 },
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
