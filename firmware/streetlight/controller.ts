// Streetlight controller: policy for the lamp relay (the Relay driver is the mechanism).
// Auto mode follows the sun (sun.ts, all UTC): on at sunset + onOffsetMin, off at sunrise +
// offOffsetMin. Operators override with "on"/"off", optionally expiring, back to auto after.
// Firmware code: ES5, Espruino subset.
//
// Fail-safe means lamp ON (a dark street is worse than a lamp lit by day):
// - "no-time": the clock is not set yet (before 2024-01-01: no SNTP/broker time), so night
//   and day are unknown; a timed override cannot be trusted either.
// - a relay alarm seen in CONFIRM_READS reads in a row: "stuck-relay" (off, yet current flows)
//   or "lamp-failure" (on, no current). It latches, held on and reported, until an operator
//   command: holding on hides a stuck relay, and unlatching then would switch it off, see the
//   alarm again, and so on: the relay would flap.
// An override beats both (the crew may need the lamp off while they work), except that a
// timed one needs the clock.

import type { Actuator, SensorResult } from "../../drivers/types.js";
import { sunTimes, ZENITH_SUNRISE, ZENITH_CIVIL } from "./sun.js";

/** 2024-01-01T00:00Z: a clock before this was never set (Espruino boots at 1970) */
export const VALID_TIME_MS = 1704067200000;
/** longest override expiry, s (30 days) */
export const MAX_EXPIRY_S = 2592000;
/** schedule offsets are clamped to +-this, minutes */
export const MAX_OFFSET_MIN = 240;
/** reads in a row showing the same relay alarm before it latches: one read may catch a mains dip */
export const CONFIRM_READS = 2;
const DAY_MS = 86400000;

export type LampMode = "auto" | "on" | "off";
export type LampReason = "schedule-night" | "schedule-day" | "override" | "fail-safe";
export type RelayAlarm = "stuck-relay" | "lamp-failure";

export interface StreetlightLocation {
  /** degrees, north positive */
  lat: number;
  /** degrees, east positive */
  lon: number;
}

export interface StreetlightOptions {
  /** minutes after sunset (civil dusk) to switch on; negative: before. Default 0 */
  onOffsetMin?: number;
  /** minutes after sunrise (civil dawn) to switch off; negative: before. Default 0 */
  offOffsetMin?: number;
  /** switch at civil dusk/dawn (sun 6 deg down) instead of sunset/sunrise */
  useCivilTwilight?: boolean;
}

/** What the runtime keeps in its store (plain JSON). */
export interface StreetlightState {
  mode: LampMode;
  /** UTC ms when an on/off override returns to auto; null: until changed */
  expiresMs: number | null;
  /** latched relay alarm holding the lamp on (fail-safe), cleared by any command */
  fault: RelayAlarm | null;
}

export interface StreetlightStatus {
  mode: LampMode;
  /** the relay as driven */
  lampOn: boolean;
  reason: LampReason;
  /** why the fail-safe holds the lamp on; only with reason "fail-safe" */
  failSafe?: "no-time" | RelayAlarm;
  /** UTC ms of the next planned switch or expiry; null if none is known (fail-safe, untimed override, polar) */
  nextChangeMs: number | null;
  /** UTC ms when the override ends; only for a timed override */
  expiresMs?: number;
  /** alarms of the last relay read plus the latched one */
  alarms: string[];
}

export interface TickResult {
  /** the relay changed state this tick */
  switched: boolean;
  /** getState() changed (an override expired): store it */
  stateChanged: boolean;
  lampOn: boolean;
  reason: LampReason;
}

interface Decision {
  mode: LampMode;
  on: boolean;
  reason: LampReason;
  failSafe: "no-time" | RelayAlarm | null;
  next: number | null;
}

function show(v: any): string {
  const s = typeof v === "number" || v === undefined ? String(v) : JSON.stringify(v);
  return s.length > 40 ? s.substr(0, 37) + "..." : s;
}

function isMode(m: any): boolean {
  return m === "auto" || m === "on" || m === "off";
}

function offsetMs(min: any): number {
  if (typeof min !== "number" || !isFinite(min)) return 0;
  return Math.max(-MAX_OFFSET_MIN, Math.min(MAX_OFFSET_MIN, min)) * 60000;
}

function decision(mode: LampMode, on: boolean, reason: LampReason, failSafe: "no-time" | RelayAlarm | null, next: number | null): Decision {
  return { mode: mode, on: on, reason: reason, failSafe: failSafe, next: next };
}

