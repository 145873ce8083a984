// The scheduler: the duty cycle, what a node does between two wakes. It owns time: when to
// wake the sensors, read, connect and sleep. Reading the sensors is in sampling.ts, alarm
// rules in alarms.ts, the lamp relay's part in firmware/streetlight/hook.ts, the grid
// arithmetic in grid.ts. What needs the broker (a battery wake's session, a mains node's link
// and timed cycle) is in firmware/uplink/session.ts, part of the link's code: a wake that only
// samples does not lex it.
// Firmware code: ES5, Espruino subset.
//
// Battery: wake -> (not due yet? sleep again: chained sleeps, no sensors, no radio) ->
// power the sensors that need warm-up while the quick ones are read -> read each once warm
// (sampling.ts) -> power down -> fold into the windows and queue -> save -> connect and
// flush if the window closed, an alarm was raised or a failed upload is due for a retry ->
// save -> deep sleep until the next slot of the period grid (multiples of samplePeriodS since
// the epoch, so the cycle's own duration never makes the schedule drift).
// Mains (or no deep sleep): the same cycle on timers, with the link kept up.

import type { Runtime, Entry } from "./state.js";
import { CLOCK_VALID_MS } from "./store.js";
import { newWindow, fold, summarize } from "./aggregate.js";
import { readAlarms, settleAlarms } from "./alarms.js";
import { QUANTITIES } from "../../drivers/quantities.js";
import { uplinkApi } from "../uplink/lazy.js";
import { mainsApi } from "../uplink/mains-lazy.js";
import { startJoin, staticWanted, JOIN_PLAN_FILE, JOIN_LEAD_STATIC_MS, JOIN_LEAD_DHCP_MS, type JoinPlan, type EarlyJoin } from "../uplink/early-join.js";
import { savePlanFile } from "./plan-file.js";
import { rtcSleepMs, saveRtcPlan, rateDue } from "./rtc-rate.js";
import { Sampler, type Sample } from "./sampling.js";
import { clearBootLoop, markStable, SAFE_SLEEP_MS, STABLE_MS, TICK_MS } from "./safemode.js";
import { otaWantsLink } from "../ota/lazy.js";
import { MIN_SLEEP_MS, nextSlot, closesWindow, sendDue, nextUploadWake } from "./grid.js";
import { fillOf } from "../../drivers/fill.js";

/** the RTC may wake a little early: wait for the slot rather than sleep again */
export const EARLY_WAKE_MS = 2000;
/** battery: a cycle still running after this is cut short (save, sleep) before the watchdog bites */
export const MAX_AWAKE_MS = 150000;
/** a battery node with a refused config keeps its console awake this long, then sleeps */
const CONFIG_CONSOLE_MS = 10 * 60000;
const CONFIG_RETRY_SLEEP_MS = 60 * 60000;

export interface CycleOutcome {
  /** an aggregation window was closed (its summary queued) */
  closed: boolean;
  /** alarms that were not active before */
  raised: string[];
}

export class Scheduler {
  rt: Runtime;
  private _ending: boolean;
  private _deadline: any;
  private _sampler: Sampler;
  private _lastTick: number;
  private _ticks: number;
  /** watchdog ticks since the last completed mains cycle (uplink/session.ts resets it) */
  sinceCycle: number;
  /** the join begun ahead of this wake's upload (_joinAhead), and its timer */
  private _early: EarlyJoin | null;
  private _aheadTimer: any;

  constructor(rt: Runtime) {
    this.rt = rt;
    this._ending = false;
    this._deadline = null;
    this._sampler = new Sampler(rt);
    // the watchdog's tick starts now: a clock set before its first run is still a jump
    this._lastTick = Date.now();
    this._ticks = 0;
    this.sinceCycle = 0;
    this._early = null;
    this._aheadTimer = null;
  }

  private _periodMs(): number {
    return this.rt.config.samplePeriodS * 1000;
  }

  start(): void {
    var rt = this.rt;
    this._clockAtBoot();
    if (rt.configErrors.length) this._configSafe();
    else if (rt.mains) mainsApi().startMains(this);
    else this._batteryStart();
  }

  /** the sensors were configured this boot (a bundle that got this far keeps itself: OTA) */
  sensorsConfigured(): boolean {
    return this._sampler.configured;
  }

