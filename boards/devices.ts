// Small helpers the board entries share to turn a profile's DeviceSpec into what a driver
// takes (Pins, power switch, bus). No driver is imported here: each entry imports only the
// drivers its board fits, so a bundle carries no other driver's code.

import type { BoardProfile, DeviceSpec } from "../firmware/board.js";
import type { PowerSwitch } from "../drivers/types.js";

/** the fitted device of that model, if the profile has one */
export function fitted(profile: BoardProfile, model: string): DeviceSpec | undefined {
  for (var i = 0; i < profile.devices.length; i++) if (profile.devices[i].model === model) return profile.devices[i];
  return undefined;
}

export function pin(name: string | undefined): PinRef {
  return name === undefined ? undefined : Pin(name);
}

export function powerOf(spec: DeviceSpec): PowerSwitch | undefined {
  return spec.power ? { pin: Pin(spec.power.pin), activeHigh: spec.power.activeHigh } : undefined;
}

export function serialOf(spec: DeviceSpec): EspruinoSerial {
  var b = spec.bus as { port: string };
  return b.port === "Serial3" ? Serial3 : Serial2;
}

/** the serial bus's pins: the MCU's rx takes the device's TX */
export function serialPins(spec: DeviceSpec): { rx: PinRef; tx: PinRef } {
  var b = spec.bus as { rx: string; tx: string };
  return { rx: Pin(b.rx), tx: Pin(b.tx) };
}

/** I2C1 set up on the bus's pins (Espruino default bitrate, 100 kHz) */
export function i2cOf(spec: DeviceSpec): EspruinoI2C {
  var b = spec.bus as { scl: string; sda: string };
  I2C1.setup({ scl: Pin(b.scl), sda: Pin(b.sda) });
  return I2C1;
}

export function pinOf(spec: DeviceSpec, role: string): PinRef {
  var b = spec.bus as { pins: { [role: string]: string } };
  return b.pins && b.pins[role] !== undefined ? Pin(b.pins[role]) : undefined;
}

/** a copy of the spec's options with extra fields */
export function optionsWith(spec: DeviceSpec, extra: { [k: string]: any }): any {
  var o: any = {}, k: string;
  for (k in spec.options || {}) o[k] = (spec.options as any)[k];
  for (k in extra) if (extra[k] !== undefined) o[k] = extra[k];
  return o;
}
