// Turns a profile's DeviceSpec into the config every driver takes ({ name, bus | pins, gpio,
// power, options }: drivers/types.ts DriverConfig), pins as Espruino Pins. One function per bus
// kind, so a bundle carries only the kinds its board uses. No driver is imported here: each
// entry imports only the drivers its board fits, so a bundle carries no other driver's code.

import type { BoardProfile, DeviceSpec } from "../firmware/board.js";
import type { Gpio, DriverConfig, SerialConfig, I2cConfig, PinsConfig } from "../drivers/types.js";

/** the fitted device of that model, if the profile has one */
export function fitted(profile: BoardProfile, model: string): DeviceSpec | undefined {
  for (var i = 0; i < profile.devices.length; i++) if (profile.devices[i].model === model) return profile.devices[i];
  return undefined;
}

/** what every config has: name, gpio (only a bus device without a switch may go without), power switch, the profile's options */
function configOf(spec: DeviceSpec, gpio: Gpio | undefined): DriverConfig<any> {
  var c: DriverConfig<any> = { name: spec.name, gpio: gpio, options: spec.options || {} };
  // no key at all without a switch: every property is a variable in RAM
  if (spec.power) c.power = { pin: Pin(spec.power.pin), activeHigh: spec.power.activeHigh };
  if (spec.power && spec.power.offPin) c.power!.offPin = Pin(spec.power.offPin);
  return c;
}

/** a device on Serial2/3 (the MCU's rx takes the device's TX) */
export function serialConfig(spec: DeviceSpec, gpio: Gpio | undefined): SerialConfig<any> {
  var c = configOf(spec, gpio) as SerialConfig<any>, b = spec.bus as { port: string; rx: string; tx: string };
  c.bus = { port: b.port, serial: b.port === "Serial3" ? Serial3 : Serial2, rx: Pin(b.rx), tx: Pin(b.tx) };
  return c;
}

/** a device on I2C1: the driver's configure() sets the bus up on scl/sda */
export function i2cConfig(spec: DeviceSpec, gpio: Gpio | undefined): I2cConfig<any> {
  var c = configOf(spec, gpio) as I2cConfig<any>, b = spec.bus as { port: string; scl: string; sda: string; address: number };
  c.bus = { port: b.port, i2c: I2C1, scl: Pin(b.scl), sda: Pin(b.sda), address: b.address };
  return c;
}

/** a device on plain pins, by the roles the profile names ("out", "trigger", "relay"...) */
export function pinsConfig(spec: DeviceSpec, gpio: Gpio): PinsConfig<any, any> {
  var c = configOf(spec, gpio) as PinsConfig<any, any>, b = spec.bus as { pins: { [role: string]: string } }, k: string;
  c.pins = {};
  for (k in b.pins) c.pins[k] = Pin(b.pins[k]);
  return c;
}
