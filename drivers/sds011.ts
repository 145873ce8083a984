// Nova Fitness SDS011 laser PM2.5/PM10 sensor over UART (9600 8N1).
// Source: Nova "Laser Dust Sensor Control Protocol V1.3" and SDS011 specification V1.3;
// facts in docs/hardware.md. Data frame AA C0 PM25L PM25H PM10L PM10H ID1 ID2 CS AB,
// reply frame AA C5 CMD d d d ID1 ID2 CS AB; CS = sum of bytes 2..7 & 0xFF; value = word/10.
// Firmware code: ES5, Espruino subset.

import { FrameWait } from "./frame-wait.js";
import { ByteWindow } from "./byte-window.js";
import { newCounters, switchPower, okResult, faultResult, readGate, openSerial, reading, describeDriver } from "./types.js";
import type { Sensor, SerialConfig, DriverCounters, SensorResult } from "./types.js";

/**
 * Fan and laser need time after wake. Sensor.Community's airrohr firmware discards 15 s
 * (WARMUPTIME_SDS_MS) and Nova's own working-period mode runs 30 s before it reports; 15 s
 * keeps the laser (8000 h life) off longer and is the figure the largest SDS011 fleet uses.
 */
export const SDS_WARMUP_MS = 15000;
/** active mode reports every second; replies to commands are reported to take up to ~1 s */
export const SDS_READ_TIMEOUT_MS = 3000;
/** re-send the query once if no answer came by then (a command may be lost while waking) */
export const SDS_RETRY_MS = 1500;
/** datasheet range 0.0-999.9 ug/m3 */
export const SDS_MAX_UGM3 = 999.9;

export const SDS_FRAME_LEN = 10;
const SDS_CMD_LEN = 19;

export const SDS_CMD_MODE = 0x02; // data reporting mode: 0 active, 1 query
export const SDS_CMD_QUERY = 0x04;
export const SDS_CMD_SLEEP = 0x06; // 0 sleep, 1 work
export const SDS_CMD_VERSION = 0x07;
export const SDS_CMD_PERIOD = 0x08; // working period, minutes (0 = continuous)

/** One data frame. Values in ug/m3, 0.1 resolution. */
export interface SdsFrame {
  pm25: number;
  pm10: number;
  /** device id, ID1 (low) + ID2 (high) */
  id: number;
}

function sum8(b: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i <= to; i++) s += b[i] & 0xff;
  return s & 0xff;
}

/** true if the 10 bytes at offset are a well-formed frame with header AA, `kind` and tail AB */
function framed(b: ArrayLike<number>, o: number, kind: number): boolean {
  return b.length >= o + SDS_FRAME_LEN && b[o] === 0xaa && b[o + 1] === kind && b[o + 9] === 0xab;
}

/** Pure parser: the data frame (AA C0) at `offset`, or null if malformed or the checksum fails. */
export function parseSdsFrame(bytes: ArrayLike<number>, offset: number): SdsFrame | null {
  const o = offset || 0;
  if (!framed(bytes, o, 0xc0) || sum8(bytes, o + 2, o + 7) !== bytes[o + 8]) return null;
  return {
    pm25: ((bytes[o + 3] << 8) | bytes[o + 2]) / 10,
    pm10: ((bytes[o + 5] << 8) | bytes[o + 4]) / 10,
    id: (bytes[o + 7] << 8) | bytes[o + 6],
  };
}

/**
 * A 19-byte command: AA B4 CMD, data bytes 3..14 (`data`, zero-filled), device id (FFFF = any),
 * CS = sum of bytes 2..16, AB.
 */
export function sdsCommand(cmd: number, data: number[], id?: number): number[] {
  const b = [0xaa, 0xb4, cmd & 0xff];
  for (let i = 0; i < 12; i++) b.push(i < data.length ? data[i] & 0xff : 0);
  const dev = id === undefined ? 0xffff : id;
  b.push(dev & 0xff, (dev >> 8) & 0xff);
  b.push(sum8(b, 2, 16), 0xab);
  return b;
}

/**
 * Streaming assembler for data (C0) and reply (C5) frames, any chunking. onBad is called for
 * a frame with good header and tail but a wrong checksum; other garbage is skipped, and after
 * a bad candidate it rescans from the next byte.
 */
export class SdsFrameReader {
  private _window: ByteWindow;
  private _scanNow: () => void;
  private _onFrame: (f: SdsFrame) => void;
  private _onReply: (cmd: number, d1: number, d2: number, d3: number) => void;
  private _onBad: () => void;

