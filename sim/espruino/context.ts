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
import type { VirtualClock } from "../clock.js";
import type { PinBank } from "../hw/pins.js";
import type { SimUart } from "../hw/uart.js";
import type { SimI2C } from "../hw/i2c.js";
import type { SimStorage } from "./storage.js";
import { StorageError } from "./storage.js";
import type { SimWifiNetworkLike } from "./wifi.js";
import type { EspruinoNet, EspruinoNetOptions, NetLatency } from "./net.js";
import { formatThrown } from "./format.js";
import { bootUsage, memoryFigures } from "./memory.js";
import { acquireRealm, drainMicrotasks, isVetted, releaseRealm, type Realm, type RealmLease } from "./realm.js";
import { esp32LexMs } from "../boot-time.js";
import { createRng, hashString } from "../random.js";
import { HALT } from "./halt.js";
import { Timers, installTimers } from "./timers.js";
import { Watchdog } from "./watchdog.js";
import { BootConsole, installConsole } from "./repl.js";
import { installPins } from "./pins.js";
import { SerialPort, installSerial } from "./serial.js";
import { installI2C } from "./i2c.js";
import { installE } from "./e.js";
import { installEsp32 } from "./esp32.js";
import { installSystem } from "./system.js";
import { Modules, installRequire } from "./require.js";

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
  /** round-trip draws (require-net.ts); default: rng */
  netRng?: () => number;
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
  /** the boot image this boot runs (and nothing else at boot): a context a boot of the same image left may be reused */
  realmKey?: string;
  /** 16383 on ESP32; 0 = resizable (Espruino's Linux build never runs out) */
  memoryTotal: number;
  serialNumber: string;
  temperatureC(): number;
  createNet?: (opts: EspruinoNetOptions) => EspruinoNet;
  /** network round trips and TLS handshake [DEFAULT_NET_LATENCY] */
  netLatency?: NetLatency;
  /** an NTP server answers (dgram to port 123, Wifi.setSNTP), always or at that true time [true] */
  ntp?: boolean | ((tMs: number) => boolean);
  /** firmware code is about to run (the node brings its energy account up to now) */
  beforeEvent?(): void;
  /** the firmware's own power-state report: E.emit("power", state, on) (boards/espruino-platform.ts) */
  firmwarePower?(state: string, on: boolean): void;
}

/** one piece of the API: puts its globals on the sandbox */
type Installer = (s: any, boot: EspruinoBoot) => void;

/** the globals, in the order they are installed; the ESP32 object only on ESP32 builds */
function installers(chip: BootHost["chip"]): Installer[] {
  return [installConsole, installTimers, installPins, installSerial, installI2C, installRequire, installE, ...(chip === "esp32" ? [installEsp32] : []), installSystem];
}

export class EspruinoBoot {
  readonly ctx: vm.Context;
  readonly realm: Realm;
  /** the context: it goes back to the pool when this boot is killed (realm.ts) */
  private readonly lease: RealmLease;
  alive = true;
  /** out of memory: the interpreter is stuck, the chip stays awake */
  halted = false;
  readonly timers = new Timers(this);
  readonly watchdog: Watchdog;
  readonly console: BootConsole;
  readonly modules = new Modules(this);
  /** setWatch ids */
  readonly watches = new Set<number>();
  /** every Serial port, to detach at the end and count listeners */
  readonly ports: SerialPort[] = [];
  /** E.on listeners by event */
  eListeners: { [event: string]: any[] } = {};
  /** process.on listeners by event (uncaughtException) */
  readonly processListeners: { [event: string]: any[] } = {};
  /** E.setTimeZone, ms east of UTC */
  tzMs = 0;
  /** the CPU is taken until then (virtual ms): work the simulator prices but runs in no time, such as lexing an evaluated module */
  busyUntil = 0;
  /** system events that came while the saved code was still running (event()) */
  private held: Array<[any, any[]]> | undefined = [];
  /** names and objects of the API itself: the memory estimate leaves them out */
  private baseline = new Set<string>();
  private skip = new Set<object>();
  private inHandler = false;

  constructor(readonly host: BootHost) {
    this.watchdog = new Watchdog(host.clock, host.chip, () => host.reset("watchdog"));
    this.console = new BootConsole(this);
    const bridge = { now: () => this.host.rtcNow(), tz: () => this.tzMs, evaluated: (code: string) => this.busy(esp32LexMs(code)) };
    const install = (s: any) => {
      for (const i of installers(host.chip)) i(s, this);
    };
    this.lease = acquireRealm(host.id, bridge, install, host.realmKey);
    ({ ctx: this.ctx, realm: this.realm } = this.lease);
    const sandbox = this.lease.sandbox;
    // the chip's random numbers (the MQTT client's reconnect jitter): drawn from the node and
    // the boot's instant, not the host's, so a seed repeats its run (none of the node's own draws is taken)
    this.realm.global.Math.random = createRng(hashString(host.id + "@" + host.clock.now()));
    for (const k of Object.keys(sandbox)) {
      if (this.lease.leftovers.has(k)) continue; // the image's own globals, from an earlier boot
      this.baseline.add(k);
      const v = sandbox[k];
      if (v && (typeof v === "object" || typeof v === "function")) this.skip.add(v);
    }
  }

