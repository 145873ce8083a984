// The scheduler's connected side (runtime/cycle.ts): a battery wake's session with the broker
// (a mains node's side is uplink/mains.ts). In a bundle it is part of the link's code
// (uplink/lazy.ts), evaluated by a wake that connects: a wake that only samples, most of a
// battery node's wakes, lexes none of it.
// Firmware code: ES5, Espruino subset.

import type { Scheduler } from "../runtime/cycle.js";
import type { Runtime } from "../runtime/state.js";
import { Uplink } from "./link.js";
import { startJoin } from "./early-join.js";
import { commandsApi } from "../runtime/commands-lazy.js";
import { CLOCK_VALID_MS } from "../runtime/store.js";
import { clockApi } from "./clock-lazy.js";
import { NTP_DEFAULT } from "../config.js";
import { NTP_RETRY_MS } from "../runtime/rtc-rate.js";
import { fillOf } from "../../drivers/fill.js";
import { otaFetch, otaLinkTopic, otaMessage, otaPublish, otaUploaded } from "../ota/lazy.js";

/** battery: with the clock unset, keep Wi-Fi up this long for SNTP (polled this often) */
const SNTP_WAIT_MS = 15000;
const SNTP_POLL_MS = 250;
const SESSION_EXTRA_MS = 60000;

/** the link to the broker (persistent: mains), commands and the OTA topic wired to it */
export function openLink(rt: Runtime, persistent: boolean): Uplink {
  var up = new Uplink(rt, persistent);
  rt.uplink = up;
  up.onCommand = function (p) {
    commandsApi().handleCommand(rt, p);
  };
  up.onTooLarge = function (bytes, head) {
    commandsApi().refuseTooLarge(rt, bytes, head);
  };
  var otaTopicName = otaLinkTopic(rt);
  if (otaTopicName) {
    up.otherTopic = otaTopicName;
    up.onOther = function (topic, payload) {
      otaMessage(rt, up, topic, payload);
    };
  }
  return up;
}

/** an upload's outcome in the books: its counters, the retry backoff, the base of the next significant change */
export function uploaded(rt: Runtime, err: string | null): void {
  var st = rt.store.state;
  st.lastUp = Date.now();
  st.lastUpOk = !err;
  if (err) {
    st.upFails++;
    st.c.uploadFails++;
    rt.log("upload failed: " + err);
  } else {
    st.upFails = 0;
    st.c.uploads++;
    // what the server now knows: the base of the next significant change
    var sent: { [dev: string]: number } = {};
    for (var dev in rt.last) {
      var v = fillOf(rt.last[dev]);
      if (v !== null) sent[dev] = v;
    }
    st.sent = sent;
  }
}

/** battery, clock unset and Wi-Fi joined: give SNTP its chance, then cb */
function awaitClock(s: Scheduler, cb: () => void): void {
  var last = Date.now(), polls = 0;
  var poll = function () {
    var now = Date.now();
    if (now >= CLOCK_VALID_MS) {
      s.clockFound(now - last - SNTP_POLL_MS);
      return cb();
    }
    if (++polls > SNTP_WAIT_MS / SNTP_POLL_MS) {
      s.rt.log("clock: no SNTP answer in " + SNTP_WAIT_MS / 1000 + " s");
      return cb();
    }
    last = now;
    setTimeout(poll, SNTP_POLL_MS);
  };
  poll();
}

/**
 * Battery, clock set, the network joined: whether to ask the time beside the MQTT exchange.
 * Not without dgram, nor for a server by name with no DNS (a static address), nor within
 * NTP_RETRY_MS of an unanswered ask.
 */
function clockWanted(rt: Runtime, up: Uplink): boolean {
  var st = rt.store.state, now = Date.now();
  if (!rt.platform.dgram || !rt.platform.setTime || now < CLOCK_VALID_MS) return false;
  if (!up.dns() && !/^[0-9.]+(:[0-9]+)?$/.test(rt.config.ntp || NTP_DEFAULT)) return false;
  return !(st.ntpFail && now >= st.ntpFail && now - st.ntpFail < NTP_RETRY_MS);
}

/** one battery connection: join, status, flush, a round trip for queued commands, offline status, close */
export function batterySession(s: Scheduler, done: () => void): void {
  var rt = s.rt, st = rt.store.state, w = rt.platform.wifi, finished = false, t: any = null, syncing = false, endWith: string | null | undefined;
  // a join begun ahead for this upload (one not begun yet is not needed now), or begun here:
  // evaluating the link's code (uplink/lazy.ts, ~0.2 s) then overlaps it
  var early = s.takeEarly();
  if (!early && w) early = startJoin(w, s.joinPlan(Date.now(), rt.bootCause === "deep-sleep"));
  var up = openLink(rt, false);
  up.early = early;
  var end = function (err: string | null) {
    // the SNTP exchange ends first (bounded by its own timeout)
    if (syncing) {
      if (endWith === undefined) endWith = err;
      return;
    }
    if (finished) return;
    finished = true;
    if (t) clearTimeout(t);
    uploaded(rt, err);
    if (up.isUp()) up.status("offline", st.next ? { reason: "sleep", next: Math.floor(st.next / 1000) } : { reason: "sleep" });
    up.close(function () {
      rt.uplink = null;
      done();
    });
  };
  t = setTimeout(function () {
    end("session-timeout");
  }, rt.config.wifiTimeoutMs + SESSION_EXTRA_MS);
  up.onUp = function () {
    otaPublish(rt, up);
  };
  var opened = function (err: string | null) {
    if (err) return end(err);
    if (rt.bootCause !== "deep-sleep" || rt.safe) up.diag();
    up.flush(function (e2) {
      if (e2) return end(e2);
      // a bundle on trial that got this far keeps itself
      if (s.sensorsConfigured()) otaUploaded(rt, up);
      // then this wake's share of an update's chunks (bounded: the cycle stays short)
      otaFetch(rt, up, function () {
        // commands queued while we slept arrive now (persistent session): a PUBACK (or a
        // PINGREQ's answer) proves they all have, then their acks' PUBACKs; lingerMs caps the wait
        up.settle(rt.config.lingerMs, function (e3) {
          if (e3) rt.log("uplink: " + e3);
          end(null);
        });
      });
    });
  };
  up.open(function (err) {
    // no time yet: SNTP answers over Wi-Fi, broker or not
    if (Date.now() < CLOCK_VALID_MS && rt.platform.wifi && (!err || err.indexOf("wifi") !== 0)) return awaitClock(s, function () {
      opened(err);
    });
    // the time server is not the broker: one down, the other may answer
    if ((!err || err.indexOf("wifi") !== 0) && clockWanted(rt, up)) {
      syncing = true;
      clockApi().syncClock(s, function () {
        syncing = false;
        if (endWith !== undefined) end(endWith);
      });
    }
    opened(err);
  });
}
