// Aggregation windows that survive deep sleep (plain JSON kept in the store).
// Firmware code: ES5, Espruino subset.
//
// Per quantity: count/mean/min/max. Sound levels (unit "dB") are never averaged
// arithmetically: the window keeps the energy sum (LAeq = energetic mean), LAmax/LAmin, and a
// histogram of 0.5 dB bins from 20 to 140 dB (sparse: only bins hit) for L10/L50/L90.
// The "LAeq" samples also feed a day accumulator for Lden (EU directive 2002/49/EC).

import type { Reading } from "../../drivers/types.js";
import { dbToEnergy, energyToDb } from "../../drivers/decibel.js";
import type { Entry, Kind, Window, DayAcc, PendingLevels } from "./state.js";
import { QUANTITIES, resolutionOf, roundTo } from "../../drivers/quantities.js";

export const HIST_MIN_DB = 20;
export const HIST_MAX_DB = 140;
export const HIST_BIN_DB = 0.5;
const HIST_BINS = (HIST_MAX_DB - HIST_MIN_DB) / HIST_BIN_DB;

/** LAmax-like names keep only their max, LAmin-like only their min; other dB levels are energetic */
export function kindOf(r: Reading): Kind {
  if (r.unit !== "dB") return "m";
  var n = r.name.toLowerCase();
  return /max$/.test(n) ? "x" : /min$/.test(n) ? "i" : "e";
}

export function newWindow(t: number): Window {
  return { t: t, q: {} };
}

export function histBin(level: number): number {
  var i = Math.floor((level - HIST_MIN_DB) / HIST_BIN_DB);
  return i < 0 ? 0 : i >= HIST_BINS ? HIST_BINS - 1 : i;
}

/** Fold one reading in; non-numbers are ignored. */
export function fold(w: Window, r: Reading): void {
  var v = r.value;
  if (typeof v !== "number" || !isFinite(v)) return;
  var q = w.q[r.name];
  if (!q) {
    var k = kindOf(r);
    q = w.q[r.name] = { k: k, u: r.unit, n: 0, s: 0, lo: v, hi: v };
    if (k === "e") q.h = {};
  }
  q.n++;
  if (v < q.lo) q.lo = v;
  if (v > q.hi) q.hi = v;
  if (q.k === "e") {
    q.s += dbToEnergy(v);
    var b = "" + histBin(v), h = q.h as { [bin: string]: number };
    h[b] = (h[b] || 0) + 1;
  } else q.s += v;
}

/**
 * Level exceeded by `exceed` percent of the samples, from the histogram (nearest rank, bin
 * centre: within 0.25 dB of the exact sample percentile). L10 = percentile(h, n, 10) is the
 * 90th percentile of the samples (peaks); L90 the 10th (background).
 */
export function exceededLevel(h: { [bin: string]: number }, n: number, exceed: number): number {
  var rank = Math.ceil(((100 - exceed) / 100) * n);
  if (rank < 1) rank = 1;
  var acc = 0;
  for (var i = 0; i < HIST_BINS; i++) {
    acc += h["" + i] || 0;
    if (acc >= rank) return HIST_MIN_DB + (i + 0.5) * HIST_BIN_DB;
  }
  return NaN;
}

/**
 * The window as entries stamped with its start (s): "<name>.mean/.min/.max" for linear
 * quantities; for levels "<name>.mean" (energetic), ".min", ".max", ".L10", ".L50", ".L90";
 * "LAmax.max" and "LAmin.min" for the extremes. Min and max are readings and go out as they
 * came (rounded on the wire like the readings); the mean is rounded to the quantity's
 * resolution and kept between them.
 */
export function summarize(w: Window): Entry[] {
  var out: Entry[] = [], t = Math.floor(w.t / 1000);
  for (var name in w.q) {
    var q = w.q[name];
    if (!q.n) continue;
    if (q.k === "x") out.push([name + ".max", q.u, q.hi, t]);
    else if (q.k === "i") out.push([name + ".min", q.u, q.lo, t]);
    else {
      var mean = roundTo(q.k === "e" ? energyToDb(q.s / q.n) : q.s / q.n, resolutionOf(name));
      out.push([name + ".mean", q.u, mean < q.lo ? q.lo : mean > q.hi ? q.hi : mean, t]);
      out.push([name + ".min", q.u, q.lo, t]);
      out.push([name + ".max", q.u, q.hi, t]);
      if (q.k === "e") {
        var h = q.h || {};
        out.push([name + ".L10", q.u, exceededLevel(h, q.n, 10), t]);
        out.push([name + ".L50", q.u, exceededLevel(h, q.n, 50), t]);
        out.push([name + ".L90", q.u, exceededLevel(h, q.n, 90), t]);
      }
    }
  }
  return out;
}

// ---- Lden ----

const DAY_MS = 86400000;
const HOUR_MS = 3600000;

