// DFRobot A02YYUW (SEN0311) waterproof ultrasonic distance sensor on a UART.
// Wiki: https://wiki.dfrobot.com/_A02YYUW_Waterproof_Ultrasonic_Sensor_SKU_SEN0311
// 9600 8N1, the sensor only talks: frame FF H L SUM, SUM = (0xFF + H + L) & 0xFF,
// distance = H * 256 + L in mm (wiki example FF 07 A1 A7 = 1953 mm). Range 30-4500 mm,
// <= 30 mm is the blind zone. The sensor's RX line picks the output at power-up:
// floating or high = processed value (steadier, a frame every 100-300 ms), low = real-time
// value (about every 100 ms). Average current <= 8 mA, standby <= 5 mA.

import { newCounters, switchPower, okResult, faultResult, openSerial, describeDriver } from "./types.js";
import type { Sensor, SensorResult, DriverCounters, SerialConfig } from "./types.js";
import { median, binReadings, binText } from "./fill.js";
import type { BinOptions } from "./fill.js";

export const A02_BAUD = 9600;
const A02_HEADER = 0xff;
/** readings at or below this are in the blind zone (wiki: blind zone 3 cm) */
export const A02_BLIND_MM = 30;
/** wiki: ranging distance for flat objects up to 450 cm */
export const A02_MAX_MM = 4500;
/** slowest frame interval we wait for: processed mode 100-300 ms, 500 ms in the Chinese wiki */
const A02_FRAME_MAX_MS = 500;
/** first frame after power-up or a port reset; not in the wiki, covered by the read timeout */
const A02_START_MS = 1000;
const A02_DEFAULT_PINGS = 5;

/**
 * Streaming frame parser: feed binary strings as the UART delivers them (any split),
 * get the distances of frames whose checksum holds. After a bad checksum it drops only the
 * header byte and resyncs on the next 0xFF, so a frame right behind garbage is not lost.
 */
export class A02Parser {
  /** 4-byte windows that started with 0xFF and failed the checksum */
  badFrames: number;
  private _buf: number[];

  constructor() {
    this.badFrames = 0;
    this._buf = [];
  }

  reset(): void {
    this._buf = [];
  }

  push(data: string): number[] {
    const out: number[] = [];
    let buf = this._buf;
    for (let i = 0; i < data.length; i++) {
      const b = data.charCodeAt(i) & 0xff;
      if (!buf.length && b !== A02_HEADER) continue;
      buf.push(b);
      if (buf.length < 4) continue;
      if (((buf[0] + buf[1] + buf[2]) & 0xff) === buf[3]) {
        out.push(buf[1] * 256 + buf[2]);
        buf = [];
      } else {
        this.badFrames++;
        buf.shift();
        while (buf.length && buf[0] !== A02_HEADER) buf.shift();
      }
    }
    this._buf = buf;
    return out;
  }
}

/** One frame's bytes for a distance (tests and the simulated twin use it). */
export function a02Frame(distanceMm: number): number[] {
  const h = (distanceMm >> 8) & 0xff;
  const l = distanceMm & 0xff;
  return [A02_HEADER, h, l, (A02_HEADER + h + l) & 0xff];
}

export interface A02yyuwOptions extends BinOptions {
  /** frames per read; the median of those in range is reported (default 5) */
  pings?: number;
  /** GPIO wired to the sensor's RX when it is not the UART TX (selects processed/real-time; needs gpio) */
  modePin?: PinRef;
  /** hold the mode pin low at power-up for real-time values (needs modePin) */
  realtime?: boolean;
  /** give up on a read after this long (default 1000 + pings * 500 ms) */
  timeoutMs?: number;
}

export type A02yyuwConfig = SerialConfig<A02yyuwOptions>;

export class A02yyuw implements Sensor {
  readonly name: string;
  readonly model: string;
  readonly warmupMs: number;
  readonly counters: DriverCounters;
  private _cfg: A02yyuwConfig;
  private _opts: A02yyuwOptions;
  private _pings: number;
  private _parser: A02Parser;
  private _on: boolean;
  private _bytesEver: number;
  private _sink: ((distances: number[], bytes: number) => void) | null;
  private _pending: Promise<SensorResult> | null;
  /** switched sensor: distances heard since its supply came on, before a read (the newest `pings`) */
  private _heard: number[];

