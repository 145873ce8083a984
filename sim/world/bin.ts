// A street waste bin seen from an ultrasonic sensor in its lid. Waste arrives at a rate that
// follows the day (little at night, most around meals and the evening), more on some days
// than others; the collection truck empties it on a schedule (default daily at 06:00 local,
// with a small chance of a missed round, so overflow happens). binDistanceMm(t) is a pure
// function of t: the fill is integrated hour by hour from the last collection.

import { hash01, hashNormal, valueNoise } from "../random.js";
import { DAY_MS, HOUR_MS } from "./daylight.js";

export interface BinOptions {
  /** lid sensor to the bottom of the empty bin, mm */
  emptyMm?: number;
  /** lid sensor to the waste when the bin is full to the rim, mm */
  fullMm?: number;
  /** closest the waste gets when heaped past full (overflowing), mm */
  overflowMm?: number;
  /** fraction of the capacity thrown in on an average day */
  fillPerDay?: number;
  /** collection every N days */
  collectEveryDays?: number;
  /** local hour of the collection round */
  collectHour?: number;
  /** chance that a scheduled collection does not happen */
  missedCollectionChance?: number;
  tzHours?: number;
}

/** relative waste arrival per local hour (00..23) */
const HOURLY_WEIGHT = [
  0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.2, 1.1, 1.1,
  1.5, 1.6, 1.3, 1.0, 1.0, 1.1, 1.3, 1.6, 1.8, 1.7, 1.1, 0.5,
];
const WEIGHT_SUM = HOURLY_WEIGHT.reduce((a, b) => a + b, 0);
/** never look further back than this for the last collection */
const MAX_LOOKBACK_DAYS = 30;

export class BinModel {
  readonly emptyMm: number;
  readonly fullMm: number;
  readonly overflowMm: number;
  private fillPerDay: number;
  private every: number;
  private collectHour: number;
  private missed: number;
  private tz: number;
  private phase: number;
  private maxFill: number;

  constructor(private seed: number, opts: BinOptions = {}) {
    this.emptyMm = opts.emptyMm ?? 1100;
    this.fullMm = opts.fullMm ?? 200;
    this.overflowMm = opts.overflowMm ?? 120;
    this.fillPerDay = opts.fillPerDay ?? 0.6;
    this.every = Math.max(1, Math.round(opts.collectEveryDays ?? 1));
    this.collectHour = opts.collectHour ?? 6;
    this.missed = opts.missedCollectionChance ?? 0.05;
    this.tz = opts.tzHours ?? 1;
    if (!(this.emptyMm > this.fullMm && this.fullMm >= this.overflowMm && this.overflowMm > 0)) {
      throw new Error("bin depths must satisfy emptyMm > fullMm >= overflowMm > 0");
    }
    this.phase = Math.floor(hash01(seed, 0, 301) * this.every);
    this.maxFill = (this.emptyMm - this.overflowMm) / (this.emptyMm - this.fullMm);
  }

  /** busy and quiet days: a per-local-day factor around 1 */
  private dayFactor(localDay: number): number {
    return Math.max(0.4, Math.min(1.8, 1 + 0.25 * hashNormal(this.seed, localDay, 302)));
  }

  /** UTC ms of the collection round scheduled on a local day, or undefined if none or missed */
  collectionOn(localDay: number): number | undefined {
    if (((localDay - this.phase) % this.every + this.every) % this.every !== 0) return undefined;
    if (hash01(this.seed, localDay, 303) < this.missed) return undefined;
    const jitterMs = hash01(this.seed, localDay, 304) * 45 * 60_000; // the truck's round is never on the minute
    return localDay * DAY_MS + this.collectHour * HOUR_MS - this.tz * HOUR_MS + jitterMs;
  }

  /** the last collection at or before t, or undefined (none within the look-back) */
  lastCollection(tMs: number): number | undefined {
    const today = Math.floor((tMs + this.tz * HOUR_MS) / DAY_MS);
    for (let d = today; d > today - MAX_LOOKBACK_DAYS; d--) {
      const c = this.collectionOn(d);
      if (c !== undefined && c <= tMs) return c;
    }
    return undefined;
  }

  /** collections in [fromMs, toMs) */
  collections(fromMs: number, toMs: number): number[] {
    const out: number[] = [];
    const first = Math.floor((fromMs + this.tz * HOUR_MS) / DAY_MS) - 1;
    const last = Math.floor((toMs + this.tz * HOUR_MS) / DAY_MS) + 1;
    for (let d = first; d <= last; d++) {
      const c = this.collectionOn(d);
      if (c !== undefined && c >= fromMs && c < toMs) out.push(c);
    }
    return out;
  }

  /** fill level as a fraction of the capacity: 0 empty, 1 full to the rim, above 1 overflowing */
  fill(tMs: number): number {
    const from = this.lastCollection(tMs) ?? tMs - MAX_LOOKBACK_DAYS * DAY_MS;
    let fill = 0;
    let t = from;
    while (t < tMs && fill < this.maxFill) {
      const localMs = t + this.tz * HOUR_MS;
      const localDay = Math.floor(localMs / DAY_MS);
      const hour = Math.floor((localMs - localDay * DAY_MS) / HOUR_MS);
      const hourEnd = localDay * DAY_MS + (hour + 1) * HOUR_MS - this.tz * HOUR_MS;
      const until = Math.min(hourEnd, tMs);
      const perHour = (this.fillPerDay * this.dayFactor(localDay) * HOURLY_WEIGHT[hour]) / WEIGHT_SUM;
      fill += (perHour * (until - t)) / HOUR_MS;
      t = until;
    }
    return Math.min(fill, this.maxFill);
  }

  /** lid sensor to waste surface, mm, with a few mm of surface irregularity */
  distanceMm(tMs: number): number {
    const f = this.fill(tMs);
    const d = this.emptyMm - f * (this.emptyMm - this.fullMm);
    const rough = (f > 0.05 ? 6 : 1.5) * valueNoise(this.seed, tMs, 30_000, 305);
    return Math.max(this.overflowMm, Math.min(this.emptyMm, d + rough));
  }
}
