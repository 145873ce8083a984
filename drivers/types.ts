// The contract every CasaNode device driver keeps. Firmware code: ES5, Espruino subset.

import { QUANTITIES } from "./quantities.js";

/** One measured quantity. Units are ASCII (Espruino strings are bytes): "ug/m3", "dB", "mm", "/", "A". */
export interface Reading {
  /** quantity name as published, e.g. "pm25", "LAeq", "distance", "fill", "lampCurrent" */
  name: string;
  unit: string;
  value: number;
}

/**
 * Why a read gave no valid values.
 * absent: the device never answered (unplugged, wrong wiring); timeout: it stopped answering;
 * checksum: frames arrived but none passed the check; no-frame: bytes arrived but none framed
 * like the device's frames (wrong device, a line held low); range: values outside the datasheet range;
 * warming: read before the declared warm-up ended (never published as valid); off: not powered.
 */
export type FaultCode = "absent" | "timeout" | "checksum" | "no-frame" | "range" | "warming" | "off";

export interface SensorResult {
  ok: boolean;
  /** empty unless ok */
  readings: Reading[];
  fault?: FaultCode;
  /** short ASCII detail for diagnostics, e.g. "no frame in 3000 ms" */
  detail?: string;
  /** conditions worth an alarm even though the read worked, e.g. "lamp-failure" */
  alarms?: string[];
}

/** What a maintenance crew reads from the diag console and the diag topic. */
export interface DriverCounters {
  framesOk: number;
  checksumErrors: number;
  timeouts: number;
  rangeErrors: number;
  /** Date.now() of the last valid reading, 0 if none yet */
  lastGoodMs: number;
}

export function newCounters(): DriverCounters {
  return { framesOk: 0, checksumErrors: 0, timeouts: 0, rangeErrors: 0, lastGoodMs: 0 };
}

/** A reading of `name` in the unit the quantity table gives it (drivers/quantities.ts). */
export function reading(name: string, value: number): Reading {
  var q = QUANTITIES[name];
  return { name: name, unit: q ? q.unit : "", value: value };
}

/**
 * One lifecycle for every driver (after Moddable/TinyGo):
 * `new X({ name, bus | pins, gpio, power, options })` stores its config and never touches the
 * device; configure() sets bus and device up;
 * powerOn()/powerOff() are the mechanism (the scheduler decides when);
 * read() resolves (never rejects) with values or a typed fault.
 */
export interface Sensor {
  /** instance name from the board profile, e.g. "pm", "noise", "bin", "lamp" */
  readonly name: string;
  /** part name, e.g. "pms5003" */
  readonly model: string;
  /** ms from powerOn() until readings are valid (datasheet); 0 for instant sensors */
  readonly warmupMs: number;
  /**
   * its read takes its own samples (an average over the read itself), so it may be read as soon
   * as its warm-up is done, while longer ones still warm; without it a warmed sensor is read
   * after the longest warm-up (its levels may cover the time it was on: LAmin/LAmax, LAeq)
   */
  readonly readsWhenWarm?: boolean;
  readonly counters: DriverCounters;
  configure(): void;
  /**
   * onSinceMs: the supply already came on then (a wake prelude switched it on while the bundle
   * was lexed: toolchain/wake-prelude.ts), so the warm-up counts from then
   */
  powerOn(onSinceMs?: number): void;
  powerOff(): void;
  read(): Promise<SensorResult>;
  /**
   * One short ASCII line for a maintenance crew (diag): model, bus and pins, power switch, key
   * options, e.g. "pms5003 on Serial2 rx=D16 tx=D17, power D25 active-high, warm-up 30 s".
   */
  describe(): string;
}

/**
 * Pin access a driver needs, so tests and the simulator can inject a fake.
 * The board profile builds the real one from Espruino's globals (boards/espruino-gpio.ts).
 */
export interface Gpio {
  write(pin: PinRef, high: boolean): void;
  read(pin: PinRef): boolean;
  mode(pin: PinRef, mode: PinMode): void;
  /** analogRead: fraction of full scale, 0..1 (ESP32: raw/4096, 11 dB attenuation) */
  analog(pin: PinRef): number;
  /** digitalPulse: drive `high` for `ms`, then the opposite level */
  pulse(pin: PinRef, high: boolean, ms: number): void;
  /** setWatch; returns an id for unwatch */
  watch(pin: PinRef, callback: (e: WatchEvent) => void, options: WatchOptions): number;
  unwatch(id: number): void;
}

/** A switched supply (MOSFET or enable pin) in front of a device, from the board profile. */
export interface PowerSwitch {
  pin: PinRef;
  /** true if driving the pin high powers the device */
  activeHigh: boolean;
  /** a latched switch: a pulse on pin sets it, one on offPin clears it (firmware/board.ts DeviceSpec.power) */
  offPin?: PinRef;
}

export function switchPower(gpio: Gpio | undefined, power: PowerSwitch | undefined, on: boolean): void {
  if (!power || !gpio) return;
  if (power.offPin === undefined) return gpio.write(power.pin, on === power.activeHigh);
  // a rising edge clocks the latch; the pin idles low, as it floats in deep sleep (pulled down)
  var edge = on ? power.pin : power.offPin;
  gpio.write(edge, true);
  gpio.write(edge, false);
}

