// The shape every simulated device keeps, so the fleet runner can wire any of them from a
// board profile and inject faults by name.

import type { VirtualClock } from "../clock.js";
import type { PinBank } from "../hw/pins.js";
import type { SimUart } from "../hw/uart.js";
import type { SimI2C } from "../hw/i2c.js";
import type { WorldModel } from "../world/types.js";
import type { DeviceSpec } from "../../firmware/board.js";

/** Misbehaviour on demand. All off by default. */
export interface DeviceFaults {
  /** no power, no answer: a UART device sends nothing, an I2C device NACKs, an analog pin reads 0 V */
  unplugged: boolean;
  /** babbling: random bytes on the wire mixed with (or instead of) frames; analog noise */
  garbage: boolean;
  /** frames are sent with a wrong checksum/CRC */
  badChecksum: boolean;
  /** the value stops changing (frozen at the last one) */
  stuck: boolean;
  /** extra reply latency, ms */
  slowMs: number;
}

export function noFaults(): DeviceFaults {
  return { unplugged: false, garbage: false, badChecksum: false, stuck: false, slowMs: 0 };
}

/**
 * Let a twin act the moment a fault flag is set, rather than at its next bus access:
 * `before` runs while the old value still holds, `after` once the new one does.
 */
export function onFaultSet(faults: DeviceFaults, name: keyof DeviceFaults, hooks: { before?: () => void; after?: () => void }): void {
  let current = faults[name];
  Object.defineProperty(faults, name, {
    enumerable: true,
    get: () => current,
    set: (value: never) => {
      if (hooks.before) hooks.before();
      current = value;
      if (hooks.after) hooks.after();
    },
  });
}

export interface SimDevice {
  readonly model: string;
  readonly faults: DeviceFaults;
  /** supply current now, mA, from the device's own state (unpowered, asleep, fan running) */
  currentMa(): number;
  /** true while the device is powered and running (fan on, measuring); for power traces */
  active(): boolean;
}

export interface SimDeviceContext {
  clock: VirtualClock;
  pins: PinBank;
  /** the bus named in spec.bus, already created by the node */
  uart?: SimUart;
  i2c?: SimI2C;
  spec: DeviceSpec;
  world: WorldModel;
  /** seeded random in [0, 1) */
  rng: () => number;
}

export type SimDeviceFactory = (ctx: SimDeviceContext) => SimDevice;