  constructor(
    onFrame: (f: SdsFrame) => void,
    onReply?: (cmd: number, d1: number, d2: number, d3: number) => void,
    onBad?: () => void
  ) {
    this._window = new ByteWindow(2 * SDS_CMD_LEN);
    this._scanNow = () => this._scan();
    this._onFrame = onFrame;
    this._onReply = onReply || function () {};
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
      const kind = b[s + 1];
      if (b[s] !== 0xaa || (w.n > 1 && kind !== 0xc0 && kind !== 0xc5)) {
        w.drop(1);
        continue;
      }
      if (w.n < SDS_FRAME_LEN) return;
      if (b[s + 9] !== 0xab) {
        w.drop(1);
        continue;
      }
      if (sum8(b, s + 2, s + 7) !== b[s + 8]) {
        w.drop(1);
        this._onBad();
        continue;
      }
      w.drop(SDS_FRAME_LEN);
      if (kind === 0xc0) this._onFrame(parseSdsFrame(b, s) as SdsFrame);
      else this._onReply(b[s + 2], b[s + 3], b[s + 4], b[s + 5]);
    }
  }
}

export interface SdsOptions {
  warmupMs?: number;
  timeoutMs?: number;
}

/** gpio is needed only with a power switch; without one, the sleep command (< 4 mA asleep) */
export type SdsConfig = SerialConfig<SdsOptions>;

/**
 * Readings: pm25, pm10 ("ug/m3", 0.1 resolution).
 * Faults: off, warming, absent (nothing heard since powerOn), timeout, checksum (only bad
 * frames came), range (> 999.9). The sensor's reporting mode and working period live in its
 * flash, so they are only read at powerOn and written when wrong (query mode, continuous).
 * A frozen sensor cannot be told from steady air with two 0.1-resolution values: no "stuck".
 */
export class Sds011 implements Sensor {
  readonly name: string;
  readonly model: string;
  readonly warmupMs: number;
  readonly counters: DriverCounters;
  private _config: SdsConfig;
  private _timeoutMs: number;
  private _reader: SdsFrameReader;
  private _on: boolean;
  private _onAt: number;
  private _heard: boolean;
  private _waiting: FrameWait<SdsFrame>;

  constructor(c: SdsConfig) {
    const o = c.options || {};
    this._config = c;
    this.name = c.name;
    this.model = "sds011";
    this.warmupMs = o.warmupMs === undefined ? SDS_WARMUP_MS : o.warmupMs;
    this._timeoutMs = o.timeoutMs || SDS_READ_TIMEOUT_MS;
    this.counters = newCounters();
    this._on = false;
    this._onAt = 0;
    this._heard = false;
    this._waiting = new FrameWait<SdsFrame>(this.counters);
    this._reader = new SdsFrameReader(
      (f) => this._waiting.frame(f),
      (cmd, d1, d2) => this._onReply(cmd, d1, d2),
      () => this._waiting.frame(null)
    );
  }

  configure(): void {
    const b = this._config.bus;
    openSerial(b.serial, 9600, b.rx, b.tx, (d: string) => {
      this._heard = true;
      this._reader.push(d);
    });
  }

  powerOn(onSinceMs?: number): void {
    switchPower(this._config.gpio, this._config.power, true);
    // asleep it hears only "work" (and does not answer it); then ask, do not set, mode and period
    this._send(sdsCommand(SDS_CMD_SLEEP, [1, 1]));
    this._send(sdsCommand(SDS_CMD_MODE, [0]));
    this._send(sdsCommand(SDS_CMD_PERIOD, [0]));
    this._reader.reset();
    this._on = true;
    this._onAt = onSinceMs || Date.now();
    this._heard = false;
  }

  powerOff(): void {
    const c = this._config;
    if (c.power && c.gpio) switchPower(c.gpio, c.power, false);
    else this._send(sdsCommand(SDS_CMD_SLEEP, [1, 0]));
    this._on = false;
    this._waiting.abort();
  }

  read(): Promise<SensorResult> {
    const gate = readGate(this._on, this._onAt, this.warmupMs);
    if (gate) return gate;
    return this._waiting.wait({
      timeoutMs: this._timeoutMs,
      retryMs: SDS_RETRY_MS,
      request: (first) => {
        // in query mode this asks for a frame; in active mode the next one comes within 1 s anyway
        this._send(sdsCommand(SDS_CMD_QUERY, []));
      },
      toResult: (f) => this._result(f),
      heard: () => this._heard,
    });
  }

  private _result(f: SdsFrame): SensorResult {
    if (f.pm25 > SDS_MAX_UGM3 || f.pm10 > SDS_MAX_UGM3) {
      this.counters.rangeErrors++;
      return faultResult("range", "pm10 " + f.pm10 + " ug/m3");
    }
    this.counters.lastGoodMs = Date.now();
    return okResult([
      reading("pm25", f.pm25),
      reading("pm10", f.pm10),
    ]);
  }

  describe(): string {
    return describeDriver(this.model, this.warmupMs, this._config, "");
  }

  /** answers to the "get" commands sent at powerOn: fix the persistent settings only if wrong */
  private _onReply(cmd: number, set: number, value: number): void {
    if (set !== 0) return;
    if (cmd === SDS_CMD_MODE && value !== 1) this._send(sdsCommand(SDS_CMD_MODE, [1, 1]));
    if (cmd === SDS_CMD_PERIOD && value !== 0) this._send(sdsCommand(SDS_CMD_PERIOD, [1, 0]));
  }

  private _send(bytes: number[]): void {
    this._config.bus.serial.write(bytes);
  }
}
