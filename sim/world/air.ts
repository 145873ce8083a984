// Particulate matter at one street-side node, Casablanca-like: a regional background, traffic
// peaks in the morning and evening rush, slow weather drift, and multi-hour episodes (humid
// haze from the sea, or Saharan dust) shared by the whole city. pm1 and pm10 follow pm2.5
// through ratios that shift with the episode type (dust is coarse, haze is fine).

import type { PmLevels } from "./types.js";
import { createRng, fractalNoise, hashInt, pick, poisson, uniform, valueNoise } from "../random.js";
import { DAY_MS, HOUR_MS, localHour } from "./daylight.js";

export interface AirOptions {
  /** regional background PM2.5, ug/m3 */
  backgroundUgM3?: number;
  /** extra PM2.5 at the morning rush peak (08:30 local), ug/m3 */
  morningPeakUgM3?: number;
  /** extra PM2.5 at the evening rush peak (19:30 local), ug/m3 */
  eveningPeakUgM3?: number;
  /** mean number of pollution episodes starting per day (city-wide) */
  episodesPerDay?: number;
  /** PM2.5 an episode adds at its height, ug/m3: [min, max] */
  episodePeakUgM3?: [number, number];
  /** episode length, hours: [min, max] */
  episodeHours?: [number, number];
  /** local hours to UTC (human rhythms) */
  tzHours?: number;
}

export interface AirEpisode {
  kind: "humid" | "dust";
  startMs: number;
  endMs: number;
  peakUgM3: number;
}

/** PM2.5/PM10 and PM1/PM2.5 mass ratios */
const RATIOS = {
  traffic: { pm25pm10: 0.55, pm1pm25: 0.7 }, // urban roadside
  humid: { pm25pm10: 0.75, pm1pm25: 0.8 }, // hygroscopic growth of fine particles
  dust: { pm25pm10: 0.3, pm1pm25: 0.5 }, // mineral dust is coarse
};

function bump(h: number, centre: number, width: number): number {
  const d = Math.min(Math.abs(h - centre), 24 - Math.abs(h - centre));
  return Math.exp(-(d * d) / (2 * width * width));
}

export class AirModel {
  private background: number;
  private morning: number;
  private evening: number;
  private rate: number;
  private peak: [number, number];
  private hours: [number, number];
  private tz: number;
  /** how exposed this node is to traffic (0.6 side street .. 1.4 busy crossing) */
  private exposure: number;
  private cache = new Map<number, AirEpisode[]>();

  constructor(private localSeed: number, private sharedSeed: number, opts: AirOptions = {}) {
    this.background = opts.backgroundUgM3 ?? 11;
    this.morning = opts.morningPeakUgM3 ?? 16;
    this.evening = opts.eveningPeakUgM3 ?? 20;
    this.rate = opts.episodesPerDay ?? 0.3;
    this.peak = opts.episodePeakUgM3 ?? [55, 105];
    this.hours = opts.episodeHours ?? [3, 14];
    this.tz = opts.tzHours ?? 1;
    this.exposure = 0.6 + 0.8 * createRng(localSeed ^ 0xa11)();
    if (this.hours[1] > 48) throw new Error("episodeHours longer than 48 h are not supported");
  }

  /** the city's episodes starting on UTC day `day` */
  episodesOfDay(day: number): AirEpisode[] {
    let list = this.cache.get(day);
    if (!list) {
      const rng = createRng(hashInt(this.sharedSeed, day, 101));
      list = [];
      const n = poisson(rng, this.rate);
      for (let i = 0; i < n; i++) {
        const startMs = day * DAY_MS + rng() * DAY_MS;
        const len = uniform(rng, this.hours[0], this.hours[1]) * HOUR_MS;
        list.push({ kind: pick(rng, ["humid", "dust"] as const), startMs, endMs: startMs + len, peakUgM3: uniform(rng, this.peak[0], this.peak[1]) });
      }
      if (this.cache.size > 32) this.cache.clear();
      this.cache.set(day, list);
    }
    return list;
  }

  /** episodes overlapping [fromMs, toMs) */
  episodes(fromMs: number, toMs: number): AirEpisode[] {
    const out: AirEpisode[] = [];
    for (let d = Math.floor(fromMs / DAY_MS) - 2; d <= Math.floor(toMs / DAY_MS); d++) {
      for (const e of this.episodesOfDay(d)) if (e.endMs > fromMs && e.startMs < toMs) out.push(e);
    }
    return out;
  }

  /** PM2.5 added by episodes at t, split by kind */
  private episodeTerms(tMs: number): { humid: number; dust: number } {
    const terms = { humid: 0, dust: 0 };
    const day = Math.floor(tMs / DAY_MS);
    for (let d = day - 2; d <= day; d++) {
      for (const e of this.episodesOfDay(d)) {
        if (tMs < e.startMs || tMs >= e.endMs) continue;
        const x = (tMs - e.startMs) / (e.endMs - e.startMs);
        // quick rise over the first quarter, plateau, slower fall over the last 40 %
        let shape = 1;
        if (x < 0.25) shape = Math.sin((x / 0.25) * Math.PI / 2) ** 2;
        else if (x > 0.6) shape = Math.cos(((x - 0.6) / 0.4) * Math.PI / 2) ** 2;
        const wobble = 1 + 0.12 * valueNoise(this.sharedSeed, tMs, 20 * 60_000, 102);
        terms[e.kind] += e.peakUgM3 * shape * wobble;
      }
    }
    return terms;
  }

  pm(tMs: number): PmLevels {
    const h = localHour(tMs, this.tz);
    const traffic = this.exposure * (this.morning * bump(h, 8.5, 1.3) + this.evening * bump(h, 19.5, 1.8) + 4 * bump(h, 13.5, 3));
    // weather drifts over days (shared), the street over minutes (local)
    const weather = Math.exp(0.3 * fractalNoise(this.sharedSeed, tMs, 1.5 * DAY_MS, 2));
    const street = 1 + 0.1 * fractalNoise(this.localSeed, tMs, 10 * 60_000, 3);
    const base = (this.background * weather + traffic) * street;
    const ep = this.episodeTerms(tMs);
    const pm25 = Math.max(0.5, base + ep.humid + ep.dust);
    // blend ratios by share of each source
    const wT = base / pm25;
    const wH = ep.humid / pm25;
    const wD = ep.dust / pm25;
    const ratio25_10 = wT * RATIOS.traffic.pm25pm10 + wH * RATIOS.humid.pm25pm10 + wD * RATIOS.dust.pm25pm10;
    const ratio1_25 = wT * RATIOS.traffic.pm1pm25 + wH * RATIOS.humid.pm1pm25 + wD * RATIOS.dust.pm1pm25;
    const jitter = 1 + 0.05 * valueNoise(this.localSeed, tMs, 60_000, 103);
    return {
      pm1: pm25 * ratio1_25 * jitter,
      pm25,
      pm10: (pm25 / ratio25_10) * (2 - jitter),
    };
  }
}
