// What the node runtime needs from the chip, injected by the board entry (boards/) so the
// runtime can be tested on Node with fakes and run unchanged under Espruino and the simulator.

import type { ConsolePort } from "./runtime/lock-guard.js";
import type { EarlyJoin } from "./uplink/early-join.js";

export type WakeCause = "power-on" | "deep-sleep" | "watchdog" | "reset";

/** Power states the energy model prices with the board's current figures. */
export type PowerState = "awake" | "radio" | string; // sensor states are "sensor:<name>"

export interface Platform {
  storage: StorageModule;
  net: NetModule;
  /** require("tls") where the Espruino build has it (same connect API as net); the stock ESP32 build does not */
  tls?: NetModule;
  /** require("dgram"): battery nodes' SNTP exchanges (uplink/sntp.ts); absent, the clock is corrected by nothing */
  dgram?: DgramModule;
  /** set the clock (Espruino's setTime, which keeps running timers' delays), ms */
  setTime?(ms: number): void;
  /** absent on boards without Wi-Fi (Espruino's Linux build uses the host's network) */
  wifi?: WifiModule;
  /**
   * raw SHA-256 of a binary string, as a binary string of 32 chars: the build's native one
   * (require("crypto")); absent, the commands' and the OTA code's plain-JS one (crypto/sha256.ts),
   * which a wake that only samples or uploads then does not lex
   */
  sha256?(data: string): string;
  /** CRC-32 of a binary string, unsigned (E.CRC32): over-the-air updates need it; absent, a node takes none */
  crc32?(data: string): number;
  /** the Storage file the boot selector ran this bundle from (global __ota, set by .boot0), "" for .bootcde */
  otaSlot?: string;
  /** the Wi-Fi join the wake prelude began at this boot, handed over once (null: none) */
  earlyJoin?(): EarlyJoin | null;
  /** when the wake prelude switched devices' supplies on at this boot, by device name; handed over once (null: none) */
  poweredAtBoot?(): { [device: string]: number } | null;
  /** when the wake prelude's first statement ran (the clock corrected), handed over once (null: no prelude) */
  preludeAt?(): number | null;
  /** why this boot happened */
  wakeCause(): WakeCause;
  /** sleep the chip for ms; the next boot starts the bundle afresh. Absent where the chip can't. */
  deepSleep?(ms: number): void;
  /** longest single deep sleep the chip allows, ms (ESP32: int32 us, ~35.8 min) */
  maxDeepSleepMs: number;
  reboot(): void;
  watchdog: { enable(seconds: number): void; kick(): void };
  memory(): EspruinoMemory;
  /** the REPL's serial device (Serial1 on ESP32) and a way to move the REPL off it while locked; undefined where there is none */
  console?: ConsolePort;
  /** the BLE console device (Espruino's "Bluetooth"), only where the board profile turns it on */
  bluetooth?: ConsolePort;
  /** the chip's Bluetooth switch (ESP32 only): on() reads it, set() stores it and restarts the chip */
  ble?: { on(): boolean; set(on: boolean): void };
  /** a line for whoever watches the console */
  log(line: string): void;
  /** report a power-state change for energy accounting (simulator and diag read it) */
  power(state: PowerState, on: boolean): void;
}
