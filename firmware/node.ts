// The node's boot: restore state, read and validate the config, decide on safe mode, start
// the watchdog and the scheduler. The board entry (boards/<name>.ts) builds the Platform and
// the drivers, calls startNode and puts the returned console on global.casanode.
// Firmware code: ES5, Espruino subset.

import type { Platform } from "./platform.js";
import type { BoardProfile } from "./board.js";
import type { Sensor, Actuator } from "../drivers/types.js";
import { FIRMWARE_VERSION, CONFIG_FILE, validateConfig, mergeConfig, defaultConfig } from "./config.js";
import type { NodeConfig } from "./config.js";
import { Store, checksum } from "./runtime/store.js";
import { EnergyLedger } from "./runtime/energy.js";
import { Scheduler } from "./runtime/scheduler.js";
import type { Runtime, LampControl } from "./runtime/scheduler.js";
import { noteBoot, bootLoop, startWatchdog } from "./runtime/safemode.js";
import { makeConsole } from "./runtime/console.js";
import type { NodeConsole } from "./runtime/console.js";

export interface NodeOptions {
  /** makes the streetlight controller for the board's relay (boards with a lamp only, so no other bundle carries it) */
  lamp?: (relay: Actuator, config: NodeConfig) => LampControl;
  /** lock the console with this password (E.setPassword + E.lockConsole in the board entry) */
  lockConsole?: (password: string) => void;
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
    return { diag: say, status: say, config: say, queue: say, help: say, selftest: say, restart: restart };
  }
}

function boot(platform: Platform, board: BoardProfile, sensors: Sensor[], actuators?: Actuator[], opts?: NodeOptions): NodeConsole {
  var bootAt = Date.now(), o = opts || {}, cause = platform.wakeCause();
  var store = new Store(platform.storage);
  store.load(cause !== "deep-sleep");
  var st = store.state;
  var energy = new EnergyLedger(platform, st.en);
  energy.set("awake", true);

  // config: file, then the changes commands made to that same file
  var f = readConfigFile(platform.storage), sum = f.text ? "" + checksum(f.text) : "none", raw = f.raw;
  if (st.cfg && st.cfg.base === sum) raw = mergeConfig(raw || {}, st.cfg.set);
  else if (st.cfg) st.cfg = null;
  var v = f.error ? null : validateConfig(raw, board);
  var errors: string[] = f.error ? [f.error] : v && !v.ok ? v.errors : [];
  if (errors.length && st.cfg) {
    // the changes made it invalid (should not happen: they are validated): drop them
    st.cfg = null;
    v = validateConfig(f.raw, board);
    errors = v.ok ? [] : v.errors;
  }
  var config = v && v.ok ? v.config : mergeConfig(defaultConfig(board), board.defaults);

  var rt: Runtime = {
    fw: FIRMWARE_VERSION, platform: platform, board: board, config: config, store: store, energy: energy,
    sensors: sensors, actuators: actuators || [], lamp: null, bootCause: cause, bootAt: bootAt,
    safe: "", configErrors: errors, mains: board.power.source === "mains" || !platform.deepSleep,
    fileRaw: f.raw, fileSum: sum, last: {}, uplink: null, lastCycleAt: 0, rebootWanted: false,
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
  if (cause !== "deep-sleep") {
    noteBoot(st, cause, bootAt);
    st.chain = 0;
    rt.safe = bootLoop(st);
    st.safe = rt.safe;
    // counted before anything can crash this boot
    store.save();
  } else rt.safe = st.safe;
  if (config.consolePassword && o.lockConsole) {
    try {
      o.lockConsole(config.consolePassword);
    } catch (e) {
      rt.log("console lock failed: " + e);
    }
  }

  rt.log("CasaNode " + rt.fw + " " + board.name + " " + config.node + " boot=" + cause + (rt.safe ? " SAFE MODE: " + rt.safe : ""));
  for (var i = 0; i < store.notes.length; i++) rt.log("store: " + store.notes[i]);
  if (cause !== "deep-sleep") {
    var names: string[] = [];
    for (i = 0; i < board.devices.length; i++) names.push(board.devices[i].name + "=" + board.devices[i].model);
    rt.log("devices: " + (names.length ? names.join(" ") : "none") + "; " + (rt.mains ? "mains, always on" : "battery, deep sleep") + "; every " + config.samplePeriodS + " s, upload every " + config.uploadPeriodS + " s");
    if (config.keyHex === defaultConfig(board).keyHex) rt.log("WARNING: development command key (provision a real one)");
  }

  var sched = new Scheduler(rt);
  startWatchdog(platform, function () {
    return sched.tick();
  });
  var con = makeConsole(rt);
  sched.start();
  return con;
}
