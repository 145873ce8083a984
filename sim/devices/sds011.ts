// Simulated Nova SDS011: speaks the real 9600-baud protocol (19-byte AA B4 commands, 10-byte
// AA C0 data and AA C5 reply frames). Its reporting mode and working period persist across
// power cycles like the real part's flash settings (factory default: active, continuous).
// Asleep it ignores everything but "work", and does not answer that. Values come from the
// world model with noise and read low while the fan spins up after wake.

import type { SimDevice, SimDeviceContext, SimDeviceFactory, DeviceFaults } from "./types.js";
import { noFaults } from "./types.js";
import type { UartDevice } from "../hw/uart.js";
import { normal } from "../random.js";
import { SDS_CMD_MODE, SDS_CMD_PERIOD, SDS_CMD_QUERY, SDS_CMD_SLEEP, SDS_CMD_VERSION } from "../../drivers/sds011.js";

/** datasheet: 70 +/- 10 mA working */
export const SDS_WORK_MA = 70;
/** datasheet: < 4 mA asleep (other sheets 2 mA, one measurement 1.8 mA): the bound, as currents.ts */
export const SDS_SLEEP_MA = 4;
/** active mode reports once a second (datasheet) */
export const SDS_REPORT_MS = 1000;
/** fan spin-up time constant: readings approach the true value as 1 - exp(-t/tau) */
export const SDS_SPINUP_TAU_MS = 4000;
/** command replies: reported to take up to about a second on real parts */
const REPLY_MIN_MS = 100;
const REPLY_SPAN_MS = 600;
/** firmware date in version replies (YY MM DD) */
const FIRMWARE = [18, 11, 16];

function sum8(b: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i <= to; i++) s += b[i];
  return s & 0xff;
}

/** a 10-byte frame AA kind d1..d4 id1 id2 CS AB */
export function sdsFrameBytes(kind: number, d: number[], id: number): number[] {
  const b = [0xaa, kind, d[0] & 0xff, d[1] & 0xff, d[2] & 0xff, d[3] & 0xff, id & 0xff, (id >> 8) & 0xff];
  b.push(sum8(b, 2, 7), 0xab);
  return b;
}

/**
 * Append what the MCU sent to `rx` and take every whole 19-byte command out of it
 * (AA B4 CMD ... ID1 ID2 CS AB), skipping noise; `to` is the addressed device id (FFFF = any).
 * Shared with the replay device.
 */
export function takeSdsCommands(rx: number[], bytes: Uint8Array, on: (cmd: number[], to: number) => void): void {
  for (const b of bytes) rx.push(b);
  while (rx.length >= 19) {
    if (rx[0] !== 0xaa || rx[1] !== 0xb4 || rx[18] !== 0xab || sum8(rx, 2, 16) !== rx[17]) {
      rx.shift();
      continue;
    }
    const cmd = rx.splice(0, 19);
    on(cmd, cmd[15] | (cmd[16] << 8));
  }
  if (rx.length > 64) rx.splice(0, rx.length - 64);
}

export class Sds011Twin implements SimDevice, UartDevice {
  readonly model = "sds011";
  readonly faults: DeviceFaults = noFaults();
  /** data frames put on the wire, for tests and traces */
  framesSent = 0;
  /** persistent settings (the part's flash); tests may preset them */
  queryMode = false;
  periodMin = 0;
  /** times the flash settings were written, to catch a driver that wears them out */
  flashWrites = 0;
  readonly id: number;
  private powered = false;
  private sleeping = false;
  private awake = false;
  private wokeAt = 0;
  private timer: number | undefined;
  private rx: number[] = [];
  private last: number[] | undefined;
  private baudOk = true;

  constructor(private ctx: SimDeviceContext) {
    if (!ctx.uart) throw new Error(`${ctx.spec.name}: sds011 needs a UART`);
    this.id = ctx.spec.options?.deviceId ?? 0xa160;
    if (ctx.spec.options?.queryMode) this.queryMode = true;
    ctx.uart.attach(this);
    const power = ctx.spec.power;
    if (power) ctx.pins.onChange(power.pin, () => this.update());
    this.update();
  }

  currentMa(): number {
    this.update();
    if (!this.powered || this.faults.unplugged) return 0;
    return this.awake ? SDS_WORK_MA : SDS_SLEEP_MA;
  }

  active(): boolean {
    this.update();
    return this.awake && !this.faults.unplugged;
  }

  onSetup(baud: number): void {
    this.baudOk = baud === 9600;
  }

  receive(bytes: Uint8Array): void {
    this.update();
    if (!this.powered || this.faults.unplugged || !this.baudOk) return;
    takeSdsCommands(this.rx, bytes, (cmd, to) => {
      if (to === 0xffff || to === this.id) this.command(cmd);
    });
  }

