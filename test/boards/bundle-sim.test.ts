// The REAL bundles (dist/<board>.js, what is flashed) in the simulator: emulated Espruino,
// simulated devices on their wire protocols, deep sleeps that really end the boot, power cuts
// that tear flash writes, an RTC that restarts at 0 after a power cut. The broker is played in
// memory (mem-broker.ts) so a simulated day runs in a second with no real I/O.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { boardNames } from "../../toolchain/boards.mjs";
import { BOOT_BASE_MS, esp32BootMs, esp32LexMs, scanMsPerByte, cpuFactor } from "../../sim/boot-time.js";
import { lexedBytes } from "../../toolchain/pretokenise.mjs";
import { readNodeStats } from "../../firmware/runtime/stats.js";
import { signCommand } from "../../firmware/messages/commands.js";
import { QUANTITIES } from "../../drivers/quantities.js";
import type { MemBroker } from "../support/mem-broker.js";
import { rig, START, KEY, evaluatedStrings, type Rig } from "../support/bundle-rig.js";
import { createRng } from "../../sim/random.js";
import { A02_START_MS, A02_REALTIME_MS, type A02yyuwTwin } from "../../sim/devices/a02yyuw.js";
import { WIFI_STATIC_JOIN_MAX_MS } from "../../sim/espruino/wifi.js";
import { SDS_WARMUP_MS, SDS_RETRY_MS } from "../../drivers/sds011.js";
import { profile as airProfile } from "../../boards/profiles/esp32-air.js";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest().toString("latin1");

/** every data record at the broker as [name, time s], times resolved as bt + t (never relative) */
function records(b: MemBroker): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const m of b.topic("data")) {
    let bt = 0;
    for (const x of JSON.parse(m.payload)) {
      if (x.bt !== undefined) bt = x.bt;
      out.push([x.n, bt + (x.t ?? 0)]);
    }
  }
  return out;
}

/** records whose time is outside [from, to] (ms); a day's levels are stamped with the day's start */
function implausible(b: MemBroker, from: number, to: number): Array<[string, number]> {
  return records(b).filter(([n, t]) => t * 1000 > to || t * 1000 < from - (/\.L(day|evening|night|den)$/.test(n) ? DAY : 0));
}

