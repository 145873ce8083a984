// One boot of an emulated Espruino: a fresh vm context whose globals are Espruino's API over
// the node's simulated hardware, driven by the virtual clock. A deep sleep, reset or power cut
// ends the boot: its timers, watches, listeners and sockets go, and nothing it scheduled can
// reach the firmware any more (callbacks of a dead boot are dropped).
//
// Every entry into firmware code (timers, watches, serial data, sockets, Wi-Fi, the REPL)
// goes through invoke(): exceptions print "Uncaught ..." as Espruino does and the node goes
// on; promise callbacks run before invoke() returns (the context drains its own microtask
// queue), so virtual time does not move between a callback and its .then().

import vm from "node:vm";
import { createHash } from "node:crypto";
import type { VirtualClock } from "../clock.js";
import type { PinBank } from "../hw/pins.js";
import { pinName } from "../hw/pins.js";
import type { SimUart } from "../hw/uart.js";
import type { SimI2C } from "../hw/i2c.js";
import { SimStorage, SimStorageFile, StorageError, fromLatin1, toLatin1 } from "./storage.js";
import { liberalJson } from "./json.js";
import { formatPrint, formatThrown, formatValue } from "./format.js";
import { JsVarCounter, BASE_VARS, codeVars, sizeOf, ESP32_JSVAR_BYTES } from "./memory.js";
import { REFUSE_SOURCE } from "./dialect.js";
import { crc32 } from "./crc32.js";
import { SimWifi, type SimWifiNetworkLike } from "./wifi.js";
import { EspruinoPin, PIN_COUNT } from "./pins.js";
import { createEspruinoNet, DEFAULT_NET_LATENCY, type EspruinoNet, type EspruinoNetOptions, type NetLatency } from "./net.js";

/** thrown to unwind firmware code when the chip stops (deep sleep, reset, power cut, OOM) */
export class NodeHalted {
  readonly halted = true;
  toString(): string {
    return "(node halted)";
  }
}
export const HALT = new NodeHalted();

export const ESPRUINO_VERSION = "2v29";
/** ESP32.getWakeupCause(): not a deep-sleep wake / woken by the RTC timer */
export const WAKE_UNDEFINED = 0;
export const WAKE_TIMER = 4;
/** Serial RX buffer when nobody listens ('rx' in process.memory(): 1024 bytes) */
const SERIAL_RX_BUFFER = 1024;
/** Espruino timers: at least 0.1 ms, at most ~100 years (jsinteractive.h) */
const TIMER_MIN_MS = 0.1;
const TIMER_MAX_MS = 31536000001000;
/** how often open sockets are checked against broker/link faults, ms */
const NET_POLL_MS = 2000;
/** the REPL interrupts code that runs longer than this (wall time), ms */
const REPL_TIMEOUT_MS = 2000;

export interface BootWifi {
  network: SimWifiNetworkLike;
  ip: string;
  mac: string;
  rssiDbm: number;
  reportsFailure?: boolean;
}

/** what a boot needs from its node */
export interface BootHost {
  id: string;
  chip: "esp32" | "linux";
  clock: VirtualClock;
  pins: PinBank;
  /** Serial2/Serial3 wires (absent ports exist but lead nowhere) */
  uarts: { [port: string]: SimUart | undefined };
  i2c: SimI2C;
  storage: SimStorage;
  rng: () => number;
  wifi?: BootWifi;
  brokerReachable(tMs: number): boolean;
  wakeCause: number;
  /** the node's RTC, epoch ms */
  rtcNow(): number;
  rtcSet(ms: number): void;
  /** SNTP answered */
  rtcSync(): void;
  /** text printed on the console (Serial1) */
  output(text: string): void;
  /** ESP32 only: the chip's saved BLE switch (NVS "bleStatus"; ESP32.enableBLE sets it) */
  ble?: { on(): boolean; set(on: boolean): void; output(text: string): void };
  radio(on: boolean): void;
  /** ESP32.deepSleep(us): the node ends this boot and arranges the wake */
  deepSleep(us: number): void;
  /** the chip resets (ESP32.reboot(), E.reboot(), load(), watchdog) */
  reset(cause: "software" | "watchdog"): void;
  /** an exception reached the top of a callback */
  uncaught(message: string): void;
  /** the estimate went over the heap: the interpreter stops */
  outOfMemory(usage: number): void;
  /** the MCU drove (or set the mode of) a pin */
  touchPin(name: string, drove: boolean): void;
  bundleBytes: number;
  /** 16383 on ESP32; 0 = resizable (Espruino's Linux build never runs out) */
  memoryTotal: number;
  serialNumber: string;
  temperatureC(): number;
  createNet?: (opts: EspruinoNetOptions) => EspruinoNet;
  /** network round trips and TLS handshake [DEFAULT_NET_LATENCY] */
  netLatency?: NetLatency;
  /** firmware code is about to run (the node brings its energy account up to now) */
  beforeEvent?(): void;
  /** the firmware's own power-state report: E.emit("power", state, on) (boards/espruino-platform.ts) */
  firmwarePower?(state: string, on: boolean): void;
}

interface Timer {
  handle: number;
  fn: any;
  args: any[];
  intervalMs?: number;
}

interface Realm {
  global: any;
  Error: ErrorConstructor;
  TypeError: ErrorConstructor;
  SyntaxError: ErrorConstructor;
  ReferenceError: ErrorConstructor;
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  ArrayBuffer: ArrayBufferConstructor;
  Uint8Array: Uint8ArrayConstructor;
  JSON: JSON;
  Promise: PromiseConstructor;
}

