// Streetlight relay with optional ACS712 lamp-current sense on an ESP32 ADC1 pin (D32-D39).
// Relay modules are often active-low (optocoupler input): the board profile says which.
// ACS712 (Allegro datasheet): output VCC/2 at 0 A, 185/100/66 mV/A for the 5/20/30 A parts,
// ratiometric to its 5 V supply; a divider brings it under the ESP32's 3.3 V. The lamp runs on
// AC mains, so the current is the RMS of the output around the zero point, sampled over
// whole mains cycles (a DC lamp gives the same answer: RMS of a constant is the constant).

import { newCounters, okResult, faultResult, reading, describeDriver } from "./types.js";
import type { Actuator, SensorResult, DriverCounters, PinsConfig } from "./types.js";

/** ACS712 output at 0 A, V: half its 5 V supply (calibrate per board) */
const ACS712_ZERO_V = 2.5;
/** ACS712ELCTR-05B sensitivity, V/A (-20A: 0.100, -30A: 0.066) */
const ACS712_05B_V_PER_A = 0.185;
/** ESP32 analogRead with 11 dB attenuation: fraction of about 3.3 V */
const ADC_FULL_SCALE_V = 3.3;
/** an ACS712 output never gets this low (linear range starts near 0.5 V): sensor missing */
const SENSE_ABSENT_V = 0.1;
const DEFAULT_THRESHOLD_A = 0.1;
/** contacts bounce for ms and lamps (HID, LED drivers) take a moment to draw steady current */
const DEFAULT_SETTLE_MS = 2000;
const DEFAULT_SAMPLES = 20;
const DEFAULT_MAINS_HZ = 50;
/** whole mains cycles the samples span, so the RMS of a sine comes out exact */
const SAMPLE_CYCLES = 2;

export interface RelayOptions {
  /** the module switches on when its input is driven low (optocoupler modules) */
  activeLow?: boolean;
  /** ACS712 sensitivity, V/A: 0.185 (5 A), 0.100 (20 A), 0.066 (30 A) */
  sensitivityVPerA?: number;
  /** ACS712 output at 0 A measured on this board, V at the sensor (default 2.5) */
  zeroV?: number;
  /** divider between sensor and ADC pin: V(pin) / V(sensor), e.g. 0.66 for 10k over 20k (default 1) */
  dividerRatio?: number;
  /** ADC full scale, V (default 3.3) */
  fullScaleV?: number;
  /** current that counts as "lamp drawing", A (default 0.1) */
  thresholdA?: number;
  /** after a switch, ms before the current is judged (default 2000) */
  settleMs?: number;
  /** ADC samples per read (default 20) */
  samples?: number;
  /** mains frequency, Hz (default 50; Morocco) */
  mainsHz?: number;
}

/**
 * pins.relay drives the relay module's input; pins.sense, if fitted, is the ADC1 pin on the
 * ACS712 output (through the divider). No power switch: both live on the node's mains supply.
 */
export type RelayConfig = PinsConfig<{ relay: PinRef; sense?: PinRef }, RelayOptions>;

/** Root mean square of (v - zero). */
export function rmsAround(values: number[], zero: number): number {
  if (!values.length) return NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - zero;
    sum += d * d;
  }
  return Math.sqrt(sum / values.length);
}

export class Relay implements Actuator {
  readonly name: string;
  readonly model: string;
  readonly warmupMs: number;
  readonly counters: DriverCounters;
  private _cfg: RelayConfig;
  private _opts: RelayOptions;
  private _state: boolean;
  private _switchedAt: number;
  private _pending: Promise<SensorResult> | null;

  constructor(cfg: RelayConfig) {
    this.name = cfg.name;
    this.model = "relay";
    this.warmupMs = 0;
    this.counters = newCounters();
    this._cfg = cfg;
    this._opts = cfg.options || {};
    this._state = false;
    this._switchedAt = 0;
    this._pending = null;
  }

