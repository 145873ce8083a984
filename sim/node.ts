// A simulated CasaNode: one board's hardware (pins, UARTs, I2C, flash, Wi-Fi radio), its
// simulated devices, and the flashed bundle running in an emulated Espruino (see
// sim/espruino/context.ts), all on the shared virtual clock.
//
// Life cycle, as on the chip:
//   power on -> boot (~BOOT_MS) -> the bundle (.bootcde) runs, then E.on('init'), onInit()
//   ESP32.deepSleep(us) -> everything in RAM is gone (timers, sockets, listeners), MCU pins
//     float, the radio is off; `us` later the bundle boots again with getWakeupCause() = 4
//   ESP32.reboot()/E.reboot()/load(), watchdog -> the same, getWakeupCause() = 0
//   power cut -> like a reset, plus the RTC loses the time; a write in progress may tear
// Storage (flash) is the node's and survives all of it; the devices are physical and keep
// their own state (they lose power when their switch pin falls).
//
// Wake cause after a watchdog reset: ESP32.getWakeupCause() is 0, as after power-on (ESP-IDF
// reports UNDEFINED for every reset that is not a deep-sleep wake, and Espruino has no reset
// reason API); the ROM line the chip prints on the console says which reset it was
// ("rst:0x8 (TG1WDT_SYS_RESET)"), and stats.watchdogResets counts them.
//
// Time: the RTC of an ESP32 starts at 0 (1970) at power-on and keeps running through deep
// sleep and resets; firmware must set it (setTime, or Wifi.setSNTP with a string zone).
// `rtc: "synced"` starts it at the true time instead. The Linux build uses the host's time.

import vm from "node:vm";
import type { VirtualClock } from "./clock.js";
import type { WorldModel } from "./world/types.js";
import type { BoardProfile, DeviceSpec } from "../firmware/board.js";
import type { SimDevice } from "./devices/types.js";
import { PinBank } from "./hw/pins.js";
import { LatchedSupply } from "./hw/latch.js";
import { SimUart } from "./hw/uart.js";
import { SimI2C } from "./hw/i2c.js";
import { createDevice } from "./devices/index.js";
import { createReplayDevice } from "./replay.js";
import { createRng, hashString } from "./random.js";
import { ESP32_STORAGE_BYTES, LINUX_STORAGE_BYTES, SimStorage, fromLatin1 } from "./espruino/storage.js";
import { EspruinoBoot } from "./espruino/context.js";
import { vetScript } from "./espruino/realm.js";
import { HALT } from "./espruino/halt.js";
import { WAKE_TIMER, WAKE_UNDEFINED } from "./espruino/esp32.js";
import { ESP32_JSVARS } from "./espruino/memory.js";
import type { EspruinoNet, EspruinoNetOptions, NetLatency } from "./espruino/net.js";
import { BOOT_BASE_MS, esp32BootMsOf } from "./boot-time.js";
import { BOOT_FILE } from "../toolchain/storage.js";
import { untokenise } from "../toolchain/pretokenise.mjs";
import { parse as parseScript } from "acorn";

export interface SimWifiNetwork {
  ssid: string;
  password: string;
  /** false during a wifi-down fault */
  up(tMs: number): boolean;
}

export interface SimNodeOptions {
  /** node id, e.g. "air-01" */
  id: string;
  board: BoardProfile;
  /** dist/<board>.js as read in latin1: the pretokenised image flashed as .bootcde */
  bundle: string;
  /** written to Storage file "casanode.json" before the first boot (provisioning) */
  config?: object;
  clock: VirtualClock;
  world: WorldModel;
  /** seeded */
  rng: () => number;
  wifi: SimWifiNetwork;
  /** false during a broker-down fault (connects refused, sockets dropped) */
  brokerReachable?: (tMs: number) => boolean;
  /** bytes to play on that device's wire instead of its simulated twin */
  replay?: { [deviceName: string]: Uint8Array };
  /** everything the node prints on Serial1 */
  onConsole?: (text: string) => void;

