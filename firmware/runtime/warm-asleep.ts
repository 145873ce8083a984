// Sleeping through a warm-up, for a board whose slow sensor sits on a latched supply (an SDS011:
// 15 s of fan and laser before a reading holds): at each sleep the scheduler leaves the plan
// for a short wake at `at`, sleepWarmingMs before the next cycle (WARM_PLAN_FILE). That wake's
// prelude (toolchain/wake-prelude.ts) switches the supply on and deep-sleeps again, before the
// bundle is lexed; the chip comes back for the rest of the warm-up, its boot and the other
// sensors' reads in it. The prelude then hands the driver a power-on time of "now less the time
// slept" (less the RTC's tolerance: WARM_CREDIT), never earlier than the real one, so the read
// still waits out the whole warm-up. Its entry hands `warmAsleepHooks` to startNode (node.ts
// NodeOptions.warmAsleep), so no other bundle carries this. Firmware code: ES5, Espruino subset.

import type { Runtime, WarmAsleepHooks } from "./state.js";
import type { DeviceSpec } from "../board.js";
import type { Sensor } from "../../drivers/types.js";
import { savePlanFile } from "./plan-file.js";
import { MIN_SLEEP_MS } from "./grid.js";

/** {at, s}: the warm-up wake's time (ms) and how long it sleeps with the supply on */
export var WARM_PLAN_FILE = "cn.warm";
/** the RTC may wake a little early: a timer wake this long before `at` is the warm-up wake */
export var WARM_EARLY_MS = 5000;
/** a timer wake within this long after `at + s` is the wake that follows a warm-up wake */
export var WARM_LATE_MS = 60000;
/**
 * The RTC that times a deep sleep runs on the ESP32's 150 kHz RC oscillator, within 5 % (its
 * spec; measured 1-3.3 % fast, docs/hardware.md): a sleep of s ms may be 5 % shorter in real
 * time. The wake after a warm-up wake is credited this share of s, not all of it.
 */
export var WARM_CREDIT = 0.95;

/**
 * the device that sleeps part of its warm-up: the build refuses one without startAtBoot or a
 * latch, and a second one (toolchain/wake-prelude.ts)
 */
function warmingAsleep(devices: DeviceSpec[]): DeviceSpec {
  for (var i = 0; i < devices.length; i++) if (devices[i].sleepWarmingMs) return devices[i];
  throw new Error("warmAsleepHooks on a board with no device's sleepWarmingMs");
}

export var warmAsleepHooks: WarmAsleepHooks = {
  sleepUntil: function (rt: Runtime, target: number, sampler: { power(s: Sensor, on: boolean): void }): number {
    var latched = warmingAsleep(rt.board.devices), now = Date.now(), at = target - (latched.sleepWarmingMs as number);
    // a latch stays on through a deep sleep: only a warm-up wake's prelude may leave it so
    for (var i = 0; i < rt.drivers.length; i++) if (rt.drivers[i].name === latched.name) sampler.power(rt.drivers[i], false);
    // safe mode (or a refused config) sleeps to try again, not to sample
    var wake = !rt.safe && !rt.configErrors.length && at - now >= MIN_SLEEP_MS && at - now <= rt.platform.maxDeepSleepMs;
    savePlanFile(rt.platform.storage, WARM_PLAN_FILE, wake ? { at: at, s: latched.sleepWarmingMs } : null);
    return wake ? at : target;
  },
};