  /** drive the relay off first: the safe state until the controller decides */
  configure(): void {
    const p = this._cfg.pins;
    this._cfg.gpio.mode(p.relay, "output");
    this.set(false);
    // a reset may have just released the contacts: give the current time to fall
    this._switchedAt = Date.now();
    if (p.sense !== undefined) this._cfg.gpio.mode(p.sense, "analog");
  }

  /** the relay module and the ACS712 live on the node's mains supply: nothing to switch */
  powerOn(): void {}

  powerOff(): void {}

  set(on: boolean): void {
    this._cfg.gpio.write(this._cfg.pins.relay, on !== !!this._opts.activeLow);
    if (on !== this._state) this._switchedAt = Date.now();
    this._state = on;
  }

  isOn(): boolean {
    return this._state;
  }

  read(): Promise<SensorResult> {
    const sense = this._cfg.pins.sense;
    if (sense === undefined) return Promise.resolve(okResult([reading("relay", this._state ? 1 : 0)]));
    if (this._pending) return this._pending;
    const self = this;
    const o = this._opts;
    const n = o.samples && o.samples > 1 ? o.samples : DEFAULT_SAMPLES;
    const stepMs = (1000 * SAMPLE_CYCLES) / (o.mainsHz || DEFAULT_MAINS_HZ) / n;
    const p = new Promise<SensorResult>(function (resolve) {
      const volts: number[] = [];
      const sample = function () {
        volts.push(self._cfg.gpio.analog(sense));
        if (volts.length < n) {
          setTimeout(sample, stepMs);
          return;
        }
        self._pending = null;
        resolve(self._evaluate(volts));
      };
      sample();
    });
    this._pending = p;
    return p;
  }

  /** polarity and, with current sense, the ACS712's sensitivity and the divider */
  describe(): string {
    const o = this._opts;
    return describeDriver(this.model, 0, this._cfg, (o.activeLow ? ", active-low" : ", active-high") +
      (this._cfg.pins.sense !== undefined ? ", " + (o.sensitivityVPerA || ACS712_05B_V_PER_A) + " V/A, divider " + Math.round((o.dividerRatio || 1) * 100) / 100 : ""));
  }

  /** fractions of ADC full scale in, result out */
  private _evaluate(fractions: number[]): SensorResult {
    const o = this._opts;
    const c = this.counters;
    const fullScale = o.fullScaleV || ADC_FULL_SCALE_V;
    const ratio = o.dividerRatio || 1;
    const sensorV: number[] = [];
    let mean = 0;
    let saturated = false;
    for (let i = 0; i < fractions.length; i++) {
      if (fractions[i] >= 4095 / 4096) saturated = true;
      mean += fractions[i] * fullScale;
      sensorV.push((fractions[i] * fullScale) / ratio);
    }
    mean /= fractions.length;
    if (mean < SENSE_ABSENT_V) {
      c.timeouts++;
      return faultResult("absent", "current sense reads " + mean.toFixed(2) + " V");
    }
    if (saturated) {
      c.rangeErrors++;
      return faultResult("range", "current sense at ADC full scale");
    }
    const amps = rmsAround(sensorV, typeof o.zeroV === "number" ? o.zeroV : ACS712_ZERO_V) / (o.sensitivityVPerA || ACS712_05B_V_PER_A);
    const threshold = typeof o.thresholdA === "number" ? o.thresholdA : DEFAULT_THRESHOLD_A;
    const settled = Date.now() - this._switchedAt >= (typeof o.settleMs === "number" ? o.settleMs : DEFAULT_SETTLE_MS);
    c.framesOk++;
    c.lastGoodMs = Date.now();
    const result = okResult([
      reading("relay", this._state ? 1 : 0),
      reading("lampCurrent", Math.round(amps * 1000) / 1000),
    ]);
    if (settled && this._state && amps < threshold) result.alarms = ["lamp-failure"];
    if (settled && !this._state && amps >= threshold) result.alarms = ["stuck-relay"];
    return result;
  }
}
