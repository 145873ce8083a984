// Seeded randomness for the simulator. Every node, device and world model draws from its own
// stream, forked from the run seed by a label, so adding a node does not change the others
// and a run is reproducible from (seed, options) alone.
//
// Two flavours: streams (createRng: sfc32, stateful, for "what happens next") and hashes
// (hash01/valueNoise: stateless functions of (seed, time), for world models that must give
// the same answer whenever and however often they are asked).

export type Rng = () => number;

const TWO_32 = 4294967296;

/** 32-bit finaliser (murmur3 fmix32): good avalanche, cheap */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit hash of a string (FNV-1a then fmix32) */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** normalise any number (negative, fractional, > 2^32) to a 32-bit unsigned seed */
export function toSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  const n = Math.trunc(seed);
  const lo = n >>> 0;
  const hi = Math.floor(n / TWO_32) >>> 0;
  return fmix32(lo ^ Math.imul(hi, 0x9e3779b1) ^ 0x6a09e667);
}

/** an independent, reproducible seed for a named sub-stream ("node:air-01", "world:air-01") */
export function forkSeed(seed: number, label: string): number {
  return fmix32(toSeed(seed) ^ Math.imul(hashString(label), 0x9e3779b1) ^ 0x5bd1e995);
}

/** sfc32 (PractRand-clean, 128-bit state) returning floats in [0, 1) */
export function createRng(seed: number): Rng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = toSeed(seed);
  const next = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b | 0) + d | 0;
    d = d + 1 | 0;
    a = b ^ (b >>> 9);
    b = c + (c << 3) | 0;
    c = (c << 21) | (c >>> 11);
    c = c + t | 0;
    return (t >>> 0) / TWO_32;
  };
  for (let i = 0; i < 15; i++) next(); // mix the seed through the state
  return next;
}

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** integer in [lo, hi] inclusive */
export function intBetween(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** normal deviate (Box-Muller) */
export function normal(rng: Rng, mean = 0, sd = 1): number {
  const u = 1 - rng(); // (0, 1]: log is finite
  const v = rng();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Poisson count with the given mean (Knuth; fine for the small means the worlds use) */
export function poisson(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(normal(rng, mean, Math.sqrt(mean))));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng();
  while (p > limit) {
    k++;
    p *= rng();
  }
  return k;
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick from an empty list");
  return items[Math.floor(rng() * items.length)];
}

// ---- stateless hashes of (seed, integer) ----

/** 32-bit hash of (seed, n) for any integer-valued n (time slots can exceed 2^32) */
export function hashInt(seed: number, n: number, salt = 0): number {
  const lo = n >>> 0;
  const hi = Math.floor(n / TWO_32) >>> 0;
  let h = fmix32((seed >>> 0) ^ Math.imul(salt + 1, 0x27d4eb2f));
  h = fmix32(h ^ lo);
  return fmix32(h ^ Math.imul(hi, 0x165667b1) ^ 0x9e3779b9);
}

/** uniform in [0, 1) from (seed, n) */
export function hash01(seed: number, n: number, salt = 0): number {
  return hashInt(seed, n, salt) / TWO_32;
}

/** standard normal from (seed, n) */
export function hashNormal(seed: number, n: number, salt = 0): number {
  const u = 1 - hash01(seed, n, salt * 2 + 1);
  const v = hash01(seed, n, salt * 2 + 2);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Smooth value noise in [-1, 1]: random values on a grid of `periodMs`, eased between.
 * A stateless function of t, so the same t always gives the same value.
 */
export function valueNoise(seed: number, tMs: number, periodMs: number, salt = 0): number {
  const x = tMs / periodMs;
  const i = Math.floor(x);
  const f = x - i;
  const e = f * f * (3 - 2 * f); // smoothstep
  const a = hash01(seed, i, salt);
  const b = hash01(seed, i + 1, salt);
  return 2 * (a + (b - a) * e) - 1;
}

/** value noise summed over octaves (each half the period, half the weight), scaled to [-1, 1] */
export function fractalNoise(seed: number, tMs: number, periodMs: number, octaves = 3): number {
  let sum = 0;
  let weight = 1;
  let total = 0;
  let period = periodMs;
  for (let o = 0; o < octaves; o++) {
    sum += weight * valueNoise(seed, tMs, period, o + 17);
    total += weight;
    weight /= 2;
    period /= 2;
  }
  return sum / total;
}

/** valueNoise with its last grid cell cached: for hot paths that walk forward through time */
export class SmoothNoise {
  private cell = NaN;
  private a = 0;
  private b = 0;

  constructor(private seed: number, private periodMs: number, private salt = 0) {}

  /** the same value as valueNoise(seed, tMs, periodMs, salt), in [-1, 1] */
  at(tMs: number): number {
    const x = tMs / this.periodMs;
    const i = Math.floor(x);
    if (i !== this.cell) {
      this.a = i === this.cell + 1 ? this.b : hash01(this.seed, i, this.salt);
      this.b = hash01(this.seed, i + 1, this.salt);
      this.cell = i;
    }
    const f = x - i;
    const e = f * f * (3 - 2 * f);
    return 2 * (this.a + (this.b - this.a) * e) - 1;
  }
}
