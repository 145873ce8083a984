// Decibel arithmetic for sound levels (docs/hardware.md, "Noise"). Firmware code: ES5, Espruino
// subset. Espruino has no Math.log10, so every log goes through log10() below.
// Never average decibels arithmetically: convert to energy, average, convert back.

/** reference sound pressure for dB SPL, Pa (20 uPa) */
export const P_REF_PA = 20e-6;

/** log10(x) without Math.log10 (absent on Espruino) */
export function log10(x: number): number {
  return Math.log(x) / Math.LN10;
}

/** level in dB -> relative energy 10^(L/10) */
export function dbToEnergy(level: number): number {
  return Math.pow(10, level / 10);
}

/** relative energy -> level in dB, 10*log10(e) */
export function energyToDb(energy: number): number {
  return 10 * log10(energy);
}

/** sound pressure level of an RMS pressure in Pa: 20*log10(p / 20 uPa) */
export function splFromPressure(pa: number): number {
  return 20 * log10(pa / P_REF_PA);
}

/**
 * Energetic mean of levels, each weighted by its duration (weights omitted = equal durations):
 * 10*log10(sum(wi * 10^(Li/10)) / sum(wi)). NaN for no levels or any NaN level.
 */
export function energeticWeightedMean(levels: number[], weights?: number[]): number {
  let max = -Infinity;
  for (let i = 0; i < levels.length; i++) if (levels[i] > max) max = levels[i];
  if (max === -Infinity) return NaN;
  // factor out the loudest level: no overflow, and quiet levels keep their precision
  let sum = 0;
  let total = 0;
  for (let i = 0; i < levels.length; i++) {
    const w = weights ? weights[i] : 1;
    sum += w * Math.pow(10, (levels[i] - max) / 10);
    total += w;
  }
  if (!(total > 0)) return NaN;
  return max + 10 * log10(sum / total);
}

/** Energetic mean of equal-duration levels: 10*log10(mean(10^(Li/10))). NaN if empty. */
export function energeticMean(levels: number[]): number {
  return energeticWeightedMean(levels);
}

/** round a level to 0.1 dB (the sensors are +/-1.5 dB at best) */
export function roundDb(level: number): number {
  return Math.round(level * 10) / 10;
}

/** ", offset +1.5 dB" for describe(), "" without a calibration offset */
export function offsetText(offsetDb: number): string {
  return offsetDb ? ", offset " + (offsetDb > 0 ? "+" : "") + offsetDb + " dB" : "";
}