  /** SNTP answered while a battery session waited for it (uplink/session.ts), `delta` ms after the last tick */
  clockFound(delta: number): void {
    if (this._lastTick < CLOCK_VALID_MS) this._clockSet(delta);
  }

  /** an SNTP answer (uplink/session.ts): the clock is `off` ms behind; steps under a tenth of a second are left */
  clockCorrected(off: number): void {
    if (off > -100 && off < 100) return;
    var st = this.rt.store.state, next = st.next;
    (this.rt.platform.setTime as (ms: number) => void)(Date.now() + off);
    this._clockSet(off);
    this._sampler.clockMoved(off);
    // the next slot is a place on the real grid, not a time this boot measured; the clock ran
    // ahead, so it may be a slot too far
    st.next = next;
    var p = this._periodMs();
    while (st.next - p > Date.now()) st.next -= p;
  }

  /**
   * The runtime's tick (every TICK_MS, from the watchdog timer): notices the clock being set,
   * marks a mains boot stable, and says whether the node makes progress (the watchdog is
   * kicked only then). Progress is counted in ticks, not clock time, which SNTP may move.
   */
  tick(): boolean {
    var rt = this.rt, now = Date.now(), d = now - this._lastTick;
    if (d < 0 || d > 12 * TICK_MS) this._clockSet(d - TICK_MS);
    this._lastTick = now;
    this._ticks++;
    this.sinceCycle++;
    if (rt.mains && !rt.safe && this._ticks * TICK_MS >= STABLE_MS && rt.store.state.crashRun) {
      markStable(rt.store.state);
      rt.store.save();
    }
    if (rt.safe || rt.configErrors.length) return true;
    if (!rt.mains) return this._ticks * TICK_MS < MAX_AWAKE_MS + 4 * TICK_MS;
    return this.sinceCycle * TICK_MS < 3 * this._periodMs() + 120000;
  }

  /**
   * SNTP (or a person) moved the clock by `delta` ms: keep this boot's own times consistent,
   * and if it was the first time this RTC run learnt the time, every time taken in it.
   */
  private _clockSet(delta: number): void {
    var rt = this.rt, st = rt.store.state, first = this._lastTick < CLOCK_VALID_MS && this._lastTick + delta >= CLOCK_VALID_MS;
    // before the first sync everything in run time is this run's (_clockAtBoot cleared older ones)
    var mine = function (t: number) {
      return t > 0 && (first ? t < CLOCK_VALID_MS : t >= Math.floor(rt.bootAt));
    };
    for (var i = 0; i < st.boots.length; i++) if (st.boots[i][0] >= Math.floor(rt.bootAt)) st.boots[i][0] += delta;
    if (mine(st.lastUp)) st.lastUp += delta;
    if (st.dhcpAt && mine(st.dhcpAt)) st.dhcpAt += delta;
    if (st.ipFail && mine(st.ipFail)) st.ipFail += delta;
    if (mine(st.next)) st.next += delta;
    if (st.relay && mine(st.relay.until)) st.relay.until += delta;
    rt.bootAt += delta;
    if (rt.lastCycleAt) rt.lastCycleAt += delta;
    this._lastTick += delta;
    rt.energy.shift(delta);
    rt.log("clock set (" + (delta > 0 ? "+" : "") + (delta > -9500 && delta < 9500 ? Math.round(delta) + " ms)" : Math.round(delta / 1000) + " s)"));
    if (!first) return;
    // the RTC's rate is measured from here (runtime/rtc-rate.ts)
    st.syncAt = Date.now();
    st.syncOff = 0;
    st.syncSlept = st.en.sleep || 0;
    if (rt.store.runLive()) this._runSynced(delta);
  }

