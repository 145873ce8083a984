// PCB Artists I2C sound level module (PCBA-DBM), "I2C Decibel Meter Programming Manual":
// address 0x48, 8-bit registers with auto-increment, one byte per level in whole dB SPL,
// 35-120 dB, 5 mA measuring / 100 uA asleep (product sheet). A level register reading 0 means
// "not calculated yet". Power-down is CONTROL bit 0; only a RESET bit 3 write wakes it, and that
// restores the power-up defaults, so the driver configures again after every wake.
//
// read() is instant: LAeq = DECIBEL (level over the module's averaging time Tavg),
// LAmin/LAmax = MIN/MAX over the Tavg levels since the previous read (the driver clears them).

import { DriverCounters, FaultCode, I2cConfig, I2cPort, Sensor, SensorResult, faultResult, newCounters, okResult, switchPower, readGate, cancel, openI2c, reading, describeDriver } from "./types.js";
import { offsetText } from "./decibel.js";

export const PCB_SPL_ADDRESS = 0x48;
const REG_CONTROL = 0x06;
/** averaging time, ms, high byte first: writing TAVG_LOW applies both (manual) */
const REG_TAVG_HIGH = 0x07;
const REG_RESET = 0x09;
/** DECIBEL 0x0A, MIN 0x0B, MAX 0x0C: read as one 3-byte burst */
const REG_DECIBEL = 0x0a;
/** CONTROL bits 2:1 = 01: A-weighting */
const CONTROL_A_WEIGHTING = 0x02;
/** CONTROL bit 0: power down (writing 0 does not wake it) */
const CONTROL_POWER_DOWN = 0x01;
/** RESET bit 3: soft reset, also the only way out of power-down */
const RESET_SYSTEM = 0x08;
/** RESET bit 1: clear MIN/MAX */
const RESET_CLEAR_MINMAX = 0x02;
/** measuring range, dB (product sheet) */
export const PCB_SPL_MIN_DB = 35;
export const PCB_SPL_MAX_DB = 120;
/** "The decibel value usually takes about 1 second to stabilize after power-up" */
export const PCB_SPL_WARMUP_MS = 1000;
/** manual: clear min/max and history 50 ms after power-up or reset (power-on "pop") */
const AFTER_RESET_MS = 50;

export interface PcbSplOptions {
  /** module averaging time Tavg, ms: 125 = fast, 1000 = slow (default 1000) */
  averagingMs?: number;
  /** added to every level after the range check, dB (per-board calibration) */
  offsetDb?: number;
}

/** bus.address defaults to 0x48; gpio is needed only with a power switch */
export type PcbSplConfig = I2cConfig<PcbSplOptions>;

/**
 * Pure check of a DECIBEL, MIN, MAX burst: 0 = not calculated yet (MIN/MAX right after a clear
 * fall back to DECIBEL); outside 35-120 dB or MIN <= DECIBEL <= MAX broken -> "range".
 */
export function pcbSplResult(bytes: ArrayLike<number>, offsetDb: number): SensorResult {
  const db = bytes[0];
  if (!db) return faultResult("warming", "no level yet");
  const min = bytes[1] || db;
  const max = bytes[2] || db;
  for (let i = 0; i < 3; i++) {
    const v = bytes[i] || db;
    if (v < PCB_SPL_MIN_DB - 1 || v > PCB_SPL_MAX_DB + 1) return faultResult("range", "level " + v + " dB");
  }
  if (min > db || db > max) return faultResult("range", "min/max " + min + "/" + max + " around " + db);
  return okResult([
    reading("LAeq", db + offsetDb),
    reading("LAmin", min + offsetDb),
    reading("LAmax", max + offsetDb),
  ]);
}

/** absent counts as a timeout: the module gave nothing to read */
function count(c: DriverCounters, r: SensorResult): void {
  const fault: FaultCode | undefined = r.fault;
  if (r.ok) {
    c.framesOk++;
    c.lastGoodMs = Date.now();
  } else if (fault === "range") c.rangeErrors++;
  else if (fault === "absent" || fault === "timeout") c.timeouts++;
}

