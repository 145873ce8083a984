// The console: which device the REPL is on (Serial1, Bluetooth or none), print(), lines typed
// at the REPL (Ctrl-C, echo-off, the password lock), and the REPL's moves when a BLE central
// connects or leaves.

import vm from "node:vm";
import type { EspruinoBoot } from "./context.js";
import { HALT } from "./halt.js";
import { formatPrint, formatThrown, formatValue } from "./format.js";
import { SerialPort } from "./serial.js";

/** the REPL interrupts code that runs longer than this (wall time), ms */
const REPL_TIMEOUT_MS = 2000;

export class BootConsole {
  /** Serial1: its write() goes out whether the REPL is on it or not */
  readonly serial1: SerialPort;
  /** ESP32: the Nordic UART console device (Espruino's src/jsdevices.c EV_BLUETOOTH, "Bluetooth") */
  readonly bluetooth: SerialPort | undefined;
  /** the REPL's device: "Serial1", "Bluetooth", or null when E.setConsole(null) took it off every device */
  private device: string | null = "Serial1";
  /** E.setConsole(.., {force: true}): a Bluetooth connect does not move the REPL */
  private forced = false;
  private bleConnected = false;
  /** NRF.on('disconnect') listeners */
  readonly nrfDisconnect: any[] = [];
  private password: string | undefined;
  private locked = false;

  constructor(private boot: EspruinoBoot) {
    const host = boot.host;
    this.serial1 = new SerialPort(boot, "Serial1", undefined, (text) => this.output(text));
    const ble = host.ble;
    // written with nobody connected, it goes nowhere (Espruino's src/jsdevices.c clears it)
    if (ble) this.bluetooth = new SerialPort(boot, "Bluetooth", undefined, (text) => this.bleConnected && boot.alive && ble.output(text));
  }

  /** what the REPL and print() send: to the console device, so nowhere while it is null (measured on 2v29) */
  print(text: string): void {
    if (this.device === "Serial1") this.output(text);
    else if (this.device === "Bluetooth" && this.bleConnected && this.boot.alive) this.boot.host.ble?.output(text);
  }

  private output(text: string): void {
    if (!this.boot.alive && !this.boot.halted) return;
    this.boot.host.output(text);
  }

  get current(): string | null {
    return this.device;
  }

  /** E.setConsole: Espruino says "-> new" on the old device and "<- old" on the new one */
  setConsole(name: string | null, forced = this.forced): void {
    this.forced = forced;
    if (name === this.device) return;
    this.print(`-> ${name}\n`);
    const old = this.device;
    this.device = name;
    this.print(`<- ${old}\n`);
  }

  setPassword(pw: string | undefined): void {
    this.password = pw;
  }

  /** E.lockConsole(): only with a password set */
  lock(): void {
    if (this.password !== undefined) this.locked = true;
  }

  get passwordLocked(): boolean {
    return this.locked;
  }

  /**
   * A BLE central connects to the Nordic UART service: Espruino moves the REPL to Bluetooth
   * unless the console is forced elsewhere (Espruino's targets/esp32/BLE/esp32_gatts_func.c, connect).
   */
  bleConnect(): void {
    if (!this.bluetooth || !this.boot.alive) throw new Error(`${this.boot.host.id}: Bluetooth is off (ESP32.enableBLE(false)) or not built in`);
    this.bleConnected = true;
    if (!this.forced) this.setConsole("Bluetooth");
  }

  /** the central went away: the REPL goes back to Serial1 unless forced (same file, disconnect) */
  bleDisconnect(): void {
    this.bleConnected = false;
    if (this.device === "Bluetooth" && !this.forced) this.setConsole("Serial1");
    // BLE_DISCONNECT_EVENT with the HCI reason (0x13: the remote user ended it)
    for (const fn of this.nrfDisconnect.slice()) this.boot.invoke(fn, undefined, [0x13]);
  }

  /** a line typed on Serial1 (or, connected, on Bluetooth) */
  line(line: string, device: "Serial1" | "Bluetooth" = "Serial1"): void {
    const boot = this.boot;
    if (device === "Bluetooth" && (!this.bluetooth || !this.bleConnected)) return;
    if (this.device !== device) {
      // the REPL is elsewhere: the bytes go to the device's on('data'), as typed
      if (boot.alive) (device === "Bluetooth" ? this.bluetooth! : this.serial1).receive(line + "\r");
      return;
    }
    // Espruino's REPL: Ctrl-C (0x03) clears what was typed so far; a leading DLE (0x10) turns
    // echo off for that line (the field tools send both)
    const cut = line.lastIndexOf("\x03");
    if (cut >= 0) line = line.slice(cut + 1);
    if (line.charCodeAt(0) === 0x10) line = line.slice(1);
    if (boot.halted) {
      this.print("Execution Interrupted\n");
      return;
    }
    if (!boot.alive) return;
    if (this.locked) {
      // Espruino's src/jsinteractive.c keeps the first 20 chars typed; Ctrl-C breaks nothing while locked
      if (this.password !== undefined && line.slice(0, 20) === this.password) {
        this.locked = false;
        this.print("\n  Logged in.\n");
      } else this.print("\n  Invalid password\npassword>");
      return;
    }
    if (!line.trim()) return;
    let result: any;
    boot.taint(); // a line may declare a top-level let: the context is not reused
    try {
      result = new vm.Script(line, { filename: "REPL" }).runInContext(boot.ctx, { timeout: REPL_TIMEOUT_MS, displayErrors: false });
    } catch (e) {
      if (e === HALT || !boot.alive) return;
      this.print(`Uncaught ${formatThrown(e)}\n`);
      boot.drain();
      return;
    }
    if (boot.alive) {
      this.print("=" + formatValue(result, { limit: true, dropQuotes: true }) + "\n");
      boot.drain();
    }
  }
}

/** print() and console.*: all to the console device */
export function installConsole(s: any, boot: EspruinoBoot): void {
  const print = boot.api((...args: any[]) => boot.console.print(formatPrint(args) + "\n"));
  s.print = print;
  s.console = { log: print, debug: print, info: print, warn: print, error: print, trace: print };
}