// compiled once, run in every context
const DRAIN = new vm.Script("", { filename: "espruino-drain" });
const INIT = new vm.Script(
  `(function (bridge) {
  "use strict";
  var RealDate = globalThis.Date, UTC = RealDate.UTC, P = RealDate.prototype;
  var getT = P.getTime, setT = P.setTime;
  var keys = ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"];
  var ug = {}, us = {};
  keys.forEach(function (k) { ug[k] = P["getUTC" + k]; if (k !== "Day") us[k] = P["setUTC" + k]; });
  var parse = RealDate.parse;
  (${REFUSE_SOURCE})(globalThis);
  delete RealDate.UTC;
  function parseLocal(s) {
    if (/^\\d{4}-\\d\\d-\\d\\d(T\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?)?$/.test(s)) return parse(s.length === 10 ? s + "T00:00:00Z" : s + "Z") - bridge.tz();
    return parse(s);
  }
  class Date extends RealDate {
    constructor(a, b, c, d, e, f, g) {
      var n = arguments.length;
      if (n === 0) super(bridge.now());
      else if (n === 1) super(typeof a === "string" ? parseLocal(a) : (a instanceof RealDate ? getT.call(a) : a));
      else super(UTC(a, b, c === undefined ? 1 : c, d || 0, e || 0, f || 0, g || 0) - bridge.tz());
    }
    static now() { return bridge.now(); }
    static parse(s) { return parseLocal(String(s)); }
  }
  var DP = Date.prototype;
  keys.forEach(function (k) {
    DP["get" + k] = function () { return ug[k].call(new RealDate(getT.call(this) + bridge.tz())); };
    if (us[k]) DP["set" + k] = function () {
      var d = new RealDate(getT.call(this) + bridge.tz());
      us[k].apply(d, arguments);
      return setT.call(this, getT.call(d) - bridge.tz());
    };
  });
  DP.getTimezoneOffset = function () { return -bridge.tz() / 60000; };
  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function p2(n) { return (n < 10 ? "0" : "") + n; }
  DP.toString = function () {
    var tz = bridge.tz(), d = new RealDate(getT.call(this) + tz), m = Math.abs(tz / 60000);
    return DAYS[ug.Day.call(d)] + " " + MONTHS[ug.Month.call(d)] + " " + ug.Date.call(d) + " " + ug.FullYear.call(d) + " " +
      p2(ug.Hours.call(d)) + ":" + p2(ug.Minutes.call(d)) + ":" + p2(ug.Seconds.call(d)) +
      " GMT" + (tz < 0 ? "-" : "+") + p2(Math.floor(m / 60)) + p2(m % 60);
  };
  globalThis.Date = Date;
  globalThis.global = globalThis;
})`,
  { filename: "espruino-init" },
);

export class EspruinoBoot {
  readonly ctx: vm.Context;
  readonly realm: Realm;
  alive = true;
  /** out of memory: the interpreter is stuck, the chip stays awake */
  halted = false;
  private timers = new Map<number, Timer>();
  private watches = new Set<number>();
  private eListeners: { [event: string]: any[] } = {};
  private processListeners: { [event: string]: any[] } = {};
  private modules: { [name: string]: any } = {};
  private net: EspruinoNet | undefined;
  /** virtual time of the last socket event handed to the firmware (events keep their order) */
  private netLastAt = 0;
  private netPoll: number | undefined;
  private wifi: SimWifi | undefined;
  private wdHandle: number | undefined;
  private wdMs = 0;
  private wdDeadline = 0;
  private wdTimerAt = 0;
  private wdAuto = true;
  private tzMs = 0;
  private password: string | undefined;
  private locked = false;
  /** the REPL's device: "Serial1", "Bluetooth", or null when E.setConsole(null) took it off every device */
  private consoleDevice: string | null = "Serial1";
  /** E.setConsole(.., {force: true}): a Bluetooth connect does not move the REPL */
  private consoleForced = false;
  private serial1: SerialPort;
  /** ESP32: the Nordic UART console device (jsdevices.c EV_BLUETOOTH, "Bluetooth") */
  private bluetooth: SerialPort | undefined;
  private bleConnected = false;
  /** NRF.on('disconnect') listeners */
  private nrfDisconnect: any[] = [];
  private ports: SerialPort[] = [];
  private baseline = new Set<string>();
  private skip = new Set<object>();
  private pinObjects: EspruinoPin[] = [];
  private inHandler = false;

  constructor(private host: BootHost) {
    const sandbox: any = {};
    // Serial1.write goes out whether the REPL is on it or not
    this.serial1 = new SerialPort(this, "Serial1", undefined, (text) => this.output(text));
    const ble = host.ble;
    // written with nobody connected, it goes nowhere (jsdevices.c clears it)
    if (ble) this.bluetooth = new SerialPort(this, "Bluetooth", undefined, (text) => this.bleConnected && this.alive && ble.output(text));
    this.installGlobals(sandbox);
    this.ctx = vm.createContext(sandbox, { name: `espruino:${host.id}`, microtaskMode: "afterEvaluate", codeGeneration: { strings: true, wasm: false } });
    const init = INIT.runInContext(this.ctx);
    init({ now: () => this.host.rtcNow(), tz: () => this.tzMs });
    const g = vm.runInContext("globalThis", this.ctx);
    this.realm = {
      global: g,
      Error: g.Error,
      TypeError: g.TypeError,
      SyntaxError: g.SyntaxError,
      ReferenceError: g.ReferenceError,
      Object: g.Object,
      Array: g.Array,
      ArrayBuffer: g.ArrayBuffer,
      Uint8Array: g.Uint8Array,
      JSON: g.JSON,
      Promise: g.Promise,
    };
    for (const k of Object.keys(sandbox)) {
      this.baseline.add(k);
      const v = sandbox[k];
      if (v && (typeof v === "object" || typeof v === "function")) this.skip.add(v);
    }
  }

  // ---------------------------------------------------------------------------------------
  // running firmware code

  /** run the flashed code, then E.on('init') handlers and onInit(), as Espruino does at boot */
  /** run the saved code: `pre` (.boot0-3) each in turn, then the boot code (read after them) */
  boot(main: vm.Script | undefined | (() => vm.Script | undefined), pre: vm.Script[] = []): void {
    for (const script of [...pre, main]) {
      const sc = typeof script === "function" ? script() : script;
      if (!sc || !this.alive) continue;
      try {
        sc.runInContext(this.ctx, { displayErrors: false });
      } catch (e) {
        this.report(e);
      }
    }
    if (!this.alive) return;
    for (const fn of (this.eListeners.init ?? []).slice()) this.invoke(fn, undefined, []);
    const onInit = this.realm.global.onInit;
    if (this.alive && typeof onInit === "function") this.invoke(onInit, undefined, []);
    if (!this.alive) return;
    try {
      this.checkMemory();
    } catch (e) {
      if (e !== HALT) throw e;
    }
  }