/** 0 = day (07-19), 1 = evening (19-23), 2 = night (23-07), from the local hour */
export function ldenPeriod(localHour: number): number {
  return localHour >= 7 && localHour < 19 ? 0 : localHour >= 19 && localHour < 23 ? 1 : 2;
}

/** Lden = 10 lg((12*10^(Ld/10) + 4*10^((Le+5)/10) + 8*10^((Ln+10)/10)) / 24) */
export function lden(ld: number, le: number, ln: number): number {
  return energyToDb((12 * dbToEnergy(ld) + 4 * dbToEnergy(le + 5) + 8 * dbToEnergy(ln + 10)) / 24);
}

export interface DayResult {
  /** local day start as UTC ms */
  t: number;
  ld: number;
  le: number;
  ln: number;
  /** NaN unless all three periods had samples */
  lden: number;
}

function closeDay(a: DayAcc, tzOffsetMs: number): DayResult {
  var l = [0, 1, 2].map(function (i) { return a.n[i] ? energyToDb(a.e[i] / a.n[i]) : NaN; });
  return { t: a.d * DAY_MS - tzOffsetMs, ld: l[0], le: l[1], ln: l[2], lden: a.n[0] && a.n[1] && a.n[2] ? lden(l[0], l[1], l[2]) : NaN };
}

/**
 * Fold an LAeq sample taken at tMs (UTC) into the day accumulator. When the local day
 * changed, returns the finished day (and restarts the accumulator in `holder.day`).
 */
export function foldDay(holder: { day: DayAcc | null }, tMs: number, level: number, tzOffsetMin: number): DayResult | null {
  return foldEnergy(holder, tMs, dbToEnergy(level), 1, tzOffsetMin);
}

/** energy sum e of n samples at tMs into the day; a day already closed is not reopened */
function foldEnergy(holder: { day: DayAcc | null }, tMs: number, e: number, n: number, tzOffsetMin: number): DayResult | null {
  var off = tzOffsetMin * 60000, local = tMs + off, d = Math.floor(local / DAY_MS), done: DayResult | null = null;
  var a = holder.day;
  if (a && d < a.d) return null;
  if (a && a.d !== d) {
    done = closeDay(a, off);
    a = null;
  }
  if (!a) a = holder.day = { d: d, e: [0, 0, 0], n: [0, 0, 0] };
  var p = ldenPeriod(Math.floor((local - d * DAY_MS) / HOUR_MS));
  a.e[p] += e;
  a.n[p] += n;
  return done;
}

/** hours of levels kept while the clock is unset (state size); older ones are dropped */
export const PENDING_HOURS = 48;

/** Keep an LAeq sample taken at run time tMs (clock unset) until its day is known. */
export function foldPending(holder: { dp: PendingLevels | null }, tMs: number, level: number, prefix: string): void {
  var dp = holder.dp || (holder.dp = { p: prefix, h: [] }), hr = Math.floor(tMs / HOUR_MS), last = dp.h[dp.h.length - 1];
  if (!last || last[0] !== hr) dp.h.push((last = [hr, 0, 0]));
  last[1] += dbToEnergy(level);
  last[2]++;
  if (dp.h.length > PENDING_HOURS) dp.h.shift();
}

/**
 * The clock is set, `offMs` ahead of run time: put the pending levels into their days (each
 * run-time hour split over the local hours it straddles). Returns the days this finished.
 */
export function placePending(holder: { day: DayAcc | null; dp: PendingLevels | null }, offMs: number, tzOffsetMin: number): DayResult[] {
  var dp = holder.dp, out: DayResult[] = [];
  holder.dp = null;
  if (!dp) return out;
  for (var i = 0; i < dp.h.length; i++) {
    var b = dp.h[i], t = b[0] * HOUR_MS + offMs, local = t + tzOffsetMin * 60000;
    var f = (HOUR_MS - (((local % HOUR_MS) + HOUR_MS) % HOUR_MS)) / HOUR_MS;
    var d1 = foldEnergy(holder, t, b[1] * f, b[2] * f, tzOffsetMin);
    if (d1) out.push(d1);
    if (f < 1) {
      var d2 = foldEnergy(holder, t + f * HOUR_MS, b[1] * (1 - f), b[2] * (1 - f), tzOffsetMin);
      if (d2) out.push(d2);
    }
  }
  return out;
}

/** The finished day as entries "<prefix>Lday/Levening/Lnight/Lden" (those known), stamped with its start. */
export function dayEntries(r: DayResult, prefix: string): Entry[] {
  var t = Math.floor(r.t / 1000), out: Entry[] = [];
  var names = ["Lday", "Levening", "Lnight", "Lden"], vals = [r.ld, r.le, r.ln, r.lden];
  for (var i = 0; i < 4; i++) {
    var q = QUANTITIES[names[i]];
    if (vals[i] === vals[i]) out.push([prefix + names[i], q.unit, roundTo(vals[i], q.res), t]);
  }
  return out;
}