  /** Boot: is this the RTC run that was waiting for the clock, a new one, or a set clock? */
  private _clockAtBoot(): void {
    var rt = this.rt, store = rt.store, st = store.state, now = Date.now();
    var same = rt.bootCause === "deep-sleep" || now >= store.savedBefore;
    if (now >= CLOCK_VALID_MS || !store.runLive() || !same) {
      if (store.runLive()) rt.log("clock: the last run never learnt the time; its readings stay untimed");
      store.endRun();
      if (st.dp) {
        rt.log("clock: " + st.dp.h.length + " h of noise levels without a time dropped from Lden");
        st.dp = null;
      }
    }
    if (now >= CLOCK_VALID_MS || store.runLive()) return;
    // a new RTC run: its times count from 0 until the clock is set
    if (st.win && st.win.t < CLOCK_VALID_MS) st.win = null;
    if (st.winDone < CLOCK_VALID_MS) st.winDone = 0;
    if (st.lastUp < CLOCK_VALID_MS) st.lastUp = 0;
    if (st.next < CLOCK_VALID_MS) st.next = 0;
    store.newRun();
  }

  /** The live run learnt the time (`off` ms ahead of its run time): place what it kept. */
  private _runSynced(off: number): void {
    var rt = this.rt, store = rt.store, st = store.state, cfg = rt.config, out: Entry[] = [];
    store.runSynced(off);
    // the window filled in run time ends here (sent re-stamped); the next one is on the real grid
    if (st.win && st.win.t < CLOCK_VALID_MS) {
      out = summarize(st.win);
      st.win = null;
    }
    if (st.winDone < CLOCK_VALID_MS) st.winDone = 0;
    if (rt.lden) out = out.concat(rt.lden.place(st, off, cfg.tzOffsetMin));
    if (!store.enqueue(out, cfg.queueMax)) rt.log("queue: write failed " + store.failed);
    store.save();
  }

  // ---- battery ----

  private _batteryStart(): void {
    var self = this, rt = this.rt, st = rt.store.state, now = Date.now();
    if (rt.bootCause === "deep-sleep" && st.next > now + EARLY_WAKE_MS) {
      // a link of a chained sleep: not due yet
      rt.log("wake: " + Math.round((st.next - now) / 1000) + " s to the next cycle");
      this._sleep(st.next);
      return;
    }
    if (rt.bootCause === "deep-sleep") {
      st.c.wakes += 1 + (st.chain || 0);
      if (st.savedAt && rt.wokeAt > st.savedAt) rt.energy.add("sleep", rt.wokeAt - st.savedAt);
    }
    st.chain = 0;
    this._deadline = setTimeout(function () {
      rt.log("cycle overran " + MAX_AWAKE_MS / 1000 + " s: sleeping");
      self._finishBattery();
    }, MAX_AWAKE_MS);
    if (rt.safe) return this._batterySafe();
    var synced = false;
    var run = function () {
      var slot = Math.floor(Date.now() / self._periodMs()) * self._periodMs();
      var planned = Date.now() >= CLOCK_VALID_MS && self._nextUpload(slot) === slot;
      if (planned) self._joinAhead();
      self.cycle(slot, function (out) {
        if (self._ending) return;
        st.next = nextSlot(slot, self._periodMs(), Date.now());
        // the readings are durable before the radio goes on
        rt.store.save();
        var why = out.raised.length ? "alarm " + out.raised.join(",") : out.closed ? self.sendWhy() : "";
        if (!why) why = rt.bootCause !== "deep-sleep" && !synced ? "boot" : self.retryDue() ? "retry" : otaWantsLink(rt) ? "ota" : "";
        if (!why) return self._finishBattery();
        rt.log("upload: " + why);
        uplinkApi().session(self, function () {
          self._finishBattery();
        });
      });
      // a planned upload evaluates the link's code now, while the sensors start up (their input
      // and timers wait), rather than after the read
      if (planned && !self._ending) uplinkApi();
    };
    if (rt.bootCause !== "deep-sleep" && now < CLOCK_VALID_MS && rt.platform.wifi) {
      // power-on with no time yet: connect first (SNTP), so the readings get real timestamps
      rt.log("clock not set: connecting first");
      synced = true;
      return uplinkApi().session(this, run);
    }
    // (such a wake joins by DHCP, whose DNS finds a server by name: early-join.ts staticWanted)
    if (rt.bootCause === "deep-sleep" && rt.platform.wifi && rt.platform.dgram && rateDue(st, now)) {
      // a new node's clock is ahead by 1-3 % of its sleeps: measure the rate before stamping
      // anything (the chip woke that much early: the cycle may be a sleep away yet); once in 6 h
      rt.log("clock: measuring the RTC's rate first");
      st.rateAsk = now;
      return uplinkApi().session(this, function () {
        if (st.next > Date.now() + EARLY_WAKE_MS) self._finishBattery();
        else run();
      });
    }
    var wait = rt.bootCause === "deep-sleep" ? st.next - now : 0;
    setTimeout(run, wait > 0 ? wait : 0);
  }

