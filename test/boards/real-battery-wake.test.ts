// A battery bundle's wakes on the real interpreter: Espruino's Linux build with a stand-in for the
// ESP32 module (deepSleep prints and ends the run, getWakeupCause says "timer" on a wake), so the
// bundle takes its battery path, not the mains one it takes there otherwise: a power-on upload,
// deep sleep, a wake whose session picks up a command queued for it while it slept, its ack,
// the offline status, deep sleep again; state kept in Storage between runs as in flash. The Linux
// build has no Wifi module: the session goes straight to TCP, the rest is the bundle's own code
// (the link's part evaluated from its string, the pipelined MQTT client, the commands' part).
// Runs where an Espruino Linux build is found (ESPRUINO_BIN or `espruino` on PATH), else skipped.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import dgram from "node:dgram";
import { ntpServerReply } from "../../sim/ntp-server.js";
import { findEspruino, flashOnEspruino, runOnEspruino } from "../../bench/real-espruino.js";
import { startBroker, type EmbeddedBroker } from "../../sim/broker.js";
import { ensureBundle } from "../../toolchain/bundle.js";
import { signCommand } from "../../firmware/messages/commands.js";
import { BOOT_FILE } from "../../toolchain/storage.js";

const KEY = "5a".repeat(32);
const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest().toString("latin1");

/** what the flashed node left in a Storage file, printed by a run of its own */
const READ_FILE = (name: string) => `print("CN-FILE " + JSON.stringify(require("Storage").read(${JSON.stringify(name)})));quit();`;

/**
 * One boot: the clock `offsetMs` ahead of the host's (the time the node slept: the Linux build
 * cannot set its clock), woken by the RTC or powered on. ESP32.deepSleep ends the run as the chip would:
 * quit() at the next idle (docs/espruino-dialect.md: it returns), or "E.reboot()", which on the Linux
 * build dumps the variables and exits at once (what a deep sleep from the wake prelude needs: a
 * try/catch around it would swallow any throw, and the image would go on into the bundle).
 */
function bootScript(offsetMs: number, wake: boolean, stop = "quit()"): string {
  return `
// setTime moves the stand-in clock (the Linux build's own setTime moves no clock, only timers)
(function () { var now = Date.now, off = ${offsetMs}; Date.now = function () { return now() + off; };
  global.setTime = function (s) { print("\\nCN-SETTIME " + Math.round(s * 1000 - Date.now())); off = s * 1000 - now(); }; })();
global.ESP32 = {
  // with the sampling period the node runs on (its console's config, as a crew would read it);
  // a sleep before the bundle has run (the prelude's, a chained one) has no console yet
  deepSleep: function (us) { print("\\nCN-DEEPSLEEP " + us + " " + (typeof casanode === "undefined" ? "-" : casanode.config().samplePeriodS)); ${stop}; },
  getWakeupCause: function () { return ${wake ? 4 : 0}; },
  getState: function () { return { BLE: false }; },
  reboot: function () { print("\\nCN-REBOOT"); quit(); }
};
eval(require("Storage").read(${JSON.stringify(BOOT_FILE)}));
`;
}

