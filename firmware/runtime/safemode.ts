// Watchdog and boot-loop protection. A node that keeps rebooting (a crash in a driver, a
// command that wedges it, a brown-out loop) boots into safe mode: console and uplink only, no
// sensors, and says why on status, diag and the console. Firmware code: ES5, Espruino subset.

import type { Platform } from "../platform.js";
import type { NodeState } from "./state.js";

/** a mains node that ran this long is no boot loop (boots are counted at power-on: power-on.ts) */
export const STABLE_MS = 5 * 60000;
/** a battery node in safe mode retries a normal boot after this long asleep */
export const SAFE_SLEEP_MS = 10 * 60000;
/** hardware watchdog timeout: the event loop must kick it this often */
export const WATCHDOG_S = 30;
/** the runtime's housekeeping tick (watchdog kick, clock-jump check, stability) */
export const TICK_MS = 5000;

/** This boot did its work (a battery cycle ended in sleep, a mains node ran STABLE_MS). */
export function markStable(st: NodeState): void {
  st.crashRun = 0;
}

/** Leaving safe mode: forget the loop, so the next normal boot starts counting afresh. */
export function clearBootLoop(st: NodeState): void {
  st.crashRun = 0;
  st.safe = "";
}

/**
 * Hardware watchdog, kicked from the runtime's tick only while `tick()` says the node makes
 * progress: a hung event loop or a cycle that never ends both end in a watchdog reset.
 * The tick runs even where the watchdog cannot be enabled.
 */
export function startWatchdog(platform: Platform, tick: () => boolean): any {
  var on = true;
  try {
    platform.watchdog.enable(WATCHDOG_S);
  } catch (e) {
    on = false;
  }
  return setInterval(function () {
    var ok = true;
    try {
      ok = tick();
    } catch (e) {
      ok = false;
    }
    if (ok && on) platform.watchdog.kick();
  }, TICK_MS);
}
