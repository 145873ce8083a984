// Simulated Plantower PMS5003: speaks the real 9600-baud protocol. At power-up it is awake and
// in active mode (a 32-byte frame every ~2.3 s); it obeys the mode, read and sleep/wake
// commands with the replies real parts give (42 4D 00 04 CMD DL CS), sleeps while its SET pin
// is low, and reads 0 mA without supply. Values come from the world model with noise; for the
// first seconds after wake the fan is still spinning up and the values read low.

import type { SimDevice, SimDeviceContext, SimDeviceFactory, DeviceFaults } from "./types.js";
import { noFaults } from "./types.js";
import type { UartDevice } from "../hw/uart.js";
import { normal } from "../random.js";
import { PMS_CMD_MODE, PMS_CMD_READ, PMS_CMD_SLEEP, PMS_FRAME_LEN } from "../../drivers/pms5003.js";

/** running current: datasheet <= 100 mA, measured 25-50 mA; 60 mA taken between them */
export const PMS_RUN_MA = 60;
/** datasheet standby <= 200 uA (one measurement saw 5 mA with SET low: a cut supply is safer) */
export const PMS_SLEEP_MA = 0.2;
/** active mode, stable air: one frame every ~2.3 s (datasheet) */
export const PMS_FRAME_INTERVAL_MS = 2300;
/** time constant of the fan spin-up: readings approach the true value as 1 - exp(-t/tau) */
export const PMS_SPINUP_TAU_MS = 4000;
/** passive-mode answer and command-reply latency (not in the datasheet; small) */
const REPLY_MS = 20;

function sum16(b: number[], n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += b[i];
  return s & 0xffff;
}

/** a complete frame from 13 data words */
export function pmsFrameBytes(words: number[]): number[] {
  const b = [0x42, 0x4d, 0x00, 0x1c];
  for (let i = 0; i < 13; i++) b.push((words[i] >> 8) & 0xff, words[i] & 0xff);
  const s = sum16(b, 30);
  b.push(s >> 8, s & 0xff);
  return b;
}

/**
 * Append what the MCU sent to `rx` and take every whole 7-byte command out of it
 * (42 4D CMD DH DL + 16-bit sum), skipping noise; shared with the replay device.
 */
export function takePmsCommands(rx: number[], bytes: Uint8Array, on: (cmd: number, data: number) => void): void {
  for (const b of bytes) rx.push(b);
  while (rx.length >= 7) {
    if (rx[0] !== 0x42 || rx[1] !== 0x4d || sum16(rx, 5) !== ((rx[5] << 8) | rx[6])) {
      rx.shift();
      continue;
    }
    const cmd = rx.splice(0, 7);
    on(cmd[2], (cmd[3] << 8) | cmd[4]);
  }
  if (rx.length > 64) rx.splice(0, rx.length - 64);
}

export class Pms5003Twin implements SimDevice, UartDevice {
  readonly model = "pms5003";
  readonly faults: DeviceFaults = noFaults();
  /** frames put on the wire (data frames only), for tests and traces */
  framesSent = 0;
  private powered = false;
  private sleepCmd = false;
  private passive = false;
  private wokeAt = 0;
  private awake = false;
  private timer: number | undefined;
  private rx: number[] = [];
  private last: number[] | undefined;
  private baudOk = true;

  constructor(private ctx: SimDeviceContext) {
    if (!ctx.uart) throw new Error(`${ctx.spec.name}: pms5003 needs a UART`);
    ctx.uart.attach(this);
    const power = ctx.spec.power;
    if (power) ctx.pins.onChange(power.pin, () => this.update());
    const set = this.setPin();
    if (set) {
      // SET has an internal pull-up: floating reads high (run)
      if (!ctx.pins.mode(set)) ctx.pins.pinMode(set, "input_pullup");
      ctx.pins.onChange(set, () => this.update());
    }
    this.update();
  }

  /** true while in passive mode */
  isPassive(): boolean {
    return this.passive;
  }

  currentMa(): number {
    this.update();
    if (!this.powered || this.faults.unplugged) return 0;
    return this.awake ? PMS_RUN_MA : PMS_SLEEP_MA;
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
    if (!this.powered || this.faults.unplugged) return;
    // at a wrong baud rate the UART sees framing errors, not commands
    if (!this.baudOk) return;
    takePmsCommands(this.rx, bytes, (cmd, data) => this.command(cmd, data));
  }

  private setPin(): string | undefined {
    return this.ctx.spec.options?.setPin;
  }

