// Sound level at a street-side node: a background that follows the Lden periods (day 07-19,
// evening 19-23, night 23-07 local), traffic swell over seconds, 125 ms (fast) flicker, and
// events (horns, trucks, scooters) that stand 15-25 dB above the background for seconds.
// noiseDb(t) is a pure function of t: the flicker is hashed per 125 ms slot and events are
// drawn per hour from a seed, so two queries of the same instant agree.

import { createRng, hashInt, poisson, uniform, SmoothNoise } from "../random.js";
import { HOUR_MS, localHour } from "./daylight.js";

/** SEN0232 and friends use 125 ms ("fast") time weighting */
export const FAST_SLOT_MS = 125;

export interface NoiseOptions {
  /** background (median) levels by Lden period, dBA. Defaults: near a busy road */
  dayDb?: number;
  eveningDb?: number;
  nightDb?: number;
  /** mean events per hour by period */
  eventsPerHour?: { day?: number; evening?: number; night?: number };
  tzHours?: number;
}

export type NoisePeriod = "day" | "evening" | "night";

export function noisePeriod(localH: number): NoisePeriod {
  if (localH >= 7 && localH < 19) return "day";
  if (localH >= 19 && localH < 23) return "evening";
  return "night";
}

export interface NoiseEvent {
  kind: "horn" | "truck" | "scooter";
  startMs: number;
  endMs: number;
  /** dB above the background at the event's height */
  riseDb: number;
}

/** slots per window of events looked at together (8 x 125 ms: 1 s, a divisor of an hour) */
const WINDOW_SLOTS = 8;

/** the events of `list` sounding at some instant of [fromMs, toMs), in their order */
function overlapping(list: NoiseEvent[], fromMs: number, toMs: number): NoiseEvent[] {
  return list.filter((e) => e.endMs > fromMs && e.startMs < toMs);
}

/** events can straddle an hour boundary by at most this */
const MAX_EVENT_MS = 20_000;

export class NoiseModel {
  private levels: { [p in NoisePeriod]: number };
  private rates: { [p in NoisePeriod]: number };
  private tz: number;
  private cache = new Map<number, NoiseEvent[]>();

  constructor(private seed: number, opts: NoiseOptions = {}) {
    this.levels = { day: opts.dayDb ?? 65, evening: opts.eveningDb ?? 60, night: opts.nightDb ?? 50 };
    const r = opts.eventsPerHour ?? {};
    this.rates = { day: r.day ?? 30, evening: r.evening ?? 20, night: r.night ?? 5 };
    this.tz = opts.tzHours ?? 1;
    this.drift = new SmoothNoise(seed, 15 * 60_000, 202);
    this.swell = new SmoothNoise(seed, 4000, 203);
  }

  /** the configured background level of the period containing t */
  baseDb(tMs: number): number {
    return this.levels[noisePeriod(localHour(tMs, this.tz))];
  }

  /** events starting in UTC hour `hour` (hour index since the epoch) */
  eventsOfHour(hour: number): NoiseEvent[] {
    let list = this.cache.get(hour);
    if (!list) {
      const rng = createRng(hashInt(this.seed, hour, 201));
      const mid = hour * HOUR_MS + HOUR_MS / 2;
      const n = poisson(rng, this.rates[noisePeriod(localHour(mid, this.tz))]);
      list = [];
      for (let i = 0; i < n; i++) {
        const startMs = hour * HOUR_MS + rng() * HOUR_MS;
        const u = rng();
        const kind: NoiseEvent["kind"] = u < 0.35 ? "horn" : u < 0.75 ? "scooter" : "truck";
        const len = kind === "horn" ? uniform(rng, 300, 2000) : kind === "scooter" ? uniform(rng, 2000, 6000) : uniform(rng, 5000, MAX_EVENT_MS);
        list.push({ kind, startMs, endMs: startMs + len, riseDb: uniform(rng, 15, 25) });
      }
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(hour, list);
    }
    return list;
  }

