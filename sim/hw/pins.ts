// The pins of one emulated MCU: digital levels driven by the MCU or by a device, analog
// voltages set by devices, and Espruino-style watches with edge times on the virtual clock.

import type { VirtualClock } from "../clock.js";
import type { Gpio } from "../../drivers/types.js";

/** ESP32 ADC with 11 dB attenuation, no calibration: analogRead = V / full scale. */
export const ADC_FULL_SCALE_V = 3.3;

type ChangeListener = (high: boolean, timeMs: number) => void;

interface Watch {
  id: number;
  pin: string;
  callback: (e: WatchEvent) => void;
  edge: "rising" | "falling" | "both";
  repeat: boolean;
  lastTime: number;
}

/** Normalise what firmware passes as a pin: a sim Pin object, a name "D16", or a number. */
export function pinName(ref: PinRef): string {
  if (typeof ref === "string") return ref;
  if (typeof ref === "number") return "D" + ref;
  if (ref && typeof ref.name === "string") return ref.name;
  throw new Error("Not a pin: " + String(ref));
}

export class PinBank {
  private levels = new Map<string, boolean>();
  private modes = new Map<string, PinMode>();
  private volts = new Map<string, number>();
  /** level an undriven pin floats to: a device's or board's pull resistor */
  private pulls = new Map<string, boolean>();
  private listeners = new Map<string, ChangeListener[]>();
  private watches = new Map<number, Watch>();
  private mcuDriven = new Set<string>();
  private nextWatch = 1;

  constructor(private clock: VirtualClock) {}

  // ---- device side ----
  /** a device (or the world) drives a pin: MCU watches fire on edges */
  drive(ref: PinRef, high: boolean): void {
    this.setLevel(pinName(ref), high);
  }

  /** a device sets the voltage on an analog pin */
  setVoltage(ref: PinRef, volts: number): void {
    this.volts.set(pinName(ref), volts);
  }

  /**
   * A pull resistor on the board or device side (e.g. a P-MOSFET gate pulled up, the PMS5003's
   * SET pin): the level an undriven pin settles to, so the MCU driving it the other way is an edge.
   */
  pull(ref: PinRef, high: boolean): void {
    this.pulls.set(pinName(ref), high);
  }

  level(ref: PinRef): boolean {
    const name = pinName(ref);
    const v = this.levels.get(name);
    if (v !== undefined) return v;
    const pulled = this.pulls.get(name);
    if (pulled !== undefined) return pulled;
    // undriven: the MCU's pull-up reads high, others low (ESP32 pins float; low is the safe guess)
    return this.modes.get(name) === "input_pullup";
  }

  /**
   * The MCU stops driving one pin (chip reset, deep sleep): its mode goes back to default and
   * the pad floats to its pull. Listeners hear about it even without an edge, since a device
   * may care that the pin is no longer driven (a floating SET pin means "run").
   */
  release(ref: PinRef): void {
    const name = pinName(ref);
    this.modes.delete(name);
    if (!this.mcuDriven.delete(name)) return;
    this.levels.delete(name);
    const level = this.level(name);
    const now = this.clock.now();
    for (const l of (this.listeners.get(name) ?? []).slice()) l(level, now);
  }

  /** true once the MCU has driven the pin either way */
  driven(ref: PinRef): boolean {
    return this.levels.has(pinName(ref));
  }

  onChange(ref: PinRef, listener: ChangeListener): void {
    const name = pinName(ref);
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
  }

  // ---- MCU side (Espruino semantics) ----
  digitalWrite(ref: PinRef, value: number | boolean): void {
    const name = pinName(ref);
    if (!this.modes.has(name) || this.modes.get(name) === "auto") this.modes.set(name, "output");
    this.mcuDriven.add(name);
    this.setLevel(name, !!value);
  }

  digitalRead(ref: PinRef): number {
    return this.level(ref) ? 1 : 0;
  }

  pinMode(ref: PinRef, mode: PinMode): void {
    this.modes.set(pinName(ref), mode);
  }

  mode(ref: PinRef): PinMode | undefined {
    return this.modes.get(pinName(ref));
  }

  analogRead(ref: PinRef): number {
    const v = this.volts.get(pinName(ref)) ?? 0;
    const raw = Math.round((Math.min(Math.max(v, 0), ADC_FULL_SCALE_V) / ADC_FULL_SCALE_V) * 4095);
    return raw / 4096;
  }

  digitalPulse(ref: PinRef, value: boolean | number, ms: number | number[]): void {
    const name = pinName(ref);
    const times = Array.isArray(ms) ? ms : [ms];
    let level = !!value;
    let at = 0;
    this.mcuDriven.add(name);
    this.setLevel(name, level);
    for (const t of times) {
      at += t;
      level = !level;
      const next = level;
      this.clock.setTimeout(() => this.setLevel(name, next), at);
    }
  }

  setWatch(callback: (e: WatchEvent) => void, ref: PinRef, options?: WatchOptions | number): number {
    const opts = typeof options === "object" && options ? options : {};
    const watch: Watch = {
      id: this.nextWatch++,
      pin: pinName(ref),
      callback,
      edge: opts.edge ?? "both",
      repeat: !!opts.repeat,
      lastTime: this.clock.now() / 1000,
    };
    this.watches.set(watch.id, watch);
    return watch.id;
  }

  clearWatch(id?: number): void {
    if (id === undefined) this.watches.clear();
    else if (!this.watches.delete(id)) throw new Error("Unknown Watch " + id);
  }

  watchCount(): number {
    return this.watches.size;
  }

  private setLevel(name: string, high: boolean): void {
    const was = this.level(name);
    this.levels.set(name, high);
    this.notify(name, was);
  }

  private notify(name: string, was: boolean): void {
    const high = this.level(name);
    if (was === high) return;
    const now = this.clock.now();
    for (const l of (this.listeners.get(name) ?? []).slice()) l(high, now);
    for (const w of [...this.watches.values()]) {
      if (w.pin !== name) continue;
      if ((w.edge === "rising" && !high) || (w.edge === "falling" && high)) continue;
      const time = now / 1000;
      const event: WatchEvent = { state: high, time, lastTime: w.lastTime, pin: name };
      w.lastTime = time;
      if (!w.repeat) this.watches.delete(w.id);
      w.callback(event);
    }
  }
}

/** The driver-facing Gpio over a PinBank, as boards/espruino-gpio.ts builds it over globals. */
export function gpioFor(bank: PinBank): Gpio {
  return {
    write: (pin, high) => bank.digitalWrite(pin, high),
    read: (pin) => bank.digitalRead(pin) === 1,
    mode: (pin, mode) => bank.pinMode(pin, mode),
    analog: (pin) => bank.analogRead(pin),
    pulse: (pin, high, ms) => bank.digitalPulse(pin, high, ms),
    watch: (pin, callback, options) => bank.setWatch(callback, pin, options),
    unwatch: (id) => bank.clearWatch(id),
  };
}
