// Energy ledger: every power-state change goes to Platform.power (the simulator prices it)
// and into ms-in-state totals kept in the store, which diag turns into mAh with the board's
// current figures. Firmware code: ES5, Espruino subset.

import type { Platform } from "../platform.js";

/** an interval longer than this (or negative) is a clock jump (SNTP set the time), not time in state */
const MAX_INTERVAL_MS = 2 * 86400000;
/** the wake prelude's first statement leaves the time it ran here (toolchain/wake-prelude.ts) */
export var WOKE_GLOBAL = "cnW";
/** an ESP32's reset to the first JS statement (ESP-IDF start-up, Espruino's init), ms: an
 *  estimate, as the simulator's (sim/boot-time.ts BOOT_BASE_MS) */
export var PRE_JS_MS = 250;

export class EnergyLedger {
  /** ms per state: "awake", "radio", "sensor:<name>", "sleep" (persisted object from the store) */
  private _totals: { [state: string]: number };
  private _platform: Platform;
  private _since: { [state: string]: number };

  constructor(platform: Platform, totals: { [state: string]: number }) {
    this._platform = platform;
    this._totals = totals;
    this._since = {};
  }

  isOn(state: string): boolean {
    return this._since[state] !== undefined;
  }

  /** since: when it really came on, if before now (a supply the wake prelude switched on) */
  set(state: string, on: boolean, since?: number): void {
    if (on === this.isOn(state)) return;
    var now = Date.now();
    if (on) this._since[state] = since && since < now ? since : now;
    else {
      this.add(state, now - this._since[state]);
      delete this._since[state];
    }
    try {
      this._platform.power(state, on);
    } catch (e) {
      // accounting must never stop the node
    }
  }

  add(state: string, ms: number): void {
    if (ms > 0 && ms < MAX_INTERVAL_MS) this._totals[state] = Math.round((this._totals[state] || 0) + ms);
  }

  /** the clock was set (moved by `delta`): states on keep their time so far */
  shift(delta: number): void {
    for (var s in this._since) this._since[s] += delta;
  }

  /** bank the time of states still on (before a save); they stay on */
  settle(): void {
    var now = Date.now();
    for (var s in this._since) {
      this.add(s, now - this._since[s]);
      this._since[s] = now;
    }
  }
}
