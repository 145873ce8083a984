// Sensirion SPS30 particulate matter sensor over I2C (address 0x69, SEL tied to GND).
// Source: Sensirion SPS30 datasheet (I2C interface) and Sensirion's embedded-sps driver;
// facts in docs/hardware.md. Commands are 16-bit, MSB first; every 16-bit data word on the
// wire is followed by a CRC-8 (poly 0x31, init 0xFF). Float output: big-endian IEEE 754.
// Firmware code: ES5, Espruino subset.

import { newCounters, switchPower, okResult, faultResult, readGate, cancel, openI2c, reading, describeDriver } from "./types.js";
import type { Sensor, I2cConfig, DriverCounters, SensorResult } from "./types.js";
import { crc8 } from "./crc8.js";

export const SPS30_ADDRESS = 0x69;

export const SPS30_CMD_START = 0x0010; // argument 0x0300: big-endian float output
export const SPS30_CMD_STOP = 0x0104;
export const SPS30_CMD_DATA_READY = 0x0202;
export const SPS30_CMD_READ = 0x0300;
export const SPS30_CMD_SLEEP = 0x1001; // from idle only; firmware >= 2.0
export const SPS30_CMD_WAKE = 0x1103;

/** datasheet start-up time is 8 s at high and up to 30 s at the lowest number concentrations */
export const SPS30_WARMUP_MS = 30000;
/** a new measurement every second; allow two intervals and margin */
export const SPS30_READ_TIMEOUT_MS = 3000;
/** poll the data-ready flag this often (Sensirion's example polls every 100 ms) */
export const SPS30_POLL_MS = 200;
/** after power-up, before the first command (Sensirion's driver waits 100 ms after a reset) */
export const SPS30_BOOT_MS = 100;
/** datasheet mass concentration range 0-1000 ug/m3 */
export const SPS30_MAX_UGM3 = 1000;

/** The 10 values of one measurement: mass in ug/m3, number in #/cm3, typical size in um. */
export interface Sps30Data {
  pm1: number;
  pm25: number;
  pm4: number;
  pm10: number;
  nc05: number;
  nc1: number;
  nc25: number;
  nc4: number;
  nc10: number;
  typicalSize: number;
}

/** The bytes of a command with 16-bit argument words, each followed by its CRC. */
export function sps30Command(cmd: number, args?: number[]): number[] {
  const b = [(cmd >> 8) & 0xff, cmd & 0xff];
  const a = args || [];
  for (let i = 0; i < a.length; i++) {
    const w = [(a[i] >> 8) & 0xff, a[i] & 0xff];
    b.push(w[0], w[1], crc8(w));
  }
  return b;
}

/**
 * Pure: strip the CRC after every 2 data bytes. Returns the data bytes, or null if any CRC
 * is wrong or the length is not a multiple of 3.
 */
