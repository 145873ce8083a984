// The energetic mean of levels sampled off the world's step-shaped noise (125 ms slots): runs
// of equal levels. Bit for bit drivers/decibel.ts energeticMean (same operations in the same
// order), with one Math.pow per run instead of one per level: the twins' hot path.

import { log10 } from "../../drivers/decibel.js";

/** energeticMean(levels.slice(0, n)), computed once per run of equal levels */
export function stepEnergeticMean(levels: ArrayLike<number>, n = levels.length): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (levels[i] > max) max = levels[i];
  if (max === -Infinity) return NaN;
  let sum = 0;
  let total = 0;
  let prev = NaN;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const level = levels[i];
    if (level !== prev) {
      prev = level;
      energy = Math.pow(10, (level - max) / 10);
    }
    sum += energy; // energeticWeightedMean adds 1 * energy: the same number
    total += 1;
  }
  if (!(total > 0)) return NaN;
  return max + 10 * log10(sum / total);
}