  /** call firmware code from outside (a timer, an event); exceptions print as Espruino prints them */
  invoke(fn: any, thisArg: any, args: any[]): void {
    if (!this.alive) return;
    this.host.beforeEvent?.();
    try {
      if (typeof fn === "string") vm.runInContext(fn, this.ctx);
      else if (typeof fn === "function") fn.apply(thisArg, args);
    } catch (e) {
      this.report(e);
    }
    if (this.alive) this.drain();
  }

  /** run promise callbacks the last call queued */
  drain(): void {
    try {
      DRAIN.runInContext(this.ctx);
    } catch (e) {
      this.report(e);
    }
  }

  /** an exception (or rejection) nobody caught */
  report(e: any, prefix = ""): void {
    if (e === HALT || !this.alive) return;
    const handlers = this.processListeners.uncaughtException;
    if (handlers && handlers.length && !this.inHandler) {
      this.inHandler = true; // a handler that throws is reported, not handled again
      try {
        for (const h of handlers.slice()) this.invoke(h, undefined, [e]);
      } finally {
        this.inHandler = false;
      }
      return;
    }
    const text = prefix + formatThrown(e);
    this.print(`Uncaught ${text}\n`);
    this.host.uncaught(text);
  }

  /** a promise of this boot was rejected and nobody handled it */
  unhandledRejection(reason: any): void {
    if (reason === HALT || !this.alive) return;
    const text = `Error: Unhandled promise rejection: ${formatThrown(reason)}`;
    this.print(`Uncaught ${text}\n`);
    this.host.uncaught(text);
  }

  /** end this boot: nothing it set up runs again */
  kill(): void {
    if (!this.alive && !this.halted) return;
    this.alive = false;
    this.halted = false;
    this.stopEverything();
    if (this.wdHandle !== undefined) this.host.clock.clearTimeout(this.wdHandle);
    this.wdHandle = undefined;
  }

  /** the interpreter stops (out of memory) but the chip stays on: the watchdog may still bite */
  halt(): void {
    if (!this.alive) return;
    this.alive = false;
    this.halted = true;
    this.stopEverything();
  }

  private stopEverything(): void {
    const clock = this.host.clock;
    for (const t of this.timers.values()) clock.clearTimeout(t.handle);
    this.timers.clear();
    for (const id of this.watches) {
      try {
        this.host.pins.clearWatch(id);
      } catch {
        // already gone
      }
    }
    this.watches.clear();
    for (const p of this.ports) p.detach();
    if (this.netPoll !== undefined) clock.clearTimeout(this.netPoll);
    this.netPoll = undefined;
    this.net?.cutAll();
    this.wifi?.shutdown();
    this.eListeners = {};
  }

  owns(promise: unknown): boolean {
    return promise instanceof this.realm.Promise;
  }

  // ---------------------------------------------------------------------------------------
  // the console (Serial1)

  /** what the REPL and print() send: to the console device, so nowhere while it is null (measured on 2v29) */
  print(text: string): void {
    if (this.consoleDevice === "Serial1") this.output(text);
    else if (this.consoleDevice === "Bluetooth" && this.bleConnected && this.alive) this.host.ble?.output(text);
  }

  /**
   * A BLE central connects to the Nordic UART service: Espruino moves the REPL to Bluetooth
   * unless the console is forced elsewhere (targets/esp32/BLE/esp32_gatts_func.c, connect).
   */
  bleConnect(): void {
    if (!this.bluetooth || !this.alive) throw new Error(`${this.host.id}: Bluetooth is off (ESP32.enableBLE(false)) or not built in`);
    this.bleConnected = true;
    if (!this.consoleForced) this.setConsole("Bluetooth");
  }

  /** the central went away: the REPL goes back to Serial1 unless forced (same file, disconnect) */
  bleDisconnect(): void {
    this.bleConnected = false;
    if (this.consoleDevice === "Bluetooth" && !this.consoleForced) this.setConsole("Serial1");
    // BLE_DISCONNECT_EVENT with the HCI reason (0x13: the remote user ended it)
    for (const fn of this.nrfDisconnect.slice()) this.invoke(fn, undefined, [0x13]);
  }

  private output(text: string): void {
    if (!this.alive && !this.halted) return;
    this.host.output(text);
  }

  /** E.setConsole: Espruino says "-> new" on the old device and "<- old" on the new one */
  private setConsole(name: string | null): void {
    if (name === this.consoleDevice) return;
    this.print(`-> ${name}\n`);
    const old = this.consoleDevice;
    this.consoleDevice = name;
    this.print(`<- ${old}\n`);
  }

  /** a line typed on Serial1 (or, connected, on Bluetooth) */
  consoleLine(line: string, device: "Serial1" | "Bluetooth" = "Serial1"): void {
    if (device === "Bluetooth" && (!this.bluetooth || !this.bleConnected)) return;
    if (this.consoleDevice !== device) {
      // the REPL is elsewhere: the bytes go to the device's on('data'), as typed
      if (this.alive) (device === "Bluetooth" ? this.bluetooth! : this.serial1).receive(line + "\r");
      return;
    }
    // Espruino's REPL: Ctrl-C (0x03) clears what was typed so far; a leading DLE (0x10) turns
    // echo off for that line (the field tools send both)
    const cut = line.lastIndexOf("\x03");
    if (cut >= 0) line = line.slice(cut + 1);
    if (line.charCodeAt(0) === 0x10) line = line.slice(1);
    if (this.halted) {
      this.print("Execution Interrupted\n");
      return;
    }
    if (!this.alive) return;
    if (this.locked) {
      // jsinteractive.c keeps the first 20 chars typed; Ctrl-C breaks nothing while locked
      if (this.password !== undefined && line.slice(0, 20) === this.password) {
        this.locked = false;
        this.print("\n  Logged in.\n");
      } else this.print("\n  Invalid password\npassword>");
      return;
    }
    if (!line.trim()) return;
    let result: any;
    try {
      result = new vm.Script(line, { filename: "REPL" }).runInContext(this.ctx, { timeout: REPL_TIMEOUT_MS, displayErrors: false });
    } catch (e) {
      if (e === HALT || !this.alive) return;
      this.print(`Uncaught ${formatThrown(e)}\n`);
      this.drain();
      return;
    }
    if (this.alive) {
      this.print("=" + formatValue(result, { limit: true, dropQuotes: true }) + "\n");
      this.drain();
    }
  }

