// HC-SR04 and JSN-SR04T (waterproof, mode 1) ultrasonic rangers: a trigger pulse in, an
// echo pulse out whose width is the round trip of the sound. distance = width * c / 2 with
// c = 331.3 + 0.606 * T m/s. No echo: the echo pulse ends by itself (~38 ms on the HC-SR04).
// HC-SR04 (SparkFun/Elecfreaks datasheet): trigger >= 10 us, 2-400 cm, use a measurement
// cycle over 60 ms, 15 mA working, < 2 mA quiescent. Both run at 5 V: their echo needs a
// divider or level shifter in front of the ESP32 pin.
// In Espruino: digitalPulse on the trigger, setWatch (both edges) on the echo; on the falling
// edge, time - lastTime is the pulse width.

import { newCounters, switchPower, okResult, faultResult, describeDriver } from "./types.js";
import type { Sensor, SensorResult, DriverCounters, PinsConfig } from "./types.js";
import { median, binReadings, binText } from "./fill.js";
import type { BinOptions } from "./fill.js";

export interface RangerModel {
  /** shortest valid distance: below it the transducer is still ringing (blind zone), mm */
  minMm: number;
  /** longest valid distance, mm */
  maxMm: number;
  /** trigger pulse, ms (Espruino's digitalPulse takes ms) */
  triggerMs: number;
  /** length of the echo pulse when nothing answers, ms */
  noEchoMs: number;
  /** time from one trigger to the next, ms: longer than noEchoMs so echoes don't overlap */
  cycleMs: number;
}

export const RANGER_MODELS: { [model: string]: RangerModel } = {
  // datasheet: 2-400 cm, 10 us trigger, 38 ms no-echo pulse, measurement cycle over 60 ms
  "hc-sr04": { minMm: 20, maxMm: 4000, triggerMs: 0.01, noEchoMs: 38, cycleMs: 60 },
  // vendor pages disagree (blind 20-25 cm, max 450-600 cm, no-echo 38-60 ms, trigger
  // 10-20 us): unconfirmed, so the conservative end of each
  "jsn-sr04t": { minMm: 250, maxMm: 4500, triggerMs: 0.02, noEchoMs: 60, cycleMs: 100 },
};

const DEFAULT_TEMPERATURE_C = 20;
const DEFAULT_PINGS = 5;

/** Speed of sound in air, m/s (tangent at 0 C: within 0.25 % of the ideal-gas law over -20..40 C). */
export function speedOfSound(temperatureC: number): number {
  return 331.3 + 0.606 * temperatureC;
}

/** Echo pulse width (us) to distance (mm): half the round trip. */
export function echoToMm(widthUs: number, temperatureC: number): number {
  return (widthUs * speedOfSound(temperatureC)) / 2000;
}

export interface HcSr04Options extends BinOptions {
  /** "hc-sr04" (default) or "jsn-sr04t" */
  model?: string;
  /** pings per read; the median of those in range is reported (default 5) */
  pings?: number;
  /** air temperature for the speed of sound when no temperature source is given (default 20) */
  temperatureC?: number;
}

export interface HcSr04Config extends PinsConfig<{ trigger: PinRef; echo: PinRef }, HcSr04Options> {
  /** live air temperature, degrees C (e.g. from another sensor); NaN falls back to options */
  temperatureC?: () => number;
}

export class HcSr04 implements Sensor {
  readonly name: string;
  readonly model: string;
  readonly warmupMs: number;
  readonly counters: DriverCounters;
  private _cfg: HcSr04Config;
  private _opts: HcSr04Options;
  private _ranger: RangerModel;
  private _pings: number;
  private _on: boolean;
  private _edgesEver: number;
  private _pending: Promise<SensorResult> | null;

