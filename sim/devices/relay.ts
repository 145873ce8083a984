// Simulated streetlight relay module with an ACS712 on the lamp circuit. The coil follows the
// relay pin (polarity from spec.options.activeLow; an undriven pin leaves it off, as the
// module's input pull does); the contacts follow the coil; while they are closed the lamp
// draws world.lampCurrentA(t) and the ACS712 output moves by sensitivity * current from its
// zero point, seen on the sense pin through the board's divider.
//
// The output is modelled as a DC level (zero + sensitivity * I) refreshed every second:
// a 50 Hz waveform would need a timer every fraction of a ms for every simulated night.
// The driver's RMS gives the same current for both; tests that want the real waveform build
// the twin with { acHz: 50 } (a step timer every 0.5 ms while it lives).
// spec.bus: { kind: "pins", pins: { relay, sense? } }; spec.options: the driver's RelayOptions.

import type { SimDevice, SimDeviceContext, SimDeviceFactory, DeviceFaults } from "./types.js";
import { noFaults } from "./types.js";
import { CURRENTS } from "../../boards/profiles/currents.js";

/** coil plus indicator LED of a typical 5 V single-channel module, mA (typical, not a datasheet) */
export const RELAY_COIL_MA = CURRENTS["relay-5v"].on;
/** ACS712 supply current, typical (Allegro datasheet: 10 mA) */
export const ACS712_MA = CURRENTS.acs712.on;
/** garbage: the sense line picks up +-this much at the sensor output, V */
export const SENSE_NOISE_V = 0.05;
const REFRESH_MS = 1000;
const AC_STEP_MS = 0.5;

export interface RelayTwinOptions {
  /** drive a real AC waveform of this frequency instead of the DC-equivalent level */
  acHz?: number;
  acStepMs?: number;
  refreshMs?: number;
}

export class RelayTwin implements SimDevice {
  readonly model = "relay";
  readonly faults: DeviceFaults = noFaults();
  private closed = false;
  private pendingSwitch: number | undefined;
  private relayPin: string;
  private sensePin: string | undefined;
  private activeLow: boolean;
  private zeroV: number;
  private vPerA: number;
  private ratio: number;
  private t0: number;

  constructor(private ctx: SimDeviceContext, private sim: RelayTwinOptions = {}) {
    const bus = ctx.spec.bus;
    if (bus.kind !== "pins" || !bus.pins.relay) throw new Error(`${ctx.spec.name}: relay needs pins { relay, sense? }`);
    this.relayPin = bus.pins.relay;
    this.sensePin = bus.pins.sense;
    const o = ctx.spec.options ?? {};
    this.activeLow = !!o.activeLow;
    this.zeroV = typeof o.zeroV === "number" ? o.zeroV : 2.5;
    this.vPerA = o.sensitivityVPerA || 0.185;
    this.ratio = o.dividerRatio || 1;
    this.t0 = ctx.clock.now();
    ctx.pins.onChange(this.relayPin, () => this.coilChanged());
    this.refresh();
  }

  /** the lamp circuit is closed */
  contactsClosed(): boolean {
    return this.closed;
  }

  /** coil energised now */
  energised(): boolean {
    const pins = this.ctx.pins;
    return !this.faults.unplugged && pins.driven(this.relayPin) && pins.level(this.relayPin) === !this.activeLow;
  }

  currentMa(): number {
    if (this.faults.unplugged) return 0;
    return (this.energised() ? RELAY_COIL_MA : 0) + (this.sensePin ? ACS712_MA : 0);
  }

  active(): boolean {
    return this.energised();
  }

  private coilChanged(): void {
    if (this.pendingSwitch !== undefined) this.ctx.clock.clearTimeout(this.pendingSwitch);
    this.pendingSwitch = undefined;
    const apply = () => {
      this.pendingSwitch = undefined;
      // stuck contacts (welded or jammed) stay where they are
      if (!this.faults.stuck) this.closed = this.energised();
      this.drive();
    };
    if (this.faults.slowMs > 0) this.pendingSwitch = this.ctx.clock.setTimeout(apply, this.faults.slowMs);
    else apply();
  }

  private refresh(): void {
    if (this.pendingSwitch === undefined && !this.faults.stuck) this.closed = this.energised();
    this.drive();
    const step = this.sim.acHz ? this.sim.acStepMs ?? AC_STEP_MS : this.sim.refreshMs ?? REFRESH_MS;
    this.ctx.clock.setTimeout(() => this.refresh(), step);
  }

  /** set the sense pin voltage for now */
  private drive(): void {
    if (!this.sensePin) return;
    if (this.faults.unplugged) {
      this.ctx.pins.setVoltage(this.sensePin, 0);
      return;
    }
    const now = this.ctx.clock.now();
    let amps = this.closed ? this.ctx.world.lampCurrentA(now) : 0;
    if (this.sim.acHz) amps *= Math.SQRT2 * Math.sin((2 * Math.PI * this.sim.acHz * (now - this.t0)) / 1000);
    let v = this.zeroV + this.vPerA * amps;
    if (this.faults.garbage) v += (this.ctx.rng() * 2 - 1) * SENSE_NOISE_V;
    this.ctx.pins.setVoltage(this.sensePin, v * this.ratio);
  }
}

export const createRelay: SimDeviceFactory = (ctx) => new RelayTwin(ctx);
