// The duty cycle on a fake chip on virtual time: deep sleeps really end the boot, so what
// survives is only what the store wrote to (simulated) flash.
import { expect } from "chai";
import fc from "fast-check";
import { Chip, tearDown, FakeSensor, FakeRelay, board, KEY, MINUTE, HOUR, DAY } from "../../support/fake-chip.js";
import { readNodeStats } from "../../../firmware/runtime/stats.js";
import { adler32, checksum, unseal } from "../../../firmware/runtime/store.js";
import { crc32 } from "../../../sim/espruino/crc32.js";
import sinon from "sinon";
import { nextSlot } from "../../../firmware/runtime/grid.js";

const cfg = (over: any = {}) => ({ site: "t", node: "n1", keyHex: KEY, ...over });
const pm = (value: (t: number) => number, warmupMs = 30_000) => () => [new FakeSensor("pm", warmupMs, (t) => [{ name: "pm25", unit: "ug/m3", value: value(t) }])];

describe("scheduler", () => {
  let chip: Chip | undefined;
  afterEach(() => {
    tearDown(chip);
    chip = undefined;
  });

  it("nextSlot is the next grid point, never too close", () => {
    expect(nextSlot(3_600_000, 600_000, 3_600_100)).to.equal(4_200_000);
    expect(nextSlot(3_600_000, 600_000, 4_199_500)).to.equal(4_800_000);
    expect(nextSlot(3_599_999, 600_000, 3_000_000)).to.equal(3_600_000);
  });

  it("battery: wakes on the period grid for days, chaining sleeps longer than the chip allows", async () => {
    // 1 h period, 35.8 min max deep sleep: every cycle needs one chained wake
    chip = new Chip({ board: board("b", "battery", ["pm"]), config: cfg({ samplePeriodS: 3600, uploadPeriodS: 21600 }), sensors: pm(() => 12), startMs: Date.UTC(2026, 0, 15, 8, 0, 7, 123) });
    chip.start();
    await chip.run(3 * DAY + 10 * MINUTE);
    expect(chip.crashes).to.deep.equal([]);
    const cycles: number[] = [];
    const chained: number[] = [];
    for (const [t, cause] of chip.boots) if (cause === "deep-sleep") (t % HOUR === 0 ? cycles : chained).push(t);
    expect(cycles.length).to.equal(72);
    for (let i = 1; i < cycles.length; i++) expect(cycles[i] - cycles[i - 1]).to.equal(HOUR);
    expect(chained.length).to.equal(72);
    // each sleep is one link of at most the chip's limit, ending exactly where the next boot is
    const bootTimes = chip.boots.map((b) => b[0]);
    for (const [t, ms] of chip.sleeps) {
      expect(ms).to.be.at.most(2147483);
      if (t + ms <= chip.clock.now()) expect(bootTimes).to.include(t + ms);
    }
    for (const t of chained) expect(t % HOUR).to.not.equal(0);
    // a chained wake powers neither sensors nor radio
    const sensorOnAt = new Set(chip.power.filter((p) => p[1] !== "awake" && p[2]).map((p) => p[0]));
    for (const t of chained) expect(sensorOnAt.has(t)).to.equal(false);
    const st = readNodeStats(chip.storage);
    // chained wakes are counted (without a flash write of their own) at the next due wake
    expect(st.wakes).to.equal(chip.boots.filter((b) => b[1] === "deep-sleep").length);
    expect(st.cycles).to.equal(73);
    expect(st.lost).to.equal(0);
  });

  it("warms slow sensors while quick ones are read; one that takes its own samples is read once its own warm-up is done and switched off, the others after the longest warm-up", async () => {
    const slow = new FakeSensor("pm", 30_000, () => [{ name: "pm25", unit: "ug/m3", value: 10 }]);
    const quick = new FakeSensor("bin", 0, () => [{ name: "fill", unit: "/", value: 0.2 }]);
    // a noise average over the read itself (SEN0232), and levels over the time on (PCB SPL's LAmax)
    const mid = Object.assign(new FakeSensor("noise", 5_000, () => [{ name: "LAeq", unit: "dB", value: 55 }]), { readsWhenWarm: true });
    const held = new FakeSensor("spl", 1_000, () => [{ name: "LAmax", unit: "dB", value: 70 }]);
    chip = new Chip({ board: board("b", "battery", ["pm", "bin", "noise", "spl"]), config: cfg({ samplePeriodS: 600, uploadPeriodS: 3600 }), sensors: () => [slow, quick, mid, held] });
    chip.start();
    await chip.run(MINUTE);
    const ev = (s: FakeSensor, e: string) => s.events.filter((x) => x[1] === e).map((x) => x[0]);
    const t0 = ev(slow, "on")[0];
    expect(ev(mid, "on")[0]).to.equal(t0);
    expect(ev(quick, "on")[0]).to.be.at.least(t0);
    expect(ev(quick, "off")[0]).to.be.below(t0 + 5_000);
    expect(ev(slow, "read")[0]).to.be.at.least(t0 + 30_000);
    // the 5 s one is read at 5 s and switched off, not kept on (and the chip awake) for 30 s
    expect(ev(mid, "read")[0]).to.be.within(t0 + 5_000, t0 + 6_000);
    expect(ev(mid, "off")[0]).to.be.below(t0 + 6_000);
    // the one whose levels cover its time on waits for the longest warm-up, as before
    expect(ev(held, "read")[0]).to.be.at.least(t0 + 30_000);
    for (const s of [slow, quick, mid, held]) expect(s.on, s.name).to.equal(false);
    expect(chip.sleeps.length).to.equal(1);
  });

  it("a sensor the wake prelude switched on counts its warm-up from then, and the others wait for that longest warm-up; a time from before a clock jump is not believed", async () => {
    const make = () => {
      const slow = new FakeSensor("pm", 30_000, () => [{ name: "pm25", unit: "ug/m3", value: 10 }]);
      const held = new FakeSensor("spl", 1_000, () => [{ name: "LAmax", unit: "dB", value: 70 }]);
      return { slow, held };
    };
    const ev = (s: FakeSensor, e: string) => s.events.filter((x) => x[1] === e).map((x) => x[0]);
    let s = make();
    chip = new Chip({ board: board("b", "battery", ["pm", "spl"]), config: cfg({ samplePeriodS: 600, uploadPeriodS: 3600 }), sensors: () => [s.slow, s.held], poweredBeforeBootMs: { pm: 10_000 } });
    chip.start();
    await chip.run(MINUTE);
    const boot = chip.boots[0][0];
    // on for 10 s when the bundle ran: read 20 s later, not 30 s after the sampler's powerOn
    expect(ev(s.slow, "read")[0]).to.be.within(boot + 20_000, boot + 21_000);
    expect(ev(s.held, "read")[0]).to.be.at.least(boot + 20_000);
    expect(chip.logs.map((l) => l[1]).join("\n")).to.not.match(/warming/);
    // its time on is in the node's energy books from the prelude's power-on
    const on = chip.power.find((p) => p[1] === "sensor:pm" && p[2]), off = chip.power.find((p) => p[1] === "sensor:pm" && !p[2]);
    expect(on![0]).to.be.at.most(ev(s.slow, "on")[0]);
    expect(readNodeStats(chip.storage).energyMs["sensor:pm"]).to.be.closeTo(off![0] - boot + 10_000, 50);
    chip.restore();
    // a power-on time years before now (the RTC restarted at 0, then SNTP set it) says nothing: 30 s from the powerOn
    s = make();
    chip = new Chip({ board: board("b", "battery", ["pm", "spl"]), config: cfg({ samplePeriodS: 600, uploadPeriodS: 3600 }), sensors: () => [s.slow, s.held], poweredBeforeBootMs: { pm: 400 * 86_400_000 } });
    chip.start();
    await chip.run(MINUTE);
    expect(ev(s.slow, "read")[0]).to.be.at.least(ev(s.slow, "on")[0] + 30_000);
  });

  it("an alarm sends at once instead of at the end of the window, once per raise", async () => {
    // pm25 over the 55 ug/m3 threshold from 09:20 to 09:50
    const high = (t: number) => (t >= Date.UTC(2026, 0, 15, 9, 20) && t < Date.UTC(2026, 0, 15, 9, 50) ? 80 : 20);
    chip = new Chip({ board: board("b", "battery", ["pm"]), config: cfg({ samplePeriodS: 300, uploadPeriodS: 3600 }), sensors: pm(high), startMs: Date.UTC(2026, 0, 15, 8, 58) });
    chip.start();
    await chip.run(2 * HOUR);
    const sessions = chip.topic("status").filter((m) => JSON.parse(m.payload).state === "online").map((m) => m.t);
    const at = (h: number, m: number) => Date.UTC(2026, 0, 15, h, m);
    // boot, the 09:55 window end... and the alarm at 09:20, not 09:25, 09:30 (still high)
    const alarm = sessions.filter((t) => t >= at(9, 20) && t < at(9, 21));
    expect(alarm.length).to.equal(1);
    expect(sessions.filter((t) => t >= at(9, 21) && t < at(9, 50)).length).to.equal(0);
    const online = chip.topic("status").find((m) => m.t >= at(9, 20) && JSON.parse(m.payload).state === "online")!;
    expect(JSON.parse(online.payload).alarms).to.deep.equal(["pm:pm25-high"]);
    // the alarming reading itself went out then
    expect([...chip.dataValues().entries()].some(([k, v]) => k.startsWith("pm.pm25@") && v === 80)).to.equal(true);
  });

  it("mains: stays connected and runs the same cycle on timers at the grid", async () => {
    const s = new FakeSensor("noise", 0, () => [{ name: "LAeq", unit: "dB", value: 60 }]);
    chip = new Chip({ board: board("m", "mains", ["noise"]), config: cfg({ samplePeriodS: 60, uploadPeriodS: 300 }), sensors: () => [s], startMs: Date.UTC(2026, 0, 15, 8, 0, 30) });
    chip.start();
    await chip.run(HOUR);
    expect(chip.crashes).to.deep.equal([]);
    expect(chip.sleeps).to.deep.equal([]);
    expect(chip.net.attempts).to.equal(1);
    const reads = s.events.filter((e) => e[1] === "read").map((e) => e[0]);
    expect(reads.length).to.equal(61);
    for (let i = 2; i < reads.length; i++) expect(reads[i] - reads[i - 1]).to.equal(MINUTE);
    expect(reads[1] % MINUTE).to.equal(0);
    // windows close every 5 min and go out then
    const data = chip.topic("data").map((m) => m.t);
    expect(data.length).to.be.within(12, 13);
    const st = readNodeStats(chip.storage);
    // the last window is still open: its samples wait for its end
    expect(st.queued).to.be.within(1, 5);
    expect(st.acked + st.queued).to.equal(st.readings);
    expect(st.lost).to.equal(0);
  });

  it("asked for TLS on a build without a tls module: says why, connects nowhere, keeps every reading", async () => {
    const base = cfg({ samplePeriodS: 300, uploadPeriodS: 900 }) as any;
    chip = new Chip({ board: board("b", "battery", ["pm"]), config: { ...base, broker: { ...base.broker, tls: true } }, sensors: pm((t) => (t / 1000) % 97, 0) });
    chip.start();
    await chip.run(2 * HOUR);
    const st = readNodeStats(chip.storage);
    expect(chip.logs.map(([, line]) => line)).to.include("uplink: broker.tls is set but this Espruino build has no tls module");
    expect(chip.published).to.deep.equal([]);
    expect(st.readings).to.be.greaterThan(10);
    expect(st.queued).to.equal(st.readings);
    expect(st.lost).to.equal(0);
    expect(chip.crashes).to.deep.equal([]);
  });

  it("keeps readings while the broker is down and sends them all when it is back", async () => {
    chip = new Chip({ board: board("b", "battery", ["pm"]), config: cfg({ samplePeriodS: 300, uploadPeriodS: 900 }), sensors: pm((t) => (t / 1000) % 97, 0) });
    chip.start();
    await chip.run(30 * MINUTE);
    chip.brokerUp = false;
    chip.net.mode = "refuse";
    await chip.run(3 * HOUR);
    const during = readNodeStats(chip.storage);
    expect(during.queued).to.be.greaterThan(30);
    chip.brokerUp = true;
    chip.net.mode = "accept";
    await chip.run(2 * HOUR);
    const st = readNodeStats(chip.storage);
    expect(chip.crashes).to.deep.equal([]);
    expect(st.lost).to.equal(0);
    expect(st.dropped).to.equal(0);
    expect(st.acked).to.equal(st.readings - st.queued);
    expect(st.uploadFails).to.be.greaterThan(0);
    // every value acked reached the broker
    expect(chip.dataValues().size).to.be.at.least(st.acked);
  });

  it("commands: config applies to the next cycle, relay override with expiry, bad ones get an error ack", async () => {
    const relay = new FakeRelay("lamp");
    chip = new Chip({ board: board("m", "mains", ["lamp"]), config: cfg({ samplePeriodS: 60, uploadPeriodS: 300 }), actuators: () => [relay] });
    chip.start();
    await chip.run(MINUTE);
    chip.command("relay", { state: "on", expiresS: 600 });
    chip.command("config", { samplePeriodS: 120, uploadPeriodS: 600 });
    chip.command("config", { samplePeriodS: 7 });
    chip.command("diag", {}, { key: "00".repeat(32) });
    chip.command("config", { uploadPeriodS: 90 });
    await chip.run(MINUTE);
    const acks = chip.topic("ack").map((m) => JSON.parse(m.payload));
    expect(acks.map((a) => a.ok)).to.deep.equal([true, true, false, false, false]);
    expect(acks[2].error).to.equal("bad-args");
    expect(acks[3].error).to.equal("bad-mac");
    expect(acks[4].detail).to.match(/uploadPeriodS must be a multiple of samplePeriodS \(120\), got 90/);
    expect(relay.state).to.equal(true);
    await chip.run(12 * MINUTE);
    expect(relay.events.some((e) => e[1] === "set true")).to.equal(true);
    const reads = relay.events.filter((e) => e[1] === "read").map((e) => e[0]);
    expect(reads[reads.length - 1] - reads[reads.length - 2]).to.equal(2 * MINUTE);
    // the override ended after 10 min: no controller on this board, so "auto" leaves the relay alone
    expect(chip.logText()).to.match(/relay override expired/);
    // a reboot keeps the new config (stored with the state)
    chip.command("reboot", {});
    await chip.run(MINUTE);
    expect(chip.boots.map((b) => b[1])).to.deep.equal(["power-on", "reset"]);
    expect(chip.console!.config().samplePeriodS).to.equal(120);
  });

  it("a board with a relay and no relay hooks refuses to boot and says what the build lacks", async () => {
    const relay = new FakeRelay("lamp");
    chip = new Chip({ board: board("m", "mains", ["lamp"]), config: cfg({ samplePeriodS: 60 }), actuators: () => [relay], nodeOptions: { relay: undefined } });
    chip.start();
    await chip.run(2 * MINUTE);
    expect(chip.logText()).to.match(/CasaNode boot failed: .*a board with a relay needs NodeOptions\.relay/);
    expect(relay.events.filter((e) => e[1] === "read")).to.have.length(0);
  });

  it("config commands outlive the update that changed the seal's checksum: the config file's sum kept with them was Adler-32", async () => {
    const crc = sinon.spy(crc32);
    chip = new Chip({ board: board("m", "mains", ["lamp"]), config: cfg({ samplePeriodS: 60, uploadPeriodS: 300 }), actuators: () => [new FakeRelay("lamp")], crc32: crc });
    chip.start();
    await chip.run(MINUTE);
    chip.command("config", { samplePeriodS: 120, uploadPeriodS: 600 });
    await chip.run(MINUTE);
    expect(chip.console!.config().samplePeriodS).to.equal(120);
    // the flash as an older firmware left it: Adler-32 seals, the file's Adler-32 as the changes' base
    const c = chip!;
    c.halt();
    const file = c.storage.read("casanode.json")!;
    const oldSeal = (o: unknown) => {
      const j = JSON.stringify(o);
      return adler32(j).toString(16).padStart(8, "0") + j;
    };
    for (const name of ["cn.s0", "cn.s1"]) {
      const st = unseal(c.storage.read(name));
      if (st?.cfg) st.cfg.base = "" + adler32(file);
      if (st) c.storage.write(name, oldSeal(st));
    }
    c.boot("reset");
    await c.run(MINUTE);
    expect(c.crashes).to.deep.equal([]);
    expect(c.console!.config().samplePeriodS).to.equal(120);
    const slots = ["cn.s0", "cn.s1"].map((n) => unseal(c.storage.read(n))).filter(Boolean);
    const newest = slots.sort((a, b) => b.sq - a.sq)[0];
    expect(newest.cfg.base).to.equal("" + checksum(file));
    // the node's seals went through the platform's E.CRC32, not the loop
    expect(crc.callCount).to.be.above(3);
    expect(crc.calledWith(file)).to.equal(true);
  });

  it("a flush stops at the first batch whose ack the flash cannot record (a reboot would send it again)", async () => {
    chip = new Chip({ board: board("m", "mains", ["pm"]), config: cfg({ samplePeriodS: 60, uploadPeriodS: 300 }), sensors: pm((t) => (t / 1000) % 97, 0) });
    chip.start();
    await chip.run(2 * MINUTE);
    chip.brokerUp = false;
    chip.net.mode = "refuse";
    await chip.run(8 * HOUR); // a backlog of several batches
    const write = chip.storage.write.bind(chip.storage);
    chip.storage.write = (name: string, data: any, offset?: number, size?: number) => {
      if (name.startsWith("cn.s")) throw new Error("Unable to find or create file");
      return write(name, data, offset, size);
    };
    const sentBefore = chip.dataValues().size;
    const backlog = readNodeStats(chip.storage).queued;
    expect(backlog).to.be.greaterThan(600);
    chip.brokerUp = true;
    chip.net.mode = "accept";
    await chip.run(3 * MINUTE + 30_000);
    expect(chip.crashes).to.deep.equal([]);
    // each attempt sends one batch, then stops: the backlog is not sent on acks it cannot record
    const sent = chip.dataValues().size - sentBefore;
    const attempts = (chip.logText().match(/upload failed: flash: flash write failed: Unable to find or create file/g) ?? []).length;
    expect(sent).to.be.greaterThan(0);
    // a batch is at most 4000 chars of entries of >= 20 chars each: 200 values
    expect(sent, "values sent on acks that were not recorded").to.be.at.most(200 * attempts);
    expect(attempts).to.be.at.least(1);
    expect(sent).to.be.below(backlog / 2);
  });

  it("a command whose counter cannot be saved is refused and not acted on (a replay after a reboot would pass)", async () => {
    const relay = new FakeRelay("lamp");
    chip = new Chip({ board: board("m", "mains", ["lamp"]), config: cfg({ samplePeriodS: 60, uploadPeriodS: 300 }), actuators: () => [relay] });
    chip.start();
    await chip.run(MINUTE);
    const write = chip.storage.write.bind(chip.storage);
    let refuse = true;
    chip.storage.write = (name: string, data: any, offset?: number, size?: number) => {
      if (refuse && name.startsWith("cn.s")) throw new Error("Unable to find or create file");
      return write(name, data, offset, size);
    };
    chip.command("relay", { state: "on" });
    await chip.run(MINUTE);
    refuse = false;
    const second = chip.clock.now();
    chip.command("relay", { state: "on" });
    await chip.run(MINUTE);
    const acks = chip.topic("ack").map((m) => JSON.parse(m.payload));
    expect(acks[0]).to.deep.equal({ id: "c1", ok: false, error: "storage", detail: "counter not saved: flash write failed: Unable to find or create file" });
    expect(acks[1]).to.deep.equal({ id: "c2", ok: true });
    // only the second one switched the relay
    expect(relay.events.filter((e) => e[1] === "set true").map((e) => e[0] >= second)).to.deep.equal([true]);
  });

  it("power cuts at random instants and inside flash writes: counters exact, every acked value delivered", async () => {
    let tears = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ atMin: fc.integer({ min: 1, max: 360 }), tear: fc.boolean(), offS: fc.integer({ min: 1, max: 120 }) }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        async (cuts, mains, where) => {
          const c = new Chip({ board: board("b", mains ? "mains" : "battery", ["pm"]), config: cfg({ samplePeriodS: 300, uploadPeriodS: 900 }), sensors: pm((t) => (t / 1000) % 101, 0) });
          chip = c;
          try {
            c.start();
            const t0 = c.clock.now();
            for (const cut of [...cuts].sort((a, b) => a.atMin - b.atMin)) {
              await c.run(t0 + cut.atMin * MINUTE - c.clock.now());
              if (cut.tear) c.storage.armTear(() => where, () => c.powerCut(cut.offS * 1000));
              else c.powerCut(cut.offS * 1000);
            }
            await c.run(t0 + 7 * HOUR - c.clock.now());
            c.storage.disarmTear();
            // long enough for every window to close and go out
            await c.run(HOUR);
            tears += c.storage.tornWrites;
            const st = readNodeStats(c.storage);
            expect(c.crashes).to.deep.equal([]);
            expect(st.lost, "lost").to.equal(0);
            expect(st.readings).to.be.greaterThan(50);
            expect(c.dataValues().size, "delivered").to.be.at.least(st.acked);
            expect(st.queued).to.be.at.most(5);
          } finally {
            c.restore();
            chip = undefined;
          }
        },
      ),
      { numRuns: 12 },
    );
    expect(tears).to.be.greaterThan(3);
  });

  it("diag gives an absent device (configure failed) its wiring line, the one a crew needs to find the fault", async () => {
    const dead = new FakeSensor("noise", 0, () => [{ name: "LAeq", unit: "dB", value: 50 }], "pcb-spl");
    dead.configure = () => {
      throw new Error("no ACK from 0x48");
    };
    const live = new FakeSensor("pm", 0, () => [{ name: "pm25", unit: "ug/m3", value: 5 }], "pms5003");
    chip = new Chip({ board: board("m", "mains", ["pm", "noise"]), config: cfg(), sensors: () => [live, dead] });
    chip.start();
    await chip.run(MINUTE);
    const d = chip.console!.diag() as any;
    expect(d.devices.noise).to.include({ fitted: false, desc: "pcb-spl (fake)" });
    expect(d.devices.noise.now).to.match(/configure failed: Error: no ACK from 0x48/);
    expect(d.devices.pm).to.include({ fitted: true, desc: "pms5003 (fake)" });
  });

  it("locks the console with the config's password and never shows secrets there", async () => {
    chip = new Chip({ board: board("m", "mains"), config: cfg({ consolePassword: "s3cret-pw", broker: { host: "b", port: 1883, password: "mqttpw" } }) });
    chip.start();
    await chip.run(MINUTE);
    expect(chip.replAttached).to.equal(false);
    const shown = JSON.stringify(chip.console!.config()) + chip.logText() + JSON.stringify(chip.console!.diag());
    for (const secret of ["s3cret-pw", "mqttpw", KEY]) expect(shown + chip.consoleOut).to.not.include(secret);
    expect(chip.console!.help()).to.match(/casanode\.diag\(\)/);
    expect(chip.console!.queue()).to.include({ depth: 0, dropped: 0 });
  });

  it("battery upload wake: leaves once a PUBACK proves queued commands delivered and their acks are PUBACKed, no fixed linger, no polling, no PINGREQ", async () => {
    chip = new Chip({ board: board("b", "battery", ["pm"]), config: cfg({ samplePeriodS: 300, uploadPeriodS: 900 }), sensors: pm(() => 7, 0), startMs: Date.UTC(2026, 0, 15, 8, 0, 30) });
    // PUBACKs off the 100 ms grid: a poll would notice them late
    chip.pubackDelayMs = 137;
    chip.start();
    await chip.run(10 * MINUTE);
    chip.command("relay", { state: "on" });
    chip.command("diag", {});
    const n = chip.disconnects.length;
    await chip.run(20 * MINUTE);
    expect(chip.crashes).to.deep.equal([]);
    const acks = chip.topic("ack").map((m) => JSON.parse(m.payload));
    expect(acks.map((a) => a.ok)).to.deep.equal([false, true]);
    expect(acks[0].detail).to.equal("no relay on this board");
    expect(chip.topic("diag").length).to.be.greaterThan(1);
    // the upload wake after the commands were queued
    const d = chip.disconnects[n];
    const online = chip.topic("status").filter((m) => m.t < d && JSON.parse(m.payload).state === "online").pop()!;
    const offline = chip.topic("status").find((m) => m.t > online.t && JSON.parse(m.payload).state === "offline")!;
    const lastAck = chip.topic("ack").pop()!;
    expect(lastAck.t).to.be.below(offline.t);
    // connected for a handful of 137 ms PUBACK round trips, not a 2.5 s linger
    expect(d - online.t).to.be.below(1000);
    // DISCONNECT goes out on the last PUBACK (the acks'), not on a later poll, and the offline
    // status with it: the session's last word waits for no PUBACK
    expect(d).to.equal(chip.pubacks.filter((t) => t <= d).pop());
    expect(offline.t).to.equal(d);
    // the PUBACKs already proved the queued commands delivered: no PINGREQ round trip
    expect(chip.pings.filter((t) => t > online.t && t <= d)).to.deep.equal([]);
  });

  it("uploads when it matters: every sendPeriodS on its grid, early on a bin fill step, a raised alarm or an active one the step does not watch, windows on their own period", async () => {
    const start = Date.UTC(2026, 0, 15, 0, 0, 30);
    // fill 0.30 all day, 0.45 from 13:10 (a step of 0.15), 0.85 from 20:10 (over bin-full)
    const fill = (t: number) => (t >= start + 20 * HOUR + 10 * MINUTE ? 0.85 : t >= start + 13 * HOUR + 10 * MINUTE ? 0.45 : 0.3);
    const bin = () => [new FakeSensor("bin", 0, (t) => [{ name: "fill", unit: "/", value: fill(t) }])];
    chip = new Chip({ board: board("b", "battery", ["bin"]), config: cfg({ samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 21600, thresholds: { pm25: 55, binFill: 0.8, binFillStep: 0.1 } }), sensors: bin, startMs: start });
    chip.start();
    await chip.run(DAY);
    expect(chip.crashes).to.deep.equal([]);
    const ups = chip.topic("status").filter((m) => JSON.parse(m.payload).state === "online").map((m) => new Date(m.t).toISOString().slice(11, 16));
    // boot; the first window closing (:45, its last slot) past 06:00 and 12:00 on the 6 h grid;
    // 13:45 the window that saw the step; 18:45; 20:15 the bin-full alarm at once. A full bin is
    // not sent again every window: the fill step sends what changes (emptied, overflowing)
    expect(ups).to.deep.equal(["00:00", "06:45", "12:45", "13:45", "18:45", "20:15"]);
    // every hourly window's summary goes out all the same: the full bin's at the next grid time
    await chip.run(HOUR);
    const next = chip.topic("status").filter((m) => JSON.parse(m.payload).state === "online").pop()!;
    expect(new Date(next.t).toISOString().slice(0, 16)).to.equal("2026-01-16T00:45");
    const means = [...chip.dataValues().keys()].filter((k) => k.startsWith("bin.fill.mean@"));
    expect(means.length).to.equal(25);
    const st = readNodeStats(chip.storage);
    expect(st.lost).to.equal(0);
    expect(st.dropped).to.equal(0);
    tearDown(chip);

    // PM over its threshold has no step rule: every window goes out while it lasts
    chip = new Chip({ board: board("a", "battery", ["pm"]), config: cfg({ samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 21600 }), sensors: pm((t) => (t >= start + 20 * HOUR + 10 * MINUTE ? 80 : 10), 0), startMs: start });
    chip.start();
    await chip.run(DAY);
    const pmUps = chip.topic("status").filter((m) => JSON.parse(m.payload).state === "online").map((m) => new Date(m.t).toISOString().slice(11, 16));
    expect(pmUps).to.deep.equal(["00:00", "06:45", "12:45", "18:45", "20:15", "20:45", "21:45", "22:45", "23:45"]);
  });

  it("gives up on Wi-Fi that never answers (its own timeout), sleeps with the radio off, retries with backoff", async () => {
    chip = new Chip({ board: board("b", "battery", ["pm"]), config: cfg({ samplePeriodS: 300, uploadPeriodS: 900, wifiTimeoutMs: 15000 }), sensors: pm(() => 7, 0) });
    chip.wifiUp = false;
    chip.start();
    await chip.run(2 * HOUR);
    expect(chip.crashes).to.deep.equal([]);
    const st = readNodeStats(chip.storage);
    expect(st.uploads).to.equal(0);
    // not every cycle: 1, 2, 4 periods apart, at most one upload period
    expect(st.uploadFails).to.be.within(8, 12);
    expect(chip.logText()).to.match(/upload failed: wifi-timeout/);
    // every awake spell ended with the radio off before the sleep
    const radio = chip.power.filter((p) => p[1] === "radio");
    expect(radio.filter((p) => p[2]).length).to.equal(radio.filter((p) => !p[2]).length);
    for (const [t] of chip.sleeps) {
      const before = radio.filter((p) => p[0] <= t);
      if (before.length) expect(before[before.length - 1][2]).to.equal(false);
    }
    chip.wifiUp = true;
    await chip.run(HOUR);
    const after = readNodeStats(chip.storage);
    expect(after.uploads).to.be.greaterThan(0);
    expect(after.queued).to.be.below(4);
    expect(after.lost).to.equal(0);
  });
});