export class StreetlightController {
  private _relay: Actuator;
  private _lat: number;
  private _lon: number;
  private _zenith: number;
  private _onOffsetMs: number;
  private _offOffsetMs: number;
  private _now: () => number;
  private _mode: LampMode;
  private _expiresMs: number | null;
  private _fault: RelayAlarm | null;
  /** relay alarm seen in the last reads, and in how many in a row */
  private _seen: string | null;
  private _seenCount: number;
  private _lastAlarms: string[];
  /** the last tick's decision (status reports it); null: none since construction or restore */
  private _last: Decision | null;
  private _applied: boolean;
  /** lamp-on windows [start, end, start, end, ...] (UTC ms) around the UTC day cacheDay */
  private _nights: number[];
  private _cacheDay: number;

  /**
   * relay: the lamp Actuator (configure() it first); location in degrees; now: the clock,
   * UTC ms (default Date.now). Nothing is switched until the first tick().
   */
  constructor(relay: Actuator, location: StreetlightLocation, options?: StreetlightOptions, now?: () => number) {
    const o = options || {};
    this._relay = relay;
    this._lat = location.lat;
    this._lon = location.lon;
    this._zenith = o.useCivilTwilight ? ZENITH_CIVIL : ZENITH_SUNRISE;
    this._onOffsetMs = offsetMs(o.onOffsetMin);
    this._offOffsetMs = offsetMs(o.offOffsetMin);
    this._now = now || function () { return Date.now(); };
    this._mode = "auto";
    this._expiresMs = null;
    this._fault = null;
    this._seen = null;
    this._seenCount = 0;
    this._lastAlarms = [];
    this._last = null;
    this._applied = false;
    this._nights = [];
    this._cacheDay = NaN;
  }

  /** Apply the schedule at nowMs (default: the clock). Call every cycle (a minute or so). */
  tick(nowMs?: number): TickResult {
    const d = this._decide(typeof nowMs === "number" ? nowMs : this._now());
    const stateChanged = d.mode !== this._mode;
    if (stateChanged) {
      this._mode = d.mode;
      this._expiresMs = null;
    }
    const was = this._relay.isOn();
    // the first tick drives the pin whatever the driver believes
    if (!this._applied || was !== d.on) this._relay.set(d.on);
    this._applied = true;
    this._last = d;
    return { switched: was !== d.on, stateChanged: stateChanged, lampOn: d.on, reason: d.reason };
  }

  /**
   * Downlink command: mode "auto" | "on" | "off", expiresS (on/off only) seconds until auto
   * again, none: until changed. Clears a latched relay alarm. Applies at once (ticks).
   * Returns null when accepted (store getState() then), else why not; never throws.
   */
  command(mode: unknown, expiresS?: unknown): string | null {
    if (!isMode(mode)) return 'mode must be "auto", "on" or "off", got ' + show(mode);
    let exp: number | null = null;
    if (expiresS !== undefined && expiresS !== null) {
      if (mode === "auto") return "expiresS applies to on and off only";
      if (typeof expiresS !== "number" || !(expiresS >= 1 && expiresS <= MAX_EXPIRY_S)) {
        return "expiresS must be seconds between 1 and " + MAX_EXPIRY_S + ", got " + show(expiresS);
      }
      const t = this._now();
      if (!(t >= VALID_TIME_MS)) return "clock not set: an override with expiresS needs the time";
      exp = Math.round(t + expiresS * 1000);
    }
    this._mode = mode as LampMode;
    this._expiresMs = exp;
    this._fault = null;
    this._seen = null;
    this._seenCount = 0;
    this.tick();
    return null;
  }

  /**
   * Feed every relay read (Relay.read() result). Returns true when a relay alarm has just
   * latched (store getState(); the next tick holds the lamp on).
   */
  noteRead(res: SensorResult): boolean {
    if (!res || !res.ok) return false; // a failed read says nothing about the lamp
    const alarms = res.alarms || [];
    this._lastAlarms = alarms;
    let a: RelayAlarm | null = null;
    for (let i = 0; i < alarms.length; i++) {
      if (alarms[i] === "stuck-relay" || alarms[i] === "lamp-failure") {
        a = alarms[i] as RelayAlarm;
        break;
      }
    }
    if (!a) {
      this._seen = null;
      this._seenCount = 0;
      return false;
    }
    this._seenCount = a === this._seen ? this._seenCount + 1 : 1;
    this._seen = a;
    if (this._seenCount < CONFIRM_READS || this._fault) return false;
    this._fault = a;
    return true;
  }