describe("a battery bundle's wakes on Espruino's Linux build", function () {
  this.timeout(120_000);
  const { bin, why } = findEspruino();
  let broker: EmbeddedBroker | undefined, dir = "", watcher: mqtt.MqttClient | undefined;
  afterEach(async () => {
    watcher?.end(true);
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("uploads at power-on, sleeps, wakes to a session that takes a queued command, acks it, says offline and sleeps again", async function () {
    if (!bin) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
    broker = await startBroker();
    const seen: Array<{ topic: string; payload: string }> = [];
    watcher = mqtt.connect(broker.url, { clientId: "watcher" });
    await new Promise<void>((resolve) => watcher!.on("connect", () => watcher!.subscribe("casanode/t/bin-01/#", { qos: 1 }, () => resolve())));
    watcher.on("message", (topic, payload) => seen.push({ topic, payload: payload.toString() }));

    dir = mkdtempSync(path.join(tmpdir(), "casanode-real-wake-"));
    const config = {
      site: "t", node: "bin-01", keyHex: KEY, wifi: { ssid: "street", password: "street-pass" },
      broker: { host: "127.0.0.1", port: broker.port },
      // every wake closes a window and sends it: each one connects
      samplePeriodS: 60, uploadPeriodS: 60, sendPeriodS: 0,
    };
    const bundle = readFileSync(await ensureBundle("esp32-bin-lp"), "latin1");
    expect(await flashOnEspruino(bin as string, dir, bundle, config)).to.equal(null);

    const boot = async (offsetMs: number, wake: boolean) => {
      writeFileSync(path.join(dir, "boot.js"), bootScript(offsetMs, wake));
      const r = await runOnEspruino(bin as string, "boot.js", dir, 60_000);
      expect(r.timedOut, r.out.slice(-3000)).to.equal(false);
      expect(r.out, r.out.slice(-3000)).to.not.match(/Uncaught|boot failed|out of memory/i);
      const slept = /CN-DEEPSLEEP (\d+) (\d+)/.exec(r.out);
      expect(slept, r.out.slice(-3000)).to.not.equal(null);
      return { out: r.out, sleptMs: Math.round(Number(slept![1]) / 1000), periodS: Number(slept![2]) };
    };
    const settled = () => new Promise((r) => setTimeout(r, 300));

    // power-on: samples (no sensor on this host), connects, says online, sends its diag, sleeps
    const first = await boot(0, false);
    expect(first.out).to.match(/boot=power-on/);
    expect(first.out).to.match(/upload: (boot|window)/);
    expect(first.sleptMs).to.be.within(1000, 60_000);
    expect(first.periodS).to.equal(60);
    await settled();
    const status = () => seen.filter((m) => m.topic === "casanode/t/bin-01/status").map((m) => JSON.parse(m.payload));
    expect(status().map((s) => s.state)).to.deep.equal(["online", "offline"]);
    expect(status()[1].reason).to.equal("sleep");
    expect(seen.some((m) => m.topic === "casanode/t/bin-01/diag")).to.equal(true);

    // while it sleeps: a command, queued by the broker in the node's persistent session
    const offset = first.sleptMs + 1000;
    const cmd = signCommand("bin-01", KEY, 1, "c1", "config", { samplePeriodS: 120, uploadPeriodS: 120 }, sha256, { ts: Math.floor((Date.now() + offset) / 1000) });
    await new Promise<void>((resolve) => watcher!.publish("casanode/t/bin-01/cmd", cmd, { qos: 1 }, () => resolve()));

    // the RTC wake: the session takes the command, acks it, says offline, sleeps
    const second = await boot(offset, true);
    expect(second.out).to.match(/boot=deep-sleep/);
    expect(second.out).to.match(/upload: window/);
    await settled();
    const acks = seen.filter((m) => m.topic === "casanode/t/bin-01/ack").map((m) => JSON.parse(m.payload));
    expect(acks, second.out.slice(-2000)).to.have.length(1);
    expect(acks[0], JSON.stringify(acks[0]) + second.out.slice(-2000)).to.include({ id: "c1", ok: true });
    expect(status().map((s) => s.state)).to.deep.equal(["online", "offline", "online", "offline"]);
    expect(second.sleptMs).to.be.within(1000, 60_000);
    // the running config has it at once (its next cycle runs on it)
    expect(second.periodS).to.equal(120);

    // and the next wake, a new boot, on what the command left in Storage
    const third = await boot(offset + second.sleptMs + 1000, true);
    expect(third.out).to.match(/boot=deep-sleep/);
    expect(third.periodS).to.equal(120);
    expect(third.sleptMs).to.be.within(1000, 120_000);
  });

  it("corrects its clock by SNTP at each upload (the bundle's own client over dgram) and learns how fast its RTC ran, for the next wake's prelude", async function () {
    if (!bin) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
    broker = await startBroker();
    // the NTP server's time is "true": the host's plus the time the test says has passed
    let passed = 0;
    const ntp = dgram.createSocket("udp4");
    ntp.on("message", (m, from) => {
      const answer = ntpServerReply(m, Date.now() + passed);
      if (answer) ntp.send(answer, from.port, from.address);
    });
    await new Promise<void>((resolve) => ntp.bind(0, "127.0.0.1", () => resolve()));
    try {
      dir = mkdtempSync(path.join(tmpdir(), "casanode-real-sntp-"));
      const config = {
        site: "t", node: "bin-02", keyHex: KEY, wifi: { ssid: "street", password: "street-pass" }, broker: { host: "127.0.0.1", port: broker.port },
        samplePeriodS: 60, uploadPeriodS: 60, sendPeriodS: 0, ntp: `127.0.0.1:${ntp.address().port}`,
      };
      expect(await flashOnEspruino(bin as string, dir, readFileSync(await ensureBundle("esp32-bin-lp"), "latin1"), config)).to.equal(null);
      const boot = async (script: string) => {
        writeFileSync(path.join(dir, "boot.js"), script);
        const r = await runOnEspruino(bin as string, "boot.js", dir, 60_000);
        expect(r.timedOut, r.out.slice(-3000)).to.equal(false);
        expect(r.out, r.out.slice(-3000)).to.not.match(/Uncaught|boot failed|out of memory/i);
        const set = /CN-SETTIME (-?\d+)/.exec(r.out);
        return { out: r.out, set: set ? Number(set[1]) : null };
      };
      // power-on, the clock right: an answer, nothing to correct
      const first = await boot(bootScript(0, false));
      expect(first.out, first.out.slice(-2000)).to.match(/upload: /);
      expect(first.set, first.out.slice(-2000)).to.equal(null);
      // a wake 2 h later whose clock is 90 s fast: set back by the answer
      passed = 2 * 3_600_000;
      const second = await boot(bootScript(passed + 90_000, true));
      expect(second.set, second.out.slice(-2000)).to.be.closeTo(-90_000, 300);
      expect(second.out).to.match(/clock set \(-90 s\)/);
      // so the RTC ran 90 s fast in 2 h (1.25 %): the next wake's prelude takes that share off each sleep
      const rtc = JSON.parse(JSON.parse(/CN-FILE (.*)/.exec((await boot(READ_FILE("cn.rtc"))).out)![1]));
      expect(rtc.r).to.be.closeTo(90 / 7200, 0.0005);
      expect(rtc.a - (Date.now() + passed)).to.be.within(-5000, 100);
      const slept = /CN-DEEPSLEEP (\d+)/.exec(second.out)!;
      expect(Number(slept[1]) / 1000, "asked 1.25 % longer than the minute's slot at most").to.be.at.most(60_000 * (1 + 90 / 7200) + 5);
    } finally {
      ntp.close();
    }
  });

  it("esp32-air: leaves the warm-up wake's plan, which sleeps 9.5 s from the prelude before the bundle is lexed; the wake after it waits only the rest of the SDS011's 15 s", async function () {
    if (!bin) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
    broker = await startBroker();
    dir = mkdtempSync(path.join(tmpdir(), "casanode-real-warm-"));
    const config = { site: "t", node: "air-01", keyHex: KEY, wifi: { ssid: "street", password: "street-pass" }, broker: { host: "127.0.0.1", port: broker.port }, samplePeriodS: 60, uploadPeriodS: 3600 };
    const bundle = readFileSync(await ensureBundle("esp32-air"), "latin1");
    expect(await flashOnEspruino(bin as string, dir, bundle, config)).to.equal(null);
    const run = async (script: string) => {
      writeFileSync(path.join(dir, "boot.js"), script);
      const t0 = Date.now(), r = await runOnEspruino(bin as string, "boot.js", dir, 60_000);
      expect(r.timedOut, r.out.slice(-3000)).to.equal(false);
      expect(r.out, r.out.slice(-3000)).to.not.match(/Uncaught|boot failed|out of memory/i);
      return { out: r.out, ms: Date.now() - t0, slept: /CN-DEEPSLEEP (\d+)/.exec(r.out) };
    };

    // power-on: the SDS011 (none on this host) is given its whole warm-up, then the node sleeps
    // to 9 s before its next cycle and leaves the plan for that wake
    const first = await run(bootScript(0, false));
    const before = Date.now();
    expect(first.out).to.match(/boot=power-on/);
    expect(first.slept, first.out.slice(-2000)).to.not.equal(null);
    const sleptMs = Math.round(Number(first.slept![1]) / 1000);
    const plan = JSON.parse(JSON.parse(/CN-FILE (.*)/.exec((await run(READ_FILE("cn.warm"))).out)![1]));
    expect(plan.s).to.equal(9500);
    expect(plan.at % 60_000, "9.5 s before a minute's slot").to.equal(60_000 - 9500);
    expect(Math.abs(before + sleptMs - plan.at), "the sleep ends at the plan's time").to.be.below(20_000);

    // the RTC wake at the plan's time: the prelude deep-sleeps 9 s; the bundle never ran
    const offset = plan.at - Date.now() + 250;
    const warm = await run(bootScript(offset, true, "E.reboot()"));
    expect(warm.out).to.not.match(/CasaNode /);
    expect(warm.slept && Number(warm.slept[1])).to.equal(9_500_000);

    // 9.5 s later: the bundle runs and reads the SDS011 6 s on, not 15 (absent on this host)
    const reading = await run(bootScript(offset + 9500 + 250, true));
    expect(reading.out).to.match(/boot=deep-sleep/);
    expect(reading.out, reading.out.slice(-2500)).to.match(/faults: pm absent/);
    expect(reading.slept, reading.out.slice(-2000)).to.not.equal(null);
    expect(reading.ms, reading.out.slice(-2000)).to.be.below(13_000);
  });
});