  private command(c: number[]): void {
    const cmd = c[2];
    const set = c[3];
    const value = c[4];
    if (!this.awake) {
      // asleep: only "work" is heard, and it is not answered
      if (cmd === SDS_CMD_SLEEP && set === 1 && value === 1) {
        this.sleeping = false;
        this.update();
      }
      return;
    }
    if (cmd === SDS_CMD_QUERY) {
      if (this.queryMode) this.later(() => this.sendData());
    } else if (cmd === SDS_CMD_MODE) {
      if (set === 1) {
        this.queryMode = value === 1;
        this.flashWrites++;
        this.schedule();
      }
      this.replyFrame(cmd, set, this.queryMode ? 1 : 0);
    } else if (cmd === SDS_CMD_SLEEP) {
      if (set === 1 && value === 0) {
        this.replyFrame(cmd, 1, 0);
        this.sleeping = true;
        this.update();
      } else this.replyFrame(cmd, set, 1);
    } else if (cmd === SDS_CMD_PERIOD) {
      if (set === 1) {
        this.periodMin = value;
        this.flashWrites++;
      }
      this.replyFrame(cmd, set, this.periodMin);
    } else if (cmd === SDS_CMD_VERSION) {
      this.later(() => this.transmit(sdsFrameBytes(0xc5, [cmd, FIRMWARE[0], FIRMWARE[1], FIRMWARE[2]], this.id)));
    }
  }

  private supplied(): boolean {
    const p = this.ctx.spec.power;
    if (!p) return true;
    // an undriven switch pin leaves the rail off (its pull resistor holds the MOSFET off)
    return this.ctx.pins.driven(p.pin) && this.ctx.pins.level(p.pin) === p.activeHigh;
  }

  /**
   * Re-read the supply. Called on pin edges and, because a pin first driven to the level it
   * already read gives no edge, lazily from every entry point too. Idempotent.
   */
  private update(): void {
    const powered = this.supplied();
    if (powered && !this.powered) {
      this.sleeping = false; // powers up working
      this.rx = [];
      this.awake = false;
    }
    this.powered = powered;
    const awake = powered && !this.sleeping;
    if (awake === this.awake) return;
    if (awake) this.wokeAt = this.ctx.clock.now();
    this.awake = awake;
    this.schedule();
  }

  /** (re)arm the active-mode report timer; the working period is stored but not modelled */
  private schedule(): void {
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.awake || this.queryMode) return;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      this.sendData();
      this.schedule();
    }, SDS_REPORT_MS);
  }

  private later(fn: () => void): void {
    this.ctx.clock.setTimeout(fn, REPLY_MIN_MS + this.ctx.rng() * REPLY_SPAN_MS + this.faults.slowMs);
  }

  private replyFrame(cmd: number, set: number, value: number): void {
    const frame = sdsFrameBytes(0xc5, [cmd, set, value, 0], this.id);
    this.later(() => this.transmit(frame));
  }

  private sendData(): void {
    if (!this.awake) return;
    const frame = this.dataFrame();
    if (this.faults.badChecksum) frame[8] ^= 0x5a;
    this.framesSent++;
    this.transmit(frame);
  }

  private transmit(bytes: number[]): void {
    const f = this.faults;
    if (!this.powered || f.unplugged) return;
    const rng = this.ctx.rng;
    let out = bytes;
    if (!this.baudOk) out = bytes.map(() => Math.floor(rng() * 256));
    if (f.garbage) {
      const junk: number[] = [];
      for (let n = 1 + Math.floor(rng() * 16); n > 0; n--) junk.push(Math.floor(rng() * 256));
      if (rng() < 0.3) junk.push(0xaa, 0xc0); // a false start right before the frame
      out = junk.concat(out);
    }
    this.ctx.uart!.deviceSend(out);
  }

  private dataFrame(): number[] {
    if (this.faults.stuck && this.last) return this.last.slice();
    const rng = this.ctx.rng;
    const now = this.ctx.clock.now();
    const pm = this.ctx.world.pm(now);
    const spin = 1 - Math.exp(-(now - this.wokeAt) / SDS_SPINUP_TAU_MS);
    // accuracy +-15 % / +-10 ug/m3 (datasheet), taken as about 2 sigma
    const gain = spin * (1 + normal(rng, 0, 0.05));
    // beyond 999.9 the part is unspecified: it is assumed to report what it counts
    const tenths = (x: number) => Math.max(0, Math.min(0xffff, Math.round((x * gain + normal(rng, 0, 1)) * 10)));
    const pm25 = tenths(pm.pm25);
    const pm10 = Math.max(pm25, tenths(pm.pm10));
    const frame = sdsFrameBytes(0xc0, [pm25 & 0xff, pm25 >> 8, pm10 & 0xff, pm10 >> 8], this.id);
    this.last = frame.slice();
    return frame;
  }
}

export const createSds011: SimDeviceFactory = (ctx) => new Sds011Twin(ctx);