export class PcbSpl implements Sensor {
  readonly name: string;
  readonly model = "pcb-spl";
  readonly warmupMs = PCB_SPL_WARMUP_MS;
  readonly counters: DriverCounters;
  private _config: PcbSplConfig;
  private _i2c: I2cPort;
  private _address: number;
  private _averagingMs: number;
  private _offsetDb: number;
  private _on: boolean;
  private _configured: boolean;
  private _poweredAt: number;
  private _timer: any;

  constructor(c: PcbSplConfig) {
    const o = c.options || {};
    this._config = c;
    this.name = c.name;
    this._i2c = c.bus.i2c;
    this._address = c.bus.address || PCB_SPL_ADDRESS;
    this._averagingMs = Math.max(1, Math.min(0xffff, Math.round(o.averagingMs || 1000)));
    this._offsetDb = o.offsetDb || 0;
    this.counters = newCounters();
    this._on = true;
    this._configured = false;
    this._poweredAt = 0;
  }

  /** the bus, then the module (setup()) */
  configure(): void {
    openI2c(this._config.bus);
    this._setup();
  }

  /**
   * A-weighting, averaging time, fresh min/max. A module still powered down (the node rebooted
   * from deep sleep after powerOff) is woken first. Never throws; read() retries if it failed.
   */
  private _setup(): void {
    const a = this._address;
    try {
      this._i2c.writeTo(a, REG_CONTROL);
      if (this._i2c.readFrom(a, 1)[0] & CONTROL_POWER_DOWN) {
        this._wake();
        return;
      }
      this._i2c.writeTo(a, [REG_CONTROL, CONTROL_A_WEIGHTING]);
      this._i2c.writeTo(a, [REG_TAVG_HIGH, this._averagingMs >> 8, this._averagingMs & 0xff]);
      this._i2c.writeTo(a, [REG_RESET, RESET_CLEAR_MINMAX]);
      this._configured = true;
    } catch (e) {
      this._configured = false;
    }
  }

  powerOn(): void {
    if (this._on) return;
    switchPower(this._config.gpio, this._config.power, true);
    this._on = true;
    this._wake();
  }

  /** RESET bit 3 (wake, defaults back), then set it up once it has settled */
  private _wake(): void {
    this._configured = false;
    this._poweredAt = Date.now();
    try {
      this._i2c.writeTo(this._address, [REG_RESET, RESET_SYSTEM]);
    } catch (e) {
      // just switched on: not listening for 5 ms; it starts with defaults anyway
    }
    const self = this;
    cancel(this._timer);
    this._timer = setTimeout(function () {
      self._timer = undefined;
      self._setup();
    }, AFTER_RESET_MS);
  }

  powerOff(): void {
    cancel(this._timer);
    this._timer = undefined;
    try {
      this._i2c.writeTo(this._address, [REG_CONTROL, CONTROL_A_WEIGHTING | CONTROL_POWER_DOWN]);
    } catch (e) {
      // unplugged or already unpowered: nothing to put to sleep
    }
    switchPower(this._config.gpio, this._config.power, false);
    this._on = false;
  }

  describe(): string {
    return describeDriver(this.model, this.warmupMs, this._config, ", Tavg " + this._averagingMs + " ms" + offsetText(this._offsetDb), this._address);
  }

  read(): Promise<SensorResult> {
    const gate = readGate(this._on, this._poweredAt, this.warmupMs);
    if (gate) return gate;
    if (!this._configured) {
      this._setup();
      // setup() found it powered down and woke it: levels are stale until it settles
      if (Date.now() - this._poweredAt < this.warmupMs) return Promise.resolve(faultResult("warming", "woken up"));
    }
    let result: SensorResult;
    try {
      this._i2c.writeTo(this._address, REG_DECIBEL);
      const bytes = this._i2c.readFrom(this._address, 3);
      // start the next window's min/max now
      this._i2c.writeTo(this._address, [REG_RESET, RESET_CLEAR_MINMAX]);
      result = pcbSplResult(bytes, this._offsetDb);
    } catch (e) {
      result = faultResult("absent", "I2C: no answer at 0x" + this._address.toString(16));
      this._configured = false;
    }
    count(this.counters, result);
    return Promise.resolve(result);
  }
}