  /** events overlapping [fromMs, toMs) */
  events(fromMs: number, toMs: number): NoiseEvent[] {
    const out: NoiseEvent[] = [];
    for (let h = Math.floor((fromMs - MAX_EVENT_MS) / HOUR_MS); h <= Math.floor(toMs / HOUR_MS); h++) out.push(...overlapping(this.eventsOfHour(h), fromMs, toMs));
    return out;
  }

  // hot path: a sound level meter's twin asks for every 125 ms slot, so the last slot and
  // the current hour's events are cached, and the flicker is one hash (Irwin-Hall normal)
  private lastSlot = NaN;
  private lastDb = 0;
  private evHour = NaN;
  private evNow: NoiseEvent[] = [];
  private evPrev: NoiseEvent[] = [];
  // the events of evPrev and evNow (in their order) that overlap the current 1 s window: a slot
  // tests a few events instead of the hour's dozens, and adds the same energies in the same order
  private window = NaN;
  private winPrev: NoiseEvent[] = [];
  private winNow: NoiseEvent[] = [];
  private quarter = NaN;
  private quarterBase = 0;
  private drift!: SmoothNoise;
  private swell!: SmoothNoise;

  /** summed power (10^(L/10)) of the events sounding at t */
  private eventEnergy(list: NoiseEvent[], t: number, base: number, jitter: number): number {
    let energy = 0;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (t < e.startMs || t >= e.endMs) continue;
      const x = (t - e.startMs) / (e.endMs - e.startMs);
      // horns are flat, vehicles swell and fade as they pass
      const shapeDb = e.kind === "horn" ? 0 : 20 * Math.log10(Math.max(0.05, Math.sin(Math.PI * x)));
      energy += Math.pow(10, (base + e.riseDb + shapeDb + jitter) / 10);
    }
    return energy;
  }

  /** A-weighted level, fast time weighting, dB, clamped to 30..130 */
  noiseDb(tMs: number): number {
    const slot = Math.floor(tMs / FAST_SLOT_MS);
    if (slot === this.lastSlot) return this.lastDb;
    const tSlot = slot * FAST_SLOT_MS;
    const quarter = Math.floor(tSlot / 900_000); // Lden periods start on whole quarter hours
    if (quarter !== this.quarter) {
      this.quarter = quarter;
      this.quarterBase = this.baseDb(tSlot);
    }
    const base = this.quarterBase;
    // the background: a slow drift (minutes), cars passing (seconds), and flicker (125 ms)
    const h = hashInt(this.seed, slot, 204);
    const flicker = ((h & 255) + ((h >>> 8) & 255) + ((h >>> 16) & 255) + (h >>> 24) - 510) / 147.8; // ~N(0, 1)
    const bg = base + 1.5 * this.drift.at(tSlot) + 3 * this.swell.at(tSlot) + 1.2 * flicker;
    const hour = Math.floor(tSlot / HOUR_MS);
    if (hour !== this.evHour) {
      this.evHour = hour;
      this.evNow = this.eventsOfHour(hour);
      this.evPrev = this.eventsOfHour(hour - 1);
      this.window = NaN;
    }
    const window = Math.floor(slot / WINDOW_SLOTS); // windows tile hours: one never spans two
    if (window !== this.window) {
      this.window = window;
      const from = window * WINDOW_SLOTS * FAST_SLOT_MS;
      const to = from + WINDOW_SLOTS * FAST_SLOT_MS;
      this.winPrev = overlapping(this.evPrev, from, to);
      this.winNow = overlapping(this.evNow, from, to);
    }
    const jitter = 0.8 * (((h >>> 4) & 1023) / 1024 - 0.5);
    const energy = this.eventEnergy(this.winPrev, tSlot, base, jitter) + this.eventEnergy(this.winNow, tSlot, base, jitter);
    const db = energy > 0 ? 10 * Math.log10(Math.pow(10, bg / 10) + energy) : bg;
    this.lastSlot = slot;
    this.lastDb = Math.max(30, Math.min(130, db));
    return this.lastDb;
  }
}