  // ---- additions (defaults in brackets) ----
  /** ESP32: the chip's saved BLE switch at the first boot (NVS, kept across resets) [the profile's bleConsole.on: a
   * node already switched; a fresh chip (Espruino's default, on) is `true`, and a battery board's first boot then restarts once] */
  bleEnabled?: boolean;
  /** flash for Storage, bytes [896 KB on ESP32, 256 KB on Linux] */
  storageBytes?: number;
  /** throw on Storage names over 28 chars instead of cutting them as Espruino does [false] */
  strictStorageNames?: boolean;
  /** chance that a power cut landing on an awake node tears its next flash write [0.25] */
  tornWriteChance?: number;
  /** where the RTC starts at power-on ["power-on-zero" on ESP32: 1970, as the chip] */
  rtc?: "power-on-zero" | "synced";
  /**
   * how much fast the RTC runs in deep sleep, as a fraction [0]: the ESP32 times a deep sleep
   * on its 150 kHz RC oscillator (5 % by spec, measured 1-3.3 % fast: docs/hardware.md), so
   * it wakes early and its clock gains that share of every sleep. Awake, time is the crystal's.
   */
  rtcSleepFast?: number;
  /** Wi-Fi connect gives up and calls back "NO_AP_FOUND" after 3 failed scans (2v29 source) instead of never [false] */
  wifiReportsFailure?: boolean;
  /** reset/wake to the bundle running, ms [esp32BootMsOf(bundle): sim/boot-time.ts] */
  bootMs?: number;
  /** characters of console output kept in consoleText [65536] */
  consoleBufferChars?: number;
  /** net module factory (tests) [real sockets: sim/espruino/net.ts] */
  createNet?: (opts: EspruinoNetOptions) => EspruinoNet;
  /** network round trips and TLS handshake [DEFAULT_NET_LATENCY: 20-60 ms per round trip] */
  netLatency?: NetLatency;
  /** an NTP server answers, always or at that true time (require("dgram") to port 123, Wifi.setSNTP) [true] */
  ntp?: boolean | ((tMs: number) => boolean);
}

/** ESP32 reset to JS running for an empty bundle; a real bundle adds its parse time (sim/boot-time.ts) */
export const BOOT_MS = BOOT_BASE_MS;
/** a power cut armed to tear a write waits at most this long for one, ms */
export const TEAR_WAIT_MS = 60_000;
const CONFIG_FILE = "casanode.json";

export interface SimNodeStats {
  /** starts that were not deep-sleep wakes: power-on, resets (software, watchdog), power back after a cut */
  boots: number;
  /** deep-sleep wakes */
  wakes: number;
  /** exceptions that reached the top (printed "Uncaught ..."), out-of-memory stops */
  crashes: number;
  lastError?: string;
  awakeMs: number;
  asleepMs: number;
  radioMs: number;
  chargeMah: number;
  // additions
  /** time without power (power cuts) */
  offMs: number;
  watchdogResets: number;
  softwareResets: number;
  powerCuts: number;
  /** power cuts that landed inside a flash write */
  tornWrites: number;
  outOfMemory: number;
  /** deep sleeps asked for with more than int32 microseconds (see deepSleep) */
  deepSleepOverflows: number;
  /** process.memory().usage at the end of the last boot */
  memoryUsage?: number;
}

type PowerState = "off" | "booting" | "awake" | "asleep" | "halted";

// unhandled rejections of firmware promises are the node's "Uncaught" errors, not the host's
const liveNodes = new Set<SimNode>();
let rejectionHookInstalled = false;
function installRejectionHook(): void {
  if (rejectionHookInstalled) return;
  rejectionHookInstalled = true;
  const seen = new WeakSet<object>(); // some loaders deliver the same rejection twice
  process.on("unhandledRejection", (reason, promise) => {
    if (seen.has(promise)) return;
    seen.add(promise);
    for (const n of liveNodes) if (n.claimRejection(reason, promise)) return;
    if (reason === HALT) return;
    // a promise of some other realm (a node context that is gone): not the host's business
    if (Object.getPrototypeOf(promise) !== Promise.prototype) return;
    if (process.listenerCount("unhandledRejection") === 1) throw reason; // keep Node's default
  });
}