  constructor(cfg: HcSr04Config) {
    const opts = cfg.options || {};
    this.name = cfg.name;
    this.model = opts.model && RANGER_MODELS[opts.model] ? opts.model : "hc-sr04";
    this._ranger = RANGER_MODELS[this.model];
    this._pings = opts.pings && opts.pings > 0 ? opts.pings : DEFAULT_PINGS;
    this.warmupMs = 0;
    this.counters = newCounters();
    this._cfg = cfg;
    this._opts = opts;
    this._on = !cfg.power;
    this._edgesEver = 0;
    this._pending = null;
  }

  configure(): void {
    const g = this._cfg.gpio;
    const p = this._cfg.pins;
    g.mode(p.trigger, "output");
    g.write(p.trigger, false);
    g.mode(p.echo, "input");
  }

  powerOn(): void {
    switchPower(this._cfg.gpio, this._cfg.power, true);
    this._on = true;
  }

  powerOff(): void {
    if (!this._cfg.power) return;
    switchPower(this._cfg.gpio, this._cfg.power, false);
    this._on = false;
  }

  /** the temperature used for the speed of sound now */
  temperatureC(): number {
    const t = this._cfg.temperatureC ? this._cfg.temperatureC() : NaN;
    if (typeof t === "number" && t === t) return t;
    return typeof this._opts.temperatureC === "number" ? this._opts.temperatureC : DEFAULT_TEMPERATURE_C;
  }

  read(): Promise<SensorResult> {
    if (!this._on) return Promise.resolve(faultResult("off", "powered off"));
    if (this._pending) return this._pending;
    const self = this;
    const cfg = this._cfg;
    const m = this._ranger;
    const wanted = this._pings;
    const p = new Promise<SensorResult>(function (resolve) {
      const widthsUs: number[] = [];
      let silent = 0; // pings without any edge
      let stuck = 0; // pings whose echo rose and never fell
      let sent = 0;
      let rose = false;
      let fell = false;
      let edges = 0;
      const id = cfg.gpio.watch(cfg.pins.echo, function (e: WatchEvent) {
        edges++;
        self._edgesEver++;
        if (e.state) rose = true;
        else if (rose && !fell) {
          fell = true;
          widthsUs.push((e.time - e.lastTime) * 1e6);
        }
      }, { repeat: true, edge: "both" });
      const ping = function () {
        if (sent) {
          if (!edges) silent++;
          else if (rose && !fell) stuck++;
        }
        if (sent >= wanted) {
          cfg.gpio.unwatch(id);
          self._pending = null;
          resolve(self._evaluate(widthsUs, silent, stuck));
          return;
        }
        sent++;
        rose = false;
        fell = false;
        edges = 0;
        cfg.gpio.pulse(cfg.pins.trigger, true, m.triggerMs);
        setTimeout(ping, m.cycleMs);
      };
      ping();
    });
    this._pending = p;
    return p;
  }

  describe(): string {
    return describeDriver(this.model, 0, this._cfg, binText(this._pings, this._opts));
  }

  private _evaluate(widthsUs: number[], silent: number, stuck: number): SensorResult {
    const c = this.counters;
    const m = this._ranger;
    const t = this.temperatureC();
    const valid: number[] = [];
    let noEcho = 0;
    for (let i = 0; i < widthsUs.length; i++) {
      const mm = echoToMm(widthsUs[i], t);
      if (mm >= m.minMm && mm <= m.maxMm) valid.push(mm);
      else if (widthsUs[i] >= m.noEchoMs * 900) noEcho++; // within 10 % of the no-echo pulse
    }
    c.framesOk += valid.length;
    c.rangeErrors += widthsUs.length - valid.length;
    c.timeouts += silent + stuck;
    if (valid.length) {
      c.lastGoodMs = Date.now();
      return okResult(binReadings(median(valid), this._opts));
    }
    if (widthsUs.length) {
      return faultResult("range", noEcho === widthsUs.length ? "no echo" : widthsUs.length + " pings out of " + m.minMm + "-" + m.maxMm + " mm");
    }
    if (stuck) return faultResult("timeout", "echo stuck high");
    return faultResult(this._edgesEver ? "timeout" : "absent", "no echo edge in " + silent + " pings");
  }
}
