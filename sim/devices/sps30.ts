// Simulated Sensirion SPS30 on I2C (0x69). States: unpowered, booting (NACKs), idle, measuring,
// sleep. A write sets the command pointer (and runs it); a read returns what the pointer
// names, every 16-bit word followed by its CRC-8. Measuring, it makes a new measurement every
// second and raises the data-ready flag. Asleep its interface is off: the first transaction
// NACKs but wakes the interface, and a wake-up command within 45 ms brings it to idle.

import type { SimDevice, SimDeviceContext, SimDeviceFactory, DeviceFaults } from "./types.js";
import { noFaults } from "./types.js";
import type { I2cDevice } from "../hw/i2c.js";
import { normal } from "../random.js";
import { crc8 } from "../../drivers/crc8.js";
import {
  SPS30_ADDRESS,
  SPS30_CMD_DATA_READY,
  SPS30_CMD_READ,
  SPS30_CMD_SLEEP,
  SPS30_CMD_START,
  SPS30_CMD_STOP,
  SPS30_CMD_WAKE,
} from "../../drivers/sps30.js";

/** datasheet: 55-65 mA measuring */
export const SPS30_MEASURE_MA = 60;
/** datasheet: idle (fan and laser off, interface on) */
export const SPS30_IDLE_MA = 0.33;
/** datasheet: 38 uA asleep */
export const SPS30_SLEEP_MA = 0.038;
/** one measurement a second (datasheet) */
export const SPS30_INTERVAL_MS = 1000;
/** power-up to first ACK: a guess below the driver's 100 ms */
export const SPS30_SIM_BOOT_MS = 50;
/** the interface stays awake this long after the first (NACKed) transaction in sleep */
const WAKE_WINDOW_MS = 45;
/** fan spin-up time constant */
export const SPS30_SPINUP_TAU_MS = 3000;
/** with the garbage fault, this share of reads come back corrupted */
const GARBAGE_SHARE = 0.25;

type State = "off" | "idle" | "measuring" | "sleep";

/** bytes of 16-bit words, each followed by its CRC */
export function withCrc(data: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.length; i += 2) {
    const w = [data[i] & 0xff, data[i + 1] & 0xff];
    out.push(w[0], w[1], crc8(w));
  }
  return out;
}

/** the 60-byte answer to "read measured values" for 10 floats */
export function sps30ValueBytes(values: number[]): number[] {
  const dv = new DataView(new ArrayBuffer(40));
  values.forEach((v, i) => dv.setFloat32(4 * i, v, false));
  return withCrc(Array.from(new Uint8Array(dv.buffer)));
}

export class Sps30Twin implements SimDevice, I2cDevice {
  readonly model = "sps30";
  readonly address: number;
  readonly faults: DeviceFaults = noFaults();
  /** measurements made, for tests and traces */
  measurements = 0;
  private state: State = "off";
  private poweredAt = 0;
  private startedAt = 0;
  private interfaceUntil = 0;
  private pointer = -1;
  private ready = false;
  private values: number[] = new Array(10).fill(0);
  private timer: number | undefined;

  constructor(private ctx: SimDeviceContext) {
    if (!ctx.i2c) throw new Error(`${ctx.spec.name}: sps30 needs an I2C bus`);
    const bus = ctx.spec.bus;
    this.address = bus.kind === "i2c" ? bus.address : SPS30_ADDRESS;
    ctx.i2c.attach(this);
    const power = ctx.spec.power;
    if (power) ctx.pins.onChange(power.pin, () => this.update(true));
    this.update();
  }

  /** "off" | "idle" | "measuring" | "sleep" */
  mode(): State {
    return this.state;
  }

  currentMa(): number {
    this.update();
    if (this.faults.unplugged) return 0;
    if (this.state === "measuring") return SPS30_MEASURE_MA;
    if (this.state === "idle") return SPS30_IDLE_MA;
    if (this.state === "sleep") return SPS30_SLEEP_MA;
    return 0;
  }

  active(): boolean {
    this.update();
    return this.state === "measuring" && !this.faults.unplugged;
  }

  present(): boolean {
    this.update();
    if (this.faults.unplugged || this.state === "off") return false;
    const now = this.ctx.clock.now();
    if (now < this.poweredAt + SPS30_SIM_BOOT_MS) return false;
    if (this.state === "sleep" && now > this.interfaceUntil) {
      // the start condition's low pulse on SDA wakes the interface; this transaction NACKs
      this.interfaceUntil = now + WAKE_WINDOW_MS;
      return false;
    }
    return true;
  }