  get passwordLocked(): boolean {
    return this.locked;
  }

  // ---------------------------------------------------------------------------------------
  // memory

  /** the JsVar estimate (see memory.ts) */
  memoryUsage(): number {
    const counter = new JsVarCounter(this.skip);
    let n = BASE_VARS + codeVars(this.host.bundleBytes);
    const g = this.realm.global;
    for (const key of Object.keys(g)) {
      if (this.baseline.has(key)) continue;
      n += 1 + counter.count(safeValue(g, key));
    }
    for (const t of this.timers.values()) n += 4 + counter.count(t.fn) + counter.count(t.args);
    for (const list of Object.values(this.eListeners)) for (const fn of list) n += 2 + counter.count(fn);
    for (const p of this.ports) n += p.listenerCount() * 2;
    n += this.watches.size * 5;
    return n;
  }

  memory(): EspruinoMemory {
    const usage = this.memoryUsage();
    const fixed = this.host.memoryTotal;
    const total = fixed > 0 ? fixed : Math.max(4096, Math.ceil((usage + 1) / 4096) * 4096);
    const m: EspruinoMemory & { gc: number; gctime: number } = { free: Math.max(0, total - usage), usage, total, history: 0, gc: 0, gctime: 0, blocksize: fixed > 0 ? ESP32_JSVAR_BYTES : 27 };
    return m;
  }

  /** out of memory on a fixed heap: Espruino stops the code where it is */
  checkMemory(): EspruinoMemory {
    const m = this.memory();
    if (this.host.memoryTotal > 0 && m.usage > m.total) {
      this.print("OUT OF MEMORY\nExecution Interrupted\n");
      this.host.outOfMemory(m.usage);
      this.halt();
      throw HALT;
    }
    return m;
  }

  // ---------------------------------------------------------------------------------------
  // helpers for the API objects

  /** wrap a host function for the firmware: refuses once the boot is gone, errors in the node's realm */
  api<T extends (...a: any[]) => any>(f: T): T {
    const self = this;
    return function (this: any, ...args: any[]) {
      if (!self.alive) throw HALT;
      try {
        return f.apply(this, args);
      } catch (e) {
        throw self.toRealm(e);
      }
    } as unknown as T;
  }

  toRealm(e: any): any {
    if (e === HALT) return e;
    const r = this.realm;
    if (e instanceof r.Error) return e;
    const name = e instanceof StorageError ? e.errorName : e && e.name;
    const Ctor = name === "SyntaxError" ? r.SyntaxError : name === "TypeError" ? r.TypeError : name === "ReferenceError" ? r.ReferenceError : r.Error;
    return new Ctor(e && e.message !== undefined ? e.message : String(e));
  }

  error(message: string): Error {
    return new this.realm.Error(message);
  }

  /** a plain host value copied into the node's realm (objects/arrays the firmware will keep) */
  obj<T>(v: T): T {
    return this.realm.JSON.parse(JSON.stringify(v));
  }

  array<T>(items: T[]): T[] {
    const a = new this.realm.Array() as T[];
    for (const x of items) a.push(x);
    return a;
  }

  u8(bytes: Uint8Array): Uint8Array {
    const u = new this.realm.Uint8Array(bytes.length);
    u.set(bytes);
    return u;
  }

  get clock(): VirtualClock {
    return this.host.clock;
  }

  // ---------------------------------------------------------------------------------------
  // timers (Espruino semantics: numeric ids, clearTimeout() clears all, clearTimeout(undefined) throws)

  private addTimer(fn: any, ms: any, args: any[], repeat: boolean): number {
    if (typeof fn !== "function" && typeof fn !== "string") throw this.error("Function or String not supplied!");
    let delay = Number(ms);
    if (Number.isNaN(delay) || delay < TIMER_MIN_MS) delay = TIMER_MIN_MS;
    if (delay > TIMER_MAX_MS) throw this.error("Interval is too long (>100 years)");
    let id = 1;
    for (const k of this.timers.keys()) if (k >= id) id = k + 1;
    const t: Timer = { handle: 0, fn, args, intervalMs: repeat ? delay : undefined };
    t.handle = this.host.clock.setTimeout(() => this.fire(id, t), delay);
    this.timers.set(id, t);
    return id;
  }

  private fire(id: number, t: Timer): void {
    if (this.timers.get(id) !== t) return;
    if (t.intervalMs !== undefined) t.handle = this.host.clock.setTimeout(() => this.fire(id, t), t.intervalMs);
    else this.timers.delete(id);
    this.invoke(t.fn, undefined, t.args);
  }

  private clearTimer(kind: string, args: any[]): void {
    if (args.length === 0) {
      for (const t of this.timers.values()) this.host.clock.clearTimeout(t.handle);
      this.timers.clear();
      return;
    }
    const id = args[0];
    if (id === undefined) throw this.error(`clear${kind}(undefined) not allowed. Use clear${kind}() instead`);
    const t = this.timers.get(Number(id));
    if (!t) return;
    this.host.clock.clearTimeout(t.handle);
    this.timers.delete(Number(id));
  }

  timerCount(): number {
    return this.timers.size;
  }

  // ---------------------------------------------------------------------------------------
  // watchdog

  private enableWatchdog(seconds: any, isAuto: any): void {
    let s = Number(seconds);
    if (!(s >= 0)) s = 1;
    if (this.host.chip === "esp32") s = Math.max(1, Math.round(s)); // ESP32 rounds to whole seconds
    this.wdMs = s * 1000;
    this.wdAuto = isAuto === undefined || !!isAuto;
    this.armWatchdog();
  }