  /**
   * A window just closed: worth a connection? Yes when the send grid (sendPeriodS) was crossed
   * since the last upload, while an alarm is active, or when a bin's fill moved by
   * binFillStep since the last upload. "" = it waits in the queue. A bin-full alarm does not
   * count once raised when binFillStep is set: the step sends what changes, and an unchanged
   * full bin re-sent every window cost a battery bin about 9 uploads a day.
   */
  sendWhy(): string {
    var rt = this.rt, st = rt.store.state, c = rt.config, F = c.sendPeriodS * 1000, now = Date.now();
    if (sendDue(now, F, st.lastUp)) return "window";
    var step = c.thresholds.binFillStep, sent = st.sent || {};
    var full = QUANTITIES.fill.alarm;
    for (var i = 0; i < st.alarms.length; i++) if (!step || st.alarms[i].slice(st.alarms[i].indexOf(":") + 1) !== full) return "alarm active";
    for (var dev in rt.last) {
      var v = fillOf(rt.last[dev]);
      if (step && v !== null && sent[dev] !== undefined && Math.abs(v - sent[dev]) >= step) return "change " + dev + ".fill";
    }
    return "";
  }

  /** a failed upload is retried after 1, 2, 4... sample periods, at most one upload period */
  retryDue(): boolean {
    var rt = this.rt, st = rt.store.state;
    if (st.lastUpOk || !st.lastUp || !rt.store.queued()) return false;
    var wait = Math.min(rt.config.uploadPeriodS * 1000, this._periodMs() * Math.pow(2, Math.min(st.upFails, 11) - 1));
    return Date.now() - st.lastUp >= wait - EARLY_WAKE_MS;
  }

  private _batterySafe(): void {
    var self = this, rt = this.rt, st = rt.store.state;
    this._sampler.release();
    uplinkApi().session(this, function () {
      // retry a normal boot after the loop window, not at once
      clearBootLoop(st);
      st.next = nextSlot(Date.now() + SAFE_SLEEP_MS, self._periodMs(), Date.now());
      self._finishBattery();
    });
  }

  /** save and sleep (or reboot); also the overrun path */
  private _finishBattery(): void {
    var rt = this.rt, st = rt.store.state, now = Date.now();
    if (this._ending) return;
    this._ending = true;
    if (this._deadline) clearTimeout(this._deadline);
    // set since the last tick: the moment is known to within a tick
    if (now >= CLOCK_VALID_MS && this._lastTick < CLOCK_VALID_MS) this._clockSet(now - this._lastTick - TICK_MS / 2);
    if (rt.uplink) {
      if (rt.uplink.client) rt.uplink.client.destroy();
      rt.energy.set("radio", false);
      rt.uplink = null;
    }
    // (far in the future only if the clock jumped back)
    if (!st.next || st.next < now + MIN_SLEEP_MS || st.next > now + 2 * this._periodMs() + CONFIG_RETRY_SLEEP_MS) {
      st.next = nextSlot(now, this._periodMs(), now);
    }
    var max = rt.platform.maxDeepSleepMs;
    st.chain = Math.max(0, Math.ceil((st.next - now) / max) - 1);
    rt.energy.set("awake", false);
    rt.energy.settle();
    // this boot got its work done: it is no part of a boot loop
    if (!rt.safe && !rt.configErrors.length) markStable(st);
    this._planJoin();
    rt.store.save();
    if (rt.rebootWanted) {
      rt.log("rebooting (" + (rt.ota && rt.ota.st.report && rt.ota.st.report.state === "trial" ? "update" : "command") + ")");
      rt.platform.reboot();
      return;
    }
    this._sleep(st.next);
  }