  write(data: Uint8Array): void {
    if (data.length < 2) return;
    const cmd = (data[0] << 8) | data[1];
    if (this.state === "sleep") {
      if (cmd === SPS30_CMD_WAKE) this.state = "idle";
      return;
    }
    this.pointer = cmd;
    if (cmd === SPS30_CMD_START && this.state === "idle") {
      // argument 0x03 0x00 + CRC selects float output; anything else is refused
      if (data.length === 5 && data[2] === 0x03 && data[3] === 0x00 && crc8(data, 2, 4) === data[4]) this.startMeasuring();
    } else if (cmd === SPS30_CMD_STOP && this.state === "measuring") {
      this.stopMeasuring();
      this.state = "idle";
    } else if (cmd === SPS30_CMD_SLEEP && this.state === "idle") {
      this.state = "sleep";
      this.interfaceUntil = 0;
    }
  }

  read(length: number): Uint8Array {
    let out: number[] = [];
    if (this.pointer === SPS30_CMD_DATA_READY) {
      out = withCrc([0, this.state === "measuring" && this.ready ? 1 : 0]);
    } else if (this.pointer === SPS30_CMD_READ) {
      out = sps30ValueBytes(this.values);
      this.ready = false;
    }
    const f = this.faults;
    const rng = this.ctx.rng;
    if (f.badChecksum && out.length) out[out.length - 1] ^= 0x5a;
    if (f.garbage && rng() < GARBAGE_SHARE) out = out.map(() => Math.floor(rng() * 256));
    const bytes = new Uint8Array(length);
    // a real part clocks out 0xFF past the end of its data
    for (let i = 0; i < length; i++) bytes[i] = i < out.length ? out[i] : 0xff;
    return bytes;
  }

  private supplied(): boolean {
    const p = this.ctx.spec.power;
    if (!p) return true;
    return this.ctx.pins.driven(p.pin) && this.ctx.pins.level(p.pin) === p.activeHigh;
  }

  /**
   * Re-read the supply: on pin edges and lazily, because a pin first driven to the level it
   * already read gives no edge. A lazily noticed power-up has an unknown time: no boot NACKs.
   */
  private update(edge = false): void {
    const on = this.supplied();
    if (on && this.state === "off") {
      this.state = "idle";
      this.poweredAt = edge ? this.ctx.clock.now() : -Infinity;
      this.pointer = -1;
    } else if (!on && this.state !== "off") {
      this.stopMeasuring();
      this.state = "off";
    }
  }

  private startMeasuring(): void {
    this.state = "measuring";
    this.startedAt = this.ctx.clock.now();
    this.ready = false;
    this.tick();
  }

  private stopMeasuring(): void {
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.ready = false;
  }

  /** next measurement; slowMs makes each one take longer (a slow or failing part) */
  private tick(): void {
    this.timer = this.ctx.clock.setTimeout(() => {
      if (this.state !== "measuring") return;
      this.measure();
      this.tick();
    }, SPS30_INTERVAL_MS + this.faults.slowMs);
  }

  private measure(): void {
    this.ready = true;
    this.measurements++;
    if (this.faults.stuck && this.measurements > 1) return;
    const rng = this.ctx.rng;
    const now = this.ctx.clock.now();
    const pm = this.ctx.world.pm(now);
    const spin = 1 - Math.exp(-(now - this.startedAt) / SPS30_SPINUP_TAU_MS);
    // precision +-10 ug/m3 below 100, +-10 % above (datasheet), taken as about 2 sigma
    const gain = spin * (1 + normal(rng, 0, 0.04));
    const v = (x: number) => Math.max(0, x * gain + normal(rng, 0, 1));
    const pm1 = v(pm.pm1);
    const pm25 = Math.max(pm1, v(pm.pm25));
    const pm10 = Math.max(pm25, v(pm.pm10));
    const pm4 = pm25 + (pm10 - pm25) * 0.4;
    // number concentrations, #/cm3: rough urban-aerosol scaling
    const nc05 = pm1 * 6.5;
    const nc1 = nc05 + pm1 * 0.9;
    const nc25 = nc1 + (pm25 - pm1) * 0.3;
    const nc4 = nc25 + (pm4 - pm25) * 0.05;
    const nc10 = nc4 + (pm10 - pm4) * 0.01;
    this.values = [pm1, pm25, pm4, pm10, nc05, nc1, nc25, nc4, nc10, 0.5 + rng() * 0.2];
  }
}

export const createSps30: SimDeviceFactory = (ctx) => new Sps30Twin(ctx);
