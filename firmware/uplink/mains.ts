// A mains node's side of the link: kept up, the queue flushed at each connect and after each
// cycle, the cycle on timers, safe mode held. Its own part (uplink/mains-lazy.ts), evaluated at a
// mains node's boot after the link's: a battery node's upload wakes lexed it with the link for
// nothing (~1 KB, ~20 ms of ESP32 boot). It uses the link's code through uplinkApi().
// Firmware code: ES5, Espruino subset.

import type { Scheduler } from "../runtime/cycle.js";
import type { Runtime } from "../runtime/state.js";
import { uplinkApi } from "./lazy.js";
import { CLOCK_VALID_MS } from "../runtime/store.js";
import { nextSlot } from "../runtime/grid.js";
import { clearBootLoop } from "../runtime/safemode.js";
import { otaFetch, otaPublish, otaUploaded, otaWantsLink } from "../ota/lazy.js";

/** mains: wait at most this long for SNTP before the first cycle */
const CLOCK_WAIT_MS = 60000;
/** mains safe mode keeps console and uplink this long, then tries a normal boot */
const SAFE_HOLD_MS = 30 * 60000;

function periodMs(rt: Runtime): number {
  return rt.config.samplePeriodS * 1000;
}

/** mains: the link kept up (diag once, OTA, the queue flushed at each connect) and the cycle on timers */
export function startMains(s: Scheduler): void {
  var rt = s.rt, up = uplinkApi().openLink(rt, true), diagSent = false;
  up.onUp = function () {
    if (!diagSent) {
      diagSent = true;
      up.diag();
    }
    otaPublish(rt, up);
    flushMains(s);
    otaFetch(rt, up, null);
  };
  up.open(function () {});
  if (rt.safe) holdSafe(rt);
  else whenClockSet(rt, Date.now(), function () {
    mainsTick(s);
  });
}

function flushMains(s: Scheduler): void {
  var rt = s.rt;
  if (!rt.uplink || !rt.uplink.isUp()) return;
  rt.uplink.flush(function (err) {
    uplinkApi().uploaded(rt, err);
    if (!err && s.sensorsConfigured()) otaUploaded(rt, rt.uplink);
  });
}

function mainsTick(s: Scheduler): void {
  var rt = s.rt, P = periodMs(rt), slot = Math.floor(Date.now() / P) * P;
  s.cycle(slot, function (out) {
    rt.lastCycleAt = Date.now();
    s.sinceCycle = 0;
    rt.store.state.next = nextSlot(slot, P, Date.now());
    rt.energy.settle();
    rt.store.save();
    if (out.closed || out.raised.length) {
      if (out.raised.length) rt.log("alarm: " + out.raised.join(","));
      if (out.raised.length && rt.uplink && rt.uplink.isUp()) rt.uplink.status("online");
      flushMains(s);
    }
    // an update's chunks that did not come (broker down, a chunk bad on it): try again
    if (rt.uplink && rt.uplink.isUp() && otaWantsLink(rt)) otaFetch(rt, rt.uplink, null);
    setTimeout(function () {
      mainsTick(s);
    }, rt.store.state.next - Date.now());
  });
}

/** mains: after power-on the clock may wait for SNTP (over the link being opened) */
function whenClockSet(rt: Runtime, since: number, cb: () => void): void {
  if (Date.now() >= CLOCK_VALID_MS || !rt.platform.wifi || Date.now() - since > CLOCK_WAIT_MS) return cb();
  setTimeout(function () {
    whenClockSet(rt, since, cb);
  }, 1000);
}

function holdSafe(rt: Runtime): void {
  setTimeout(function () {
    rt.log("safe mode: trying a normal boot");
    clearBootLoop(rt.store.state);
    rt.store.save();
    rt.platform.reboot();
  }, SAFE_HOLD_MS);
}
