// DNMS, the Sensor.Community digital noise measurement sensor (github.com/hbitter/DNMS: a Teensy
// 4.0 with an ICS-43434 MEMS mic, I2C slave at 0x55). Commands are 16-bit words, MSB first,
// each sent as its own write; replies are 16-bit words, each followed by a Sensirion CRC-8.
// The module integrates continuously: "calculate Leq" (0x0003) closes the interval that began at
// the previous one (or at reset), and data-ready (0x0004) turns 1 once LAeq, LAmin and LAmax
// (0x0005: three big-endian float32, 18 bytes with CRCs) are ready. LAmin/LAmax are the extremes
// of its ~93 ms frame levels (4096-point FFTs at 44.1 kHz) in that interval.
// So read() reports LAeq/LAmin/LAmax over the time since the previous read (or configure()).

import { DriverCounters, FaultCode, I2cConfig, I2cPort, Sensor, SensorResult, faultResult, newCounters, okResult, switchPower, readGate, cancel, openI2c, reading, describeDriver } from "./types.js";
import { crc8 } from "./crc8.js";
import { roundDb, offsetText } from "./decibel.js";

export const DNMS_ADDRESS = 0x55;
const CMD_RESET = 0x0001;
const CMD_VERSION = 0x0002;
const CMD_CALCULATE_LEQ = 0x0003;
const CMD_DATA_READY = 0x0004;
const CMD_READ_LEQ = 0x0005;
/** microphone select (firmware V5+): its calibration table and sensitivity constant */
const CMD_MIC_ICS43434 = 0x001b;
const CMD_MIC_IM72D128 = 0x001c;
/** LAeq, LAmin, LAmax: 3 float32 = 6 words, each word + CRC */
export const DNMS_LEQ_BYTES = 18;
/** version string: 9 words (18 chars, DNMS_MAX_VERSION_LEN in the airrohr driver) */
const VERSION_WORDS = 9;
/**
 * The interval is closed within one frame (~93 ms) of the calculate command; airrohr polls
 * data-ready 20 times 2 ms apart. Poll 20 times 10 ms apart to cover a whole frame.
 */
const READY_POLL_MS = 10;
const READY_POLLS = 20;
/** Teensy boot plus the firmware's start phase (44 discarded FFT frames, ~4.1 s; DNMS V6) */
export const DNMS_WARMUP_MS = 5000;
/** plausible levels: ICS-43434 noise floor ~29 dBA, acoustic overload 120 dB SPL, with margin */
export const DNMS_MIN_DB = 20;
export const DNMS_MAX_DB = 130;
/** float32 rounding allowance for LAmin <= LAeq <= LAmax, dB */
const ORDER_SLACK_DB = 0.05;

export interface DnmsOptions {
  /** added to every level after the range check, dB (airrohr's "dnms_correction") */
  offsetDb?: number;
  /**
   * Microphone fitted, sent by configure(). Firmware V6 waits for it (or a calibration upload)
   * before its levels mean anything; the two mics' constants differ by 10 dB. Default: not sent.
   */
  microphone?: "ICS-43434" | "IM72D128";
}

/** bus.address defaults to 0x55; gpio is needed only with a power switch */
export type DnmsConfig = I2cConfig<DnmsOptions>;

/** Words of a reply (word MSB, word LSB, CRC)..., or null if short or any CRC fails. */
export function dnmsWords(bytes: ArrayLike<number>, words: number): number[] | null {
  if (!bytes || bytes.length < words * 3) return null;
  const out: number[] = [];
  for (let i = 0; i < words; i++) {
    const at = i * 3;
    if (crc8(bytes, at, at + 2) !== (bytes[at + 2] & 0xff)) return null;
    out.push(((bytes[at] & 0xff) << 8) | (bytes[at + 1] & 0xff));
  }
  return out;
}

/** float32 from two big-endian 16-bit words, high word first */
export function wordsToFloat(high: number, low: number): number {
  const b = new Uint8Array(4);
  b[0] = high >> 8;
  b[1] = high & 0xff;
  b[2] = low >> 8;
  b[3] = low & 0xff;
  return new DataView(b.buffer).getFloat32(0, false);
}

/** LAeq, LAmin, LAmax from an 18-byte reply, or null if short or any CRC fails. Never throws. */
export function parseDnmsLeq(bytes: ArrayLike<number>): { laeq: number; lamin: number; lamax: number } | null {
  const w = dnmsWords(bytes, 6);
  if (!w) return null;
  return { laeq: wordsToFloat(w[0], w[1]), lamin: wordsToFloat(w[2], w[3]), lamax: wordsToFloat(w[4], w[5]) };
}

/** Pure check of an 18-byte reply: CRC -> "checksum", implausible or disordered levels -> "range". */
export function dnmsResult(bytes: ArrayLike<number>, offsetDb: number): SensorResult {
  const v = parseDnmsLeq(bytes);
  if (!v) return faultResult("checksum", "CRC mismatch in Leq reply");
  const all = [v.laeq, v.lamin, v.lamax];
  for (let i = 0; i < 3; i++) {
    // written so that NaN fails too
    if (!(all[i] >= DNMS_MIN_DB && all[i] <= DNMS_MAX_DB)) return faultResult("range", "level " + all[i]);
  }
  if (v.lamin > v.laeq + ORDER_SLACK_DB || v.laeq > v.lamax + ORDER_SLACK_DB) {
    return faultResult("range", "min/max out of order");
  }
  return okResult([
    reading("LAeq", roundDb(v.laeq + offsetDb)),
    reading("LAmin", roundDb(v.lamin + offsetDb)),
    reading("LAmax", roundDb(v.lamax + offsetDb)),
  ]);
}

