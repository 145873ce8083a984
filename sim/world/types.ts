// What the simulated world offers the simulated devices of one node. Each node gets its own
// seeded instance, so a run is reproducible and nodes differ.

export interface PmLevels {
  /** ug/m3, "atmospheric environment" values */
  pm1: number;
  pm25: number;
  pm10: number;
}

export interface WorldModel {
  pm(tMs: number): PmLevels;
  /** A-weighted sound level with 125 ms (fast) time weighting, dB */
  noiseDb(tMs: number): number;
  /**
   * when set, noiseDb is a step function on slots of this many ms: constant on every
   * [k * noiseSlotMs, (k + 1) * noiseSlotMs), the slot being Math.floor(tMs / noiseSlotMs).
   * Twins that sample it several times inside one slot may then ask once (the same number).
   */
  readonly noiseSlotMs?: number;
  /** from the bin-lid sensor down to the waste surface, mm */
  binDistanceMm(tMs: number): number;
  /** air temperature, degrees C (speed of sound) */
  temperatureC(tMs: number): number;
  /** current the lamp draws when its relay is closed, A (0 when the lamp has failed) */
  lampCurrentA(tMs: number): number;
  /** ambient light, lux (sun schedule checks) */
  daylightLux(tMs: number): number;
}