/** the top-level statements of a script, or undefined if it does not parse */
function parsed(source: string): { body: Array<{ type: string; kind?: string; end: number }> } | undefined {
  try {
    return parseScript(source, { ecmaVersion: "latest", sourceType: "script" }) as any;
  } catch {
    return undefined;
  }
}

const scriptCache = new Map<string, vm.Script>();
/** a Storage file's code as Espruino's lexer reads it: pretokenised images are read as the source they stand for */
function compiled(code: string, filename = ".bootcde", program?: ReturnType<typeof parsed>): vm.Script {
  let s = scriptCache.get(code);
  if (!s) {
    const source = untokenise(code);
    s = vetScript(new vm.Script(source, { filename }), program ?? parsed(source));
    if (scriptCache.size > 32) scriptCache.clear();
    scriptCache.set(code, s);
  }
  return s;
}

/** one top-level statement of the boot image and when it runs, ms after the reset */
interface BootStep {
  script: vm.Script;
  atMs: number;
}

/** by image, then by boot time: keyed on the image string itself, whose hash V8 keeps (a key made by joining them hashed the whole image at every boot) */
const stepCache = new Map<string, Map<number, BootStep[]>>();
/** the bytes of each flashed image, one array for every node flashed with it */
const imageCache = new Map<string, Uint8Array>();
function imageBytes(image: string): Uint8Array {
  let bytes = imageCache.get(image);
  if (!bytes) {
    if (imageCache.size >= 16) imageCache.clear();
    imageCache.set(image, (bytes = fromLatin1(image)));
  }
  return bytes;
}
/**
 * The boot image as Espruino runs it: statement by statement, each as soon as the lexer has
 * read it (src/jsparse.c). A bundle is one statement, run when the whole image is lexed; a wake
 * prelude before it (toolchain/wake-prelude.ts) runs almost at once. The lexing time between
 * is shared out by source length. Code that does not parse is one step (its error shows when it runs).
 */
function bootSteps(code: string, bootMs: number): BootStep[] {
  let byTime = stepCache.get(code);
  let steps = byTime?.get(bootMs);
  if (steps) return steps;
  const source = untokenise(code);
  const program = parsed(source);
  const ends: number[] = program ? program.body.map((n) => n.end) : [];
  if (ends.length < 2) steps = [{ script: compiled(code, BOOT_FILE, program), atMs: bootMs }];
  else {
    steps = [];
    let from = 0;
    for (let i = 0; i < ends.length; i++) {
      const to = i === ends.length - 1 ? source.length : ends[i];
      const atMs = i === ends.length - 1 ? bootMs : Math.round(BOOT_BASE_MS + ((bootMs - BOOT_BASE_MS) * to) / source.length);
      steps.push({ script: vetScript(new vm.Script(source.slice(from, to), { filename: BOOT_FILE }), { body: [program!.body[i]] }), atMs });
      from = to;
    }
  }
  if (!byTime) {
    if (stepCache.size > 32) stepCache.clear();
    stepCache.set(code, (byTime = new Map()));
  }
  byTime.set(bootMs, steps);
  return steps;
}

/** C's int from a JS number, as Espruino's "int" parameters convert it (low 32 bits of the truncated value) */
export function toInt32(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Number(BigInt.asIntN(32, BigInt(Math.trunc(x))));
}

export class SimNode {
  readonly id: string;
  readonly devices: { [name: string]: SimDevice } = {};
  /** the devices' entries, made once: updateEnergy runs before every event */
  private deviceList: Array<[string, SimDevice]> = [];
  /** latched supply switches (DeviceSpec.power.offPin): they keep their state through deep sleep */
  private readonly latches: LatchedSupply[] = [];
  readonly storage: SimStorage;
  private ble: boolean;
  private bleListener: ((text: string) => void) | undefined;
  readonly stats: SimNodeStats = {
    boots: 0, wakes: 0, crashes: 0, awakeMs: 0, asleepMs: 0, radioMs: 0, chargeMah: 0,
    offMs: 0, watchdogResets: 0, softwareResets: 0, powerCuts: 0, tornWrites: 0, outOfMemory: 0, deepSleepOverflows: 0,
  };
  /** power-state changes the node really went through (hardware view): "awake", "radio", "sensor:<name>", "power-cut" */
  readonly trace: Array<{ t: number; state: string; on: boolean }> = [];
  /** what the firmware itself reported with E.emit("power", state, on), for comparison with the trace */
  readonly reported: Array<{ t: number; state: string; on: boolean }> = [];
  readonly pins: PinBank;
  readonly uarts: { [port: string]: SimUart } = {};
  readonly i2c: SimI2C;
  readonly board: BoardProfile;