  private armWatchdog(): void {
    const clock = this.host.clock;
    // automatic mode: the idle loop kicks it, so only code that never returns trips it (the sim cannot hang)
    if (!this.wdMs || this.wdAuto) {
      if (this.wdHandle !== undefined) clock.clearTimeout(this.wdHandle);
      this.wdHandle = undefined;
      return;
    }
    // firmware kicks often: move a deadline, keep one timer that re-checks it
    this.wdDeadline = clock.now() + this.wdMs;
    if (this.wdHandle !== undefined && this.wdTimerAt <= this.wdDeadline) return;
    if (this.wdHandle !== undefined) clock.clearTimeout(this.wdHandle);
    this.wdTimerAt = this.wdDeadline;
    this.wdHandle = clock.setTimeout(() => this.watchdogCheck(), this.wdMs);
  }

  private watchdogCheck(): void {
    const clock = this.host.clock;
    this.wdHandle = undefined;
    if (!this.wdMs || this.wdAuto) return;
    const left = this.wdDeadline - clock.now();
    if (left > 0) {
      this.wdTimerAt = this.wdDeadline;
      this.wdHandle = clock.setTimeout(() => this.watchdogCheck(), left);
      return;
    }
    this.host.reset("watchdog");
  }

  // ---------------------------------------------------------------------------------------
  // networking

  private netBlocked(): boolean {
    const now = this.host.clock.now();
    if (!this.alive) return true;
    if (this.host.chip === "esp32" && !(this.wifi && this.wifi.routable)) return true;
    return !this.host.brokerReachable(now);
  }

  private netModule(): any {
    if (this.modules.net) return this.modules.net;
    const make = this.host.createNet ?? createEspruinoNet;
    const net = make({
      blocked: () => this.netBlocked(),
      // socket events reach the firmware one round trip later, through the clock
      schedule: (fn) => {
        this.host.clock.setTimeout(() => this.invoke(fn, undefined, []), this.netDelay());
      },
    });
    this.net = net;
    const self = this;
    const mod = {
      connect: this.api((options: any, onConnect?: any) => {
        const sock = net.connect({ host: String(options.host), port: Number(options.port) }, onConnect);
        self.watchSockets();
        return self.wrapSocket(sock);
      }),
    };
    this.modules.net = mod;
    return mod;
  }

  /** ms from now to hand the next socket event over: one round trip, in order */
  private netDelay(): number {
    const l = this.host.netLatency ?? DEFAULT_NET_LATENCY, now = this.host.clock.now();
    const at = Math.max(now + l.rttMinMs + this.host.rng() * (l.rttMaxMs - l.rttMinMs), this.netLastAt);
    this.netLastAt = at;
    return at - now;
  }

  /** require("tls") on the Linux build: net with the handshake's time (bytes stay in clear to the local broker) */
  private tlsModule(): any {
    if (this.modules.tls) return this.modules.tls;
    const net = this.netModule(), clock = this.host.clock;
    const hs = (this.host.netLatency ?? DEFAULT_NET_LATENCY).tlsHandshakeMs;
    const mod = {
      connect: this.api((options: any, onConnect?: any) => net.connect(options, onConnect && (() => clock.setTimeout(() => this.invoke(onConnect, undefined, []), hs)))),
    };
    this.modules.tls = mod;
    return mod;
  }

  private wrapSocket(sock: NetSocket): any {
    return {
      write: this.api((data: any) => sock.write(String(data))),
      end: this.api(() => sock.end()),
      on: this.api((event: any, listener: any) => (sock as any).on(event, listener)),
      removeAllListeners: this.api((event?: any) => sock.removeAllListeners(event)),
    };
  }

  private watchSockets(): void {
    if (this.netPoll !== undefined) return;
    const tick = () => {
      this.netPoll = undefined;
      if (!this.net || !this.alive) return;
      this.net.poll();
      if (this.net.openSockets() > 0) this.netPoll = this.host.clock.setTimeout(tick, NET_POLL_MS);
    };
    this.netPoll = this.host.clock.setTimeout(tick, NET_POLL_MS);
  }

  private wifiModule(): any {
    if (this.modules.Wifi) return this.modules.Wifi;
    const w = this.host.wifi!;
    const wifi = new SimWifi({
      clock: this.host.clock,
      network: w.network,
      rng: this.host.rng,
      invoke: (fn, args) => this.invoke(fn, undefined, args),
      check: () => {
        if (!this.alive) throw HALT;
      },
      radio: (on) => this.host.radio(on),
      link: (up) => {
        if (!up) this.net?.poll();
      },
      timeSynced: () => this.host.rtcSync(),
      obj: (o) => this.obj(o),
      error: (m) => this.error(m),
      ip: w.ip,
      mac: w.mac,
      rssiDbm: w.rssiDbm,
      reportsFailure: w.reportsFailure,
    });
    this.wifi = wifi;
    const mod: any = {};
    for (const m of ["connect", "disconnect", "on", "removeListener", "removeAllListeners", "getIP", "getDetails", "getStatus", "setSNTP", "setIP", "setHostname", "save"] as const) {
      mod[m] = this.api((...args: any[]) => (wifi as any)[m](...args));
    }
    this.modules.Wifi = mod;
    return mod;
  }

  private storageModule(): any {
    if (this.modules.Storage) return this.modules.Storage;
    const s = this.host.storage;
    const self = this;
    const wrapFile = (f: SimStorageFile) => {
      const o: any = {
        read: this.api((len?: number) => f.read(len)),
        readLine: this.api(() => f.readLine()),
        write: this.api((data: string) => f.write(data)),
        erase: this.api(() => f.erase()),
        getLength: this.api(() => f.getLength()),
      };
      Object.defineProperty(o, "name", { get: () => f.name, enumerable: true });
      Object.defineProperty(o, "chunk", { get: () => f.chunk, enumerable: true });
      Object.defineProperty(o, "offset", { get: () => f.offset, enumerable: true });
      Object.defineProperty(o, "mode", { get: () => (f.mode === 0 ? 0 : f.mode.charCodeAt(0)), enumerable: true });
      return o;
    };
    const mod = {
      read: this.api((name: string, offset?: number, length?: number) => s.read(name, offset, length)),
      readJSON: this.api((name: string, noExceptions?: boolean) => {
        const text = s.read(name);
        if (text === undefined) return undefined;
        let strict: string;
        try {
          strict = liberalJson(text);
        } catch (e) {
          if (noExceptions) return undefined;
          throw new StorageError((e as Error).message, "SyntaxError");
        }
        return self.realm.JSON.parse(strict);
      }),
      readArrayBuffer: this.api((name: string) => {
        const text = s.read(name);
        if (text === undefined) return undefined;
        return self.u8(fromLatin1(text)).buffer;
      }),
      write: this.api((name: string, data: any, offset?: number, size?: number) => s.write(name, data, offset, size)),
      writeJSON: this.api((name: string, data: any) => s.writeJSON(name, data)),
      erase: this.api((name: string) => s.erase(name)),
      eraseAll: this.api(() => s.eraseAll()),
      list: this.api((regex?: RegExp, filter?: any) => self.array(s.list(regex, filter))),
      compact: this.api(() => s.compact()),
      getFree: this.api(() => s.getFree()),
      getStats: this.api(() => self.obj(s.getStats())),
      open: this.api((name: string, mode: any) => wrapFile(s.open(name, mode))),
    };
    this.modules.Storage = mod;
    return mod;
  }

