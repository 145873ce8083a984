// DFRobot SEN0232 Gravity analog sound level meter (wiki.dfrobot.com/sen0232):
// 30-130 dBA, +/-1.5 dB, A-weighted, 125 ms time constant, output 0.6-2.6 V, dBA = V * 50.
// Wired to an ADC1 pin (ADC2 is unusable while Wi-Fi runs on the ESP32).
//
// read() samples the pin every intervalMs (default 125 ms, the sensor's time constant) for
// `samples` samples and resolves with LAeq (energetic mean), LAmin and LAmax over that window,
// in dB. Per-sample levels are not returned: the runtime builds L10/L50/L90 from many reads.

import { DriverCounters, FaultCode, PinsConfig, Sensor, SensorResult, faultResult, newCounters, okResult, switchPower, readGate, cancel, reading, describeDriver } from "./types.js";
import { energeticMean, roundDb, offsetText } from "./decibel.js";

/** dBA per volt of output (datasheet) */
export const SEN0232_DB_PER_V = 50;
/** measuring range, dBA (datasheet) */
export const SEN0232_MIN_DB = 30;
export const SEN0232_MAX_DB = 130;
/** ESP32 ADC error and quantisation allowance on the range limits, dB */
const RANGE_SLACK_DB = 1;
/** the output never goes below 0.6 V (30 dBA): less than this on the pin means no sensor */
export const SEN0232_ABSENT_V = 0.1;
/** time characteristic, ms (datasheet "125 ms", fast) */
export const SEN0232_TIME_CONSTANT_MS = 125;
/** settling after power-up: 8 time constants (not in the datasheet) */
export const SEN0232_WARMUP_MS = 1000;

export interface Sen0232Options {
  /** ADC full scale, V (ESP32 at 11 dB attenuation: ~3.3 V uncalibrated) */
  fullScaleV?: number;
  /** multiplier on the pin voltage (voltage divider, per-board calibration) */
  gain?: number;
  /** added to every level after the range check, dB (per-board calibration) */
  offsetDb?: number;
  /** samples per read (default 8: one second at 125 ms) */
  samples?: number;
  /** ms between samples (default 125) */
  intervalMs?: number;
  /**
   * read as soon as warm, while a longer warm-up goes on (default true): on esp32-air that is
   * with the SDS011's fan running. Sensor.Community's nodes measure noise that way too (DNMS
   * runs on while the SDS011 samples); false where the fan is heard at the microphone.
   */
  readDuringWarmUp?: boolean;
}

/** pins.out: the ADC pin on the sensor's output */
export type Sen0232Config = PinsConfig<{ out: PinRef }, Sen0232Options>;

/**
 * Pure conversion of one window of pin voltages (already scaled by gain) to a result:
 * all samples at ~0 V -> "absent"; any sample outside 30-130 dBA -> "range";
 * otherwise LAeq/LAmin/LAmax with offsetDb added.
 */
export function sen0232Result(volts: number[], offsetDb: number): SensorResult {
  if (!volts.length) return faultResult("timeout", "no samples");
  const levels: number[] = [];
  let dead = 0;
  let outside = 0;
  for (let i = 0; i < volts.length; i++) {
    const v = volts[i];
    if (!(v >= SEN0232_ABSENT_V)) dead++;
    const db = v * SEN0232_DB_PER_V;
    if (!(db >= SEN0232_MIN_DB - RANGE_SLACK_DB && db <= SEN0232_MAX_DB + RANGE_SLACK_DB)) outside++;
    levels.push(db);
  }
  if (dead === volts.length) return faultResult("absent", "0 V on pin");
  if (outside) return faultResult("range", outside + "/" + volts.length + " samples outside 30-130 dBA");
  let min = levels[0];
  let max = levels[0];
  for (let i = 1; i < levels.length; i++) {
    if (levels[i] < min) min = levels[i];
    if (levels[i] > max) max = levels[i];
  }
  return okResult([
    reading("LAeq", roundDb(energeticMean(levels) + offsetDb)),
    reading("LAmin", roundDb(min + offsetDb)),
    reading("LAmax", roundDb(max + offsetDb)),
  ]);
}

/** absent counts as a timeout: the sensor gave nothing to read */
function count(c: DriverCounters, fault: FaultCode | undefined): void {
  if (!fault) c.framesOk++;
  else if (fault === "range") c.rangeErrors++;
  else if (fault === "absent" || fault === "timeout") c.timeouts++;
}

export class Sen0232 implements Sensor {
  readonly name: string;
  readonly model = "sen0232";
  readonly warmupMs = SEN0232_WARMUP_MS;
  /** the level is the mean of the read's own samples: nothing accumulates while it waits */
  readonly readsWhenWarm: boolean;
  readonly counters: DriverCounters;
  private _config: Sen0232Config;
  private _fullScaleV: number;
  private _gain: number;
  private _offsetDb: number;
  private _samples: number;
  private _intervalMs: number;
  private _on: boolean;
  private _poweredAt: number;
  private _timer: any;
  private _pending: Promise<SensorResult> | undefined;
  private _finish: ((r: SensorResult) => void) | undefined;

  constructor(c: Sen0232Config) {
    const o = c.options || {};
    this._config = c;
    this.name = c.name;
    this._fullScaleV = o.fullScaleV || 3.3;
    this._gain = o.gain || 1;
    this._offsetDb = o.offsetDb || 0;
    this._samples = Math.max(1, o.samples || 8);
    this._intervalMs = o.intervalMs || SEN0232_TIME_CONSTANT_MS;
    this.readsWhenWarm = o.readDuringWarmUp !== false;
    this.counters = newCounters();
    // without a power switch the sensor is always on and long settled
    this._on = true;
    this._poweredAt = 0;
  }

  configure(): void {
    this._config.gpio.mode(this._config.pins.out, "analog");
  }

  powerOn(): void {
    switchPower(this._config.gpio, this._config.power, true);
    // without a switch the sensor never lost power, so it needs no settling
    if (!this._on && this._config.power) this._poweredAt = Date.now();
    this._on = true;
  }

  powerOff(): void {
    switchPower(this._config.gpio, this._config.power, false);
    this._on = false;
    cancel(this._timer);
    this._timer = undefined;
    this._settle(faultResult("off", "powered off during read"));
  }

  read(): Promise<SensorResult> {
    const gate = readGate(this._on, this._poweredAt, this.warmupMs);
    if (gate) return gate;
    if (this._pending) return this._pending;
    const self = this;
    const volts: number[] = [];
    const pending = new Promise<SensorResult>(function (resolve) {
      self._finish = resolve;
    });
    this._pending = pending;
    function sample() {
      self._timer = undefined;
      volts.push(self._config.gpio.analog(self._config.pins.out) * self._fullScaleV * self._gain);
      if (volts.length >= self._samples) self._settle(sen0232Result(volts, self._offsetDb));
      else self._timer = setTimeout(sample, self._intervalMs);
    }
    sample();
    return pending;
  }

  describe(): string {
    return describeDriver(this.model, this.warmupMs, this._config, ", " + this._samples + "x" + this._intervalMs + " ms" + (this._gain !== 1 ? ", gain " + this._gain : "") + offsetText(this._offsetDb));
  }

  private _settle(result: SensorResult): void {
    const finish = this._finish;
    if (!finish) return;
    this._finish = undefined;
    this._pending = undefined;
    count(this.counters, result.fault);
    if (result.ok) this.counters.lastGoodMs = Date.now();
    finish(result);
  }
}
