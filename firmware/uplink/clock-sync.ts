// The battery session's SNTP exchange (uplink/sntp.ts) and what an answer teaches: the clock's
// error, and the RTC's rate since the answer before (runtime/rtc-rate.ts uses it at each sleep
// and wake). A part of its own (uplink/clock-lazy.ts), lexed only by a session that asks the
// time: a static wake with a server by name cannot, and lexes 1.3 KB less. Firmware code: ES5.

import type { Scheduler } from "../runtime/cycle.js";
import type { NodeState } from "../runtime/state.js";
import { NTP_DEFAULT } from "../config.js";
import { sntpQuery } from "./sntp.js";
import { LEARN_MIN_MS, FIRST_MEASURE_MS } from "../runtime/rtc-rate.js";

/** the oscillator's spec is 5 %: a rate beyond this means the clock was set by hand meanwhile */
var RATE_MAX = 0.1;
/** below this (1.7 s a day) no flash write per sleep is worth it */
var RATE_MIN = 2e-5;

/** an SNTP answer takes a round trip (two with a name to resolve): past this the session ends without */
const SNTP_ANSWER_MS = 1000;

/**
 * Battery, clock set, the network joined, a server it can reach (uplink/session.ts
 * clockWanted): one SNTP exchange beside the MQTT one; done() when it has ended.
 */
export function syncClock(s: Scheduler, done: () => void): void {
  var rt = s.rt, st = rt.store.state;
  sntpQuery(rt.platform.dgram as DgramModule, rt.config.ntp || NTP_DEFAULT, SNTP_ANSWER_MS, function (off, info) {
    st.ntpFail = off === null ? Date.now() : 0;
    if (off === null) rt.log("clock: " + info);
    else {
      learnRate(st, off, Date.now());
      s.clockCorrected(off);
    }
    done();
  });
}

/**
 * An SNTP answer at `now`: the clock is `off` ms behind (negative: ahead). Since the answer that
 * began the measure (syncAt), real time, the clock gained what the corrections took off it
 * although corrected with rate rr meanwhile, so the RTC's rate is rr plus that share of the
 * time slept. A measure shorter than LEARN_MIN_MS (a first one:
 * FIRST_MEASURE_MS) goes on.
 */
export function learnRate(st: NodeState, off: number, now: number): void {
  var t = now + off, since = st.syncAt ? t - st.syncAt : -1, rr = st.rr || 0, took = (st.syncOff || 0) + off;
  // the RTC times only the sleeps (awake, the crystal does): esp32-air is awake 0.8 % of the
  // time. The sleeps were booked on the clock, which counted what the corrections took off
  var slept = (st.en.sleep || 0) - (st.syncSlept || 0) + took;
  // (rateDue counts the time on a clock that ran ahead)
  if (since >= 0 && since < 0.9 * (st.rr === undefined ? FIRST_MEASURE_MS : LEARN_MIN_MS)) {
    st.syncOff = took;
    return;
  }
  if (since > 0) {
    var r = rr - ((1 + rr) * took) / (slept > 0 && slept <= since ? slept : since);
    if (r > -RATE_MAX && r < RATE_MAX) st.rr = r > -RATE_MIN && r < RATE_MIN ? 0 : r;
  }
  st.syncAt = t;
  st.syncOff = 0;
  st.syncSlept = st.en.sleep || 0;
}