  private cryptoModule(): any {
    if (this.modules.crypto) return this.modules.crypto;
    const digest = (alg: string) =>
      this.api((data: any) => {
        const bytes = typeof data === "string" ? fromLatin1(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : Uint8Array.from(data ?? [], (x: any) => Number(x) & 0xff);
        const h = createHash(alg).update(bytes).digest();
        return this.u8(new Uint8Array(h)).buffer;
      });
    this.modules.crypto = { SHA1: digest("sha1"), SHA224: digest("sha224"), SHA256: digest("sha256"), SHA384: digest("sha384"), SHA512: digest("sha512") };
    return this.modules.crypto;
  }

  private require(name: any): any {
    const n = String(name);
    switch (n) {
      case "Storage":
        return this.storageModule();
      case "net":
        return this.netModule();
      case "tls":
        if (this.host.chip !== "esp32") return this.tlsModule();
        break;
      case "crypto":
        // the stock ESP32 build (boards/ESP32_IDF4.py) leaves CRYPTO out; the Linux build has it
        if (this.host.chip !== "esp32") return this.cryptoModule();
        break;
      case "Wifi":
        if (this.host.wifi && this.host.chip === "esp32") return this.wifiModule();
        break;
    }
    throw this.error(`Module ${JSON.stringify(n)} not found`);
  }

  // ---------------------------------------------------------------------------------------
  // the globals

  private installGlobals(s: any): void {
    const host = this.host;
    const pins = host.pins;
    const api = <T extends (...a: any[]) => any>(f: T) => this.api(f);
    const esp32 = host.chip === "esp32";

    // console
    const print = api((...args: any[]) => this.print(formatPrint(args) + "\n"));
    s.print = print;
    s.console = { log: print, debug: print, info: print, warn: print, error: print, trace: print };

    // timers
    s.setTimeout = api((fn: any, ms?: any, ...args: any[]) => this.addTimer(fn, ms, args, false));
    s.setInterval = api((fn: any, ms?: any, ...args: any[]) => this.addTimer(fn, ms, args, true));
    s.clearTimeout = api((...args: any[]) => this.clearTimer("Timeout", args));
    s.clearInterval = api((...args: any[]) => this.clearTimer("Interval", args));
    s.changeInterval = api((id: any, ms: any) => {
      const t = this.timers.get(Number(id));
      if (!t) throw this.error("Unknown Interval");
      let delay = Number(ms);
      if (!(delay >= TIMER_MIN_MS)) delay = TIMER_MIN_MS;
      host.clock.clearTimeout(t.handle);
      t.intervalMs = delay;
      t.handle = host.clock.setTimeout(() => this.fire(Number(id), t), delay);
    });
    s.getTime = api(() => host.rtcNow() / 1000);
    s.setTime = api((seconds: any) => host.rtcSet(Number(seconds) * 1000));
    s.getSerial = api(() => host.serialNumber);

    // pins
    const toPin = (ref: any) => {
      const name = pinName(ref);
      if (!/^D\d+$/.test(name) || Number(name.slice(1)) >= PIN_COUNT) throw this.error(`Invalid pin: ${String(ref)}`);
      return name;
    };
    const pinApi = {
      digitalWrite: api((pin: any, value: any) => {
        const name = toPin(pin);
        host.touchPin(name, true);
        pins.digitalWrite(name, typeof value === "boolean" ? value : Number(value) !== 0 && !Number.isNaN(Number(value)));
        host.beforeEvent?.(); // a switched device may have started or stopped: trace it now
      }),
      digitalRead: api((pin: any) => pins.digitalRead(toPin(pin))),
      pinMode: api((pin: any, mode: any, _automatic?: any) => {
        const name = toPin(pin);
        host.touchPin(name, false);
        pins.pinMode(name, (mode ?? "auto") as PinMode);
      }),
      getPinMode: api((pin: any) => pins.mode(toPin(pin)) ?? "input"),
    };
    for (let i = 0; i < PIN_COUNT; i++) {
      const p = new EspruinoPin("D" + i, pinApi);
      this.pinObjects.push(p);
      s["D" + i] = p;
    }
    const pinObjects = this.pinObjects;
    s.Pin = function Pin(v: any) {
      try {
        const name = pinName(typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v);
        const m = /^D(\d+)$/.exec(name);
        return m && Number(m[1]) < PIN_COUNT ? pinObjects[Number(m[1])] : undefined;
      } catch {
        return undefined;
      }
    };
    s.digitalWrite = pinApi.digitalWrite;
    s.digitalRead = pinApi.digitalRead;
    s.pinMode = pinApi.pinMode;
    s.getPinMode = pinApi.getPinMode;
    s.analogRead = api((pin: any) => pins.analogRead(toPin(pin)));
    s.digitalPulse = api((pin: any, value: any, time: any) => {
      const name = toPin(pin);
      host.touchPin(name, true);
      const times = Array.isArray(time) || ArrayBuffer.isView(time) ? Array.prototype.slice.call(time).map(Number) : Number(time);
      pins.digitalPulse(name, !!value, times as number | number[]);
    });
    s.setWatch = api((fn: any, pin: any, options?: any) => {
      if (typeof fn !== "function" && typeof fn !== "string") throw this.error("Function or String not supplied!");
      const name = toPin(pin);
      const pinObj = pinObjects[Number(name.slice(1))];
      const offsetS = () => (host.rtcNow() - host.clock.now()) / 1000;
      const opts = typeof options === "object" && options ? { repeat: !!options.repeat, edge: options.edge ?? "both", debounce: options.debounce } : options;
      let id = 0;
      id = pins.setWatch(
        (e) => {
          if (!(opts && opts.repeat)) this.watches.delete(id);
          const off = offsetS();
          const ev = new this.realm.Object() as any;
          ev.state = e.state;
          ev.time = e.time + off;
          ev.lastTime = e.lastTime + off;
          ev.pin = pinObj;
          this.invoke(fn, undefined, [ev]);
        },
        name,
        opts,
      );
      this.watches.add(id);
      return id;
    });
    s.clearWatch = api((...args: any[]) => {
      if (args.length === 0) {
        for (const id of this.watches) pins.clearWatch(id);
        this.watches.clear();
        return;
      }
      const id = args[0];
      if (id === undefined) throw this.error("clearWatch(undefined) not allowed. Use clearWatch() instead");
      pins.clearWatch(Number(id));
      this.watches.delete(Number(id));
    });

    // buses
    s.Serial1 = this.serial1.api();
    if (this.bluetooth) {
      s.Bluetooth = this.bluetooth.api();
      this.ports.push(this.bluetooth);
      s.NRF = {
        on: api((event: any, fn: any) => {
          if (event === "disconnect" && typeof fn === "function") this.nrfDisconnect.push(fn);
        }),
      };
    }
    for (const port of ["Serial2", "Serial3"]) {
      const p = new SerialPort(this, port, host.uarts[port]);
      this.ports.push(p);
      s[port] = p.api();
    }
    this.ports.push(this.serial1);
    s.I2C1 = this.i2cApi(host.i2c);

    // modules and system objects
    s.require = api((name: any) => this.require(name));
    s.btoa = api((data: any) => Buffer.from(String(data), "latin1").toString("base64"));
    s.atob = api((data: any) => Buffer.from(String(data), "base64").toString("latin1"));
    s.E = this.eObject();
    if (esp32) s.ESP32 = this.esp32Object();
    s.process = {
      version: ESPRUINO_VERSION,
      env: {
        VERSION: ESPRUINO_VERSION,
        BOARD: esp32 ? "ESP32" : "LINUX",
        MODULES: esp32 ? "Flash,Storage,heatshrink,net,dgram,http,NetworkJS,Wifi,ESP32" : "timer,Flash,Storage,heatshrink,fs,net,dgram,tls,http,NetworkJS,TelnetServer,crypto",
        CONSOLE: "Serial1",
        STORAGE: host.storage.totalBytes,
      },
      memory: api((_gc?: any) => this.obj(this.checkMemory())),
      on: api((event: any, fn: any) => {
        if (typeof fn === "function") (this.processListeners[String(event)] ??= []).push(fn);
      }),
    };
    // load(): reset and run the saved code again (what a crew types to restart a node)
    s.load = api(() => {
      host.reset("software");
      throw HALT;
    });
  }

  private i2cApi(i2c: SimI2C): any {
    const flatten = (parts: any[]): Uint8Array => {
      const out: number[] = [];
      const add = (v: any) => {
        if (typeof v === "number") out.push(v & 0xff);
        else if (typeof v === "string") for (const b of fromLatin1(v)) out.push(b);
        else if (v && typeof v.length === "number") for (let i = 0; i < v.length; i++) add(v[i]);
        else if (v && typeof v === "object" && v.data !== undefined) for (let n = 0; n < (v.count ?? 1); n++) add(v.data);
      };
      for (const p of parts) add(p);
      return Uint8Array.from(out);
    };
    const addr = (a: any) => (typeof a === "object" && a ? Number(a.address) : Number(a));
    return {
      setup: this.api((options?: any) => i2c.setup(options)),
      writeTo: this.api((address: any, ...data: any[]) => i2c.writeTo(addr(address), flatten(data))),
      readFrom: this.api((address: any, quantity: any) => this.u8(i2c.readFrom(addr(address), Number(quantity)))),
    };
  }

  private eObject(): any {
    const host = this.host;
    const api = <T extends (...a: any[]) => any>(f: T) => this.api(f);
    const toBytes = (args: any[]): number[] => {
      const out: number[] = [];
      const add = (v: any) => {
        if (typeof v === "number") out.push(v & 0xff);
        else if (typeof v === "string") for (const b of fromLatin1(v)) out.push(b);
        else if (v && typeof v === "object" && "data" in v && !ArrayBuffer.isView(v) && !Array.isArray(v)) for (let n = 0; n < (v.count ?? 1); n++) add(v.data);
        else if (v && Object.prototype.toString.call(v) === "[object ArrayBuffer]") for (const b of new Uint8Array(v)) out.push(b);
        else if (v && typeof v.length === "number") for (let i = 0; i < v.length; i++) add(v[i]);
      };
      for (const a of args) add(a);
      return out;
    };
    return {
      getSizeOf: api((v: any, _depth?: any) => sizeOf(v)),
      enableWatchdog: api((seconds: any, isAuto?: any) => this.enableWatchdog(seconds, isAuto)),
      kickWatchdog: api(() => {
        if (!this.wdAuto) this.armWatchdog();
      }),
      toString: api((...args: any[]) => toLatin1(Uint8Array.from(toBytes(args)))),
      toUint8Array: api((...args: any[]) => this.u8(Uint8Array.from(toBytes(args)))),
      toArrayBuffer: api((s: any) => this.u8(fromLatin1(String(s))).buffer),
      CRC32: api((data: any) => crc32(Uint8Array.from(toBytes([data])))),
      on: api((event: any, fn: any) => {
        if (typeof fn === "function") (this.eListeners[String(event)] ??= []).push(fn);
      }),
      removeListener: api((event: any, fn: any) => {
        const l = this.eListeners[String(event)];
        if (l) this.eListeners[String(event)] = l.filter((x) => x !== fn);
      }),
      removeAllListeners: api((event?: any) => {
        if (event === undefined) this.eListeners = {};
        else delete this.eListeners[String(event)];
      }),
      emit: api((event: any, ...args: any[]) => {
        if (event === "power") host.firmwarePower?.(String(args[0]), !!args[1]);
        for (const fn of (this.eListeners[String(event)] ?? []).slice()) fn(...args);
      }),
      setPassword: api((pw?: any) => {
        this.password = pw === undefined ? undefined : String(pw);
      }),
      lockConsole: api(() => {
        if (this.password !== undefined) this.locked = true;
      }),
      setConsole: api((device?: any, options?: any) => {
        const name = device && typeof device === "object" ? device.name ?? device.toString?.() : device;
        this.consoleForced = !!(options && options.force);
        // another device (Serial2, "Telnet"): the REPL leaves Serial1 and Bluetooth, which is all the simulator shows
        this.setConsole(name === null || name === undefined ? null : String(name));
      }),
      getConsole: api(() => this.consoleDevice),
      setTimeZone: api((hours: any) => {
        this.tzMs = Number(hours) * 3_600_000 || 0;
      }),
      getTemperature: api(() => host.temperatureC()),
      getAnalogVRef: api(() => 3.3),
      getErrorFlags: api(() => this.array([] as string[])),
      hwRand: api(() => Math.floor(host.rng() * 4294967296) | 0),
      reboot: api(() => {
        host.reset("software");
        throw HALT;
      }),
    };
  }

  private esp32Object(): any {
    const host = this.host;
    const api = <T extends (...a: any[]) => any>(f: T) => this.api(f);
    return {
      deepSleep: api((us: any) => {
        host.deepSleep(Number(us));
        throw HALT;
      }),
      getWakeupCause: api(() => host.wakeCause),
      reboot: api(() => {
        host.reset("software");
        throw HALT;
      }),
      // no draw from host.rng here: the firmware reads BLE at boot, and a draw would shift every later random event
      getState: api(() =>
        this.obj({ sdkVersion: "v4.4.8", freeHeap: 83_000, BLE: !!host.ble?.on(), Wifi: true, minHeap: 62_000 }),
      ),
      // jswrap_esp32.c: stores the flag in NVS, jsfRemoveCodeFromFlash() (erases .varimage,
      // .bootcde, .bootrst: the firmware too), esp_restart()
      enableBLE: api((on: any) => {
        host.ble?.set(!!on);
        this.print("Erasing saved code.\nDone!\n");
        for (const f of [".varimage", ".bootcde", ".bootrst"]) host.storage.erase(f);
        host.reset("software");
        throw HALT;
      }),
    };
  }
}

function safeValue(o: any, key: string): any {
  const d = Object.getOwnPropertyDescriptor(o, key);
  return d && "value" in d ? d.value : undefined;
}

/**
 * An Espruino Serial port seen from the firmware: Serial1 is the console, Serial2/3 sit on a
 * SimUart. Data with no 'data' listener is buffered for read()/available() (1 KB, then dropped).
 */
class SerialPort {
  private listeners: any[] = [];
  private buffer = "";
  private attached = false;

