// The node's boot: restore state, read and validate the config, decide on safe mode, start
// the watchdog and the scheduler (runtime/cycle.ts). The board entry (boards/<name>.ts) builds the Platform and
// the drivers, calls startNode and puts the returned console on global.casanode.
// Firmware code: ES5, Espruino subset.

import type { Platform } from "./platform.js";
import type { BoardProfile } from "./board.js";
import type { Sensor, Actuator } from "../drivers/types.js";
import { FIRMWARE_VERSION, CONFIG_FILE, mergeConfig, defaultConfig, layeredConfig, isObj } from "./config.js";
import type { ConfigResult } from "./config-check.js";
import type { NodeConfig } from "./config.js";
import { Store, checksum, adler32, useNativeCrc } from "./runtime/store.js";
import { EnergyLedger, PRE_JS_MS } from "./runtime/energy.js";
import { Scheduler } from "./runtime/cycle.js";
import { savePlanFile } from "./runtime/plan-file.js";
import { RTC_FILE } from "./runtime/rtc-rate.js";
import type { Runtime, LampControl, NodeState, RelayHooks, LdenHooks, WarmAsleepHooks } from "./runtime/state.js";
import { startWatchdog } from "./runtime/safemode.js";
import { powerOnCode } from "./runtime/power-on-lazy.js";
import { commandsApi } from "./runtime/commands-lazy.js";
import { COMMANDS_BUILD } from "./runtime/commands-load.js";
import { lazyConsole, consoleApi } from "./runtime/console-lazy.js";
import { otaBoot } from "./ota/lazy.js";
import { guardConsole } from "./runtime/lock-guard.js";
import type { ConsoleGuard, ConsolePort } from "./runtime/lock-guard.js";
import type { NodeConsole } from "./runtime/console.js";

export interface NodeOptions {
  /** makes the streetlight controller for the board's relay (boards with a lamp only, so no other bundle carries it) */
  lamp?: (relay: Actuator, config: NodeConfig) => LampControl;
  /** the relay's part in the cycle (firmware/streetlight/hook.ts relayHooks): required with actuators, so no other bundle carries it */
  relay?: RelayHooks;
  /** the day levels (firmware/runtime/lden.ts ldenHooks): a board with a sound level meter hands them over, so no other bundle carries them */
  lden?: LdenHooks;
  /**
   * sleeping through a latched sensor's warm-up (firmware/runtime/warm-asleep.ts warmAsleepHooks):
   * a board with a device's sleepWarmingMs hands it over (a bundle test checks), or nothing would
   * switch the latch off before a deep sleep
   */
  warmAsleep?: WarmAsleepHooks;
}

/** casanode.json as text -> parsed object, or why not */
function readConfigFile(storage: StorageModule): { text: string; raw: any; error: string } {
  var text: string | undefined;
  try {
    text = storage.read(CONFIG_FILE);
  } catch (e) {
    return { text: "", raw: undefined, error: CONFIG_FILE + ": unreadable (" + e + ")" };
  }
  if (text === undefined) return { text: "", raw: undefined, error: "" };
  try {
    return { text: text, raw: JSON.parse(text), error: "" };
  } catch (e) {
    return { text: text, raw: undefined, error: CONFIG_FILE + " is not valid JSON (" + text.length + " bytes)" };
  }
}

/**
 * The config check (config-check.ts validateConfig), skipped for a config that passed it before:
 * the same layered config, under the same rules: the commands' code that holds them (its image's
 * hash, so a rebuild of the same version counts too), the same board profile, the same version
 * (the few limits the part takes from the bundle: queue capacity, id length) (st.cfgOk). The
 * check is in the commands' part, about 0.2 s of lexing on an ESP32, at every wake otherwise.
 */
function checkedConfig(st: NodeState, raw: any, board: BoardProfile): ConfigResult {
  var key = "";
  if (raw === undefined || isObj(raw)) {
    var c = layeredConfig(raw, board);
    key = FIRMWARE_VERSION + " " + COMMANDS_BUILD + " " + checksum(JSON.stringify(board)) + " " + checksum(JSON.stringify(c));
    if (st.cfgOk === key) return { ok: true, config: c };
  }
  var v = commandsApi().validateConfig(raw, board);
  st.cfgOk = v.ok ? key : undefined;
  return v;
}

/** a bug at boot must not leave a battery node awake for ever: say why, keep the console a minute, retry later */
const BOOT_FAIL_CONSOLE_MS = 60000;
const BOOT_FAIL_SLEEP_MS = 10 * 60000;

export function startNode(platform: Platform, board: BoardProfile, sensors: Sensor[], actuators?: Actuator[], opts?: NodeOptions): NodeConsole {
  try {
    return boot(platform, board, sensors, actuators, opts);
  } catch (e) {
    var why = "CasaNode boot failed: " + e;
    platform.log(why);
    if (platform.deepSleep) {
      setTimeout(function () {
        // the prelude would take the last sleep's correction off the clock again
        savePlanFile(platform.storage, RTC_FILE, null);
        (platform.deepSleep as (ms: number) => void)(BOOT_FAIL_SLEEP_MS);
      }, BOOT_FAIL_CONSOLE_MS);
    }
    var say = function () {
      platform.log(why);
      return why;
    };
    var restart = function () {
      platform.reboot();
      return true;
    };
    return { diag: say, status: say, config: say, queue: say, help: say, selftest: say, restart: restart, lock: function () {
      return false;
    } };
  }
}

