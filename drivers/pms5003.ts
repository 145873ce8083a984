// Plantower PMS5003 / PMS7003 laser particle counter over UART (9600 8N1, 3.3 V logic).
// Datasheet: Plantower PMS5003 series data manual V2.3; protocol facts in docs/hardware.md.
// Frame: 42 4D, length 28, 13 big-endian words, 16-bit sum of bytes 0..29.
// Firmware code: ES5, Espruino subset.

import { FrameWait } from "./frame-wait.js";
import { ByteWindow } from "./byte-window.js";
import { newCounters, switchPower, okResult, faultResult, readGate, openSerial, reading, describeDriver } from "./types.js";
import type { Sensor, SerialConfig, DriverCounters, SensorResult } from "./types.js";

/** fan and airflow need this long after wake before readings are stable (datasheet: >= 30 s) */
export const PMS_WARMUP_MS = 30000;
/** active mode sends a frame every ~2.3 s when stable; one interval plus margin */
export const PMS_READ_TIMEOUT_MS = 3000;
/** passive mode answers a read at once; if nothing came by now, resend mode + read once */
export const PMS_RETRY_MS = 1000;
/** datasheet "maximum range" >= 1000 ug/m3 (accuracy only stated to 500): above it, refuse */
export const PMS_MAX_UGM3 = 1000;
/** this many consecutive reads with byte-identical data (counts included) raise "stuck" */
export const PMS_STUCK_READS = 10;

export const PMS_FRAME_LEN = 32;
const PMS_DATA_LENGTH = 28;

export const PMS_CMD_MODE = 0xe1; // DL 0 = passive, 1 = active
export const PMS_CMD_READ = 0xe2;
export const PMS_CMD_SLEEP = 0xe4; // DL 0 = sleep, 1 = wake

/** One data frame. All mass values in ug/m3. */
export interface PmsFrame {
  /** CF=1 ("standard particle") values, factory calibration */
  pm1Cf: number;
  pm25Cf: number;
  pm10Cf: number;
  /** atmospheric environment values: the ones to publish outdoors */
  pm1: number;
  pm25: number;
  pm10: number;
  /** particles > 0.3, 0.5, 1.0, 2.5, 5.0, 10 um per 0.1 L of air */
  counts: number[];
}

function word(b: ArrayLike<number>, i: number): number {
  return ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
}

/** 16-bit sum of bytes [from, from + n) */
function sum16(b: ArrayLike<number>, from: number, n: number): number {
  let s = 0;
  for (let i = from; i < from + n; i++) s += b[i] & 0xff;
  return s & 0xffff;
}

/** Pure parser: the 32-byte frame at `offset`, or null if header, length or checksum is wrong. */
export function parsePmsFrame(bytes: ArrayLike<number>, offset: number): PmsFrame | null {
  const o = offset || 0;
  if (bytes.length < o + PMS_FRAME_LEN) return null;
  if (bytes[o] !== 0x42 || bytes[o + 1] !== 0x4d || word(bytes, o + 2) !== PMS_DATA_LENGTH) return null;
  if (sum16(bytes, o, PMS_FRAME_LEN - 2) !== word(bytes, o + PMS_FRAME_LEN - 2)) return null;
  const counts: number[] = [];
  for (let i = 0; i < 6; i++) counts.push(word(bytes, o + 16 + 2 * i));
  return {
    pm1Cf: word(bytes, o + 4),
    pm25Cf: word(bytes, o + 6),
    pm10Cf: word(bytes, o + 8),
    pm1: word(bytes, o + 10),
    pm25: word(bytes, o + 12),
    pm10: word(bytes, o + 14),
    counts: counts,
  };
}

/** A 7-byte command: 42 4D CMD DH DL + 16-bit sum of those five bytes. */
export function pmsCommand(cmd: number, data: number): number[] {
  const b = [0x42, 0x4d, cmd & 0xff, (data >> 8) & 0xff, data & 0xff];
  const s = sum16(b, 0, 5);
  b.push(s >> 8, s & 0xff);
  return b;
}

/**
 * Streaming frame assembler. Feed it whatever the UART delivers (binary strings or byte arrays,
 * any chunking); it calls onFrame for each valid frame in order and onBad for each frame that
 * had a good header and length but a wrong checksum. Garbage is skipped; after a bad candidate
 * it rescans from the next byte, so a real frame hidden behind a false header is still found.
 * Command replies (42 4D 00 04 ...) are skipped like garbage.
 */
export class PmsFrameReader {
  private _window: ByteWindow;
  private _scanNow: () => void;
  private _onFrame: (f: PmsFrame) => void;
  private _onBad: () => void;

  constructor(onFrame: (f: PmsFrame) => void, onBad?: () => void) {
    this._window = new ByteWindow(2 * PMS_FRAME_LEN);
    this._scanNow = () => this._scan();
    this._onFrame = onFrame;
    this._onBad = onBad || function () {};
  }

  push(data: string | ArrayLike<number>): void {
    this._window.push(data, this._scanNow);
  }

  reset(): void {
    this._window.reset();
  }

  private _scan(): void {
    const w = this._window;
    const b = w.buf;
    while (w.n > 0) {
      const s = w.start;
      if (b[s] !== 0x42 || (w.n > 1 && b[s + 1] !== 0x4d)) {
        w.drop(1);
        continue;
      }
      if (w.n < 4) return;
      if (word(b, s + 2) !== PMS_DATA_LENGTH) {
        w.drop(1);
        continue;
      }
      if (w.n < PMS_FRAME_LEN) return;
      const f = parsePmsFrame(b, s);
      if (f) {
        w.drop(PMS_FRAME_LEN);
        this._onFrame(f);
      } else {
        w.drop(1);
        this._onBad();
      }
    }
  }
}