  constructor(
    private boot: EspruinoBoot,
    readonly name: string,
    private uart: SimUart | undefined,
    private printer?: (text: string) => void,
  ) {
    if (uart) {
      // a fresh chip: the UART is not set up until the firmware says so
      uart.removeAllListeners();
      uart.baud = 0;
      uart.on("data", (text) => {
        if (this.attached) this.receive(text);
      });
      this.attached = true;
    }
  }

  receive(text: string): void {
    if (this.listeners.length) {
      for (const l of this.listeners.slice()) this.boot.invoke(l, undefined, [text]);
    } else {
      this.buffer = (this.buffer + text).slice(0, SERIAL_RX_BUFFER);
    }
  }

  detach(): void {
    this.attached = false;
    this.listeners = [];
    this.buffer = "";
    this.uart?.removeAllListeners();
  }

  listenerCount(): number {
    return this.listeners.length;
  }

  api(): any {
    const b = this.boot;
    const toText = (args: any[]) => {
      let out = "";
      for (const v of args) {
        if (typeof v === "number") out += String.fromCharCode(v & 0xff);
        else if (typeof v === "string") out += v;
        else if (v && typeof v.length === "number") out += toLatin1(Uint8Array.from(Array.prototype.slice.call(v), (x: any) => Number(x) & 0xff));
        else if (v && Object.prototype.toString.call(v) === "[object ArrayBuffer]") out += toLatin1(new Uint8Array(v));
      }
      return out;
    };
    const send = (text: string) => {
      if (this.printer) this.printer(text);
      else if (this.uart) this.uart.write(fromLatin1(text));
    };
    return {
      name: this.name,
      setup: b.api((baud?: any, options?: any) => {
        if (this.uart) this.uart.setup(Number(baud) || 9600, options);
      }),
      write: b.api((...args: any[]) => send(toText(args))),
      print: b.api((v: any) => send(typeof v === "string" ? v : formatValue(v))),
      println: b.api((v: any) => send((typeof v === "string" ? v : formatValue(v)) + "\r\n")),
      on: b.api((event: any, fn: any) => {
        if (event !== "data" || typeof fn !== "function") return;
        this.listeners.push(fn);
        if (this.buffer) {
          const pending = this.buffer;
          this.buffer = "";
          b.clock.setTimeout(() => this.receive(pending), 0);
        }
      }),
      removeListener: b.api((event: any, fn: any) => {
        if (event === "data") this.listeners = this.listeners.filter((l) => l !== fn);
      }),
      removeAllListeners: b.api((event?: any) => {
        if (event === undefined || event === "data") this.listeners = [];
      }),
      available: b.api(() => this.buffer.length),
      read: b.api((chars?: any) => {
        const n = chars === undefined ? this.buffer.length : Math.max(0, Number(chars));
        const out = this.buffer.slice(0, n);
        this.buffer = this.buffer.slice(n);
        return out;
      }),
      setConsole: b.api(() => {
        if (this.name === "Serial1" || this.name === "Bluetooth") (b as any).setConsole(this.name);
      }),
      toString: () => this.name,
    };
  }
}
