// Sun, daylight, air temperature and the lamp's current for one site.
// Sun position: NOAA "General Solar Position Calculations" (fractional-year series), zenith
// 90.833 deg for sunrise/sunset. Good to a minute or two, plenty for a streetlight schedule.

import { fractalNoise, hash01, hashInt, valueNoise, createRng, uniform } from "../random.js";

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
const RAD = Math.PI / 180;
/** sunrise/sunset: the sun's upper limb on the horizon, with refraction */
export const SUNRISE_ZENITH_DEG = 90.833;
/** civil twilight ends with the sun 6 deg below the horizon */
export const CIVIL_ZENITH_DEG = 96;

/** Casablanca */
export const DEFAULT_LAT = 33.59;
export const DEFAULT_LON = -7.6;
/** Morocco keeps UTC+1 (UTC+0 during Ramadan): used for human rhythms, never for the sun */
export const DEFAULT_TZ_HOURS = 1;

/** local clock hour in [0, 24) for human rhythms (traffic, collections) */
export function localHour(tMs: number, tzHours: number): number {
  const ms = (((tMs + tzHours * HOUR_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  return ms / HOUR_MS;
}

/** index of the local calendar day */
export function localDay(tMs: number, tzHours: number): number {
  return Math.floor((tMs + tzHours * HOUR_MS) / DAY_MS);
}

function dayOfYear(tMs: number): number {
  const d = new Date(tMs);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  return Math.floor((tMs - start) / DAY_MS) + 1;
}

function daysInYear(tMs: number): number {
  const y = new Date(tMs).getUTCFullYear();
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 366 : 365;
}

/** equation of time (minutes) and declination (radians) at t */
function solarTerms(tMs: number): { eqTimeMin: number; decl: number } {
  const hour = (tMs % DAY_MS) / HOUR_MS;
  const g = (2 * Math.PI / daysInYear(tMs)) * (dayOfYear(tMs) - 1 + (hour - 12) / 24);
  const eqTimeMin = 229.18 * (0.000075 + 0.001868 * Math.cos(g) - 0.032077 * Math.sin(g)
    - 0.014615 * Math.cos(2 * g) - 0.040849 * Math.sin(2 * g));
  const decl = 0.006918 - 0.399912 * Math.cos(g) + 0.070257 * Math.sin(g) - 0.006758 * Math.cos(2 * g)
    + 0.000907 * Math.sin(2 * g) - 0.002697 * Math.cos(3 * g) + 0.00148 * Math.sin(3 * g);
  return { eqTimeMin, decl };
}

/** sun elevation above the horizon at t (UTC ms), degrees; lon positive east */
export function solarElevationDeg(tMs: number, lat: number, lon: number): number {
  const { eqTimeMin, decl } = solarTerms(tMs);
  const minutesUtc = (((tMs % DAY_MS) + DAY_MS) % DAY_MS) / 60_000;
  const trueSolarMin = minutesUtc + eqTimeMin + 4 * lon;
  const ha = (trueSolarMin / 4 - 180) * RAD;
  const phi = lat * RAD;
  const cosZen = Math.sin(phi) * Math.sin(decl) + Math.cos(phi) * Math.cos(decl) * Math.cos(ha);
  return 90 - Math.acos(Math.max(-1, Math.min(1, cosZen))) / RAD;
}

export interface SunTimes {
  /** UTC ms; undefined in polar day/night */
  sunrise?: number;
  sunset?: number;
  civilDawn?: number;
  civilDusk?: number;
}

function riseSet(dayStartMs: number, lat: number, lon: number, zenithDeg: number): [number | undefined, number | undefined] {
  // iterate once: the terms at the first estimate's time are accurate to seconds
  let rise: number | undefined;
  let set: number | undefined;
  for (const which of [1, -1]) {
    let t = dayStartMs + 12 * HOUR_MS;
    let out: number | undefined;
    for (let i = 0; i < 2; i++) {
      const { eqTimeMin, decl } = solarTerms(t);
      const phi = lat * RAD;
      const c = Math.cos(zenithDeg * RAD) / (Math.cos(phi) * Math.cos(decl)) - Math.tan(phi) * Math.tan(decl);
      if (c < -1 || c > 1) { out = undefined; break; }
      const ha = Math.acos(c) / RAD;
      const minutes = 720 - 4 * (lon + which * ha) - eqTimeMin;
      out = dayStartMs + minutes * 60_000;
      t = out;
    }
    if (which === 1) rise = out; else set = out;
  }
  return [rise, set];
}

/** sunrise/sunset and civil twilight of the UTC day containing t */
export function sunTimes(tMs: number, lat = DEFAULT_LAT, lon = DEFAULT_LON): SunTimes {
  const dayStart = Math.floor(tMs / DAY_MS) * DAY_MS;
  const [sunrise, sunset] = riseSet(dayStart, lat, lon, SUNRISE_ZENITH_DEG);
  const [civilDawn, civilDusk] = riseSet(dayStart, lat, lon, CIVIL_ZENITH_DEG);
  return { sunrise, sunset, civilDawn, civilDusk };
}

/**
 * Clear-sky horizontal illuminance, lux, from the sun's elevation: direct + diffuse in day,
 * log-linear through civil twilight (~400 lux at sunrise, ~3 lux at -6 deg), then a dark floor.
 */
export function clearSkyLux(elevationDeg: number): number {
  const h = elevationDeg;
  if (h > 0) {
    const s = Math.sin(h * RAD);
    return 120_000 * s * Math.exp(-0.2 / s) + 400 + 18_000 * Math.pow(s, 0.7);
  }
  if (h > -6) return 400 * Math.pow(10, (h / 6) * Math.log10(400 / 3.4));
  if (h > -12) return 3.4 * Math.pow(10, ((h + 6) / 6) * Math.log10(3.4 / 0.05));
  return 0.05; // city sky glow, moonless
}

export interface DaylightOptions {
  lat?: number;
  lon?: number;
  tzHours?: number;
  /** mean cloud cover 0..1 (Casablanca winter ~0.4) */
  cloudiness?: number;
}

export interface LampOptions {
  /**
   * current of a lit lamp, A. Default 0.45 A: a ~100 W LED luminaire on 230 V with a power
   * factor of ~0.95 draws 100 / (230 * 0.95) = 0.46 A.
   */
  currentA?: number;
  /** explicit failure episodes (lamp dead: relay on, no current) */
  failures?: Array<{ startMs: number; durationMs: number }>;
  /** random failures per day (0 = none, the default); each lasts 2-24 h until a crew fixes it */
  failureRatePerDay?: number;
}

export const DEFAULT_LAMP_A = 0.45;

export class Daylight {
  readonly lat: number;
  readonly lon: number;
  readonly tzHours: number;
  private cloudiness: number;

  /** local: per-node stream; shared: the city's weather (clouds, temperature anomalies) */
  constructor(private localSeed: number, private sharedSeed: number, opts: DaylightOptions = {}) {
    this.lat = opts.lat ?? DEFAULT_LAT;
    this.lon = opts.lon ?? DEFAULT_LON;
    this.tzHours = opts.tzHours ?? DEFAULT_TZ_HOURS;
    this.cloudiness = opts.cloudiness ?? 0.35;
  }

  sunTimes(tMs: number): SunTimes {
    return sunTimes(tMs, this.lat, this.lon);
  }

  elevationDeg(tMs: number): number {
    return solarElevationDeg(tMs, this.lat, this.lon);
  }

  /** cloud cover 0..1: a daily mood plus weather drifting over hours (shared by the city) */
  cloudCover(tMs: number): number {
    const day = Math.floor(tMs / DAY_MS);
    const mood = hash01(this.sharedSeed, day, 301); // some days are clear, some grey
    const base = this.cloudiness * 2 * mood;
    const drift = 0.3 * fractalNoise(this.sharedSeed ^ 0x51ed, tMs, 3 * HOUR_MS, 3);
    return Math.max(0, Math.min(1, base + drift));
  }

  lux(tMs: number): number {
    const clear = clearSkyLux(this.elevationDeg(tMs));
    const c = this.cloudCover(tMs);
    const cloudFactor = 1 - 0.75 * Math.pow(c, 3.4); // Kasten-Czeplak
    // a few per cent of local flicker (trees, passing vehicles' shadows)
    const local = 1 + 0.03 * valueNoise(this.localSeed, tMs, 20_000, 11);
    return Math.max(0, clear * cloudFactor * local);
  }

  /**
   * Air temperature, C: Casablanca's seasonal mean (13 C late January, 23 C late July), a
   * daily swing from a minimum near 07:00 local to a maximum near 15:00, damped by clouds,
   * and anomalies lasting days.
   */
  temperatureC(tMs: number): number {
    const doy = dayOfYear(tMs);
    const seasonal = 18 - 5 * Math.cos((2 * Math.PI * (doy - 25)) / 365);
    const h = localHour(tMs, this.tzHours);
    const cloud = this.cloudCover(tMs);
    const swing = 4 * (1 - 0.5 * cloud); // half the peak-to-peak range
    let shape: number; // -1 at 07:00, +1 at 15:00
    if (h >= 7 && h < 15) shape = -Math.cos((Math.PI * (h - 7)) / 8);
    else shape = Math.cos((Math.PI * (((h - 15) + 24) % 24)) / 16);
    const anomaly = 2 * fractalNoise(this.sharedSeed ^ 0x7e3b, tMs, 2 * DAY_MS, 2);
    const local = 0.3 * valueNoise(this.localSeed, tMs, 10 * 60_000, 12);
    return seasonal + swing * shape + anomaly + local;
  }
}

interface Episode { start: number; end: number }

export class Lamp {
  private nominalA: number;
  private explicit: Episode[];
  private rate: number;
  private cache = new Map<number, Episode[]>();

  constructor(private seed: number, opts: LampOptions = {}) {
    this.nominalA = opts.currentA ?? DEFAULT_LAMP_A;
    this.explicit = (opts.failures ?? []).map((f) => ({ start: f.startMs, end: f.startMs + f.durationMs }));
    this.rate = opts.failureRatePerDay ?? 0;
  }

  private randomFailures(day: number): Episode[] {
    let list = this.cache.get(day);
    if (!list) {
      list = [];
      const rng = createRng(hashInt(this.seed, day, 401));
      if (rng() < this.rate) {
        const start = day * DAY_MS + rng() * DAY_MS;
        list.push({ start, end: start + uniform(rng, 2, 24) * HOUR_MS });
      }
      if (this.cache.size > 16) this.cache.clear();
      this.cache.set(day, list);
    }
    return list;
  }

  failed(tMs: number): boolean {
    for (const e of this.explicit) if (tMs >= e.start && tMs < e.end) return true;
    if (this.rate > 0) {
      const day = Math.floor(tMs / DAY_MS);
      for (const d of [day - 1, day]) for (const e of this.randomFailures(d)) if (tMs >= e.start && tMs < e.end) return true;
    }
    return false;
  }

  /** current with the relay closed: nominal +/- ~1.5 % mains variation, 0 while failed */
  currentA(tMs: number): number {
    if (this.failed(tMs)) return 0;
    return this.nominalA * (1 + 0.015 * valueNoise(this.seed, tMs, 10_000, 13));
  }
}
