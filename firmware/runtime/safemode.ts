// Watchdog and boot-loop protection. A node that keeps rebooting (a crash in a driver, a
// command that wedges it, a brown-out loop) boots into safe mode: console and uplink only, no
// sensors, and says why on status, diag and the console. Firmware code: ES5, Espruino subset.

import type { Platform, WakeCause } from "../platform.js";
import type { NodeState } from "./state.js";

/** this many boots in a row that never finished a cycle (battery) or ran STABLE_MS (mains)... */
export const BOOT_LOOP_BOOTS = 5;
/** ...is a boot loop. Counted without the clock: an ESP32's RTC restarts at 0 after a power cut,
 *  so boot timestamps taken before SNTP say nothing about how close together boots were. */
export const STABLE_MS = 5 * 60000;
/** a battery node in safe mode retries a normal boot after this long asleep */
export const SAFE_SLEEP_MS = 10 * 60000;
/** boots remembered for diag */
const BOOTS_KEPT = 8;
/** hardware watchdog timeout: the event loop must kick it this often */
export const WATCHDOG_S = 30;
/** the runtime's housekeeping tick (watchdog kick, clock-jump check, stability) */
export const TICK_MS = 5000;

/** Remember a boot (power-on, watchdog, reset); deep-sleep wakes are not boots. */
export function noteBoot(st: NodeState, cause: WakeCause, now: number): void {
  if (cause === "deep-sleep") return;
  st.c.boots++;
  st.crashRun = (st.crashRun || 0) + 1;
  st.boots.push([Math.floor(now), cause]);
  while (st.boots.length > BOOTS_KEPT) st.boots.shift();
}

/** Why this boot is part of a boot loop, or "" if it is not. */
export function bootLoop(st: NodeState): string {
  var n = st.crashRun || 0, causes: string[] = [];
  if (n < BOOT_LOOP_BOOTS) return "";
  for (var i = Math.max(0, st.boots.length - n); i < st.boots.length; i++) if (causes.indexOf(st.boots[i][1]) < 0) causes.push(st.boots[i][1]);
  return "boot loop: " + n + " boots in a row that did not finish a cycle (" + causes.join(", ") + ")";
}

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
