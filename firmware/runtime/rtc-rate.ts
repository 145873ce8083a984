// A battery node's clock between SNTP answers. The ESP32 times a deep sleep on its 150 kHz RC
// oscillator (5 % by spec, measured 1-3.3 % fast: docs/hardware.md), so a clock set once gains
// minutes a day. Each answer (uplink/sntp.ts) corrects the clock and says how fast the RTC ran
// since the one before; sleeps are then asked that much longer (the chip wakes on time), and the
// wake prelude (toolchain/wake-prelude.ts) takes that share of the sleep back off the clock
// before anything reads it. Firmware code: ES5, Espruino subset.

import type { NodeState } from "./state.js";
import { savePlanFile } from "./plan-file.js";
import { CLOCK_VALID_MS } from "./store.js";

/** {a: when the sleep began (ms, a corrected clock), r: the rate}, left for the next wake's prelude */
export var RTC_FILE = "cn.rtc";
/** a rate measured over less than this is mostly the answers' jitter (uplink/clock-sync.ts);
 *  a new node's first measure is shorter: until it has one, its clock runs 1-3 % ahead */
export var LEARN_MIN_MS = 3600000;
export var FIRST_MEASURE_MS = 900000;
/** after an ask with no answer, the next one this much later (uplink/session.ts) */
export var NTP_RETRY_MS = 6 * 3600000;

/** the deep sleep to ask the chip for, for `ms` of real time */
export function rtcSleepMs(st: NodeState, ms: number): number {
  return st.rr ? Math.round(ms * (1 + st.rr)) : ms;
}

/** at every sleep: what the next wake's prelude needs to correct the clock (nothing while the rate is unknown) */
export function saveRtcPlan(storage: StorageModule, st: NodeState, now: number): void {
  savePlanFile(storage, RTC_FILE, st.rr && now >= CLOCK_VALID_MS ? { a: now, r: st.rr } : null);
}

/**
 * A node that never measured its RTC's rate connects for it a quarter of an hour after its clock
 * was set, not at the send grid's next upload hours later: until then its clock gains ~1-3 % of
 * each sleep, and an upload would carry readings stamped ahead of their time.
 */
export function rateDue(st: NodeState, now: number): boolean {
  return st.rr === undefined && !!st.syncAt && now - st.syncAt >= FIRST_MEASURE_MS && !(st.rateAsk && now - st.rateAsk < NTP_RETRY_MS);
}