  /**
   * Leave the join of the next planned upload wake to its wake prelude (uplink/early-join.ts),
   * and end a join the prelude began for this wake if it went unused (an upload not foreseen).
   */
  private _planJoin(): void {
    var rt = this.rt, st = rt.store.state, c = rt.config, w = rt.platform.wifi, early = this.takeEarly();
    if (early && w) {
      try {
        w.disconnect();
      } catch (e) {
        // not joined
      }
      rt.energy.add("radio", Date.now() - early.t0);
    }
    // a long sampling joins from the cycle (_joinAhead), not from the boot
    var at = w && !rt.configErrors.length && Date.now() >= CLOCK_VALID_MS && (st.sampleMs || 0) <= JOIN_LEAD_STATIC_MS ? this._nextUpload(st.next) : 0;
    savePlanFile(rt.platform.storage, JOIN_PLAN_FILE, at ? this.joinPlan(at, true) : null);
  }

  /** the join begun for this wake (by _joinAhead, or by the wake prelude), once; one not begun yet never will be */
  takeEarly(): EarlyJoin | null {
    var rt = this.rt, early = this._early || (rt.platform.earlyJoin ? rt.platform.earlyJoin() : null);
    if (this._aheadTimer) clearTimeout(this._aheadTimer);
    this._aheadTimer = this._early = null;
    return early;
  }

  private _nextUpload(from: number): number {
    var c = this.rt.config;
    return nextUploadWake(from, this._periodMs(), c.uploadPeriodS * 1000, c.sendPeriodS * 1000, this.rt.store.state.lastUp);
  }

  /** how a join at `at` goes: SSID, password, the static address if wanted then (deep-sleep wakes only) */
  joinPlan(at: number, wake: boolean): JoinPlan {
    var c = this.rt.config, plan: JoinPlan = { at: at, s: c.wifi.ssid, p: c.wifi.password };
    if (wake && staticWanted(this.rt, at)) {
      plan.ip = c.wifi.ip;
      plan.gw = c.wifi.gw;
      plan.nm = c.wifi.netmask;
    }
    return plan;
  }

  /**
   * A planned upload wake whose sampling takes longer than a join (the last one's time): start
   * the join so that it ends about when the sampling does. (From the boot, as the prelude joins,
   * the radio would stay on through an SDS011's 15 s warm-up.)
   */
  private _joinAhead(): void {
    var self = this, rt = this.rt, w = rt.platform.wifi, took = rt.store.state.sampleMs || 0;
    if (!w || took <= JOIN_LEAD_STATIC_MS || rt.bootCause !== "deep-sleep") return;
    var plan = this.joinPlan(Date.now(), true);
    this._aheadTimer = setTimeout(function () {
      self._aheadTimer = null;
      if (!self._ending) self._early = startJoin(w as WifiModule, plan);
    }, Math.max(0, took - (plan.ip ? JOIN_LEAD_STATIC_MS : JOIN_LEAD_DHCP_MS)));
  }

  /** deep sleep towards `target`, in links of at most maxDeepSleepMs */
  private _sleep(target: number): void {
    var rt = this.rt, p = rt.platform;
    // a board sleeping through a latched sensor's warm-up wakes for it sleepWarmingMs early
    if (rt.warmAsleep) target = rt.warmAsleep.sleepUntil(rt, target, this._sampler);
    var now = Date.now(), ms = target - now, st = rt.store.state;
    if (ms < MIN_SLEEP_MS) ms = MIN_SLEEP_MS;
    var link = Math.min(ms, Math.floor(p.maxDeepSleepMs / (1 + (st.rr || 0))));
    rt.energy.set("awake", false);
    rt.log("sleep " + Math.round(link / 1000) + " s" + (link < ms ? " (" + Math.round(ms / 1000) + " s to go)" : ""));
    // a fast RTC counts the sleep faster: asked longer, it ends on time, and the prelude corrects the clock
    saveRtcPlan(p.storage, st, now);
    (p.deepSleep as (ms: number) => void)(rtcSleepMs(st, link));
  }

  /** refused config: the console says why; nothing else runs */
  private _configSafe(): void {
    var rt = this.rt, self = this, st = rt.store.state;
    rt.log("SAFE MODE: casanode.json refused:");
    for (var i = 0; i < rt.configErrors.length; i++) rt.log("  " + rt.configErrors[i]);
    rt.log("fix it (provisioning) and reboot; casanode.help() for the console");
    if (rt.mains || !rt.platform.deepSleep) return;
    setTimeout(function () {
      st.next = Date.now() + CONFIG_RETRY_SLEEP_MS;
      self._finishBattery();
    }, CONFIG_CONSOLE_MS);
  }

