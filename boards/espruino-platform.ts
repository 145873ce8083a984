// The runtime's Platform built from Espruino's globals: the ESP32 build, or Espruino's own
// Linux build (no ESP32 or Wifi globals, host network, no deep sleep). The simulator runs
// this same code against its emulation of those globals.

import { sha256 } from "../firmware/crypto/sha256.js";
import type { Platform, WakeCause } from "../firmware/platform.js";
import type { ConsolePort } from "../firmware/runtime/lock.js";

/** ESP32.deepSleep takes an int32 of microseconds: about 35.8 min at most */
export const ESP32_MAX_DEEP_SLEEP_MS = Math.floor(2147483647 / 1000);
/** ESP32.getWakeupCause(): ESP_SLEEP_WAKEUP_TIMER */
const WAKEUP_TIMER = 4;

export function espruinoPlatform(): Platform {
  var esp: ESP32Module | undefined = typeof ESP32 !== "undefined" ? ESP32 : undefined;
  var wifi: WifiModule | undefined, crypto: CryptoModule | undefined, cause: WakeCause = "power-on";
  if (esp) {
    try {
      wifi = require("Wifi");
    } catch (e) {
      // a build without Wi-Fi
    }
    try {
      if (esp.getWakeupCause() === WAKEUP_TIMER) cause = "deep-sleep";
    } catch (e) {
      // treat as a power-on
    }
  }
  try {
    crypto = require("crypto");
  } catch (e) {
    // the stock ESP32_IDF4 build leaves crypto out: the plain-JS SHA-256 checks commands then
  }
  var tls: NetModule | undefined;
  try {
    tls = require("tls");
  } catch (e) {
    // not built in (stock ESP32): a config asking for TLS gets a clear uplink error instead
  }
  return {
    storage: require("Storage"),
    net: require("net"),
    tls: tls,
    wifi: wifi,
    sha256: function (data: string) {
      return crypto ? E.toString(new Uint8Array(crypto.SHA256(data))) : sha256(data);
    },
    wakeCause: function () {
      return cause;
    },
    deepSleep: esp
      ? function (ms: number) {
          (esp as ESP32Module).deepSleep(Math.round(ms * 1000));
        }
      : undefined,
    maxDeepSleepMs: ESP32_MAX_DEEP_SLEEP_MS,
    reboot: function () {
      if (esp) esp.reboot();
      else if (E.reboot) E.reboot();
    },
    watchdog: {
      enable: function (seconds: number) {
        E.enableWatchdog(seconds, false);
      },
      kick: function () {
        E.kickWatchdog();
      },
    },
    memory: function () {
      return process.memory();
    },
    console: consolePort(),
    log: function (line: string) {
      print(line);
    },
    // the simulator listens (E.on("power")) to price time in state; on a board nobody does
    power: function (state: string, on: boolean) {
      (E as any).emit("power", state, on);
    },
  };
}

/** the REPL's own device (Serial1 on ESP32, USB on the Linux build), for the console lock (firmware/runtime/lock.ts) */
function consolePort(): ConsolePort | undefined {
  var name = E.getConsole ? E.getConsole() : "Serial1";
  var port = name ? (global as any)[name] : undefined;
  if (!port || !port.on || !port.write) return undefined;
  return {
    port: port,
    // forced: neither Telnet nor a USB plug-in may move the REPL while it is locked or in use
    attach: function (on: boolean) {
      E.setConsole(on ? port : null, { force: true });
    },
  };
}