function valuesNamed(b: MemBroker, name: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [k, v] of b.dataValues()) {
    const at = k.lastIndexOf("@");
    if (k.slice(0, at) === name) out.push([Number(k.slice(at + 1)), v]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** the node's awake periods from its power trace: start, end, and when the radio first went on in it */
function wakesOf(trace: Array<{ t: number; state: string; on: boolean }>): Array<{ start: number; end: number; radioAt?: number }> {
  const out: Array<{ start: number; end: number; radioAt?: number }> = [];
  let open: { start: number; radioAt?: number } | undefined;
  for (const e of trace) {
    if (e.state === "awake" && e.on) open = { start: e.t };
    else if (e.state === "awake" && open) {
      out.push({ ...open, end: e.t });
      open = undefined;
    } else if (e.state === "radio" && e.on && open) open.radioAt ??= e.t;
  }
  return out;
}

/** the awake period that holds virtual time `t` */
function wakeAt(wakes: Array<{ start: number; end: number; radioAt?: number }>, t: number): { start: number; end: number; radioAt?: number } {
  return wakes.find((x) => x.start <= t && x.end >= t)!;
}

const PLAN_RTT_MS = 60;

/**
 * `board` with a static address `ip`, a 3 h send grid and a fixed round trip, for 30 h: its
 * wakes, and the times of its planned uploads ("upload: window") past the power-on's sessions
 * with, of those, the ones that joined with the static address
 */
async function plannedUploads(board: string, ip: string): Promise<{ r: Rig; wakes: ReturnType<typeof wakesOf>; planned: number[]; staticJoin: number[] }> {
  const wifi = { ssid: "casanode-sim", password: "casanode-sim-ap", ip, gw: "192.168.4.1", netmask: "255.255.255.0" };
  const r = await rig(board, { samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 3 * 3600, wifi }, { netLatency: { rttMinMs: PLAN_RTT_MS, rttMaxMs: PLAN_RTT_MS, tlsHandshakeMs: 0 } });
  r.run(30 * HOUR);
  expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
  const planned = r.seen(/^upload: window$/).filter((t) => t > START + 4 * HOUR);
  const connected = r.seen(new RegExp(`uplink: connected .*\\(static ${ip.replace(/\./g, "\\.")}\\)`));
  return { r, wakes: wakesOf(r.node.trace), planned, staticJoin: planned.filter((t) => connected.some((s) => s > t && s < t + 2000)) };
}

describe("bundles in the simulator (runtime)", function () {
  this.timeout(60_000);
  let r: Rig | undefined;
  afterEach(function () {
    if (this.currentTest?.state === "failed" && r) console.log(r.text().slice(-1500));
    r?.node.stop();
    r = undefined;
  });

  it("network round trips: two per upload (TCP, then the CONNECT with the status and data pipelined behind it), the CONNACK and PUBACKs in the second", async () => {
    const wake = async (rtt: number) => {
      const r = await rig("esp32-bin", {}, { netLatency: { rttMinMs: rtt, rttMaxMs: rtt, tlsHandshakeMs: 0 } });
      r.run(2 * HOUR);
      const up = r.seen(/uplink: connected/), sleeps = r.seen(/^sleep /);
      const t = up[up.length - 1];
      // from the radio coming on: when the read before it ends depends on the sensor's frames,
      // which the sensor's earlier time powered (the power-on connect, longer with rtt) shifts
      const radioOn = r.node.trace.filter((e) => e.state === "radio" && e.on && e.t <= t).pop()!.t;
      return { connected: t - radioOn, sleep: sleeps.find((s) => s > t)! - radioOn };
    };
    const a = await wake(0), b = await wake(250);
    expect(b.connected - a.connected).to.equal(500);
    // the PUBACKs of the status and the data (one batch) come right behind the CONNACK; the
    // offline status goes with the DISCONNECT, no PINGREQ is needed, the socket closes at once
    expect(b.sleep - b.connected - (a.sleep - a.connected)).to.equal(0);
  });

  it("boot time grows with the bytes the lexer reads: the fixed part plus their measured parse time scaled to the ESP32", async () => {
    const r = await rig("esp32-bin", {});
    const image = readFileSync("dist/esp32-bin.js", "latin1");
    const bytes = lexedBytes(image);
    // the OTA module and the link's code (uplink/lazy.ts) are in the image as raw strings the
    // lexer skips: a wake that only samples lexes about half of it
    expect(image.length - bytes).to.be.above(30_000);
    expect(r.node.bootMs).to.equal(esp32BootMs(bytes));
    expect(r.node.bootMs).to.equal(Math.round(BOOT_BASE_MS + bytes * scanMsPerByte() * cpuFactor()));
    expect(esp32BootMs(2 * bytes) - BOOT_BASE_MS).to.be.closeTo(2 * (r.node.bootMs - BOOT_BASE_MS), 1);
    r.run(1000 + r.node.bootMs);
    // the bundle's first line comes out once the boot is over, not before
    expect(r.seen(/CasaNode/)[0]).to.equal(START + r.node.bootMs);
  });

  it("static IP: joins in well under a second on wakes, DHCP at power-on and once a day; a wrong address falls back to DHCP for a day", async () => {
    const wifi = (ip: string) => ({ ssid: "casanode-sim", password: "casanode-sim-ap", ip, gw: "192.168.4.1", netmask: "255.255.255.0" });
    const joins = (r: Rig, re: RegExp) => {
      const ups = r.seen(/^upload: |^clock not set: connecting first|^clock: measuring the RTC's rate first/), conn = r.lines.filter((l) => re.test(l[1])).map((l) => l[0]);
      return conn.map((t) => t - ups.filter((u) => u <= t).pop()!);
    };
    r = await rig("esp32-bin", { samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 3600, wifi: wifi("192.168.4.200"), broker: { host: "127.0.0.1", port: 1883 } });
    r.run(30 * HOUR);
    const stat = joins(r, /uplink: connected .*\(static 192\.168\.4\.200\)/), dhcp = joins(r, /uplink: connected to [\d.:]+$/);
    // power-on (the SNTP session), the new node's RTC rate measured a quarter of an hour later
    // (static joins wait for it), then the first upload a day after it
    expect(dhcp.length).to.equal(3);
    expect(stat.length).to.be.at.least(25);
    // from the first upload after power-on (its DHCP time was taken before SNTP set the clock)
    expect(r.seen(/\(static 192\.168\.4\.200\)/)[0]).to.be.below(START + 2 * HOUR);
    for (const ms of stat) expect(ms).to.be.below(1300);
    for (const ms of dhcp) expect(ms).to.be.at.least(1500);
    expect(readNodeStats(r.node.storage).lost).to.equal(0);

    // an address outside the AP's subnet: joins, reaches nothing, DHCP from the next upload
    r = await rig("esp32-bin", { samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 3600, wifi: wifi("10.9.9.9"), broker: { host: "127.0.0.1", port: 1883 } });
    r.run(4 * HOUR);
    expect(r.seen(/static address failed \(mqtt /).length).to.equal(1);
    const after = r.seen(/static address failed/)[0];
    // the retry (one sample period later) joins with DHCP and empties the queue
    expect(r.seen(/uplink: connected to [\d.:]+$/).filter((t) => t > after && t < after + 16 * MIN).length).to.equal(1);
    const st = readNodeStats(r.node.storage);
    expect(st.lost).to.equal(0);
    expect(st.uploadFails).to.equal(1);
  });

  it("esp32-bin-lp: the A02YYUW starts while the bundle is lexed (wake prelude), so a sample wake ends sooner than a read after the boot could", async () => {
    r = await rig("esp32-bin-lp", { samplePeriodS: 900, uploadPeriodS: 3600 });
    r.run(6 * HOUR);
    expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
    const trace = r.node.trace, sampleWakes: number[] = [];
    for (let i = 0; i < trace.length; i++) {
      if (trace[i].state !== "awake" || !trace[i].on) continue;
      const end = trace.findIndex((e, j) => j > i && e.state === "awake" && !e.on);
      if (end < 0) break;
      if (!trace.slice(i, end).some((e) => e.state === "radio")) sampleWakes.push(trace[end].t - trace[i].t);
    }
    expect(sampleWakes.length).to.be.at.least(15);
    // its mode pin held low at power-up: real-time frames, one each 100 ms from ~300 ms after it.
    // Powered ~250 ms into the boot, the five of a read come while the bundle is lexed (~0.6 s,
    // the link's code left out: uplink/lazy.ts) or just after: the wake ends with the fifth
    // frame or the boot, whichever is later, never a read's own time after the boot
    expect((r.node.devices.bin as A02yyuwTwin).realtime()).to.equal(true);
    const fifth = BOOT_BASE_MS + A02_START_MS + 4 * A02_REALTIME_MS;
    for (const ms of sampleWakes) expect(ms).to.be.below(Math.max(r.node.bootMs, fifth) + 20);
    expect(r.broker.topic("data").length).to.be.above(0);
    expect(valuesNamed(r.broker, "bin.fill").length).to.be.at.least(20);
  });

  it("a planned upload wake joins Wi-Fi from its wake prelude, while the bundle is lexed: the wake ends a few round trips after the boot", async () => {
    const run = await plannedUploads("esp32-bin-lp", "192.168.4.200"), { wakes, planned, staticJoin } = run, rtt = PLAN_RTT_MS;
    const linkMs = esp32LexMs(evaluatedStrings("esp32-bin-lp").find((e) => e.code.includes("__casanodeUplink"))!.code);
    r = run.r;
    // after the power-on's sessions (SNTP, then the first upload's DHCP), every 3 h
    expect(planned.length).to.be.at.least(7);
    // DHCP once a day (its lease tells the DNS SNTP needs), joined from the prelude too, unless
    // the day's DHCP wake was the one that measured the new node's RTC rate before sampling
    expect(planned.length - staticJoin.length).to.be.at.most(1);
    for (const t of staticJoin) {
      const w = wakeAt(wakes, t);
      // the radio goes on as the prelude runs, right after the boot's fixed part
      expect(w.radioAt! - w.start).to.be.at.most(BOOT_BASE_MS + 5);
      // joined (0.55-0.9 s from there) by the time the bundle has run and evaluated the link's
      // code: then TCP, CONNACK, the PUBACKs of the status and the data (3 h of it, one batch)
      expect(w.end - w.start).to.be.at.most(Math.max(r.node.bootMs + linkMs, BOOT_BASE_MS + 5 + WIFI_STATIC_JOIN_MAX_MS) + 3 * rtt + 5);
    }
    // an upload no plan foresaw (a fill step, an alarm) starts its join as it decides, and
    // evaluates the link's code (uplink/lazy.ts, ~0.2 s) while it joins
    const unplanned = r.seen(/^upload: (change|alarm)/).filter((t) => t > START + 4 * HOUR);
    expect(unplanned.length).to.be.at.least(1);
    for (const t of unplanned) expect(wakeAt(wakes, t).radioAt! - t).to.be.at.most(1);
    // a sample wake never turns the radio on (changes and alarms upload too, joining after the boot)
    const uploads = r.seen(/^(upload: |clock: measuring the RTC's rate first$)/);
    const sampleWakes = wakes.filter((w) => w.start > START + 4 * HOUR && !uploads.some((t) => t >= w.start && t <= w.end));
    expect(sampleWakes.length).to.be.at.least(80);
    for (const w of sampleWakes) expect(w.radioAt, new Date(w.start).toISOString()).to.equal(undefined);
    const st = readNodeStats(r.node.storage);
    expect(st).to.include({ lost: 0, dropped: 0 });
    expect(st.queued).to.be.below(20);
  });

  // what the board's profile has the prelude sleep of the warm-up
  const ASLEEP = airProfile.devices.find((d) => d.model === "sds011")!.sleepWarmingMs!;

  /** esp32-air for 6 h: its power trace, awake periods, and the SDS011's power-ons past the first hour */
  async function airWarmUps(rtcSleepFast?: number) {
    const air = (r = await rig("esp32-air", { samplePeriodS: 900, uploadPeriodS: 3600 }, { rtcSleepFast }));
    air.run(6 * HOUR);
    expect(air.node.stats.crashes, air.node.stats.lastError).to.equal(0);
    const trace = air.node.trace, wakes = wakesOf(trace);
    // (the wake that connected first to measure the new node's RTC rate slept again before its
    // cycle: that warm-up was not read)
    const measured = air.seen(/^clock: measuring the RTC's rate first$/);
    expect(measured).to.have.length(1);
    const ons = trace.filter((e) => e.state === "sensor:pm" && e.on && e.t > START + HOUR && e.t < START + 6 * HOUR - MIN && !measured.some((t) => t > e.t && t < e.t + 20_000));
    expect(ons.length).to.be.at.least(17);
    return { air, trace, wakes, ons };
  }

  it("esp32-air: a short wake sets the SDS011's latch and deep-sleeps 9.5 s of its warm-up; the chip is back for the rest, and the read still waits the full 15 s from that power-on", async () => {
    const { air, trace, wakes, ons } = await airWarmUps();
    for (const on of ons) {
      const at = new Date(on.t).toISOString(), warm = wakeAt(wakes, on.t);
      // the prelude's wake: the latch set right after the boot's fixed part, then asleep, no radio
      expect(on.t - warm.start, at).to.be.at.most(BOOT_BASE_MS + 5);
      expect(warm.end - warm.start, at).to.be.below(BOOT_BASE_MS + 50);
      expect(warm.radioAt, at).to.equal(undefined);
      const next = wakes.find((w) => w.start > warm.end)!;
      expect(next.start - warm.end, at).to.equal(ASLEEP);
      // the sensor ran through that sleep and is read in the next wake, 15 s after its power-on
      // and more (the wake is credited 95 % of the sleep: the RTC may run 5 % fast)
      const off = trace.find((e) => e.state === "sensor:pm" && !e.on && e.t > on.t)!;
      expect(off.t, at).to.be.within(next.start, next.end);
      expect(off.t - on.t, at).to.be.within(SDS_WARMUP_MS + 0.05 * ASLEEP, SDS_WARMUP_MS + 0.05 * ASLEEP + SDS_RETRY_MS);
      // awake for under 7 s of the 15, not all of them
      expect(warm.end - warm.start + (off.t - next.start), at).to.be.below(SDS_WARMUP_MS - 0.95 * ASLEEP + 1500);
    }
    expect(air.text()).to.not.match(/pm: .*warming/);
    expect(valuesNamed(air.broker, "pm.pm25").length).to.be.at.least(18);
    expect(valuesNamed(air.broker, "noise.LAeq").length).to.be.at.least(18);
    expect(readNodeStats(air.node.storage)).to.include({ lost: 0, dropped: 0 });
  });

  it("esp32-air with its RTC 5 % fast in deep sleep (the spec's limit): the warm-up wake comes early, and the PM read is still 15 s after the latch's power-on in real time", async () => {
    const { air, trace, wakes, ons } = await airWarmUps(0.05);
    for (const on of ons) {
      const warm = wakeAt(wakes, on.t), next = wakes.find((w) => w.start > warm.end)!;
      // the 9.5 s asked for, 5 % short in real time until SNTP measured the rate, then asked 5 % longer
      expect(next.start - warm.end).to.be.within(ASLEEP / 1.05 - 1, ASLEEP + 1);
      // (here the noise average, 5 s from the boot, ends after the credited warm-up: the credit
      // itself, 95 % of the sleep, is checked on the prelude in test/toolchain/wake-prelude.test.ts)
      const off = trace.find((e) => e.state === "sensor:pm" && !e.on && e.t > on.t)!;
      expect(off.t - on.t, new Date(on.t).toISOString()).to.be.at.least(SDS_WARMUP_MS);
    }
    expect(air.text()).to.not.match(/pm: .*warming/);
    expect(readNodeStats(air.node.storage)).to.include({ lost: 0, dropped: 0 });
  });

  it("esp32-air: a latch is never left on across a sleep the bundle takes: a refused config sleeps with the SDS011 off and plans no warm-up wake", async () => {
    // the prelude sets the latch at power-on, before the bundle knows the config is refused
    r = await rig("esp32-air", { samplePeriodS: -5 });
    r.run(2 * HOUR);
    expect(r.text()).to.match(/SAFE MODE: casanode.json refused/);
    const trace = r.node.trace, sleeps = wakesOf(trace).map((w) => w.end);
    expect(sleeps.length).to.be.at.least(2);
    const pmOn = (t: number) => {
      const last = trace.filter((e) => e.state === "sensor:pm" && e.t <= t).pop();
      return !!last && last.on;
    };
    for (const t of sleeps) expect(pmOn(t + 1), new Date(t).toISOString()).to.equal(false);
    expect(r.node.storage.read("cn.warm")).to.equal(undefined);
    expect(trace.some((e) => e.state === "sensor:pm" && e.on)).to.equal(true);
  });

  it("esp32-air: a planned upload whose sensor warms up for 15 s joins during the warm-up, ending about with the read, not from the boot", async () => {
    const run = await plannedUploads("esp32-air", "192.168.4.201"), { wakes, planned, staticJoin } = run, rtt = PLAN_RTT_MS;
    r = run.r;
    // no plan for the prelude: it would join at the boot and idle the radio through the warm-up
    expect(r.node.storage.read("cn.join")).to.equal(undefined);
    const uploads = r.seen(/^upload: /);
    // (the warm-up wakes, a few hundred ms in the prelude, left out)
    const sample = wakes.filter((w) => w.start > START + 4 * HOUR && w.end - w.start > 1000 && !uploads.some((t) => t >= w.start && t <= w.end)).map((w) => w.end - w.start).sort((a, b) => a - b);
    const median = sample[sample.length >> 1];
    expect(median).to.be.above(5_000);
    expect(planned.length).to.be.at.least(7);
    for (const t of staticJoin) {
      const w = wakeAt(wakes, t);
      // the radio comes on a join's time (at most 1 s) before the read, not in the boot
      expect(w.radioAt! - w.start).to.be.above(median - 1500);
      // and the wake is the sample's plus the MQTT round trips: TCP, CONNACK, the PUBACKs, the close
      expect(w.end - w.start).to.be.below(median + 4 * rtt + 300);
    }
    expect(readNodeStats(r.node.storage)).to.include({ lost: 0, dropped: 0 });
  });

  it("a join the prelude began for a wake that then does not upload is ended before the sleep, and the plan is put right", async () => {
    r = await rig("esp32-bin-lp", { samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 6 * 3600 });
    r.run(3 * HOUR - 5 * MIN);
    const plan = JSON.parse(r.node.storage.read("cn.join")!);
    expect(plan).to.include({ s: "casanode-sim", p: "casanode-sim-ap" });
    expect(plan.at % (15 * MIN)).to.equal(0);
    expect(plan.at).to.be.above(r.clock.now());
    // a plan gone wrong (a clock moved, a crash before the sleep): the next wake joins for nothing
    r.node.storage.write("cn.join", JSON.stringify({ ...plan, at: r.clock.now() }));
    const from = r.clock.now(), radioMs = readNodeStats(r.node.storage).energyMs.radio;
    r.run(31 * MIN);
    const [first, second] = wakesOf(r.node.trace).filter((w) => w.start > from);
    expect(first.radioAt! - first.start).to.be.at.most(BOOT_BASE_MS + 5);
    // no upload; the node's own energy books count the radio's time; the next wake does not join
    expect(r.seen(/^upload: /).filter((t) => t > from)).to.deep.equal([]);
    expect(readNodeStats(r.node.storage).energyMs.radio - radioMs).to.be.closeTo(first.end - first.radioAt!, 5);
    expect(second.radioAt).to.equal(undefined);
    expect(JSON.parse(r.node.storage.read("cn.join")!).at).to.equal(plan.at);
  });

  it("esp32-bin: wakes on the period grid for a day; windows summarized across deep sleeps", async () => {
    r = await rig("esp32-bin", { samplePeriodS: 900, uploadPeriodS: 3600 });
    r.run(DAY + 10 * MIN);
    expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
    // power-on with the RTC at 0: it connects first for the time, then keeps the grid
    expect(r.text()).to.match(/clock not set: connecting first/);
    const wakes = r.seen(/boot=deep-sleep/);
    expect(wakes.length).to.equal(96);
    // each wake lands on the grid (plus the chip's boot time), to the ms: no drift
    for (const t of wakes) {
      const off = (t - r.node.bootMs) % (15 * MIN);
      expect(Math.min(off, 15 * MIN - off), new Date(t).toISOString()).to.be.below(1);
    }
    // every hour's window went out, stamped with its start, from samples taken in 4 boots
    const means = valuesNamed(r.broker, "bin.fill.mean");
    expect(means.length).to.be.at.least(23);
    for (const [t] of means) expect((t * 1000) % HOUR).to.equal(0);
    const hour = means[10][0];
    const raw = valuesNamed(r.broker, "bin.fill").filter(([t]) => t >= hour && t < hour + 3600);
    expect(raw.length).to.equal(4);
    expect(means[10][1]).to.be.closeTo(raw.reduce((s, x) => s + x[1], 0) / 4, 0.006);
    const st = readNodeStats(r.node.storage);
    expect(st).to.include({ lost: 0, dropped: 0 });
    expect(st.queued).to.be.below(10);
    expect(r.node.stats.memoryUsage).to.be.below(16383 / 2);
  });

  it("every board publishes only quantities of the quantity table, in its unit and range (drivers/quantities.ts)", async () => {
    for (const board of boardNames()) {
      r = await rig(board, { samplePeriodS: 600, uploadPeriodS: 3600 });
      r.run(2 * HOUR + 10 * MIN);
      expect(r.node.stats.crashes, board + ": " + r.node.stats.lastError).to.equal(0);
      const seen = new Set<string>();
      for (const m of r.broker.topic("data")) {
        for (const x of JSON.parse(m.payload) as Array<{ n: string; u?: string; v: number }>) {
          // "<device>.<quantity>" or "<device>.<quantity>.<mean|min|max|L10|L50|L90>"
          const name = x.n.split(".")[1], q = QUANTITIES[name];
          expect(q, `${board}: ${x.n}`).to.not.equal(undefined);
          expect(x.u ?? "", `${board}: ${x.n}`).to.equal(q.unit);
          expect(x.v, `${board}: ${x.n}`).to.be.within(q.min, q.max);
          seen.add(name);
        }
      }
      // a board with devices publishes something (the check above did not pass on nothing)
      if (r.node.board.devices.length) expect(seen.size, board).to.be.above(0);
      r.node.stop();
      r = undefined;
    }
  });

  it("esp32-air: noise levels aggregate energetically across deep sleeps, L10/L50/L90, Lden at midnight", async () => {
    r = await rig("esp32-air", { samplePeriodS: 900, uploadPeriodS: 3600 });
    r.run(DAY + HOUR);
    expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
    const means = valuesNamed(r.broker, "noise.LAeq.mean");
    expect(means.length).to.be.at.least(20);
    let checked = 0;
    for (const [ws, mean] of means) {
      const raw = valuesNamed(r.broker, "noise.LAeq").filter(([t]) => t >= ws && t < ws + 3600).map((x) => x[1]);
      if (raw.length !== 4) continue;
      const energetic = 10 * Math.log10(raw.reduce((s, l) => s + Math.pow(10, l / 10), 0) / raw.length);
      expect(mean).to.be.closeTo(energetic, 0.051); // rounded to the sensors' 0.1 dB
      const sorted = [...raw].sort((a, b) => a - b);
      const exceeded = (n: number) => sorted[Math.max(1, Math.ceil(((100 - n) / 100) * sorted.length)) - 1];
      for (const n of [10, 50, 90]) {
        const ln = valuesNamed(r.broker, "noise.LAeq.L" + n).find((x) => x[0] === ws)![1];
        expect(Math.abs(ln - exceeded(n)), "L" + n).to.be.at.most(0.25);
      }
      checked++;
    }
    expect(checked).to.be.at.least(20);
    const lden = valuesNamed(r.broker, "noise.Lden");
    expect(lden.length).to.equal(1);
    expect(lden[0][0] * 1000).to.equal(Date.UTC(2026, 0, 15));
    expect(readNodeStats(r.node.storage).lost).to.equal(0);
  });

  it("power cuts at random points, some inside flash writes: nothing acknowledged lost, state never corrupt", async () => {
    r = await rig("esp32-bin", { samplePeriodS: 300, uploadPeriodS: 1800 }, { seed: 11 });
    const rng = createRng(99);
    for (let i = 0; i < 10; i++) {
      r.run(Math.floor(10 * MIN + rng() * 50 * MIN));
      // half the cuts wait for the node to be awake and land inside its next flash write
      if (rng() < 0.5) {
        for (let k = 0; k < 12_000 && r.node.powerState !== "awake"; k++) r.run(100);
        r.run(Math.floor(rng() * 1500));
        r.node.powerCut(Math.floor(1000 + rng() * 60_000), { tear: true });
      } else r.node.powerCut(Math.floor(1000 + rng() * 60_000), { tear: false });
    }
    r.run(3 * HOUR);
    for (let k = 0; k < 1200 && r.node.powerState !== "asleep"; k++) r.run(100);
    expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
    expect(r.node.stats.tornWrites).to.be.greaterThan(2);
    const st = readNodeStats(r.node.storage);
    expect(st.lost, "lost").to.equal(0);
    expect(st.readings).to.be.greaterThan(100);
    expect(r.broker.dataValues().size).to.be.at.least(st.acked);
    expect(st.queued).to.be.below(20);
    // still running normally at the end
    expect(r.lines[r.lines.length - 1][1]).to.match(/^sleep \d+ s/);
  });

  it("boot loop: five boots cut before they finish land in safe mode, which reports why, then recovers", async () => {
    r = await rig("esp32-bin", { samplePeriodS: 300, uploadPeriodS: 1800 });
    for (let i = 0; i < 4; i++) {
      r.run(2_000);
      r.node.powerCut(5_000, { tear: false });
      r.run(5_000);
    }
    r.run(2 * MIN);
    expect(r.text()).to.match(/boot=power-on SAFE MODE: boot loop: 5 boots in a row that did not finish a cycle \(power-on\)/);
    const status = JSON.parse(r.broker.retained.get("casanode/t/n1/status")!);
    expect(status.safe).to.match(/^boot loop/);
    expect(r.broker.topic("diag").some((m) => /boot loop/.test(JSON.parse(m.payload).safe))).to.equal(true);
    r.run(30 * MIN);
    expect(r.text()).to.match(/boot=deep-sleep\n.*cycle: /);
    expect(readNodeStats(r.node.storage).safe).to.equal("");
  });

  it("an alarm (bin over the fill threshold) uploads at once, not at the window's end", async () => {
    const full = START + 2 * HOUR + 15 * MIN;
    r = await rig("esp32-bin", { samplePeriodS: 600, uploadPeriodS: 3600 }, {
      world: (w) => ({ ...w, binDistanceMm: (t: number) => (t < full ? 1000 : 250), pm: w.pm.bind(w), noiseDb: w.noiseDb.bind(w), temperatureC: w.temperatureC.bind(w), lampCurrentA: w.lampCurrentA.bind(w), daylightLux: w.daylightLux.bind(w) }),
    });
    r.run(3 * HOUR + 30 * MIN);
    const online = r.broker.topic("status").filter((m) => JSON.parse(m.payload).state === "online");
    const alarm = online.find((m) => JSON.parse(m.payload).alarms.includes("bin:bin-full"))!;
    expect(alarm, r.text()).to.not.equal(undefined);
    // the first cycle after the bin filled (10:20), not the window's end (10:50)
    expect(alarm.t - (START + 2 * HOUR + 20 * MIN)).to.be.within(0, 30_000);
    expect(valuesNamed(r.broker, "bin.fill").some(([t, v]) => t * 1000 >= full && v > 0.8)).to.equal(true);
  });

  // Issue 10, full flash: a queue bound the flash cannot hold (here a 160 KB Storage under the
  // default 8000) used to fill it, lose every later batch uncounted, fail every state save that
  // boot (command counter included) and re-send everything after a reboot.
  it("esp32-noise on a small Storage through a long outage: the oldest make room, counted; state and acks saved; no replays or duplicates after a reboot", async () => {
    r = await rig("esp32-noise", {}, { storageBytes: 160 * 1024 });
    r.run(30 * MIN);
    r.broker.setUp(false);
    r.run(10 * HOUR); // ~280 values an hour; the flash holds ~2000 of them besides the bundle
    r.broker.setUp(true);
    r.run(HOUR + 2.5 * MIN); // flushed, between two uploads
    const cmd = signCommand("n1", KEY, 1, "diag-1", "diag", {}, sha256, { ts: Math.floor(r.clock.now() / 1000) });
    r.broker.send("casanode/t/n1/cmd", cmd);
    r.run(5 * MIN);
    r.node.powerCut(60_000, { tear: false });
    r.run(30 * MIN);
    r.broker.send("casanode/t/n1/cmd", cmd); // the same command again, after the reboot
    r.run(30 * MIN);
    expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
    const acks = r.broker.topic("ack").map((m) => JSON.parse(m.payload));
    expect(acks).to.deep.equal([{ id: "diag-1", ok: true }, { id: "diag-1", ok: false, error: "replay", detail: "ctr 1 <= 1" }]);
    // the books: every value taken is delivered, queued or dropped (and counted)
    const st = readNodeStats(r.node.storage);
    expect(st.lost, "lost").to.equal(0);
    expect(st.dropped).to.be.greaterThan(200);
    expect(st.queued).to.be.below(20);
    const seen = new Set<string>();
    let records = 0;
    for (const m of r.broker.topic("data")) {
      let bt = 0;
      for (const x of JSON.parse(m.payload)) {
        if (x.bt !== undefined) bt = x.bt;
        seen.add(x.n + "@" + (bt + (x.t ?? 0)));
        records++;
      }
    }
    expect(records - seen.size, "values delivered twice").to.equal(0);
    expect(seen.size).to.equal(st.acked);
    expect(r.text()).to.match(/queue: flash full, the oldest \d+ values dropped to make room/);
    expect(r.text()).to.not.match(/not stored|write failed/);
  });

  it("esp32-pole (mains): stays connected, runs its cycle on timers, obeys a signed relay command", async () => {
    r = await rig("esp32-pole", { samplePeriodS: 60, uploadPeriodS: 300 });
    r.run(10 * MIN);
    const cmd = signCommand("n1", KEY, 1, "lamp-on", "relay", { state: "on", expiresS: 600 }, sha256, { ts: Math.floor(r.clock.now() / 1000) });
    r.broker.send("casanode/t/n1/cmd", cmd);
    r.broker.send("casanode/t/n1/cmd", cmd); // a replay
    r.run(HOUR);
    expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
    expect(r.node.stats.wakes).to.equal(0);
    expect(r.broker.connects).to.equal(1);
    const acks = r.broker.topic("ack").map((m) => JSON.parse(m.payload));
    expect(acks).to.deep.equal([{ id: "lamp-on", ok: true }, { id: "lamp-on", ok: false, error: "replay", detail: "ctr 1 <= 1" }]);
    const relay = valuesNamed(r.broker, "lamp.relay");
    const at = (m: number) => relay.filter(([t]) => t * 1000 > START + m * MIN && t * 1000 < START + (m + 1) * MIN)[0]?.[1];
    // the streetlight controller: on by command, back to its schedule (day: off) when it expires
    expect(at(5)).to.equal(0);
    expect(at(12)).to.equal(1);
    expect(at(25)).to.equal(0);
    expect(r.text()).to.match(/lamp: on for 600 s \(command\)[\s\S]*lamp off \(schedule-day\)/);
    const status = JSON.parse(r.broker.retained.get("casanode/t/n1/status")!);
    expect(status.lamp).to.include({ mode: "auto", lampOn: false, reason: "schedule-day" });
    expect(valuesNamed(r.broker, "pm.pm25.mean").length).to.be.at.least(10);
    expect(readNodeStats(r.node.storage).lost).to.equal(0);
  });

  it("diag shows each driver's describe() line, from the board profile's wiring, on the console and the diag topic", async () => {
    const lines: { [board: string]: { [device: string]: string } } = {
      "esp32-pole": {
        lamp: "relay relay=D26 sense=D34, active-low, 0.185 V/A, divider 0.67",
        pm: "pms5003 on Serial2 rx=D16 tx=D17, warm-up 30 s, passive, set=D4",
        noise: "pcb-spl on I2C1 0x48 scl=D22 sda=D21, warm-up 1 s, Tavg 125 ms",
      },
      "esp32-air": {
        pm: "sds011 on Serial2 rx=D16 tx=D17, power D25 latched, off D26, warm-up 15 s",
        noise: "sen0232 out=D35, power D27 active-high, warm-up 1 s, 40x125 ms",
      },
    };
    for (const board of Object.keys(lines)) {
      r = await rig(board, { samplePeriodS: 60, uploadPeriodS: 300 });
      // awake (a battery node sleeps between cycles) and past its first diag message
      r.run(5000);
      r.node.consoleInput("casanode.diag()");
      r.run(1000);
      const out = r.lines.map((l) => l[1]);
      const sent = JSON.parse(r.broker.topic("diag").at(-1)!.payload);
      for (const [device, line] of Object.entries(lines[board])) {
        // the device's status line, then its describe() line indented below it
        const at = out.findLastIndex((l) => l.startsWith(`  ${device} (`));
        expect(at, board).to.be.above(0);
        expect(out[at + 1], board).to.equal("    " + line);
        expect(sent.devices[device].desc, board).to.equal(line);
      }
      r.node.stop();
    }
  });

  it("esp32-bin-lp: the firmware's own energy books (diag) count the boot before the bundle runs as awake, as the chip spends it", async () => {
    // a sample wake is mostly the boot (the image lexed): booked as sleep, the books saw 43 % of the time awake
    r = await rig("esp32-bin-lp", { samplePeriodS: 900, uploadPeriodS: 3600 });
    r.run(DAY);
    // read the books as a wake ends: a sleep is booked by the wake after it, awake time at the sleep
    while (r.node.powerState !== "awake") r.run(1000);
    while (r.node.powerState === "awake") r.run(10);
    const en = readNodeStats(r.node.storage).energyMs;
    expect(en.awake / r.node.stats.awakeMs).to.be.within(0.98, 1.01);
    expect(en.sleep / r.node.stats.asleepMs).to.be.within(0.999, 1.001);
    expect(en.radio / r.node.stats.radioMs).to.be.within(0.999, 1.001);
  });

  describe("a battery node's clock on an RTC that runs fast in deep sleep", () => {
    /**
     * `board` 2 % fast for 2 days: the rate is measured at the first wake a quarter of an hour
     * after the clock was set, before it samples; from 2 h on every reading is stamped within
     * tolMs of its wake and every wake lands on the real grid to within tolMs
     */
    async function fastRtc(board: string, config: object, tolMs: number): Promise<Rig> {
      const n = (r = await rig(board, { samplePeriodS: 900, uploadPeriodS: 3600, ...config }, { rtcSleepFast: 0.02 }));
      n.run(2 * DAY);
      expect(n.node.stats.crashes, n.node.stats.lastError).to.equal(0);
      const wakes = wakesOf(n.node.trace);
      const measured = n.seen(/^clock: measuring the RTC's rate first$/);
      expect(measured).to.have.length(1);
      expect(measured[0]).to.be.below(START + HOUR);
      const raw = valuesNamed(n.broker, "bin.fill").filter(([t]) => t * 1000 > START + 2 * HOUR);
      expect(raw.length).to.be.at.least(170);
      for (const [t] of raw) {
        const at = t * 1000;
        expect(wakes.some((w) => w.start - tolMs <= at && at <= w.end + tolMs), `a reading stamped ${new Date(at).toISOString()} was taken in no wake near then`).to.equal(true);
      }
      for (const w of wakes.filter((x) => x.start > START + 2 * HOUR)) {
        const off = (w.start - START) % (15 * MIN);
        expect(Math.min(off, 15 * MIN - off), new Date(w.start).toISOString()).to.be.below(tolMs);
      }
      expect(implausible(n.broker, START, n.clock.now())).to.deep.equal([]);
      expect(readNodeStats(n.node.storage)).to.include({ lost: 0, dropped: 0 });
      return n;
    }

    it("esp32-bin, 2 % fast: SNTP at each upload corrects the clock and learns the rate; from then on readings carry the real time and wakes land on the real grid", async () => {
      await fastRtc("esp32-bin", {}, 1000);
    });

    it("esp32-bin-lp with a static address (no DNS for pool.ntp.org): the rate is measured on a DHCP join, then the node syncs on its daily DHCP wake", async () => {
      const lp = (await fastRtc("esp32-bin-lp", { sendPeriodS: 6 * 3600, wifi: { ssid: "casanode-sim", password: "casanode-sim-ap", ip: "192.168.4.77", gw: "192.168.4.1", netmask: "255.255.255.0" } }, 1000));
      expect(lp.seen(/uplink: connected .*\(static 192\.168\.4\.77\)/).length).to.be.at.least(5);
    });
  });

  describe("a battery node whose NTP server stops answering", () => {
    it("esp32-bin: asks once in 6 h, waits at most a second for an answer and goes on; nothing is lost", async () => {
      r = await rig("esp32-bin", { samplePeriodS: 900, uploadPeriodS: 3600 }, { ntp: (t) => t < START + HOUR });
      r.run(DAY);
      expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
      const asked = r.seen(/^clock: no answer from pool\.ntp\.org in 1000 ms$/);
      expect(asked.length).to.be.within(3, 5);
      for (let i = 1; i < asked.length; i++) expect(asked[i] - asked[i - 1]).to.be.at.least(6 * HOUR);
      expect(valuesNamed(r.broker, "bin.fill.mean").length).to.be.at.least(22);
      expect(readNodeStats(r.node.storage)).to.include({ lost: 0, dropped: 0 });
    });
  });

  describe("readings taken before the clock is set", () => {
    it("battery: stamped on the RTC run, re-stamped when SNTP answers; a run cut before any sync is counted untimed, never sent with a made-up time", async () => {
      // no Wi-Fi for 5 h from power-on (RTC at 0), and a power cut at 2 h: that first run never learns the time
      r = await rig("esp32-bin", { samplePeriodS: 900, uploadPeriodS: 3600 }, { wifiUp: (t) => t >= START + 5 * HOUR });
      r.run(2 * HOUR);
      const firstRun = readNodeStats(r.node.storage).readings;
      r.node.powerCut(10_000, { tear: false });
      r.run(6 * HOUR);
      for (let k = 0; k < 1200 && r.node.powerState !== "asleep"; k++) r.run(100);
      expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
      expect(implausible(r.broker, START, r.clock.now())).to.deep.equal([]);
      // the second run's readings (2 h to 5 h, before any sync) went out at their real times
      const before = valuesNamed(r.broker, "bin.fill").filter(([t]) => t * 1000 > START + 2 * HOUR && t * 1000 < START + 5 * HOUR);
      expect(before.length).to.be.at.least(10);
      // each within its cycle, just after its slot on the 15 min grid (where the true clock was)
      for (const [t] of before) expect(((t * 1000 - START) % (15 * MIN)) / 1000).to.be.within(0, 60);
      const st = readNodeStats(r.node.storage) as any;
      // exactly what the first run took (none of it sent)
      expect(firstRun).to.be.greaterThan(10);
      expect(st.untimed).to.equal(firstRun);
      expect(st.readings).to.equal(st.acked + st.queued + st.dropped + st.untimed);
      expect(st.lost).to.equal(0);
    });

    it("mains: windows and Lden are still made while the clock is unset (after a power cut in a Wi-Fi outage), once per window and per day", async () => {
      // synced at power-on, Wi-Fi lost at 1 h, a power cut at 2 h (RTC back to 0), Wi-Fi back at 18 h (02:00 the next day)
      r = await rig("esp32-noise", { samplePeriodS: 60, uploadPeriodS: 300 }, { wifiUp: (t) => t < START + HOUR || t >= START + 18 * HOUR });
      r.run(2 * HOUR);
      r.node.powerCut(10_000, { tear: false });
      r.run(18 * HOUR);
      expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
      expect(implausible(r.broker, START, r.clock.now())).to.deep.equal([]);
      // windows every 5 min, the unsynced 16 h included (a power cut and the sync each cost at most one)
      const means = valuesNamed(r.broker, "noise.LAeq.mean");
      expect(means.filter(([t]) => t * 1000 > START + 2 * HOUR && t * 1000 < START + 18 * HOUR).length).to.be.at.least(16 * 12 - 3);
      expect(means.length).to.be.at.least(20 * 12 - 4);
      // one Lden for 15 January, from the levels before the cut, during the outage and none twice
      const lden = valuesNamed(r.broker, "noise.Lden");
      expect(lden.map(([t]) => new Date(t * 1000).toISOString())).to.deep.equal(["2026-01-15T00:00:00.000Z"]);
      const st = readNodeStats(r.node.storage) as any;
      expect(st.readings).to.equal(st.acked + st.queued + st.dropped + (st.untimed ?? 0));
    });

    it("battery: a power-on with no clock keeps Wi-Fi up until SNTP answers, even when the broker refuses", async () => {
      r = await rig("esp32-bin", { samplePeriodS: 900, uploadPeriodS: 3600 });
      r.broker.setUp(false);
      r.run(5 * MIN);
      // in the order printed (the clock may be set in the same ms as the sleep)
      const firstSleep = r.lines.findIndex((l) => /^sleep /.test(l[1]));
      expect(firstSleep, r.text()).to.be.above(0);
      expect(r.lines.slice(0, firstSleep).filter((l) => /^clock set/.test(l[1])).length, r.text()).to.equal(1);
      r.broker.setUp(true);
      r.run(3 * HOUR);
      expect(valuesNamed(r.broker, "bin.fill").length).to.be.at.least(10);
      expect(implausible(r.broker, START, r.clock.now())).to.deep.equal([]);
    });

    it("mains diag: uptime and last upload survive SNTP setting the clock", async () => {
      r = await rig("esp32-noise", { samplePeriodS: 60, uploadPeriodS: 300 });
      // connected (and flushed once) at boot, before SNTP answers; then the broker goes away
      r.run(MIN);
      r.broker.setUp(false);
      r.run(9 * MIN);
      r.node.consoleInput("casanode.diag()");
      r.run(1000);
      const text = r.text();
      const up = /up (\d+) s, boot=power-on/.exec(text);
      expect(up, text.slice(-2000)).to.not.equal(null);
      expect(Number(up![1])).to.be.within(9 * 60, 11 * 60);
      const last = /last upload: (\S+)/.exec(text.slice(text.lastIndexOf("CasaNode ")));
      expect(last![1].slice(0, 10)).to.equal("2026-01-15");
    });
  });

  it("esp32-pole: a 100 KB message in its persistent session is dropped unread and acked too-large; it stays connected and flushes (issue 10)", async () => {
    r = await rig("esp32-pole", { samplePeriodS: 60, uploadPeriodS: 300 });
    r.run(10 * MIN);
    const before = readNodeStats(r.node.storage);
    const now = () => Math.floor(r!.clock.now() / 1000);
    // the broker redelivers a QoS 1 message until the node acknowledges it, on every reconnect
    const big = '{"id":"big","cmd":"diag","args":{"pad":"' + "x".repeat(102_400) + '"}}';
    r.broker.send("casanode/t/n1/cmd", big);
    // a command the back office signed two hours ago, valid one hour
    r.broker.send("casanode/t/n1/cmd", signCommand("n1", KEY, 2, "stale", "diag", {}, sha256, { ts: now() - 7200, ttl: 3600 }));
    r.broker.send("casanode/t/n1/cmd", signCommand("n1", KEY, 3, "fresh", "diag", {}, sha256, { ts: now() }));
    r.run(2 * HOUR);
    expect(r.node.stats.crashes, r.node.stats.lastError).to.equal(0);
    expect(r.broker.connects).to.equal(1);
    const acks = r.broker.topic("ack").map((m) => JSON.parse(m.payload));
    expect(acks).to.deep.equal([
      { id: "big", ok: false, error: "too-large", detail: `${big.length} > 512 bytes, dropped unread` },
      { id: "stale", ok: false, error: "expired", detail: "issued 7200 s ago, valid 3600 s" },
      { id: "fresh", ok: true },
    ]);
    const diag = JSON.parse(r.broker.topic("diag").at(-1)!.payload);
    expect(diag.counters).to.include({ cmdTooLarge: 1, cmdErrors: 2, cmds: 1 });
    const after = readNodeStats(r.node.storage);
    // two hours of readings went out (1,512 in the run; none were acknowledged then)
    expect(after.acked - before.acked).to.be.greaterThan(1000);
    expect(after.queued).to.be.below(100);
    expect(after.lost).to.equal(0);
  });
});
