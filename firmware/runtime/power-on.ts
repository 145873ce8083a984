// What a node does only when it powers on or resets, never on a deep-sleep wake: count the boot
// and tell a boot loop (safemode.ts acts on it), switch Bluetooth as the profile wants, and say
// what it drives. A part of its own (power-on-lazy.ts): a wake from deep sleep never lexes it.
// Firmware code: ES5, Espruino subset.

import type { WakeCause } from "../platform.js";
import type { NodeState, Runtime } from "./state.js";
import { defaultConfig } from "../config.js";

/** this many boots in a row that never finished a cycle (battery) or ran STABLE_MS (mains)... */
export const BOOT_LOOP_BOOTS = 5;
/** boots remembered for diag */
const BOOTS_KEPT = 8;

/** Remember a boot (power-on, watchdog, reset); deep-sleep wakes are not boots. */
export function noteBoot(st: NodeState, cause: WakeCause, now: number): void {
  if (cause === "deep-sleep") return;
  st.c.boots++;
  st.crashRun = (st.crashRun || 0) + 1;
  st.boots.push([Math.floor(now), cause]);
  while (st.boots.length > BOOTS_KEPT) st.boots.shift();
}

/**
 * Why this boot is part of a boot loop (BOOT_LOOP_BOOTS in a row), or "" if it is not. Counted
 * without the clock: an ESP32's RTC restarts at 0 after a power cut, so boot timestamps taken
 * before SNTP say nothing about how close together boots were.
 */
export function bootLoop(st: NodeState): string {
  var n = st.crashRun || 0, causes: string[] = [];
  if (n < BOOT_LOOP_BOOTS) return "";
  for (var i = Math.max(0, st.boots.length - n); i < st.boots.length; i++) if (causes.indexOf(st.boots[i][1]) < 0) causes.push(st.boots[i][1]);
  return "boot loop: " + n + " boots in a row that did not finish a cycle (" + causes.join(", ") + ")";
}

/** Count this boot, saved before anything can crash it, and set rt.safe if it is one of a loop. */
export function countBoot(rt: Runtime): void {
  var st = rt.store.state;
  noteBoot(st, rt.bootCause, rt.bootAt);
  st.chain = 0;
  st.safe = rt.safe = bootLoop(st);
  rt.store.save();
  switchBle(rt);
}

/**
 * The chip's Bluetooth to the profile's bleConsole. ESP32.enableBLE restarts the chip, so it is
 * asked once per change (st.ble keeps what was asked): a chip that does not take it (a build
 * without Bluetooth) is left as it is, never rebooted in a loop. Only a new bundle changes the
 * profile, and it starts with a reset.
 */
function switchBle(rt: Runtime): void {
  var board = rt.board, st = rt.store.state, want = !!(board.bleConsole && board.bleConsole.on), ble = rt.platform.ble;
  if (!ble || st.ble === want) return;
  try {
    if (ble.on() === want) {
      st.ble = want;
      return;
    }
    st.ble = want;
    rt.store.save(); // before the restart: asked once even if the chip never takes it
    rt.log("Bluetooth " + (want ? "on" : "off") + " (board profile bleConsole): the chip restarts");
    ble.set(want);
  } catch (e) {
    rt.log("Bluetooth switch failed: " + e);
  }
}

/** The lines a crew reads at power-on, after the node's own: its devices and power, and a development key left in. */
export function logSetup(rt: Runtime): void {
  var board = rt.board, config = rt.config, names: string[] = [];
  for (var i = 0; i < board.devices.length; i++) names.push(board.devices[i].name + "=" + board.devices[i].model);
  rt.log("devices: " + (names.length ? names.join(" ") : "none") + "; " + (rt.mains ? "mains, always on" : "battery, deep sleep") + "; every " + config.samplePeriodS + " s, upload every " + config.uploadPeriodS + " s");
  if (config.keyHex === defaultConfig(board).keyHex) rt.log("WARNING: development command key (provision a real one)");
}