function boot(platform: Platform, board: BoardProfile, sensors: Sensor[], actuators?: Actuator[], opts?: NodeOptions): NodeConsole {
  var bootAt = Date.now(), o = opts || {}, cause = platform.wakeCause();
  // a relay nothing drives would keep whatever state it powered up in: a build error, said at once
  if (actuators && actuators.length && !o.relay) throw new Error("a board with a relay needs NodeOptions.relay (firmware/streetlight/hook.ts relayHooks)");
  useNativeCrc(platform.crc32);
  var store = new Store(platform.storage);
  store.load(cause !== "deep-sleep");
  var st = store.state;
  var energy = new EnergyLedger(platform, st.en);
  // awake since the chip woke: the boot before the bundle ran too (its lexing is most of a sample wake)
  var ran = platform.preludeAt ? platform.preludeAt() : null, wokeAt = ran && ran <= bootAt && bootAt - ran < 10000 ? ran - PRE_JS_MS : bootAt;
  energy.set("awake", true, wokeAt);

  // config: file, then the changes commands made to that same file
  var f = readConfigFile(platform.storage), sum = f.text ? "" + checksum(f.text) : "none", raw = f.raw;
  // changes kept by a firmware that summed the file with Adler-32 (store.ts): once after the update
  if (st.cfg && st.cfg.base !== sum && f.text && st.cfg.base === "" + adler32(f.text)) st.cfg.base = sum;
  if (st.cfg && st.cfg.base === sum) raw = mergeConfig(raw || {}, st.cfg.set);
  else if (st.cfg) st.cfg = null;
  var v = f.error ? null : checkedConfig(st, raw, board);
  var errors: string[] = f.error ? [f.error] : v && !v.ok ? v.errors : [];
  if (errors.length && st.cfg) {
    // the changes made it invalid (should not happen: they are validated): drop them
    st.cfg = null;
    v = checkedConfig(st, f.raw, board);
    errors = v.ok ? [] : v.errors;
  }
  var config = v && v.ok ? v.config : mergeConfig(defaultConfig(board), board.defaults);
  // a refused file still locks the console with its password: the defaults have none, and the
  // console would show the refused file, secrets and all
  var password = v && v.ok ? config.consolePassword : commandsApi().refusedPassword(f.raw, f.text);

  var rt: Runtime = {
    fw: FIRMWARE_VERSION, platform: platform, board: board, config: config, store: store, energy: energy,
    sensors: sensors, actuators: actuators || [], drivers: sensors.concat(actuators || []), lamp: null, relay: o.relay || null, lden: o.lden || null, warmAsleep: o.warmAsleep || null, bootCause: cause, bootAt: bootAt, wokeAt: wokeAt,
    safe: "", configErrors: errors, mains: board.power.source === "mains" || !platform.deepSleep,
    fileRaw: f.raw, fileSum: sum, last: {}, uplink: null, lastCycleAt: 0, rebootWanted: false, ota: null,
    log: function (line: string) {
      try {
        platform.log(line);
      } catch (e) {
        // no console attached
      }
    },
  };

  if (o.lamp && rt.actuators.length && !errors.length) {
    try {
      rt.lamp = o.lamp(rt.actuators[0], config);
    } catch (e) {
      rt.log("lamp controller failed: " + e);
    }
  }
  // a wake from deep sleep is no boot: the power-on part (its own, lexed only then) counts boots
  var powerOn = cause !== "deep-sleep" ? powerOnCode() : null;
  if (powerOn) powerOn.countBoot(rt);
  else rt.safe = st.safe;
  var lock: ConsoleGuard | null = null, cons: ConsolePort[] = [];
  if (platform.console) cons.push(platform.console);
  if (platform.bluetooth) cons.push(platform.bluetooth);
  if (password && cons.length) {
    lock = guardConsole(cons, function () {
      return consoleApi().consoleLock(cons, password as string, function () {
        return consoleApi().diagReport(rt);
      });
    });
    var print = rt.log;
    rt.log = function (line: string) {
      (lock as ConsoleGuard).log(line, print);
    };
    try {
      lock.lock();
    } catch (e) {
      lock = null;
      rt.log = print;
      rt.log("console lock failed: " + e);
    }
  }

  rt.log("CasaNode " + rt.fw + " " + board.name + " " + config.node + " boot=" + cause + (rt.safe ? " SAFE MODE: " + rt.safe : ""));
  for (var i = 0; i < store.notes.length; i++) rt.log("store: " + store.notes[i]);
  if (powerOn) powerOn.logSetup(rt);
  // this scope lives on in the closures made here: let the part's code go
  powerOn = null;

  // an update: where it stands, and a check or switch a power cut interrupted finished now
  if (otaBoot(rt)) {
    rt.log("ota: restarting into the new bundle");
    store.save();
    platform.reboot();
    var restarting = function () {
      return "restarting into a new bundle";
    };
    return { diag: restarting, status: restarting, config: restarting, queue: restarting, help: restarting, selftest: restarting, restart: function () {
      return true;
    }, lock: function () {
      return false;
    } };
  }

  var sched = new Scheduler(rt);
  startWatchdog(platform, function () {
    return sched.tick();
  });
  var con = lazyConsole(rt, lock);
  sched.start();
  return con;
}