  constructor(cfg: A02yyuwConfig) {
    this.name = cfg.name;
    this.model = "a02yyuw";
    this.warmupMs = 0;
    this.counters = newCounters();
    this._cfg = cfg;
    this._opts = cfg.options || {};
    this._pings = this._opts.pings && this._opts.pings > 0 ? this._opts.pings : A02_DEFAULT_PINGS;
    this._parser = new A02Parser();
    this._on = !cfg.power;
    this._bytesEver = 0;
    this._sink = null;
    this._pending = null;
    this._heard = [];
  }

  configure(): void {
    const cfg = this._cfg;
    const self = this;
    const mode = this._opts.modePin;
    if (mode !== undefined && cfg.gpio) cfg.gpio.write(mode, !this._opts.realtime);
    // listen all the time so Espruino never buffers unread bytes. Parse during a read, and
    // behind a switch also before it: what a sensor says after its own power-up is fresh (it may
    // have been switched on at boot: toolchain/wake-prelude.ts); without one, old news
    openSerial(cfg.bus.serial, A02_BAUD, cfg.bus.rx, cfg.bus.tx, function (data: string) {
      self._bytesEver += data.length;
      if (self._sink) self._sink(self._parser.push(data), data.length);
      else if (cfg.power) self._heard = self._heard.concat(self._parser.push(data)).slice(-self._pings);
    });
  }

  powerOn(): void {
    switchPower(this._cfg.gpio, this._cfg.power, true);
    this._on = true;
  }

  powerOff(): void {
    if (!this._cfg.power || !this._cfg.gpio) return;
    switchPower(this._cfg.gpio, this._cfg.power, false);
    this._on = false;
    this._heard = [];
    this._parser.reset();
  }

  read(): Promise<SensorResult> {
    if (!this._on) return Promise.resolve(faultResult("off", "powered off"));
    if (this._pending) return this._pending;
    const self = this;
    const wanted = this._pings;
    const timeoutMs = this._opts.timeoutMs || A02_START_MS + wanted * A02_FRAME_MAX_MS;
    // all heard since power-up: the read is over before it began
    if (this._heard.length >= wanted) return Promise.resolve(this._evaluate(this._heard.splice(0, wanted), 0, 0, 0));
    const p = new Promise<SensorResult>(function (resolve) {
      // frames heard since power-up count
      const pings: number[] = self._heard.splice(0, wanted);
      let bytes = 0;
      const badBefore = self._parser.badFrames;
      let timer: any = null;
      const finish = function (timedOut: boolean) {
        self._sink = null;
        self._pending = null;
        if (timer !== null) clearTimeout(timer);
        resolve(self._evaluate(pings, bytes, self._parser.badFrames - badBefore, timedOut ? timeoutMs : 0));
      };
      if (!self._cfg.power) self._parser.reset();
      self._sink = function (distances: number[], n: number) {
        bytes += n;
        for (let i = 0; i < distances.length && pings.length < wanted; i++) pings.push(distances[i]);
        if (pings.length >= wanted) finish(false);
      };
      timer = setTimeout(function () { timer = null; finish(true); }, timeoutMs);
    });
    this._pending = p;
    return p;
  }

  describe(): string {
    return describeDriver(this.model, 0, this._cfg, binText(this._pings, this._opts));
  }

  /** timedOutMs: the read's timeout if it expired, else 0 */
  private _evaluate(pings: number[], bytes: number, bad: number, timedOutMs: number): SensorResult {
    const c = this.counters;
    c.checksumErrors += bad;
    c.framesOk += pings.length;
    const valid: number[] = [];
    for (let i = 0; i < pings.length; i++) {
      if (pings[i] > A02_BLIND_MM && pings[i] <= A02_MAX_MM) valid.push(pings[i]);
    }
    c.rangeErrors += pings.length - valid.length;
    if (valid.length) {
      c.lastGoodMs = Date.now();
      return okResult(binReadings(median(valid), this._opts));
    }
    if (pings.length) return faultResult("range", pings.length + " pings out of " + A02_BLIND_MM + "-" + A02_MAX_MM + " mm");
    // bytes but no frame header (a line of zeros, another device): nothing failed a checksum
    if (bytes) return bad ? faultResult("checksum", bytes + " bytes, " + bad + " bad frames, none valid") : faultResult("no-frame", bytes + " bytes, no frame");
    c.timeouts++;
    return faultResult(this._bytesEver ? "timeout" : "absent", "no frame in " + timedOutMs + " ms");
  }
}