  private command(cmd: number, data: number): void {
    if (cmd === PMS_CMD_SLEEP && data === 1) {
      // wake: no reply; the fan starts and (in active mode) frames follow
      this.sleepCmd = false;
      this.update();
      return;
    }
    if (!this.awake) return; // asleep it hears only wake
    if (cmd === PMS_CMD_MODE) {
      this.passive = data === 0;
      this.reply(cmd, data & 0xff);
      this.schedule();
    } else if (cmd === PMS_CMD_READ) {
      if (this.passive) this.ctx.clock.setTimeout(() => this.sendFrame(), REPLY_MS + this.faults.slowMs);
    } else if (cmd === PMS_CMD_SLEEP && data === 0) {
      this.reply(cmd, 0);
      this.sleepCmd = true;
      this.update();
    }
  }

  private supplied(): boolean {
    const p = this.ctx.spec.power;
    if (!p) return true;
    // an undriven switch pin leaves the rail off (its pull resistor holds the MOSFET off)
    return this.ctx.pins.driven(p.pin) && this.ctx.pins.level(p.pin) === p.activeHigh;
  }

  /**
   * Re-read supply and SET. Called on pin edges and, because a pin first driven to the level
   * it already read gives no edge, lazily from every entry point too. Idempotent.
   */
  private update(): void {
    const powered = this.supplied();
    if (powered && !this.powered) {
      // power-up state: awake, active mode
      this.sleepCmd = false;
      this.passive = false;
      this.rx = [];
      this.awake = false;
    }
    this.powered = powered;
    const set = this.setPin();
    const awake = powered && (!set || this.ctx.pins.level(set)) && !this.sleepCmd;
    if (awake === this.awake) return;
    if (awake) this.wokeAt = this.ctx.clock.now();
    this.awake = awake;
    this.schedule();
  }

  /** (re)arm the active-mode frame timer */
  private schedule(): void {
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.awake || this.passive) return;
    const jitter = (this.ctx.rng() - 0.5) * 100;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      this.sendFrame();
      this.schedule();
    }, PMS_FRAME_INTERVAL_MS + jitter);
  }

  private reply(cmd: number, dl: number): void {
    const b = [0x42, 0x4d, 0x00, 0x04, cmd, dl];
    const s = sum16(b, 6);
    b.push(s >> 8, s & 0xff);
    this.ctx.clock.setTimeout(() => this.transmit(b), REPLY_MS + this.faults.slowMs);
  }

  private sendFrame(): void {
    if (!this.awake) return;
    const frame = this.frame();
    if (this.faults.badChecksum) frame[31] ^= 0x5a;
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
      for (let n = 1 + Math.floor(rng() * 24); n > 0; n--) junk.push(Math.floor(rng() * 256));
      // sometimes a false start right before the frame, the worst case for a resync
      if (rng() < 0.3) junk.push(0x42, 0x4d, 0x00, 0x1c);
      out = junk.concat(out);
    }
    this.ctx.uart!.deviceSend(out);
  }

  /** the frame the sensor would send now (a copy) */
  private frame(): number[] {
    if (this.faults.stuck && this.last) return this.last.slice();
    const rng = this.ctx.rng;
    const now = this.ctx.clock.now();
    const pm = this.ctx.world.pm(now);
    const spin = 1 - Math.exp(-(now - this.wokeAt) / PMS_SPINUP_TAU_MS);
    // accuracy +-10 ug/m3 below 100 and +-10 % above (datasheet), taken as about 2 sigma
    const gain = spin * (1 + normal(rng, 0, 0.04));
    const v = (x: number) => Math.max(0, Math.min(0xffff, Math.round(x * gain + normal(rng, 0, 1.5))));
    const pm1 = v(pm.pm1);
    const pm25 = Math.max(pm1, v(pm.pm25));
    const pm10 = Math.max(pm25, v(pm.pm10));
    // CF=1 equals atmospheric in clean air and reads higher in polluted air (rough fit)
    const cf = (x: number) => (x <= 30 ? x : Math.round(30 + (x - 30) * 1.5));
    // counts per 0.1 L, roughly scaled from a captured frame (pm2.5 8 -> 210/70/45/30/0/0)
    const n03 = Math.round(pm25 * 26 * (1 + normal(rng, 0, 0.08)) + rng() * 20);
    const counts = [n03, n03 * 0.33, n03 * 0.2, n03 * 0.14 * (pm10 / Math.max(pm25, 1)) * 0.5, n03 * 0.01, n03 * 0.003];
    const words = [cf(pm1), cf(pm25), cf(pm10), pm1, pm25, pm10];
    for (const c of counts) words.push(Math.max(0, Math.min(0xffff, Math.round(c))));
    words.push(0x9700); // reserved word: version 0x97, error code 0 (as in captured frames)
    const frame = pmsFrameBytes(words);
    if (frame.length !== PMS_FRAME_LEN) throw new Error("pms5003 twin: bad frame length");
    this.last = frame.slice();
    return frame;
  }
}

export const createPms5003: SimDeviceFactory = (ctx) => new Pms5003Twin(ctx);