  private clock: VirtualClock;
  private opts: SimNodeOptions;
  private boot: EspruinoBoot | undefined;
  private state: PowerState = "off";
  private radioOn = false;
  private lastEnergyT: number;
  private sensorOn = new Map<string, boolean>();
  private nodeTimer: number | undefined;
  private tearTimer: number | undefined;
  private pendingCutMs: number | undefined;
  private wakeCause = WAKE_UNDEFINED;
  private rtcOffsetMs = 0;
  private touched = new Map<string, boolean>();
  private consoleListeners = new Set<(text: string) => void>();
  private consoleBuf = "";
  private consoleMax: number;
  private started = false;
  private stopped = false;
  private rng: () => number;
  /** network round trips draw from their own stream: how many a wake makes must not shift the node's other random events */
  private netRng: () => number;
  private bootCode?: string;
  private bootMsOfBundle = 0;
  /** virtual time of the last reset or wake */
  private resetAt = 0;
  private ip: string;
  private mac: string;
  private rssiDbm: number;

  constructor(opts: SimNodeOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.board = opts.board;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.lastEnergyT = this.clock.now();
    this.consoleMax = opts.consoleBufferChars ?? 65536;
    this.ble = opts.bleEnabled ?? !!opts.board.bleConsole?.on;
    const esp32 = opts.board.chip === "esp32";
    this.storage = new SimStorage({
      sizeBytes: opts.storageBytes ?? (esp32 ? ESP32_STORAGE_BYTES : LINUX_STORAGE_BYTES),
      strictNames: opts.strictStorageNames,
      print: (text) => this.boot?.print(text),
    });
    this.pins = new PinBank(this.clock);
    this.i2c = new SimI2C("I2C1");
    for (const port of ["Serial2", "Serial3"]) this.uarts[port] = new SimUart(port, this.clock);
    const h = hashString(opts.id);
    this.ip = `192.168.4.${10 + (h % 240)}`;
    this.mac = ["30", "ae", "a4", ((h >>> 16) & 0xff).toString(16), ((h >>> 8) & 0xff).toString(16), (h & 0xff).toString(16)].map((x) => x.padStart(2, "0")).join(":");
    this.rssiDbm = -55 - Math.round(this.rng() * 30);
    this.netRng = createRng(Math.floor(this.rng() * 4294967296));

    // flashing and provisioning: not counted as wear
    this.storage.flashShared(BOOT_FILE, imageBytes(opts.bundle));
    if (opts.config !== undefined) this.storage.write(CONFIG_FILE, JSON.stringify(opts.config));
    this.storage.bytesWritten = 0;

    for (const spec of opts.board.devices) this.devices[spec.name] = this.makeDevice(spec);
    for (const name of Object.keys(this.devices)) this.sensorOn.set(name, false);
    this.deviceList = Object.entries(this.devices);
  }

  // ---------------------------------------------------------------------------------------
  // the agreed API

  /** power on: first boot */
  start(): void {
    if (this.started) return;
    this.started = true;
    liveNodes.add(this);
    installRejectionHook();
    this.powerOn();
  }

  /**
   * Cut the power now for offMs. If the node is awake, the cut may land inside a flash write
   * (chance tornWriteChance, or force it with {tear: true}): the node then dies at its next
   * Storage write, which is left torn (what was programmed stays, the rest 0xFF).
   */
  powerCut(offMs: number, opts: { tear?: boolean } = {}): void {
    if (this.stopped) return;
    if (!this.started) this.start();
    if (this.pendingCutMs !== undefined) return this.cutNow(offMs); // a second cut while one waits: now
    const awake = this.state === "awake" || this.state === "booting";
    const tear = opts.tear ?? (awake && this.rng() < (this.opts.tornWriteChance ?? 0.25));
    if (tear && this.state === "awake" && this.boot) {
      this.pendingCutMs = offMs;
      this.storage.armTear(this.rng, () => {
        this.stats.tornWrites++;
        this.cutNow(offMs);
        throw HALT; // the firmware's write never returns
      });
      this.tearTimer = this.clock.setTimeout(() => {
        this.tearTimer = undefined;
        this.cutNow(offMs); // no write came: an ordinary cut
      }, TEAR_WAIT_MS);
      return;
    }
    this.cutNow(offMs);
  }

