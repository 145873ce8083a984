// The maintenance console. Espruino's Serial1 is a JavaScript REPL: the board entry puts the
// node's console object on `global.casanode`, so a crew types casanode.diag(), casanode.status(),
// casanode.config(), casanode.queue() or casanode.help(). Here: what it answers with, and what
// the diag topic carries (diagReport); its commands are in console-api.ts. Both are code a wake
// evaluates only when someone calls one or a boot publishes its diag (uplink/lazy.ts). Firmware code: ES5, Espruino subset.

import type { Runtime } from "./state.js";
import { estimateMah, flashLifeYears } from "./diag-figures.js";
import type { Sensor, Actuator } from "../../drivers/types.js";

export interface NodeConsole {
  diag(): any;
  status(): string;
  config(): any;
  queue(): any;
  help(): string;
  /** lock the console again now (the field tools call it before they close) */
  lock(): boolean;
  /** save the store and restart (a crew action: the page and the tools call it logged in) */
  restart(): boolean;
  /** checks from what the node knows now (no sensor is woken): every entry must be ok */
  selftest(): any;
}

function round(v: number, digits: number): number {
  var f = Math.pow(10, digits);
  return Math.round(v * f) / f;
}

/** What diag() prints and the diag topic carries. */
export function diagReport(rt: Runtime): any {
  var st = rt.store.state, now = Date.now(), devices: any = {}, i: number, mem: any = null, rssi: any = null;
  var all = rt.board.devices;
  for (i = 0; i < all.length; i++) {
    var name = all[i].name, d = st.dev[name] || { ok: 0, bad: 0, last: "" }, drv: Sensor | null = null, j: number;
    for (j = 0; j < rt.drivers.length; j++) if (rt.drivers[j].name === name) drv = rt.drivers[j];
    // fitted: built and configured (a driver whose configure() threw has left rt.sensors)
    var fitted = !!drv && (rt.sensors.indexOf(drv) >= 0 || rt.actuators.indexOf(drv as Actuator) >= 0);
    var last = rt.last[name];
    devices[name] = {
      model: all[i].model, fitted: fitted, reads: d.ok, faults: d.bad, lastFault: d.last,
      // the driver's one line: bus, pins, power switch, key options (drivers/types.ts Sensor.describe),
      // an absent device's too: its wiring is what a crew checks first
      desc: drv ? drv.describe() : "",
      now: last ? (last.ok ? "ok" : last.fault + (last.detail ? ": " + last.detail : "")) : "not read this boot",
      counters: fitted ? drv!.counters : null,
      // the last good values, for the diagnostics page's chart (the objects the driver returned: no copy)
      readings: last && last.ok ? last.readings : null,
    };
  }
  try {
    mem = rt.platform.memory();
  } catch (e) {
    // not available
  }
  try {
    if (rt.platform.wifi && rt.uplink && rt.uplink.isUp()) rssi = rt.platform.wifi.getDetails().rssi;
  } catch (e) {
    // not joined
  }
  rt.energy.settle();
  var bpd = rt.store.bytesPerDay(now);
  return {
    node: rt.config.node, site: rt.config.site, board: rt.board.name, fw: rt.fw, t: Math.floor(now / 1000),
    uptimeS: Math.round((now - rt.bootAt) / 1000), boot: rt.bootCause, boots: st.boots, safe: rt.safe,
    configErrors: rt.configErrors, counters: st.c,
    queue: { depth: rt.store.queued(), max: rt.config.queueMax, next: st.q.next, done: st.q.done },
    alarms: st.alarms, devices: devices,
    memory: mem, wifi: { rssi: rssi },
    energy: { ms: st.en, mAh: round(estimateMah(st.en, rt.board), 3) },
    flash: { bytesPerDay: Math.round(bpd), lifeYears: bpd ? round(flashLifeYears(bpd).years, 1) : null, error: rt.store.failed },
    upload: { last: Math.floor(st.lastUp / 1000), ok: st.lastUpOk, fails: st.upFails, connected: !!(rt.uplink && rt.uplink.isUp()) },
    // battery nodes: the last SNTP answer, the RTC's rate in deep sleep (runtime/rtc-rate.ts), the last ask unanswered
    clock: { synced: Math.floor((st.syncAt || 0) / 1000), rtcFastPct: st.rr === undefined ? null : round(st.rr * 100, 3), ntpFail: Math.floor((st.ntpFail || 0) / 1000) },
    relay: st.relay,
    lamp: rt.lamp ? rt.lamp.status() : null,
  };
}
