// The bench with tiny parameters: shapes and sanity (positive, finite), never the values;
// plus the pieces that can be checked exactly (MQTT stream framing, output parsing).

import { expect } from "chai";
import fc from "fast-check";
import { Command } from "commander";
import { runBench, formatBench, parseSections, registerBench, SECTIONS, DEFAULT_SECTIONS, type BenchResults } from "../../tools/bench.js";
import { findMosquitto } from "../../sim/broker.js";
import { MqttStreamParser, publishTopic } from "../../bench/wire.js";
import { parseMeasure, findEspruino } from "../../bench/real-espruino.js";
import { chmodSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodePublish, encodeConnect, PINGREQ_PACKET } from "../../firmware/mqtt/packet.js";

const positive = (x: number | null | undefined) => {
  expect(x, "a figure").to.be.a("number");
  expect(Number.isFinite(x as number) && (x as number) > 0, `${x} positive and finite`).to.equal(true);
};

describe("bench", function () {
  it("phasesOf: a wake's phases from its marks, missing ones left out", async () => {
    const { phasesOf } = await import("../../bench/day.js");
    expect(phasesOf(0, 5000, { boot: 1000, cycle: 2100, radio: 2100, tcp: 2800, PINGREQ: 3200, DISCONNECT: 3300 })).to.deep.equal({ boot: 1000, sensors: 1100, join: 700, mqtt: 500, sleep: 1700 });
    // a planned upload: the prelude's join went on in the boot; what is left of it after the cycle
    expect(phasesOf(0, 1250, { radio: 251, boot: 1036, cycle: 1036, tcp: 1040, DISCONNECT: 1200 })).to.deep.equal({ boot: 1036, sensors: 0, join: 4, mqtt: 160, sleep: 50 });
    // power-on with no clock: the radio before the cycle
    expect(phasesOf(0, 9000, { boot: 1000, radio: 1200, tcp: 3000, DISCONNECT: 4000, cycle: 8000 })).to.deep.equal({ boot: 1000, sensors: 200, join: 1800, mqtt: 1000, sleep: 5000 });
    // a sample wake: no radio
    expect(phasesOf(0, 2200, { boot: 1000, cycle: 2150 })).to.deep.equal({ boot: 1000, sensors: 1150, sleep: 50 });
    // a join that failed: no TCP connect, the rest goes to sleep
    expect(phasesOf(0, 9000, { boot: 1000, cycle: 2000, radio: 2000 })).to.deep.equal({ boot: 1000, sensors: 1000, sleep: 7000 });
  });

  this.timeout(120000);

  describe("finding Espruino's Linux build", () => {
    let dir = "";
    beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "casanode-espruino-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const exe = (name: string, head: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, head);
      chmodSync(file, 0o755);
      return file;
    };

    it("takes ESPRUINO_BIN, else an espruino binary on PATH, and no one machine's path", () => {
      const bin = exe("espruino", "\x7fELF...");
      expect(findEspruino({ PATH: dir }).bin).to.equal(bin);
      const other = exe("espruino-16383", "\x7fELF...");
      expect(findEspruino({ PATH: dir, ESPRUINO_BIN: other }).bin).to.equal(other);
      for (const f of ["bench/real-espruino.ts", "bench/bundle.ts", "tools/bench.ts"]) expect(readFileSync(f, "utf8")).to.not.include("/work/");
    });

    it("says how to provide one when there is none, and skips the npm upload tool of the same name", () => {
      exe("espruino", "#!/usr/bin/env node\n"); // node_modules/.bin/espruino: the upload tool, not the interpreter
      const none = findEspruino({ PATH: dir });
      expect(none.bin).to.equal(null);
      expect(none.why).to.include("set ESPRUINO_BIN").and.include("PATH");
      const bad = findEspruino({ PATH: "", ESPRUINO_BIN: path.join(dir, "missing") });
      expect(bad.bin).to.equal(null);
      expect(bad.why).to.include(`ESPRUINO_BIN=${path.join(dir, "missing")} is not an executable file`);
    });
  });

  describe("MQTT stream framing (bytes on the air)", () => {
    it("finds each packet and its type however the stream is cut", () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ topic: fc.stringMatching(/^[a-z/]{1,40}$/), payload: fc.string({ maxLength: 300 }), id: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 8 }),
          fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }),
          (msgs, cuts) => {
            const packets = msgs.map((m) => encodePublish(m.topic, m.payload, 1, false, false, m.id));
            packets.push(PINGREQ_PACKET);
            const stream = packets.join("");
            const seen: Array<[number, string]> = [];
            const p = new MqttStreamParser((type, packet) => seen.push([type, packet]));
            let i = 0;
            for (let k = 0; i < stream.length; k++) {
              const n = cuts[k % cuts.length];
              p.push(stream.slice(i, i + n));
              i += n;
            }
            expect(seen.map((s) => s[1])).to.deep.equal(packets);
            expect(seen.map((s) => s[0])).to.deep.equal([...msgs.map(() => 3), 12]);
            expect(seen.slice(0, -1).map((s) => publishTopic(s[1]))).to.deep.equal(msgs.map((m) => m.topic));
          },
        ),
      );
    });

    it("holds an incomplete packet until the rest arrives", () => {
      const connect = encodeConnect({ clientId: "casanode-s-n", keepAliveS: 60, cleanSession: false });
      const seen: number[] = [];
      const p = new MqttStreamParser((type) => seen.push(type));
      p.push(connect.slice(0, connect.length - 1));
      expect(seen).to.deep.equal([]);
      p.push(connect.slice(-1));
      expect(seen).to.deep.equal([1]);
    });
  });

  describe("real interpreter output", () => {
    it("reads the memory lines and tells how the run ended", () => {
      const out = "banner\nBENCH-MEM start 45 16383\nCasaNode 0.1.0 linux n boot=power-on\nBENCH-MEM eval 2600 16383\nBENCH-MEM idle 2590 16383\nBENCH-MEM tick 2700 16383\nBENCH-MEM last 2580 16383\n";
      const m = parseMeasure(out, false);
      expect(m).to.deep.include({ afterEval: 2600, idle: 2590, max: 2700, last: 2580, total: 16383, outcome: "ran" });
      expect(m.notes).to.include("CasaNode 0.1.0 linux n boot=power-on");
      expect(parseMeasure("BENCH-MEM start 45 16383\nOUT OF MEMORY\n", false).outcome).to.equal("out of memory");
      expect(parseMeasure("BENCH-MEM start 45 16383\n", true).outcome).to.equal("timeout");
      // the firmware caught its own failure and went on idling: still a failed run
      const failed = out.replace("BENCH-MEM eval", 'CasaNode boot failed: Error: Function "open" not found!\nBENCH-MEM eval');
      expect(parseMeasure(failed, false).outcome).to.equal('boot failed: Error: Function "open" not found!');
    });
  });

  describe("options", () => {
    it("takes a comma list of known sections and refuses others", () => {
      expect(parseSections("bundle, mqtt")).to.deep.equal(["bundle", "mqtt"]);
      expect(parseSections(undefined)).to.equal(undefined);
      expect(() => parseSections("bundle,speeed")).to.throw(/--only/);
    });

    it("adds a bench command with --only, --quick and --out", () => {
      const program = new Command();
      registerBench(program);
      const bench = program.commands.find((c) => c.name() === "bench")!;
      const flags = bench.options.map((o) => o.long);
      for (const f of ["--only", "--quick", "--out"]) expect(flags).to.include(f);
    });
  });

  it("prices a node-day of each street board in CPU, one board at a time, and prints it against the fleet goal", async function () {
    this.timeout(60_000);
    const { benchSimSpeed, benchBoardCosts } = await import("../../bench/sim-speed.js");
    const { defaultBoards } = await import("../../sim/fleet.js");
    const costs = await benchBoardCosts({ nodes: 1, durationMs: 30 * 60_000 });
    expect(costs.map((c) => c.board)).to.deep.equal(defaultBoards());
    for (const c of costs) {
      positive(c.cpuSecondsPerNodeDay);
      expect(c.cpuSecondsPerNodeDay).to.be.closeTo(c.cpuMs / 1000 / (30 / 1440), 1e-9);
      expect(c.lost, c.board).to.equal(0);
    }
    // a pole never sleeps: it reports within half an hour
    positive(costs.find((c) => c.board === "esp32-pole")!.readingsAtBroker);
    const speed = await benchSimSpeed({ nodes: 2, durationMs: 10 * 60_000 });
    const text = formatBench({ ...(await runBench({ only: ["currents"], boards: ["linux"], real: false })), speed, speedByBoard: costs });
    expect(text).to.include("CPU seconds a node-day, by board (1 node of one board for 30m");
    expect(text).to.include("leaves 0.25");
    for (const c of costs) expect(text).to.match(new RegExp(`${c.board} +${c.cpuSecondsPerNodeDay.toFixed(2).replace(".", "\\.")} `));
  });

  it("runs a small city over 2 shards against Mosquitto: each shard's peak, readings a second, books balanced", async function () {
    if (!findMosquitto()) this.skip();
    this.timeout(120_000);
    const { benchCity } = await import("../../bench/city.js");
    const c = await benchCity({ nodes: 12, durationMs: 20 * 60_000, shards: 2 });
    if ("skipped" in c) throw new Error(c.skipped);
    expect(c.shards).to.equal(2);
    expect(c.peakRssMb).to.have.length(2);
    expect(c.shardWallMs).to.have.length(2);
    for (const m of c.peakRssMb) positive(m);
    const t = c.totals;
    expect(t.nodes).to.equal(12);
    expect(t.readings).to.equal(t.acked + t.queued + t.dropped + t.untimed);
    expect([t.lost, t.duplicatesAtBroker, t.badTimesAtBroker, t.crashes]).to.deep.equal([0, 0, 0, 0]);
    // the mains nodes send every 5 min: what the broker acked, the observers received
    positive(t.receivedAtBroker);
    expect(t.receivedAtBroker).to.equal(t.acked);
    expect(c.readingsPerSecond).to.be.closeTo(t.receivedAtBroker / (c.wallMs / 1000), 1e-6);
    // a data message holds one reading or more
    expect(t.messagesAtBroker).to.be.within(1, t.receivedAtBroker);
    expect(c.messagesPerSecond).to.be.closeTo(t.messagesAtBroker / (c.wallMs / 1000), 1e-6);
    const text = formatBench({ ...(await runBench({ only: ["currents"], boards: ["linux"], real: false })), city: c });
    expect(text).to.include("a city (bench/city.ts): 12 nodes (every street board in turn) for 20m over 2 shards against Mosquitto");
    expect(text).to.include(`books: ${t.readings.toLocaleString("en-US")} readings = `);
  });

  it("refuses a city that Mosquitto's open-file limit cannot hold, and says how to fix it", async () => {
    const { benchCity, fileLimitProblem } = await import("../../bench/city.js");
    expect(fileLimitProblem(10_000, 2, 20_000)).to.equal(null);
    expect(fileLimitProblem(10_000, 2, "unlimited")).to.equal(null);
    expect(fileLimitProblem(10_000, 2, null)).to.equal(null);
    expect(fileLimitProblem(10_000, 2, 10_066)).to.equal(null);
    expect(fileLimitProblem(10_000, 2, 10_065)).to.equal(
      "Mosquitto would inherit a limit of 10065 open files, below the 10066 that 10000 nodes need: raise the hard limit (ulimit -Hn; systemd: LimitNOFILE) or run --city-nodes 9999",
    );
    expect(fileLimitProblem(100, 2, 50)).to.match(/limit of 50 open files, below the 166 .*LimitNOFILE\)$/);
    // refused before any broker or worker starts
    expect(await benchCity({ nodes: 2000, shards: 2, fileLimit: 1024 })).to.deep.equal({ skipped: fileLimitProblem(2000, 2, 1024) });
  });

  it("leaves the city out of the default sections; --only city names it", async () => {
    expect(parseSections("city")).to.deep.equal(["city"]);
    expect(DEFAULT_SECTIONS).to.deep.equal(SECTIONS.filter((s) => s !== "city"));
    const asked = await runBench({ only: ["currents"], boards: ["linux"], real: false });
    expect(asked.skipped.join("\n")).to.not.include("city");
  });

  describe("quick sections, tiny runs", () => {
    let r: BenchResults;
    before(async () => {
      r = await runBench({
        only: ["bundle", "memory", "currents", "energy", "radio", "flash", "mqtt"],
        boards: ["esp32-bin", "linux"],
        dayMs: 7 * 60 * 60_000, // the bin node syncs at power-on and sends every 6 h (at 06:45, its first window end past 06:00)
        real: false,
        mqttMessages: 20,
        mosquitto: false,
      });
    });

    it("measures bundle size and modelled memory of each board", () => {
      expect(r.boards.map((b) => b.board)).to.deep.equal(["esp32-bin", "linux"]);
      for (const b of r.boards) {
        positive(b.bundle!.bytes);
        positive(b.bundle!.gzipBytes);
        expect(b.bundle!.gzipBytes).to.be.below(b.bundle!.bytes);
        positive(b.memory!.modelAfterBoot);
        expect(b.memory!.modelMax!).to.be.at.least(b.memory!.modelAfterBoot!);
      }
    });

    it("prices the battery board's cycles and days, and its bytes and flash writes", () => {
      const bin = r.boards[0];
      const e = bin.energy!;
      expect(e.alwaysOn).to.equal(false);
      positive(e.sampleCycle!.awakeMs);
      positive(e.sampleCycle!.mah);
      positive(e.mahPerDay);
      positive(e.batteryLifeDays);
      // the upload wake's timeline, and where the day's charge goes
      for (const ph of ["boot", "sensors", "mqtt", "sleep"]) positive(e.uploadCycle!.phases[ph]);
      // what is left of the join after the cycle: none when the prelude's join was done in time
      expect(e.uploadCycle!.phases.join).to.be.at.least(0);
      // the send grid's upload, planned: joined from the boot, so no longer than the mean
      const planned = e.plannedUploadCycle!;
      expect(planned.count).to.be.at.least(1);
      expect(planned.awakeMs).to.be.at.most(e.uploadCycle!.awakeMs);
      expect(planned.phases.join).to.be.below(e.uploadCycle!.phases.join + 1);
      for (const ph of ["boot", "sensors"]) positive(e.sampleCycle!.phases[ph]);
      const split = e.split!;
      expect(split.sleep + split.sampleWakes + split.uploadWakes).to.be.at.most(e.mahPerDay + 1e-9);
      positive(split.sleep);
      positive(split.uploadWakes);
      positive(bin.radio!.txBytesPerReading);
      positive(bin.radio!.messagesPerUpload);
      positive(bin.flash!.bytesPerDay);
      positive(bin.flash!.years);
      expect(bin.crashes).to.equal(0);
    });

    it("lists every current figure with a source and throughput through the embedded broker", () => {
      expect(r.currents!.length).to.be.above(0);
      for (const c of r.currents!) expect(c.source).to.not.equal("(no source given)");
      const runs = r.mqtt!.runs;
      expect(runs.map((m) => m.mode)).to.deep.equal(["pipelined", "one at a time"]);
      for (const m of runs) positive(m.messagesPerSecond);
      // the client as the bundles carry it: more than its packet encoders, less than a bundle's part
      expect(r.mqtt!.clientBytes).to.be.within(2000, 12000);
    });

    it("prints one table with every board and the sections asked for", () => {
      const text = formatBench(r);
      for (const s of ["esp32-bin", "linux", "minified bytes", "mAh per day", "years to wear out", "current figures used", "msg/s"]) expect(text).to.include(s);
      expect(SECTIONS).to.include("speed");
      expect(text).to.not.include("simulator speed");
    });
  });
});