  /** ESP32.enableBLE's saved flag (NVS: kept across resets and power cuts) */
  get bleEnabled(): boolean {
    return this.ble;
  }

  /**
   * A BLE central (a phone) connects to the node's Nordic UART console. Throws when the chip's
   * Bluetooth is off or the node is not awake (asleep it does not advertise).
   */
  bleConnect(onText: (text: string) => void): { send(line: string): void; close(): void } {
    const boot = this.boot;
    if (this.board.chip !== "esp32" || !this.ble) throw new Error(`${this.id}: Bluetooth is off (ESP32.enableBLE(false))`);
    if (!boot || this.state !== "awake") throw new Error(`${this.id}: not advertising (${this.state})`);
    this.updateEnergy();
    this.bleListener = onText;
    boot.bleConnect();
    return {
      send: (line: string) => {
        // a reset drops the link
        if (this.boot !== boot || this.bleListener !== onText) return;
        this.updateEnergy();
        boot.consoleLine(String(line).replace(/[\r\n]+$/, ""), "Bluetooth");
      },
      close: () => {
        if (this.bleListener !== onText) return;
        this.bleListener = undefined;
        if (this.boot === boot) boot.bleDisconnect();
      },
    };
  }

  /** a line typed on Serial1 (the REPL, or the firmware's own console) */
  consoleInput(line: string): void {
    if (this.state !== "awake" && this.state !== "halted") return; // asleep or off: nobody reads the UART
    this.updateEnergy();
    this.boot?.consoleLine(String(line).replace(/[\r\n]+$/, ""));
  }

  /** integrate current up to clock.now() */
  updateEnergy(): void {
    const now = this.clock.now();
    const dt = now - this.lastEnergyT;
    if (dt > 0) {
      const b = this.board.currentMa;
      let ma = 0;
      if (this.state !== "off") {
        ma = this.state === "asleep" ? b.sleep : b.awake;
        if (this.radioOn) ma += b.radio;
        for (const [, d] of this.deviceList) ma += d.currentMa();
      }
      this.stats.chargeMah += (ma * dt) / 3_600_000;
      if (this.state === "off") this.stats.offMs += dt;
      else if (this.state === "asleep") this.stats.asleepMs += dt;
      else this.stats.awakeMs += dt;
      if (this.radioOn) this.stats.radioMs += dt;
      this.lastEnergyT = now;
    }
    for (const [name, d] of this.deviceList) {
      const on = this.state !== "off" && d.active();
      if (on !== this.sensorOn.get(name)) {
        this.sensorOn.set(name, on);
        this.trace.push({ t: now, state: "sensor:" + name, on });
      }
    }
  }

  /** tear down sockets and timers at the end of a run */
  stop(): void {
    if (this.stopped) return;
    this.updateEnergy();
    this.stopped = true;
    this.endBoot();
    this.cancelNodeTimers();
    this.storage.disarmTear();
    liveNodes.delete(this);
  }

  // ---------------------------------------------------------------------------------------
  // additions

  /** what the node printed lately (the last consoleBufferChars) */
  get consoleText(): string {
    return this.consoleBuf;
  }

  /** another reader of the console (a TCP console); returns the remover */
  addConsoleListener(fn: (text: string) => void): () => void {
    this.consoleListeners.add(fn);
    return () => this.consoleListeners.delete(fn);
  }

  /** "off" | "booting" | "awake" | "asleep" | "halted" (out of memory: stuck awake) */
  get powerState(): PowerState {
    return this.state;
  }

  get radio(): boolean {
    return this.radioOn;
  }

  /** the RTC as the firmware sees it (Date.now()), ms */
  rtcNow(): number {
    return this.clock.now() + this.rtcOffsetMs;
  }