/** The calls an I2C driver makes; Espruino's I2C1, SimI2C and test fakes all have them. */
export type I2cPort = Pick<EspruinoI2C, "writeTo" | "readFrom"> & { setup?: EspruinoI2C["setup"] };

/** A UART and the MCU pins it runs on (MCU rx <- device TX, MCU tx -> device RX). */
export interface SerialBus {
  /** the port's name for describe(), e.g. "Serial2" */
  port: string;
  serial: EspruinoSerial;
  rx?: PinRef;
  tx?: PinRef;
}

/** An I2C bus; with scl and sda, configure() sets it up on them. */
export interface I2cBus {
  /** the bus's name for describe(), e.g. "I2C1" */
  port: string;
  i2c: I2cPort;
  scl?: PinRef;
  sda?: PinRef;
  /** 7-bit device address (default: the part's) */
  address?: number;
}

/**
 * What every driver's constructor takes: `{ name, bus | pins, gpio, power, options }`.
 * A driver on a UART or I2C extends it with `bus`, one on plain pins with `pins` (role -> pin).
 */
export interface DriverConfig<O> {
  /** instance name from the board profile, e.g. "pm", "noise", "bin", "lamp" */
  name: string;
  /** pin access: for `pins`, a power switch and option pins */
  gpio?: Gpio;
  /** switched supply in front of the device, if fitted */
  power?: PowerSwitch;
  /** model-specific settings (calibration, timing, bin depths...), from the board profile */
  options?: O;
}

export interface SerialConfig<O> extends DriverConfig<O> {
  bus: SerialBus;
}

export interface I2cConfig<O> extends DriverConfig<O> {
  bus: I2cBus;
}

export interface PinsConfig<P, O> extends DriverConfig<O> {
  gpio: Gpio;
  pins: P;
}

/** I2C set up on the bus's pins (Espruino default bitrate, 100 kHz), when the config gives them */
export function openI2c(bus: I2cBus): void {
  if (bus.scl !== undefined && bus.sda !== undefined && bus.i2c.setup) bus.i2c.setup({ scl: bus.scl, sda: bus.sda });
}

/**
 * The describe() line: "<model> on <port> [0x<address>] <pin>=<Pin>..., power <Pin> active-high,
 * warm-up <s> s" and the driver's `extra` (", key options"). Pins print as their names ("D16").
 */
export function describeDriver(model: string, warmupMs: number, c: DriverConfig<unknown> & { bus?: SerialBus | I2cBus; pins?: { [role: string]: PinRef } }, extra: string, address?: number): string {
  var b = c.bus as (SerialBus & I2cBus) | undefined, s = model, k: string;
  var pins: { [role: string]: PinRef } = b ? { rx: b.rx, tx: b.tx, scl: b.scl, sda: b.sda } : c.pins || {};
  if (b) s += " on " + b.port + (address ? " 0x" + address.toString(16) : "");
  for (k in pins) if (pins[k] !== undefined) s += " " + k + "=" + pins[k];
  // a latch: a crew checks both wires (its set pin, its clear pin)
  if (c.power) s += ", power " + c.power.pin + (c.power.offPin !== undefined ? " latched, off " + c.power.offPin : c.power.activeHigh ? " active-high" : " active-low");
  if (warmupMs) s += ", warm-up " + warmupMs / 1000 + " s";
  return s + extra;
}

/**
 * Set a UART up at `baud` on the board's pins and give it exactly one data listener, however
 * often configure() runs (a second listener would count every byte twice).
 */
export function openSerial(serial: EspruinoSerial, baud: number, rx: PinRef | undefined, tx: PinRef | undefined, onData: (data: string) => void): void {
  const setup: SerialSetupOptions = {};
  if (rx !== undefined) setup.rx = rx;
  if (tx !== undefined) setup.tx = tx;
  serial.setup(baud, setup);
  serial.removeAllListeners("data");
  serial.on("data", onData);
}

/** clearTimeout that tolerates an unset handle: Espruino throws on clearTimeout(undefined) */
export function cancel(timer: any): void {
  if (timer !== undefined) clearTimeout(timer);
}

export function okResult(readings: Reading[]): SensorResult {
  return { ok: true, readings: readings };
}

export function faultResult(fault: FaultCode, detail?: string): SensorResult {
  return { ok: false, readings: [], fault: fault, detail: detail };
}

/**
 * The gate at the top of every read(): a part that is off gives "off", one still inside its
 * declared warm-up gives "warming" (never a valid reading). null: go ahead and read.
 */
export function readGate(on: boolean, poweredAtMs: number, warmupMs: number): Promise<SensorResult> | null {
  if (!on) return Promise.resolve(faultResult("off"));
  const left = poweredAtMs + warmupMs - Date.now();
  return left > 0 ? Promise.resolve(faultResult("warming", "ready in " + Math.ceil(left / 1000) + " s")) : null;
}

/**
 * A relay-driven load (streetlight) with optional current sense. read() reports
 * "relay" (1/0) and, with a sensor fitted, "lampCurrent" in A, and sets alarms:
 * "lamp-failure" (relay on, no current) or "stuck-relay" (relay off, current flows).
 */
export interface Actuator extends Sensor {
  set(on: boolean): void;
  isOn(): boolean;
}