export function sps30Words(raw: ArrayLike<number>): number[] | null {
  if (raw.length % 3) return null;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i += 3) {
    if (crc8(raw, i, i + 2) !== raw[i + 2]) return null;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** Pure parser of the 60-byte read-values answer (float mode), or null on a CRC error. */
export function parseSps30Values(raw: ArrayLike<number>): Sps30Data | null {
  if (raw.length !== 60) return null;
  const d = sps30Words(raw);
  if (!d) return null;
  const u = new Uint8Array(d);
  const v = new DataView(u.buffer);
  const f: number[] = [];
  for (let i = 0; i < 10; i++) f.push(v.getFloat32(4 * i, false));
  return {
    pm1: f[0],
    pm25: f[1],
    pm4: f[2],
    pm10: f[3],
    nc05: f[4],
    nc1: f[5],
    nc25: f[6],
    nc4: f[7],
    nc10: f[8],
    typicalSize: f[9],
  };
}

export interface Sps30Options {
  /** without a power switch: true (default) = sleep command when off (firmware >= 2.0), false = idle */
  sleep?: boolean;
  warmupMs?: number;
  timeoutMs?: number;
}

/** gpio is needed only with a power switch; bus.address defaults to 0x69 */
export type Sps30Config = I2cConfig<Sps30Options>;

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * Readings: pm1, pm25, pm10 ("ug/m3", rounded to 0.1).
 * Faults: off, warming, absent (never ACKed since powerOn), timeout, checksum (only CRC
 * failures), range (outside 0-1000). Espruino throws on a missing ACK: every transaction is caught.
 */
export class Sps30 implements Sensor {
  readonly name: string;
  readonly model: string;
  readonly warmupMs: number;
  readonly counters: DriverCounters;
  private _config: Sps30Config;
  private _options: Sps30Options;
  private _addr: number;
  private _timeoutMs: number;
  private _on: boolean;
  private _onAt: number;
  private _started: boolean;
  private _acked: boolean;
  private _bootTimer: any;
  private _pendingRead: Promise<SensorResult> | null;
  private _abort: (() => void) | null;

  constructor(c: Sps30Config) {
    const o = c.options || {};
    this._config = c;
    this._options = o;
    this.name = c.name;
    this.model = "sps30";
    this._addr = c.bus.address || SPS30_ADDRESS;
    this.warmupMs = o.warmupMs === undefined ? SPS30_WARMUP_MS : o.warmupMs;
    this._timeoutMs = o.timeoutMs || SPS30_READ_TIMEOUT_MS;
    this.counters = newCounters();
    this._on = false;
    this._onAt = 0;
    this._started = false;
    this._acked = false;
    this._bootTimer = undefined;
    this._pendingRead = null;
    this._abort = null;
  }

  configure(): void {
    openI2c(this._config.bus);
  }

  powerOn(): void {
    const c = this._config;
    this._on = true;
    this._onAt = Date.now();
    this._started = false;
    this._acked = false;
    if (c.power && c.gpio) {
      switchPower(c.gpio, c.power, true);
      this._bootTimer = setTimeout(() => this._start(), SPS30_BOOT_MS);
    } else {
      this._start();
    }
  }

  powerOff(): void {
    const c = this._config;
    cancel(this._bootTimer);
    this._bootTimer = undefined;
    if (c.power && c.gpio) {
      switchPower(c.gpio, c.power, false);
    } else {
      this._tx(sps30Command(SPS30_CMD_STOP));
      if (this._options.sleep !== false) this._tx(sps30Command(SPS30_CMD_SLEEP));
    }
    this._on = false;
    this._started = false;
    if (this._abort) this._abort();
  }

  read(): Promise<SensorResult> {
    const gate = readGate(this._on, this._onAt, this.warmupMs);
    if (gate) return gate;
    if (this._pendingRead) return this._pendingRead;
    // the start at powerOn was not ACKed (still booting or unplugged then): the fan has not run
    if (!this._started && this._start()) {
      this._onAt = Date.now();
      return Promise.resolve(faultResult("warming", "started late"));
    }
    const p = new Promise<SensorResult>((resolve) => {
      const deadline = Date.now() + this._timeoutMs;
      let bad = 0;
      let timer: any;
      const finish = (r: SensorResult) => {
        cancel(timer);
        this._abort = null;
        this._pendingRead = null;
        resolve(r);
      };
      const poll = () => {
        const ready = this._query(SPS30_CMD_DATA_READY, 1);
        if (ready === null) bad++;
        else if (ready && ready[1] === 1) {
          const raw = this._rx(SPS30_CMD_READ, 60);
          const d = raw ? parseSps30Values(raw) : undefined;
          if (d) return finish(this._result(d));
          if (d === null) {
            bad++;
            this.counters.checksumErrors++;
          }
        }
        if (Date.now() + SPS30_POLL_MS <= deadline) {
          timer = setTimeout(poll, SPS30_POLL_MS);
          return;
        }
        if (bad) return finish(faultResult("checksum", bad + " bad answers"));
        this.counters.timeouts++;
        finish(faultResult(this._acked ? "timeout" : "absent", "no data in " + this._timeoutMs + " ms"));
      };
      this._abort = () => finish(faultResult("off", "powered off during read"));
      poll();
    });
    if (this._abort) this._pendingRead = p;
    return p;
  }

  /** wake (a sleeping SPS30 NACKs the first transaction; it wakes its interface) and start */
  private _start(): boolean {
    this._tx(sps30Command(SPS30_CMD_WAKE));
    this._tx(sps30Command(SPS30_CMD_WAKE));
    this._started = this._tx(sps30Command(SPS30_CMD_START, [0x0300]));
    return this._started;
  }

  private _result(d: Sps30Data): SensorResult {
    this.counters.framesOk++;
    const vals = [d.pm1, d.pm25, d.pm10];
    for (let i = 0; i < vals.length; i++) {
      if (!(vals[i] >= 0 && vals[i] <= SPS30_MAX_UGM3)) {
        this.counters.rangeErrors++;
        return faultResult("range", "pm " + vals[i] + " ug/m3");
      }
    }
    this.counters.lastGoodMs = Date.now();
    return okResult([
      reading("pm1", round1(d.pm1)),
      reading("pm25", round1(d.pm25)),
      reading("pm10", round1(d.pm10)),
    ]);
  }

  /** without a switch, what powerOff() does: sleep or idle */
  describe(): string {
    const c = this._config;
    return describeDriver(this.model, this.warmupMs, c, c.power && c.gpio ? "" : this._options.sleep !== false ? ", off=sleep" : ", off=idle", this._addr);
  }

  /** a write transaction; false on a missing ACK */
  private _tx(bytes: number[]): boolean {
    try {
      this._config.bus.i2c.writeTo(this._addr, bytes);
      this._acked = true;
      return true;
    } catch (e) {
      return false;
    }
  }

  /** set the pointer and read n bytes; undefined on a missing ACK */
  private _rx(cmd: number, n: number): Uint8Array | undefined {
    if (!this._tx(sps30Command(cmd))) return undefined;
    try {
      return this._config.bus.i2c.readFrom(this._addr, n);
    } catch (e) {
      return undefined;
    }
  }

  /** read `words` CRC-checked words: data bytes, null on a CRC error, undefined on a NACK */
  private _query(cmd: number, words: number): number[] | null | undefined {
    const raw = this._rx(cmd, 3 * words);
    if (!raw) return undefined;
    const d = sps30Words(raw);
    if (!d) this.counters.checksumErrors++;
    return d;
  }
}
