// Turns a profile's DeviceSpec into the config every driver takes ({ name, bus | pins, gpio,
// power, options }: drivers/types.ts DriverConfig). No driver is imported here: each entry
// imports only the drivers its board fits, so a bundle carries no other driver's code.

import type { BoardProfile, DeviceSpec } from "../firmware/board.js";
import type { Gpio } from "../drivers/types.js";

/** the fitted device of that model, if the profile has one */
export function fitted(profile: BoardProfile, model: string): DeviceSpec | undefined {
  for (var i = 0; i < profile.devices.length; i++) if (profile.devices[i].model === model) return profile.devices[i];
  return undefined;
}

/**
 * The driver config for a fitted device, pins as Espruino Pins: a serial bus (Serial2/3 with
 * rx, tx), I2C1 with scl, sda and address (the driver's configure() sets the bus up), or the
 * spec's pins by role. `any`: the profile's bus kind is data; each driver types its own config.
 */
export function configOf(spec: DeviceSpec, gpio: Gpio): any {
  var b = spec.bus, k: string, c: any = { name: spec.name, gpio: gpio, options: spec.options || {} };
  if (spec.power) c.power = { pin: Pin(spec.power.pin), activeHigh: spec.power.activeHigh };
  if (b.kind === "serial") c.bus = { port: b.port, serial: b.port === "Serial3" ? Serial3 : Serial2, rx: Pin(b.rx), tx: Pin(b.tx) };
  else if (b.kind === "i2c") c.bus = { port: b.port, i2c: I2C1, scl: Pin(b.scl), sda: Pin(b.sda), address: b.address };
  else {
    c.pins = {};
    for (k in b.pins) c.pins[k] = Pin(b.pins[k]);
  }
  return c;
}