export interface PmsOptions {
  /** SET pin if wired: high (or floating) = run, low = sleep (a cut supply saves more) */
  setPin?: PinRef;
  /** "passive" (default): one frame per read command; "active": take the next frame it sends */
  mode?: "passive" | "active";
  warmupMs?: number;
  timeoutMs?: number;
}

export type PmsConfig = SerialConfig<PmsOptions>;

/**
 * Readings: pm1, pm25, pm10 (atmospheric environment values, "ug/m3").
 * Faults: off, warming, absent (nothing heard since powerOn), timeout, checksum (only bad
 * frames came), range (> PMS_MAX_UGM3). Alarm "stuck" after PMS_STUCK_READS identical frames.
 */
export class Pms5003 implements Sensor {
  readonly name: string;
  readonly model: string;
  readonly warmupMs: number;
  readonly counters: DriverCounters;
  private _config: PmsConfig;
  private _options: PmsOptions;
  private _passive: boolean;
  private _timeoutMs: number;
  private _reader: PmsFrameReader;
  private _on: boolean;
  private _onAt: number;
  private _heard: boolean;
  private _waiting: FrameWait<PmsFrame>;
  private _lastSig: string;
  private _same: number;

  constructor(c: PmsConfig) {
    const o = c.options || {};
    this._config = c;
    this._options = o;
    this.name = c.name;
    this.model = "pms5003";
    this._passive = o.mode !== "active";
    this.warmupMs = o.warmupMs === undefined ? PMS_WARMUP_MS : o.warmupMs;
    this._timeoutMs = o.timeoutMs || PMS_READ_TIMEOUT_MS;
    this.counters = newCounters();
    this._on = false;
    this._onAt = 0;
    this._heard = false;
    this._waiting = new FrameWait<PmsFrame>(this.counters);
    this._lastSig = "";
    this._same = 0;
    this._reader = new PmsFrameReader(
      (f) => this._waiting.frame(f),
      () => this._waiting.frame(null)
    );
  }

  configure(): void {
    const c = this._config;
    openSerial(c.bus.serial, 9600, c.bus.rx, c.bus.tx, (d: string) => {
      this._heard = true;
      this._reader.push(d);
    });
    if (this._options.setPin !== undefined && c.gpio) c.gpio.mode(this._options.setPin, "output");
    // mode is not kept over a power cycle; powerOn() sends it again
    this._sendMode();
  }

  powerOn(): void {
    const c = this._config;
    switchPower(c.gpio, c.power, true);
    this._setPin(true);
    this._send(pmsCommand(PMS_CMD_SLEEP, 1));
    this._sendMode();
    this._reader.reset();
    this._on = true;
    this._onAt = Date.now();
    this._heard = false;
  }

  powerOff(): void {
    const c = this._config;
    // with the supply cut a command would go nowhere; SET low so it does not back-power the part
    if (!c.power) this._send(pmsCommand(PMS_CMD_SLEEP, 0));
    this._setPin(false);
    switchPower(c.gpio, c.power, false);
    this._on = false;
    this._waiting.abort();
  }

  read(): Promise<SensorResult> {
    const gate = readGate(this._on, this._onAt, this.warmupMs);
    if (gate) return gate;
    return this._waiting.wait({
      timeoutMs: this._timeoutMs,
      retryMs: PMS_RETRY_MS,
      request: (first) => {
        // active mode: frames come by themselves; passive: ask, and re-assert the mode on retry
        if (!this._passive) return;
        if (!first) this._sendMode();
        this._send(pmsCommand(PMS_CMD_READ, 0));
      },
      toResult: (f) => this._result(f),
      heard: () => this._heard,
    });
  }

  private _result(f: PmsFrame): SensorResult {
    if (f.pm1 > PMS_MAX_UGM3 || f.pm25 > PMS_MAX_UGM3 || f.pm10 > PMS_MAX_UGM3) {
      this.counters.rangeErrors++;
      return faultResult("range", "pm10 " + f.pm10 + " ug/m3");
    }
    this.counters.lastGoodMs = Date.now();
    const sig = [f.pm1Cf, f.pm25Cf, f.pm10Cf, f.pm1, f.pm25, f.pm10].concat(f.counts).join(",");
    this._same = sig === this._lastSig ? this._same + 1 : 0;
    this._lastSig = sig;
    const r = okResult([
      reading("pm1", f.pm1),
      reading("pm25", f.pm25),
      reading("pm10", f.pm10),
    ]);
    if (this._same >= PMS_STUCK_READS - 1) r.alarms = ["stuck"];
    return r;
  }

  describe(): string {
    const set = this._options.setPin;
    return describeDriver(this.model, this.warmupMs, this._config, (this._passive ? ", passive" : ", active") + (set !== undefined ? ", set=" + set : ""));
  }

  /** drive the SET pin, if wired */
  private _setPin(run: boolean): void {
    const pin = this._options.setPin;
    if (pin !== undefined && this._config.gpio) this._config.gpio.write(pin, run);
  }

  private _sendMode(): void {
    this._send(pmsCommand(PMS_CMD_MODE, this._passive ? 0 : 1));
  }

  private _send(bytes: number[]): void {
    this._config.bus.serial.write(bytes);
  }
}