/** absent counts as a timeout: the module gave nothing to read */
function count(c: DriverCounters, r: SensorResult): void {
  const fault: FaultCode | undefined = r.fault;
  if (r.ok) {
    c.framesOk++;
    c.lastGoodMs = Date.now();
  } else if (fault === "checksum") c.checksumErrors++;
  else if (fault === "range") c.rangeErrors++;
  else if (fault === "absent" || fault === "timeout") c.timeouts++;
}

export class Dnms implements Sensor {
  readonly name: string;
  readonly model = "dnms";
  readonly warmupMs = DNMS_WARMUP_MS;
  readonly counters: DriverCounters;
  private _config: DnmsConfig;
  private _i2c: I2cPort;
  private _address: number;
  private _offsetDb: number;
  private _mic: number;
  private _on: boolean;
  private _poweredAt: number;
  private _timer: any;
  private _pending: Promise<SensorResult> | undefined;
  private _finish: ((r: SensorResult) => void) | undefined;

  constructor(c: DnmsConfig) {
    const o = c.options || {};
    this._config = c;
    this.name = c.name;
    this._i2c = c.bus.i2c;
    this._address = c.bus.address || DNMS_ADDRESS;
    this._offsetDb = o.offsetDb || 0;
    this._mic = o.microphone === "ICS-43434" ? CMD_MIC_ICS43434 : o.microphone === "IM72D128" ? CMD_MIC_IM72D128 : 0;
    this.counters = newCounters();
    this._on = true;
    this._poweredAt = 0;
  }

  /**
   * Sets the bus up, selects the microphone if configured, then resets: drops what was integrated
   * so far, so the next read covers from now. Never throws.
   */
  configure(): void {
    openI2c(this._config.bus);
    try {
      if (this._mic) this._command(this._mic);
      this._command(CMD_RESET);
    } catch (e) {
      // not answering yet (booting) or absent: read() reports it
    }
  }

  powerOn(): void {
    switchPower(this._config.gpio, this._config.power, true);
    // the module has no sleep mode: only a real supply switch makes it boot again
    if (!this._on && this._config.power) this._poweredAt = Date.now();
    this._on = true;
  }

  powerOff(): void {
    switchPower(this._config.gpio, this._config.power, false);
    this._on = false;
    this._settle(faultResult("off", "powered off during read"));
  }

  /** Firmware version text ("DNMS ..."), or undefined if it does not answer or fails its CRC. */
  readVersion(): string | undefined {
    try {
      this._command(CMD_VERSION);
      const w = dnmsWords(this._i2c.readFrom(this._address, VERSION_WORDS * 3), VERSION_WORDS);
      if (!w) return undefined;
      let s = "";
      for (let i = 0; i < w.length; i++) {
        const hi = w[i] >> 8;
        const lo = w[i] & 0xff;
        if (hi) s += String.fromCharCode(hi);
        if (lo) s += String.fromCharCode(lo);
      }
      return s.trim();
    } catch (e) {
      return undefined;
    }
  }

  read(): Promise<SensorResult> {
    const gate = readGate(this._on, this._poweredAt, this.warmupMs);
    if (gate) return gate;
    if (this._pending) return this._pending;
    const self = this;
    const pending = new Promise<SensorResult>(function (resolve) {
      self._finish = resolve;
    });
    this._pending = pending;
    let polls = 0;
    let crcErrors = 0;
    function poll() {
      self._timer = undefined;
      try {
        self._command(CMD_DATA_READY);
        const w = dnmsWords(self._i2c.readFrom(self._address, 3), 1);
        if (!w) crcErrors++;
        else if (w[0]) {
          self._command(CMD_READ_LEQ);
          self._settle(dnmsResult(self._i2c.readFrom(self._address, DNMS_LEQ_BYTES), self._offsetDb));
          return;
        }
      } catch (e) {
        self._settle(faultResult("absent", "I2C: no answer at 0x" + self._address.toString(16)));
        return;
      }
      if (++polls < READY_POLLS) self._timer = setTimeout(poll, READY_POLL_MS);
      else if (crcErrors) self._settle(faultResult("checksum", "CRC mismatch in data-ready reply"));
      else self._settle(faultResult("timeout", "data not ready in " + READY_POLLS * READY_POLL_MS + " ms"));
    }
    try {
      this._command(CMD_CALCULATE_LEQ);
      this._timer = setTimeout(poll, READY_POLL_MS);
    } catch (e) {
      this._settle(faultResult("absent", "I2C: no answer at 0x" + this._address.toString(16)));
    }
    return pending;
  }

  describe(): string {
    const m = this._config.options && this._config.options.microphone;
    return describeDriver(this.model, this.warmupMs, this._config, (m ? ", mic " + m : "") + offsetText(this._offsetDb), this._address);
  }

  private _command(cmd: number): void {
    this._i2c.writeTo(this._address, [cmd >> 8, cmd & 0xff]);
  }

  private _settle(result: SensorResult): void {
    cancel(this._timer);
    this._timer = undefined;
    const finish = this._finish;
    if (!finish) return;
    this._finish = undefined;
    this._pending = undefined;
    count(this.counters, result);
    finish(result);
  }
}
