// Simulated HC-SR04 / JSN-SR04T: a trigger pulse of at least 10 us (20 us for the JSN) on the
// trigger pin starts a measurement; after the 40 kHz burst the echo pin goes high for the round
// trip to the waste surface at the speed of sound for the world's air temperature, or for the
// module's no-echo time when nothing answers within range.
// spec.bus: { kind: "pins", pins: { trigger, echo } }; spec.options.model: "hc-sr04" | "jsn-sr04t".

import type { SimDevice, SimDeviceContext, SimDeviceFactory, DeviceFaults } from "./types.js";
import { noFaults } from "./types.js";
import { RANGER_MODELS } from "../../drivers/hcsr04.js";
import type { RangerModel } from "../../drivers/hcsr04.js";
import { normal } from "../random.js";
import { CURRENTS } from "../../boards/profiles/currents.js";

/** 8 cycles at 40 kHz (200 us) plus the module's turnaround before echo goes high */
const ECHO_RISE_MS = 0.25;
/** rounding of virtual epoch-ms times near 2026 (2^-12 ms), with margin */
const TIME_QUANTUM_MS = 0.001;
/** share of pings lost (absorbed or deflected): the no-echo pulse */
const LOST_PING = 0.02;
/** ranging noise, mm (datasheet: resolution 3 mm) */
const NOISE_MM = 3;

/** Speed of sound from the ideal-gas law, m/s: the driver's linear fit is checked against it. */
export function physicalSpeedOfSound(temperatureC: number): number {
  return 331.3 * Math.sqrt(1 + temperatureC / 273.15);
}

export class HcSr04Twin implements SimDevice {
  readonly model: string;
  readonly faults: DeviceFaults = noFaults();
  /** measurements started, for tests and traces */
  pings = 0;
  private m: RangerModel;
  private trig: string;
  private echo: string;
  private trigRoseAt: number | undefined;
  private busy = false;
  private last: number | undefined;

  constructor(private ctx: SimDeviceContext) {
    const bus = ctx.spec.bus;
    const trig = bus.kind === "pins" ? bus.pins.trigger ?? bus.pins.trig : undefined;
    if (bus.kind !== "pins" || !trig || !bus.pins.echo) {
      throw new Error(`${ctx.spec.name}: hcsr04 needs pins { trigger, echo }`);
    }
    this.trig = trig;
    this.echo = bus.pins.echo;
    const name = ctx.spec.options?.model;
    this.model = typeof name === "string" && RANGER_MODELS[name] ? name : "hc-sr04";
    this.m = RANGER_MODELS[this.model];
    ctx.pins.onChange(this.trig, (high, t) => this.onTrig(high, t));
    const power = ctx.spec.power;
    if (power) ctx.pins.onChange(power.pin, () => { if (!this.powered()) this.ctx.pins.drive(this.echo, false); });
  }

  currentMa(): number {
    if (!this.powered() || this.faults.unplugged) return 0;
    // HC-SR04: 15 mA working, < 2 mA quiescent; JSN-SR04T v3: 8 / 5 mA (boards/profiles/currents.ts)
    const c = CURRENTS[this.model];
    return this.busy ? c.on : c.off;
  }

  active(): boolean {
    return this.busy;
  }

  private powered(): boolean {
    const p = this.ctx.spec.power;
    if (!p) return true;
    return this.ctx.pins.driven(p.pin) && this.ctx.pins.level(p.pin) === p.activeHigh;
  }

  private onTrig(high: boolean, t: number): void {
    if (high) {
      this.trigRoseAt = t;
      return;
    }
    const rose = this.trigRoseAt;
    this.trigRoseAt = undefined;
    // virtual time is epoch ms in a double (steps of about 0.25 us): allow 1 us of rounding
    if (rose === undefined || t - rose < this.m.triggerMs - TIME_QUANTUM_MS) return;
    if (this.busy || !this.powered() || this.faults.unplugged) return;
    this.busy = true;
    this.pings++;
    const widthMs = this.echoMs();
    const clock = this.ctx.clock;
    clock.setTimeout(() => {
      this.ctx.pins.drive(this.echo, true);
      clock.setTimeout(() => {
        this.ctx.pins.drive(this.echo, false);
        this.busy = false;
      }, widthMs);
    }, ECHO_RISE_MS + this.faults.slowMs);
  }

  /** the echo pulse for a ping now, ms */
  private echoMs(): number {
    if (this.faults.stuck && this.last !== undefined) return this.last;
    const rng = this.ctx.rng;
    const now = this.ctx.clock.now();
    const c = physicalSpeedOfSound(this.ctx.world.temperatureC(now));
    const roundTrip = (mm: number) => (2 * mm) / c; // mm / (m/s) = ms
    const d = this.ctx.world.binDistanceMm(now);
    let ms: number;
    if (this.faults.garbage) ms = rng() * this.m.noEchoMs; // babbling echo line
    else if (d > this.m.maxMm || rng() < LOST_PING) ms = this.m.noEchoMs;
    else if (d < this.m.minMm) ms = roundTrip(rng() * 0.9 * this.m.minMm); // still ringing: short nonsense
    else ms = roundTrip(Math.max(0, d + NOISE_MM * normal(rng)));
    this.last = ms;
    return ms;
  }
}

export const createHcSr04: SimDeviceFactory = (ctx) => new HcSr04Twin(ctx);