  // ---- the cycle ----

  /** sample, then fold and queue; the caller saves */
  cycle(slot: number, done: (out: CycleOutcome) => void): void {
    var self = this, rt = this.rt, t0 = Date.now();
    if (rt.relay) rt.relay.cycle(rt, this._sampler.configured);
    this._sampler.sample(function (samples) {
      rt.store.state.sampleMs = Date.now() - t0;
      done(self.fold(slot, samples));
    });
  }

  /** Fold samples into the windows, queue them (and closed windows), update alarms. */
  fold(slot: number, samples: Sample[]): CycleOutcome {
    var rt = this.rt, st = rt.store.state, cfg = rt.config, i: number, j: number;
    // taken in run time, but the run has learnt its clock meanwhile: real times
    var off = rt.store.runOffset();
    if (off && slot < CLOCK_VALID_MS) slot = Math.floor((slot + off) / this._periodMs()) * this._periodMs();
    for (i = 0; i < samples.length; i++) if (off && samples[i].t < CLOCK_VALID_MS) samples[i].t += off;
    var P = this._periodMs(), U = cfg.uploadPeriodS * 1000, ws = Math.floor(slot / U) * U;
    var entries: Entry[] = [], alarms: string[] = [], closed = false;
    // a window closed in the other time (run time / real) says nothing about this one
    var done = st.winDone || 0;
    if (done < CLOCK_VALID_MS !== ws < CLOCK_VALID_MS) done = 0;
    if (st.win && st.win.t !== ws) {
      // the node missed the end of that window (off, or the periods changed): close it now
      entries = entries.concat(summarize(st.win));
      st.winDone = st.win.t;
      st.win = null;
      closed = true;
    }
    // a reboot inside a slot whose window already closed: the sample goes out, in no window
    if (!st.win && ws > done) st.win = newWindow(ws);
    for (i = 0; i < samples.length; i++) {
      var sm = samples[i], dev = sm.dev, r = sm.r, tS = Math.floor(sm.t / 1000);
      var d = st.dev[dev] || (st.dev[dev] = { ok: 0, bad: 0, last: "" });
      rt.last[dev] = r;
      if (rt.relay) rt.relay.read(rt, dev, r);
      readAlarms(dev, r, cfg.thresholds, st.alarms, alarms);
      if (!r.ok) {
        d.bad++;
        d.last = (r.fault || "fault") + (r.detail ? ": " + r.detail : "");
        continue;
      }
      d.ok++;
      for (j = 0; j < r.readings.length; j++) {
        var rd = r.readings[j], name = dev + "." + rd.name, v = rd.value;
        if (typeof v !== "number" || !isFinite(v)) continue;
        entries.push([name, rd.unit, v, tS]);
        if (st.win) fold(st.win, { name: name, unit: rd.unit, value: v });
        if (rd.name === "LAeq" && rt.lden) entries = entries.concat(rt.lden.fold(st, sm.t, v, dev + ".", cfg.tzOffsetMin));
      }
    }
    if (st.win && closesWindow(slot, P, U)) {
      entries = entries.concat(summarize(st.win));
      st.winDone = st.win.t;
      st.win = null;
      closed = true;
    }
    var stored = rt.store.enqueue(entries, cfg.queueMax);
    if (rt.store.roomDrops) rt.log("queue: flash full, the oldest " + rt.store.roomDrops + " values dropped to make room");
    if (!stored) rt.log("queue: " + entries.length + " values not stored: " + rt.store.failed);
    var raised = settleAlarms(st, alarms);
    st.c.cycles++;
    var bad: string[] = [];
    for (i = 0; i < samples.length; i++) if (!samples[i].r.ok) bad.push(samples[i].dev + " " + samples[i].r.fault);
    rt.log("cycle: " + entries.length + " values queued, " + rt.store.queued() + " waiting" + (bad.length ? "; faults: " + bad.join(", ") : "") + (closed ? "; window closed" : ""));
    return { closed: closed, raised: raised };
  }
}
