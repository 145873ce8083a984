// Simulated DFRobot A02YYUW: while powered it sends FF H L SUM frames at 9600 baud, one every
// 100-300 ms in processed mode (its RX line floating or high at power-up) or every 100 ms in
// real-time mode (RX low), with the distance to the waste surface from the world model,
// measurement noise and now and then a spurious nearer echo.

import type { SimDevice, SimDeviceContext, SimDeviceFactory, DeviceFaults } from "./types.js";
import { noFaults } from "./types.js";
import { normal } from "../random.js";
import { a02Frame, A02_BLIND_MM, A02_MAX_MM } from "../../drivers/a02yyuw.js";
import { CURRENTS } from "../../boards/profiles/currents.js";

/** wiki: average current <= 8 mA (the figure lives in boards/profiles/currents.ts) */
export const A02_CURRENT_MA = CURRENTS.a02yyuw.on;
/** processed mode: a frame every 100-300 ms (wiki) */
const PROCESSED_MIN_MS = 100;
const PROCESSED_SPAN_MS = 200;
/** real-time mode: about 100 ms a frame (wiki) */
export const A02_REALTIME_MS = 100;
/** power-up to first frame: not in the wiki, a guess */
export const A02_START_MS = 300;
/** share of frames carrying a spurious echo (bin wall, lid): fewer once processed */
const SPURIOUS_PROCESSED = 0.01;
const SPURIOUS_REALTIME = 0.04;

export class A02yyuwTwin implements SimDevice {
  readonly model = "a02yyuw";
  readonly faults: DeviceFaults = noFaults();
  /** frames sent, for tests and traces */
  framesSent = 0;
  private realtimeMode = false;
  private timer: number | undefined;
  private last: number | undefined;
  private powered = false;

  constructor(private ctx: SimDeviceContext) {
    if (!ctx.uart) throw new Error(`${ctx.spec.name}: a02yyuw needs a UART`);
    // the sensor never listens to the MCU; attaching marks the wire as connected
    ctx.uart.attach({ receive: () => {} });
    const power = ctx.spec.power;
    if (power) ctx.pins.onChange(power.pin, () => this.checkPower());
    this.checkPower();
  }

  /** true when the last power-up sampled a low RX line */
  realtime(): boolean {
    return this.realtimeMode;
  }

  currentMa(): number {
    return this.active() ? A02_CURRENT_MA : 0;
  }

  active(): boolean {
    return this.powered && !this.faults.unplugged;
  }

  private supplied(): boolean {
    const p = this.ctx.spec.power;
    if (!p) return true;
    // an undriven switch pin leaves the rail off (its pull resistor holds the MOSFET off)
    return this.ctx.pins.driven(p.pin) && this.ctx.pins.level(p.pin) === p.activeHigh;
  }

  private checkPower(): void {
    const on = this.supplied();
    if (on === this.powered) return;
    this.powered = on;
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!on) return;
    // the module samples its RX line at power-up: only a driven low selects real-time values
    const spec = this.ctx.spec;
    const line: string | undefined = spec.options?.modePin ?? (spec.bus.kind === "serial" ? spec.bus.tx : undefined);
    this.realtimeMode = line !== undefined && this.ctx.pins.driven(line) && !this.ctx.pins.level(line);
    this.schedule(A02_START_MS);
  }

  private schedule(ms: number): void {
    this.timer = this.ctx.clock.setTimeout(() => this.tick(), ms + this.faults.slowMs);
  }

  private tick(): void {
    const rng = this.ctx.rng;
    const f = this.faults;
    if (!f.unplugged) {
      const bytes: number[] = [];
      if (f.garbage) for (let n = 1 + Math.floor(rng() * 8); n > 0; n--) bytes.push(Math.floor(rng() * 256));
      // garbage sometimes replaces the frame altogether
      if (!f.garbage || rng() < 0.7) {
        const frame = a02Frame(this.measure());
        if (f.badChecksum) frame[3] = (frame[3] + 1 + Math.floor(rng() * 255)) & 0xff;
        for (const b of frame) bytes.push(b);
        this.framesSent++;
      }
      this.ctx.uart!.deviceSend(bytes);
    }
    this.schedule(this.realtimeMode ? A02_REALTIME_MS : PROCESSED_MIN_MS + rng() * PROCESSED_SPAN_MS);
  }

  /** what the module reports now, mm */
  private measure(): number {
    if (this.faults.stuck && this.last !== undefined) return this.last;
    const rng = this.ctx.rng;
    const d = this.ctx.world.binDistanceMm(this.ctx.clock.now());
    let out: number;
    if (d <= A02_BLIND_MM) out = Math.floor(rng() * (A02_BLIND_MM + 1)); // ringing: short nonsense
    else if (d > A02_MAX_MM) out = 0; // no echo (unconfirmed what the module sends)
    else if (rng() < (this.realtimeMode ? SPURIOUS_REALTIME : SPURIOUS_PROCESSED)) out = A02_BLIND_MM + rng() * (d - A02_BLIND_MM);
    else {
      // accuracy +-(1 + 0.3 % of S) cm taken as 3 sigma; real-time values are noisier
      const sigma = ((10 + 0.003 * d) / 3) * (this.realtimeMode ? 2 : 1);
      out = d + sigma * normal(rng);
    }
    this.last = Math.max(0, Math.min(0xffff, Math.round(out)));
    return this.last;
  }
}

export const createA02yyuw: SimDeviceFactory = (ctx) => new A02yyuwTwin(ctx);