  /** process.memory() of the running boot, or undefined while it does not run */
  memory(): EspruinoMemory | undefined {
    return this.boot && this.boot.alive ? this.boot.memory() : undefined;
  }

  /** the running boot's context (tests, diagnostics) */
  get context(): vm.Context | undefined {
    return this.boot?.alive ? this.boot.ctx : undefined;
  }

  /** number of firmware timers pending in the running boot */
  timerCount(): number {
    return this.boot?.alive ? this.boot.timerCount() : 0;
  }

  /** @internal: a firmware promise rejection nobody handled */
  claimRejection(reason: unknown, promise: unknown): boolean {
    const b = this.boot;
    if (!b || !b.owns(promise)) return false;
    b.unhandledRejection(reason);
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // power states

  private powerOn(): void {
    this.updateEnergy();
    if (this.state === "off" && this.stats.powerCuts > 0) this.trace.push({ t: this.clock.now(), state: "power-cut", on: false });
    // the RTC starts from zero (1970) on an ESP32; Linux uses the host clock
    this.rtcOffsetMs = this.board.chip === "esp32" && (this.opts.rtc ?? "power-on-zero") === "power-on-zero" ? -this.clock.now() : 0;
    this.startBoot(WAKE_UNDEFINED, "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", false);
  }

  /** reset/wake to the bundle running: grows with the bundle (Espruino lexes it all at boot) */
  get bootMs(): number {
    if (this.opts.bootMs !== undefined) return this.opts.bootMs;
    // what .bootcde holds now; a bundle the OTA selector (.boot0) evaluates is priced as it runs
    const code = this.storage.read(BOOT_FILE) ?? "";
    if (code !== this.bootCode) {
      this.bootCode = code;
      this.bootMsOfBundle = esp32BootMsOf(code);
    }
    return this.bootMsOfBundle;
  }

  private startBoot(cause: number, romLine: string, wake: boolean): void {
    this.updateEnergy();
    this.setState("booting");
    this.wakeCause = cause;
    this.cancelNodeTimers();
    this.resetAt = this.clock.now();
    this.nodeTimer = this.clock.setTimeout(() => {
      this.nodeTimer = undefined;
      if (this.board.chip === "esp32") this.output(romLine + "\n");
      this.runBundle(wake);
    }, this.bootStepsNow()[0]?.atMs ?? this.bootMs);
  }

  /** .bootcde's statements and when they run; none with no .bootcde; one, at bootMs, for a fixed bootMs */
  private bootStepsNow(): BootStep[] {
    const code = this.storage.read(BOOT_FILE);
    if (code === undefined) return [];
    return this.opts.bootMs !== undefined ? [{ script: compiled(code), atMs: this.bootMs }] : bootSteps(code, this.bootMs);
  }

  private runBundle(wake: boolean): void {
    this.updateEnergy();
    if (wake) this.stats.wakes++;
    else this.stats.boots++;
    this.setState("awake");
    const bootFiles = [0, 1, 2, 3].map((i) => this.storage.read(`.boot${i}`));
    // a boot of the image alone (no .boot0-3) may take a context a boot of the same image left
    const image = this.storage.read(BOOT_FILE);
    const alone = bootFiles.every((c) => c === undefined);
    const boot = new EspruinoBoot({ ...this.bootHost(), realmKey: alone ? image : undefined });
    this.boot = boot;
    // jsfLoadBootCodeFromFlash: .boot0 ... .boot3 first, then .bootcde (read after them: a
    // .boot file may write it)
    bootFiles.forEach((c, i) => {
      if (c !== undefined) boot.run(compiled(c, `.boot${i}`));
    });
    const steps = this.bootStepsNow(), resetAt = this.resetAt;
    const runFrom = (i: number): void => {
      for (; i < steps.length && boot.alive; i++) {
        const wait = resetAt + steps[i].atMs - this.clock.now();
        if (wait > 0) {
          // the lexer reads on: nothing else runs before the last statement has (timers, input wait)
          boot.busyUntil = Math.max(boot.busyUntil, resetAt + steps[steps.length - 1].atMs);
          const next = i;
          this.nodeTimer = this.clock.setTimeout(() => {
            this.nodeTimer = undefined;
            runFrom(next);
          }, wait);
          return;
        }
        if (!boot.run(steps[i].script)) break;
      }
      boot.booted();
      if (boot.alive) {
        try {
          this.stats.memoryUsage = boot.memory().usage;
        } catch {
          // the estimate must never take the node down
        }
      }
    };
    runFrom(0);
  }

  private endBoot(): void {
    const b = this.boot;
    this.boot = undefined;
    this.bleListener = undefined; // the chip resets or sleeps: the BLE link drops
    if (b) b.kill();
    this.setRadio(false);
    this.releaseHardware();
  }

  private deepSleep(us: number): void {
    this.updateEnergy();
    if (this.pendingCutMs !== undefined) return this.cutNow(this.pendingCutMs); // the cut lands now
    const v = toInt32(us);
    if (v !== Math.trunc(us)) this.stats.deepSleepOverflows++;
    this.endBoot();
    this.setState("asleep");
    this.cancelNodeTimers();
    // ESP32.deepSleep takes a C int: more than 2^31-1 us wraps; a negative int becomes a huge
    // uint64 in esp_sleep_enable_timer_wakeup and the chip sleeps for over a year (never, here)
    if (v < 0) return;
    // a fast RTC: the chip wakes early, and its clock has counted the whole sleep asked for
    const asked = v / 1000, slept = asked / (1 + (this.opts.rtcSleepFast ?? 0));
    this.nodeTimer = this.clock.setTimeout(() => {
      this.nodeTimer = undefined;
      this.rtcOffsetMs += asked - slept;
      this.startBoot(WAKE_TIMER, "rst:0x5 (DEEPSLEEP_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", true);
    }, slept);
  }

  private reset(cause: "software" | "watchdog"): void {
    this.updateEnergy();
    if (this.pendingCutMs !== undefined) return this.cutNow(this.pendingCutMs);
    if (cause === "watchdog") {
      this.stats.watchdogResets++;
      this.stats.lastError = "watchdog reset";
      this.output("\n");
    } else this.stats.softwareResets++;
    this.endBoot();
    const rom = cause === "watchdog" ? "rst:0x8 (TG1WDT_SYS_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)" : "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)";
    this.startBoot(WAKE_UNDEFINED, rom, false);
  }

  private cutNow(offMs: number): void {
    this.updateEnergy();
    this.pendingCutMs = undefined;
    if (this.tearTimer !== undefined) this.clock.clearTimeout(this.tearTimer);
    this.tearTimer = undefined;
    this.storage.disarmTear();
    const wasOff = this.state === "off";
    this.endBoot();
    this.cancelNodeTimers();
    for (const l of this.latches) l.powerLost();
    if (!wasOff) {
      this.stats.powerCuts++;
      this.setState("off");
      this.trace.push({ t: this.clock.now(), state: "power-cut", on: true });
    }
    this.nodeTimer = this.clock.setTimeout(() => {
      this.nodeTimer = undefined;
      this.powerOn();
    }, Math.max(0, offMs));
  }

  private outOfMemory(usage: number): void {
    this.stats.outOfMemory++;
    this.stats.crashes++;
    this.stats.lastError = `Out of Memory (${usage} of ${ESP32_JSVARS} vars)`;
    this.setRadio(false);
    this.setState("halted"); // the chip stays awake, the code is stuck: only the watchdog or a cut helps
  }

  private setState(s: PowerState): void {
    const wasAwake = this.state === "booting" || this.state === "awake" || this.state === "halted";
    const isAwake = s === "booting" || s === "awake" || s === "halted";
    this.state = s;
    if (wasAwake !== isAwake) this.trace.push({ t: this.clock.now(), state: "awake", on: isAwake });
  }

  private setRadio(on: boolean): void {
    if (on === this.radioOn) return;
    this.updateEnergy();
    this.radioOn = on;
    this.trace.push({ t: this.clock.now(), state: "radio", on });
  }

  private releaseHardware(): void {
    for (const name of this.touched.keys()) {
      try {
        this.pins.release(name); // the pad floats to its pull, as after a chip reset
      } catch {
        // a device listener failed: the pin is released anyway
      }
    }
    this.touched.clear();
    for (const u of Object.values(this.uarts)) {
      u.removeAllListeners();
      u.baud = 0;
    }
    this.i2c.configured = false;
    this.updateEnergy();
  }

  private cancelNodeTimers(): void {
    if (this.nodeTimer !== undefined) this.clock.clearTimeout(this.nodeTimer);
    this.nodeTimer = undefined;
  }

  private output(text: string): void {
    if (!text) return;
    this.consoleBuf += text;
    if (this.consoleBuf.length > this.consoleMax) this.consoleBuf = this.consoleBuf.slice(-this.consoleMax);
    this.opts.onConsole?.(text);
    for (const l of this.consoleListeners) {
      try {
        l(text);
      } catch {
        // a console reader that fails must not stop the node
      }
    }
  }

  private makeDevice(spec: DeviceSpec): SimDevice {
    const bus = spec.bus;
    if (spec.power?.offPin !== undefined) {
      // the twin is supplied from the latch's output, not straight from a pin
      const latch = new LatchedSupply(this.pins, spec.power.pin, spec.power.offPin, spec.name);
      this.latches.push(latch);
      spec = { ...spec, power: { pin: latch.net, activeHigh: true } };
    }
    const ctx = {
      clock: this.clock,
      pins: this.pins,
      uart: bus.kind === "serial" ? this.uarts[bus.port] : undefined,
      i2c: bus.kind === "i2c" ? this.i2c : undefined,
      spec,
      world: this.opts.world,
      rng: createRng(Math.floor(this.rng() * 4294967296)),
    };
    const capture = this.opts.replay?.[spec.name];
    if (capture) return createReplayDevice(ctx, capture);
    return createDevice(ctx);
  }

  private bootHost() {
    const esp32 = this.board.chip === "esp32";
    return {
      id: this.id,
      chip: this.board.chip,
      clock: this.clock,
      pins: this.pins,
      uarts: this.uarts,
      i2c: this.i2c,
      storage: this.storage,
      rng: this.rng,
      netRng: this.netRng,
      wifi: esp32 ? { network: this.opts.wifi, ip: this.ip, mac: this.mac, rssiDbm: this.rssiDbm, reportsFailure: this.opts.wifiReportsFailure } : undefined,
      brokerReachable: (t: number) => (this.opts.brokerReachable ? this.opts.brokerReachable(t) : true),
      wakeCause: this.wakeCause,
      rtcNow: () => this.rtcNow(),
      rtcSet: (ms: number) => {
        this.rtcOffsetMs = ms - this.clock.now();
      },
      rtcSync: () => {
        this.rtcOffsetMs = 0;
      },
      output: (text: string) => this.output(text),
      ble: esp32
        ? {
            on: () => this.ble,
            set: (on: boolean) => {
              this.ble = on;
            },
            output: (text: string) => this.bleListener?.(text),
          }
        : undefined,
      radio: (on: boolean) => this.setRadio(on),
      deepSleep: (us: number) => this.deepSleep(us),
      reset: (cause: "software" | "watchdog") => this.reset(cause),
      uncaught: (message: string) => {
        this.stats.crashes++;
        this.stats.lastError = message;
      },
      outOfMemory: (usage: number) => this.outOfMemory(usage),
      touchPin: (name: string, drove: boolean) => {
        this.updateEnergy();
        this.touched.set(name, drove || this.touched.get(name) === true);
      },
      bundleBytes: this.storage.read(BOOT_FILE)?.length ?? 0,
      memoryTotal: esp32 ? ESP32_JSVARS : 0,
      serialNumber: this.mac.replace(/:/g, ""),
      temperatureC: () => this.opts.world.temperatureC(this.clock.now()) + 12, // the die runs warmer than the air
      createNet: this.opts.createNet,
      netLatency: this.opts.netLatency,
      ntp: this.opts.ntp,
      beforeEvent: () => this.updateEnergy(),
      firmwarePower: (state: string, on: boolean) => {
        if (this.reported.length < 100_000) this.reported.push({ t: this.clock.now(), state, on });
      },
    };
  }
}
