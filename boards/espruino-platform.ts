// The runtime's Platform built from Espruino's globals: the ESP32 build, or Espruino's own
// Linux build (no ESP32 or Wifi globals, host network, no deep sleep). The simulator runs
// this same code against its emulation of those globals.

import { selectorInstalled } from "../firmware/ota/boot.js";
import type { Platform, WakeCause } from "../firmware/platform.js";
import type { ConsolePort } from "../firmware/runtime/lock-guard.js";
import { EARLY_JOIN_GLOBAL } from "../firmware/uplink/early-join.js";
import { POWERED_AT_BOOT_GLOBAL } from "../firmware/board.js";
import { WOKE_GLOBAL } from "../firmware/runtime/energy.js";

/** what the wake prelude left in a global, handed to the firmware once (then null) */
function handOver(name: string): () => any {
  return function () {
    var v = global[name];
    global[name] = undefined;
    return v || null;
  };
}

/** ESP32.deepSleep takes an int32 of microseconds: about 35.8 min at most */
export const ESP32_MAX_DEEP_SLEEP_MS = Math.floor(2147483647 / 1000);
/** ESP32.getWakeupCause(): ESP_SLEEP_WAKEUP_TIMER */
const WAKEUP_TIMER = 4;

/** the copy of the firmware kept while ESP32.enableBLE erases .bootcde, and what puts it back */
const FW_COPY = "casanode.fw";

/** Storage file to file in 4 KB pieces: a whole bundle read at once would not fit in RAM */
function copyFile(s: StorageModule, from: string, to: string): void {
  var l = (s.read(from) || "").length;
  for (var o = 0; o < l; o += 4096) s.write(to, s.read(from, o, 4096) as string, o, l);
}

/** `profile`: its bleConsole turns the Bluetooth console device on */
export function espruinoPlatform(profile?: { bleConsole?: { on: boolean } }): Platform {
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
  var dgram: DgramModule | undefined;
  try {
    dgram = require("dgram");
  } catch (e) {
    // a build without it: the clock goes uncorrected between power-ons
  }
  return {
    storage: require("Storage"),
    net: require("net"),
    dgram: dgram,
    setTime: function (ms: number) {
      setTime(ms / 1000);
    },
    tls: tls,
    wifi: wifi,
    // without crypto (the stock ESP32 build) the commands' and the OTA code's own plain-JS one
    sha256: crypto
      ? function (data: string) {
          return E.toString(new Uint8Array((crypto as CryptoModule).SHA256(data)));
        }
      : undefined,
    crc32: function (data: string) {
      return E.CRC32(data) >>> 0;
    },
    otaSlot: typeof global.__ota === "string" ? global.__ota : "",
    earlyJoin: handOver(EARLY_JOIN_GLOBAL),
    poweredAtBoot: handOver(POWERED_AT_BOOT_GLOBAL),
    preludeAt: handOver(WOKE_GLOBAL),
    wakeCause: function () {
      return cause;
    },
    deepSleep: esp
      ? function (ms: number) {
          (esp as ESP32Module).deepSleep(Math.round(ms * 1000));
        }
      : undefined,
    maxDeepSleepMs: ESP32_MAX_DEEP_SLEEP_MS,
    // the Linux build restarts from its flash with load() (E.reboot() there does not return):
    // from a timeout, since load() called while boot code runs does nothing (measured on 2v29)
    reboot: function () {
      if (esp) esp.reboot();
      else setTimeout(load, 1);
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
    console: consolePort(E.getConsole ? E.getConsole() : "Serial1"),
    bluetooth: esp && profile && profile.bleConsole && profile.bleConsole.on ? consolePort("Bluetooth") : undefined,
    ble: esp
      ? {
          on: function () {
            return !!(esp as ESP32Module).getState().BLE;
          },
          // ESP32.enableBLE stores the flag, erases the saved code (Espruino's targets/esp32/jswrap_esp32.c:
          // jsfRemoveCodeFromFlash: .bootcde too) and restarts: a .boot0 (run before .bootcde,
          // jsflash.c jsfLoadBootCodeFromFlash) copies the firmware back, then erases itself.
          // With the OTA boot selector in .boot0 the firmware is in a slot (fw.a/fw.b), which
          // enableBLE leaves alone: nothing to keep, and .boot0 must never be rewritten then
          set: function (on: boolean) {
            var s = require("Storage");
            if (selectorInstalled(s)) return (esp as ESP32Module).enableBLE(on);
            // firmware not in .bootcde (sent to RAM, or save()d): the restart would lose it
            if (!s.read(".bootcde")) throw new Error("no .bootcde to keep");
            try {
              copyFile(s, ".bootcde", FW_COPY);
            } catch (e) {
              s.erase(FW_COPY); // flash full: no half copy left behind, and no switch
              throw e;
            }
            s.write(".boot0", "(function(s){if(!s.read('.bootcde'))(" + copyFile + ")(s,'" + FW_COPY + "','.bootcde');s.erase('" + FW_COPY + "');s.erase('.boot0')})(require('Storage'))");
            (esp as ESP32Module).enableBLE(on);
          },
        }
      : undefined,
    log: function (line: string) {
      print(line);
    },
    // the simulator listens (E.on("power")) to price time in state; on a board nobody does
    power: function (state: string, on: boolean) {
      (E as any).emit("power", state, on);
    },
  };
}

/** a console device for the console lock (firmware/runtime/lock.ts): the REPL's own (Serial1 on ESP32, USB on the Linux build), or Bluetooth */
function consolePort(name: string | null | undefined): ConsolePort | undefined {
  var port = name ? (global as any)[name] : undefined;
  if (!port || !port.on || !port.write) return undefined;
  var nrf = name === "Bluetooth" ? (global as any).NRF : undefined;
  return {
    port: port,
    closed: nrf
      ? function (fn: () => void) {
          nrf.on("disconnect", fn);
        }
      : undefined,
    // forced: neither Telnet nor a USB plug-in may move the REPL while it is locked or in use
    attach: function (on: boolean) {
      E.setConsole(on ? port : null, { force: true });
    },
  };
}
