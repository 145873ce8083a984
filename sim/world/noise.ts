// Sound level at a street-side node: a background that follows the Lden periods (day 07-19,
// evening 19-23, night 23-07 local), traffic swell over seconds, 125 ms (fast) flicker, and
// events (horns, trucks, scooters) that stand 15-25 dB above the background for seconds.
// noiseDb(t) is a pure function of t: the flicker is hashed per 125 ms slot and events are
// drawn per hour from a seed, so two queries of the same instant agree.

import { createRng, hash01, hashInt, hashNormal, poisson, uniform, valueNoise } from "../random.js";
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
    for (let h = Math.floor((fromMs - MAX_EVENT_MS) / HOUR_MS); h <= Math.floor(toMs / HOUR_MS); h++) {
      for (const e of this.eventsOfHour(h)) if (e.endMs > fromMs && e.startMs < toMs) out.push(e);
    }
    return out;
  }

  /** A-weighted level, fast time weighting, dB, clamped to 30..130 */
  noiseDb(tMs: number): number {
    const slot = Math.floor(tMs / FAST_SLOT_MS);
    const tSlot = slot * FAST_SLOT_MS;
    const base = this.baseDb(tSlot);
    // the background: a slow drift (minutes), cars passing (seconds), and flicker (125 ms)
    const bg = base + 1.5 * valueNoise(this.seed, tSlot, 15 * 60_000, 202) + 3 * valueNoise(this.seed, tSlot, 4000, 203) + 1.2 * hashNormal(this.seed, slot, 204);
    let energy = Math.pow(10, bg / 10);
    const hour = Math.floor(tSlot / HOUR_MS);
    for (let h = hour - 1; h <= hour; h++) {
      for (const e of this.eventsOfHour(h)) {
        if (tSlot < e.startMs || tSlot >= e.endMs) continue;
        const x = (tSlot - e.startMs) / (e.endMs - e.startMs);
        // horns are flat, vehicles swell and fade as they pass
        const shapeDb = e.kind === "horn" ? 0 : 20 * Math.log10(Math.max(0.05, Math.sin(Math.PI * x)));
        const level = base + e.riseDb + shapeDb + 0.8 * (hash01(this.seed, slot, 205) - 0.5);
        energy += Math.pow(10, level / 10);
      }
    }
    const db = 10 * Math.log10(energy);
    return Math.max(30, Math.min(130, db));
  }
}
