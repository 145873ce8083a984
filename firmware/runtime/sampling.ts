// Reading the sensors in one cycle: configure the devices once per boot, power the ones that
// need a warm-up while the quick ones are read around their own power-on, read those that take
// their own samples once their warm-up is done and the rest after the longest warm-up (one at
// a time), then the actuators' sense. Every read ends: a driver that never answers
// gets a timeout result. Firmware code: ES5, Espruino subset.

import type { Sensor, SensorResult } from "../../drivers/types.js";
import { faultResult } from "../../drivers/types.js";
import type { Runtime } from "./state.js";

/** a driver's read resolves on its own; this only guards against a driver bug */
const READ_GUARD_MS = 20000;
/**
 * a supply the wake prelude switched on longer ago than this (or later than now) is a clock
 * that moved since (the RTC restarted at 0, then SNTP set it): its warm-up counts from now
 */
const BOOT_POWER_TRUST_MS = 60000;

export interface Sample {
  dev: string;
  r: SensorResult;
  t: number;
}

export class Sampler {
  /** the devices were configured (once per boot, at the first cycle) */
  configured: boolean;
  private _rt: Runtime;
  /** the prelude's power-on times, taken early and moved with the clock (clockMoved) */
  private _moved: { [device: string]: number } | null;

  constructor(rt: Runtime) {
    this._rt = rt;
    this.configured = false;
    this._moved = null;
  }

  /** switch a device and book it; since: when the wake prelude switched its supply on, if it did */
  power(s: Sensor, on: boolean, since?: number): void {
    try {
      if (on) s.powerOn(since);
      else s.powerOff();
    } catch (e) {
      this._rt.log(s.name + ": power " + (on ? "on" : "off") + " threw " + e);
    }
    this._rt.energy.set("sensor:" + s.name, on, since);
  }

  /** read one device; power = power it around the read (quick sensors) or off after (warmed) */
  private _readOne(s: Sensor, power: string, out: Sample[], cb: () => void): void {
    var self = this, done = false, t: any = null;
    var fin = function (r: SensorResult) {
      if (done) return;
      done = true;
      if (t) clearTimeout(t);
      if (power !== "none") self.power(s, false);
      out.push({ dev: s.name, r: r, t: Date.now() });
      cb();
    };
    if (power === "around") this.power(s, true);
    t = setTimeout(function () {
      fin(faultResult("timeout", "no result in " + READ_GUARD_MS / 1000 + " s"));
    }, READ_GUARD_MS);
    try {
      s.read().then(fin, function (e: any) {
        fin(faultResult("timeout", "read failed: " + e));
      });
    } catch (e) {
      fin(faultResult("timeout", "read threw: " + e));
    }
  }

  private _readList(list: Sensor[], power: string, out: Sample[], cb: () => void): void {
    var self = this, i = 0;
    var step = function () {
      if (i >= list.length) return cb();
      self._readOne(list[i++], power, out, step);
    };
    step();
  }

  /** configure every device once per boot; a device whose configure() throws is left out, and says why */
  configure(): void {
    var rt = this._rt, all: Sensor[] = rt.sensors.concat(rt.actuators), ok: Sensor[] = [];
    this.configured = true;
    for (var i = 0; i < all.length; i++) {
      try {
        all[i].configure();
        if (i < rt.sensors.length) ok.push(all[i]);
      } catch (e) {
        rt.log(all[i].name + ": configure failed: " + e);
        rt.last[all[i].name] = faultResult("absent", "configure failed: " + e);
      }
    }
    rt.sensors = ok;
    if (rt.relay) rt.relay.start(rt);
  }

  /** when the wake prelude switched supplies on, by device (handed over once: Platform.poweredAtBoot) */
  private _booted(): { [device: string]: number } | null {
    var p = this._rt.platform, b = this._moved;
    this._moved = null;
    return b || (p.poweredAtBoot ? p.poweredAtBoot() : null);
  }

  /** the clock moved by `delta` before the sampling: the prelude's power-on times move with it */
  clockMoved(delta: number): void {
    var b = this._booted();
    // (Espruino throws on for-in over null)
    if (b) for (var k in b) b[k] += delta;
    this._moved = b;
  }

  /** a wake that reads nothing (safe mode): switch off, at once, what the wake prelude switched on */
  release(): void {
    var rt = this._rt, booted = this._booted();
    for (var i = 0; booted && i < rt.sensors.length; i++) {
      var s = rt.sensors[i], since = booted[s.name];
      if (since === undefined) continue;
      // on in the books since the prelude's power-on, then off as any sensor is
      rt.energy.set("sensor:" + s.name, true, since);
      this.power(s, false);
    }
  }

  /** Warm-up aware sampling of every sensor, then the actuators' sense. */
  sample(done: (out: Sample[]) => void): void {
    var self = this, rt = this._rt, out: Sample[] = [], slow: Sensor[] = [], quick: Sensor[] = [], i: number;
    if (!this.configured) this.configure();
    for (i = 0; i < rt.sensors.length; i++) {
      var s = rt.sensors[i];
      if (s.warmupMs > 0) slow.push(s);
      else quick.push(s);
    }
    var t0 = Date.now(), warm = t0, early: Sensor[] = [], late: Sensor[] = [], ready: { [name: string]: number } = {};
    var booted = this._booted();
    for (i = 0; i < slow.length; i++) {
      var since = booted ? booted[slow[i].name] : undefined;
      if (!(since !== undefined && since <= t0 && t0 - since < BOOT_POWER_TRUST_MS)) since = undefined;
      this.power(slow[i], true, since);
      ready[slow[i].name] = (since === undefined ? t0 : since) + slow[i].warmupMs;
      if (ready[slow[i].name] > warm) warm = ready[slow[i].name];
      (slow[i].readsWhenWarm ? early : late).push(slow[i]);
    }
    // those that read when warm, soonest warm first, each once its own warm-up is done (esp32-air:
    // the noise average falls in the SDS011's 15 s); then the others in the board's order after
    // the longest warm-up, as their levels may cover the time they were on
    early.sort(function (a, b) {
      return ready[a.name] - ready[b.name];
    });
    var order = early.concat(late), next = 0;
    var readSlow = function () {
      if (next >= order.length) {
        return self._readList(rt.actuators, "none", out, function () {
          done(out);
        });
      }
      var s = order[next++], wait = (s.readsWhenWarm ? ready[s.name] : warm) - Date.now();
      setTimeout(function () {
        self._readOne(s, "after", out, readSlow);
      }, wait > 0 ? wait : 0);
    };
    this._readList(quick, "around", out, readSlow);
  }
}