  /** the interpreter works for ms more: timers due meanwhile fire when it is done */
  busy(ms: number): void {
    if (ms > 0) this.busyUntil = Math.max(this.busyUntil, this.host.clock.now()) + ms;
  }

  // ---------------------------------------------------------------------------------------
  // running firmware code

  /** run the saved code: `pre` (.boot0-3) each in turn, then the boot code (read after them); then E.on('init') handlers and onInit(), as Espruino does at boot */
  boot(main: vm.Script | undefined | (() => vm.Script | undefined), pre: vm.Script[] = []): void {
    for (const script of [...pre, main]) this.run(typeof script === "function" ? script() : script);
    this.booted();
  }

  /** run one script of the saved code at top level; an exception prints as Espruino prints it and ends the file (false) */
  run(script: vm.Script | undefined): boolean {
    if (!script || !this.alive) return this.alive;
    if (!isVetted(script)) this.taint();
    try {
      script.runInContext(this.ctx, { displayErrors: false });
      return true;
    } catch (e) {
      this.report(e);
      return false;
    }
  }

  /** the saved code has run: E.on('init') handlers, then onInit(), then the events it queued meanwhile */
  booted(): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (!this.alive) return;
    this.host.clock.setTimeout(() => {
      for (const [fn, args] of held) this.event(fn, args);
    }, 0);
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
      if (typeof fn === "string") {
        this.taint();
        vm.runInContext(fn, this.ctx);
      }
      else if (typeof fn === "function") fn.apply(thisArg, args);
    } catch (e) {
      this.report(e);
    }
    if (this.alive) this.drain();
  }

  /**
   * An event of the system (Wi-Fi): Espruino queues it and runs it when the interpreter is
   * idle, never while an image is still being lexed (a wake prelude's join answered early).
   */
  event(fn: any, args: any[]): void {
    if (this.held) {
      this.held.push([fn, args]);
      return;
    }
    const wait = this.busyUntil - this.host.clock.now();
    if (wait > 0) this.host.clock.setTimeout(() => this.event(fn, args), wait);
    else this.invoke(fn, undefined, args);
  }

  /** run promise callbacks the last call queued */
  drain(): void {
    try {
      drainMicrotasks(this.ctx);
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
    if (this.halted) this.taint(); // stopped mid-statement: not worth proving clean
    this.alive = false;
    this.halted = false;
    this.stopEverything();
    this.watchdog.stop();
    releaseRealm(this.lease);
  }

  /** code ran that may leave what a scrub cannot undo (a top-level let, const or class): the context is not reused */
  taint(): void {
    this.lease.tainted = true;
  }

  /** the interpreter stops (out of memory) but the chip stays on: the watchdog may still bite */
  halt(): void {
    if (!this.alive) return;
    this.alive = false;
    this.halted = true;
    this.stopEverything();
  }

  private stopEverything(): void {
    this.timers.clearAll();
    for (const id of this.watches) {
      try {
        this.host.pins.clearWatch(id);
      } catch {
        // already gone
      }
    }
    this.watches.clear();
    for (const p of this.ports) p.detach();
    this.modules.stop();
    this.eListeners = {};
  }

  owns(promise: unknown): boolean {
    return promise instanceof this.realm.Promise;
  }

  // ---------------------------------------------------------------------------------------
  // the console, as the node drives it (repl.ts)

  print(text: string): void {
    this.console.print(text);
  }

  bleConnect(): void {
    this.console.bleConnect();
  }

  bleDisconnect(): void {
    this.console.bleDisconnect();
  }

  consoleLine(line: string, device: "Serial1" | "Bluetooth" = "Serial1"): void {
    this.console.line(line, device);
  }

  get passwordLocked(): boolean {
    return this.console.passwordLocked;
  }

  // ---------------------------------------------------------------------------------------
  // memory (memory.ts)

  /** the JsVar estimate */
  memoryUsage(): number {
    const lists = Object.values(this.eListeners);
    return bootUsage({
      bundleBytes: this.host.bundleBytes,
      global: this.realm.global,
      baseline: this.baseline,
      skip: this.skip,
      timers: this.timers.held(),
      listeners: lists.flat(),
      serialListeners: this.ports.reduce((n, p) => n + p.listenerCount(), 0),
      watches: this.watches.size,
    });
  }

  memory(): EspruinoMemory {
    return memoryFigures(this.memoryUsage(), this.host.memoryTotal);
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

  timerCount(): number {
    return this.timers.count;
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
}