  /** The last tick's view (or the current one before any tick). */
  status(): StreetlightStatus {
    const d = this._last || this._decide(this._now());
    const s: StreetlightStatus = { mode: d.mode, lampOn: this._relay.isOn(), reason: d.reason, nextChangeMs: d.next, alarms: this._alarms() };
    if (d.failSafe) s.failSafe = d.failSafe;
    if (d.mode !== "auto" && this._expiresMs !== null) s.expiresMs = this._expiresMs;
    return s;
  }

  getState(): StreetlightState {
    return { mode: this._mode, expiresMs: this._expiresMs, fault: this._fault };
  }

  /** Restore a stored state; returns null when accepted, else why not (state unchanged). */
  restore(state: unknown): string | null {
    const s: any = state;
    if (!s || typeof s !== "object") return "state must be an object, got " + show(s);
    if (!isMode(s.mode)) return 'state.mode must be "auto", "on" or "off", got ' + show(s.mode);
    const exp = s.expiresMs === undefined ? null : s.expiresMs;
    if (exp !== null && (s.mode === "auto" || typeof exp !== "number" || !(exp >= VALID_TIME_MS && isFinite(exp)))) {
      return "state.expiresMs must be null or UTC ms of an on/off override, got " + show(exp);
    }
    const f = s.fault === undefined ? null : s.fault;
    if (f !== null && f !== "stuck-relay" && f !== "lamp-failure") return "state.fault must be null, stuck-relay or lamp-failure, got " + show(f);
    this._mode = s.mode;
    this._expiresMs = exp;
    this._fault = f;
    this._last = null;
    return null;
  }

  private _alarms(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this._lastAlarms.length; i++) out.push(this._lastAlarms[i]);
    if (this._fault && out.indexOf(this._fault) < 0) out.push(this._fault);
    return out;
  }

  private _decide(t: number): Decision {
    const valid = t >= VALID_TIME_MS;
    const exp = this._expiresMs;
    let mode = this._mode;
    if (mode !== "auto" && exp !== null && valid && t >= exp) mode = "auto"; // expired
    if (mode !== "auto") {
      if (exp !== null && !valid) return decision(mode, true, "fail-safe", "no-time", null);
      return decision(mode, mode === "on", "override", null, exp);
    }
    if (!valid) return decision(mode, true, "fail-safe", "no-time", null);
    if (this._fault) return decision(mode, true, "fail-safe", this._fault, null);
    const w = this._windows(t);
    for (let i = 0; i < w.length; i += 2) {
      if (t < w[i]) return decision(mode, false, "schedule-day", null, w[i]);
      if (t < w[i + 1]) return decision(mode, true, "schedule-night", null, w[i + 1] === Infinity ? null : w[i + 1]);
    }
    return decision(mode, false, "schedule-day", null, null);
  }

  /**
   * Lamp-on windows from the UTC day before t's to three after, cached per UTC day. Dark
   * spells run sunset to next sunrise; a polar night joins its neighbours, a polar day
   * splits them at its midnight. Each gets the offsets; windows they empty are dropped.
   */
  private _windows(t: number): number[] {
    const d = Math.floor(t / DAY_MS);
    if (d === this._cacheDay) return this._nights;
    const out: number[] = [];
    let dark = false;
    let polar = false;
    let from = 0;
    for (let k = d - 1; k <= d + 3; k++) {
      const day0 = k * DAY_MS;
      const s = sunTimes(day0, this._lat, this._lon, this._zenith);
      polar = false;
      if ("riseMs" in s) {
        if (dark) this._addWindow(out, from, s.riseMs);
        dark = true;
        from = s.setMs;
      } else if (s.always === "night") {
        if (!dark) from = day0;
        dark = polar = true;
      } else {
        if (dark) this._addWindow(out, from, day0);
        dark = false;
      }
    }
    // a polar night lasting past the horizon: on until further notice (a sunset's spell
    // there ends at a sunrise beyond it: left out, as it starts after t's day anyway)
    if (polar) this._addWindow(out, from, Infinity);
    this._nights = out;
    this._cacheDay = d;
    return out;
  }

  private _addWindow(out: number[], darkFrom: number, darkTo: number): void {
    const a = darkFrom + this._onOffsetMs;
    const b = darkTo + this._offOffsetMs;
    if (!(b > a)) return;
    const n = out.length;
    if (n && a <= out[n - 1]) {
      if (b > out[n - 1]) out[n - 1] = b;
    } else out.push(a, b);
  }
}
