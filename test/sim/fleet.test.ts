import { expect } from "chai";
import sinon from "sinon";
import mqtt from "mqtt";
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import net from "node:net";
import { freePort, startBroker } from "../../sim/broker.js";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { runFleet, parseReplaySpec, boardSuffix, defaultBoards, SimOptionError, ROOT, type FleetNode, type FleetOptions } from "../../sim/fleet.js";
import { FaultSpecError } from "../../sim/faults.js";
import { DEFAULT_NET_LATENCY } from "../../sim/espruino/net.js";
import { noFaults, type SimDevice } from "../../sim/devices/types.js";
import { SimStorage } from "../../sim/espruino/storage.js";
import { Store, type Batch } from "../../firmware/runtime/store.js";
import { packReadings, senmlBaseName } from "../../firmware/messages/senml.js";
import { topicFor } from "../../firmware/messages/topics.js";
import type { SimNodeOptions } from "../../sim/node.js";
import type { FleetSummary } from "../../sim/fleet-summary.js";
import { registerSim, checkRun, formatSummary } from "../../tools/sim.js";
import { MAX_CAPTURE_FILE_BYTES } from "../../sim/replay.js";

const H = 3_600_000;
const FIXTURES = path.join(ROOT, "test", "sim", "fixtures");
/** multi-frame captures made from the datasheet frame formats: distinct values, a garbage chunk, a bad checksum */
const PMS_CAPTURE = path.join(FIXTURES, "pms5003-18-frames.hex");
const SDS_CAPTURE = path.join(FIXTURES, "sds011-18-frames.hexdump");
const A02_CAPTURE = path.join(FIXTURES, "a02yyuw-18-frames.xxd");
const WAKE_MS = 300_000;
const UPLOAD_EVERY = 6; // wakes

class FakeDevice implements SimDevice {
  readonly faults = noFaults();
  constructor(readonly model: string) {}
  currentMa(): number { return 0; }
  active(): boolean { return false; }
}

/**
 * A stand-in for SimNode that exercises the runner without the Espruino emulation: it wakes
 * every 5 virtual minutes, queues one PM reading in the real firmware Store, and every 30
 * minutes publishes the queue over real MQTT (mqtt.js, QoS 1) and acks on PUBACK.
 */
class StandInNode implements FleetNode {
  readonly devices: { [name: string]: SimDevice };
  readonly storage = new SimStorage();
  readonly stats = { boots: 0, wakes: 0, crashes: 0, awakeMs: 0, radioMs: 0, chargeMah: 0 };
  readonly trace: Array<{ t: number; state: string; on: boolean }> = [];
  /** [virtual time published, virtual time its PUBACK arrived] */
  readonly roundTrips: Array<[number, number]> = [];
  private store!: Store;
  private client?: mqtt.MqttClient;
  private timer: any;
  private wakes = 0;
  private lastEnergy: number;
  private off = false;

  constructor(private o: SimNodeOptions) {
    this.devices = Object.fromEntries(o.board.devices.map((d) => [d.name, new FakeDevice(d.model)]));
    this.lastEnergy = o.clock.now();
  }

  start(): void {
    this.boot();
  }

  private boot(): void {
    this.off = false;
    this.stats.boots++;
    this.store = new Store(this.storage);
    this.store.load(true);
    this.store.save();
    this.timer = this.o.clock.setTimeout(() => this.wake(), WAKE_MS);
  }

  private wake(): void {
    const clock = this.o.clock;
    const t = clock.now();
    this.stats.wakes++;
    this.wakes++;
    this.trace.push({ t, state: "awake", on: true }, { t, state: "awake", on: false });
    const pm = this.devices.pm;
    if (pm && !pm.faults.unplugged) {
      this.store.enqueue([["pm.pm25", "ug/m3", Math.round(this.o.world.pm(t).pm25 * 10) / 10, Math.floor(t / 1000)]], 100);
      this.store.save();
    }
    if (this.wakes % UPLOAD_EVERY === 0) this.upload();
    this.timer = clock.setTimeout(() => this.wake(), WAKE_MS);
  }

  /** the time a reading is sent with, s */
  protected sentTime(tS: number): number {
    return tS;
  }

  private upload(): void {
    const t = this.o.clock.now();
    if (!this.o.wifi.up(t) || !(this.o.brokerReachable?.(t) ?? true)) return;
    const batch = this.store.peek(4000);
    if (!batch) return;
    const cfg = this.o.config as any;
    const send = () => this.publish(batch, cfg);
    if (this.client?.connected) send();
    else {
      this.client?.end(true);
      this.client = mqtt.connect(`mqtt://${cfg.broker.host}:${cfg.broker.port}`, { clientId: "standin-" + cfg.node, reconnectPeriod: 0, keepalive: 0, clean: true });
      this.client.once("connect", send);
      this.client.on("error", () => {});
    }
  }

  private publish(batch: Batch, cfg: any): void {
    if (this.off) return;
    const sentAt = this.o.clock.now();
    const rs = batch.entries.map((e) => ({ name: e[0], unit: e[1], value: e[2], t: this.sentTime(e[3]) }));
    const [msg] = packReadings(senmlBaseName(cfg.site, cfg.node), rs, 100_000);
    this.store.state.c.published += rs.length;
    this.client!.publish(topicFor(cfg.site, cfg.node, "data"), msg, { qos: 1 }, (err) => {
      if (err || this.off) return;
      this.roundTrips.push([sentAt, this.o.clock.now()]);
      this.store.ack(batch);
      this.store.save();
    });
  }

  powerCut(offMs: number): void {
    this.off = true;
    this.o.clock.clearTimeout(this.timer);
    this.client?.end(true);
    this.client = undefined;
    this.o.clock.setTimeout(() => this.boot(), offMs);
  }

  updateEnergy(): void {
    const now = this.o.clock.now();
    this.stats.chargeMah += ((now - this.lastEnergy) / H) * 1; // a steady 1 mA
    this.lastEnergy = now;
  }

  stop(): void {
    this.o.clock.clearTimeout(this.timer);
    this.client?.end(true);
  }
}

/** sends its readings stamped with seconds since its (last) boot, as a node whose clock was never set */
class UnsetClockNode extends StandInNode {
  private bootAt = 0;
  start(): void {
    this.bootAt = (this as any).o.clock.now();
    super.start();
  }
  powerCut(offMs: number): void {
    this.bootAt = (this as any).o.clock.now() + offMs;
    super.powerCut(offMs);
  }
  protected sentTime(tS: number): number {
    return tS - Math.floor(this.bootAt / 1000);
  }
}

function standIn(extra: Partial<FleetOptions> & { unsetClock?: string[] } = {}): FleetOptions & { made: StandInNode[] } {
  const made: StandInNode[] = [];
  return {
    boards: ["esp32-air", "esp32-pole"],
    nodes: 3,
    durationMs: 6 * H,
    seed: 42,
    loadBundle: async () => "",
    // stand-ins speak MQTT with mqtt.js over real sockets, to the port the broker listens on
    brokerLink: "tcp",
    createNode: (o) => {
      const n = extra.unsetClock?.includes(o.id) ? new UnsetClockNode(o) : new StandInNode(o);
      made.push(n);
      return n;
    },
    ...extra,
    made,
  };
}

describe("fleet runner (stand-in nodes)", function () {
  this.timeout(20_000);

  it("names nodes per board, keeps virtual time still while MQTT traffic is in flight, and balances every reading", async () => {
    const opts = standIn();
    const progress: number[] = [];
    const { summary, traces, nodes, runner } = await runFleet({ ...opts, onProgress: (p) => progress.push(p.doneMs) });
    expect(runner.lateReplies).to.equal(0);
    expect(nodes.map((n) => n.id)).to.deep.equal(["air-01", "pole-01", "air-02"]);
    expect(new Set(nodes.map((n) => n.keyHex)).size).to.equal(3);
    for (const n of nodes) expect(n.keyHex).to.match(/^[0-9a-f]{64}$/);
    // 72 wakes in 6 h, a publish every 30 min, each PUBACK at the virtual instant of its PUBLISH
    for (const n of opts.made) {
      expect(n.stats.wakes).to.equal(72);
      expect(n.roundTrips).to.have.length(12);
      for (const [sent, acked] of n.roundTrips) expect(acked, JSON.stringify(n.roundTrips.map(([a, b]) => [(a - 1768435200000) / 60000, (b - a) / 60000]))).to.equal(sent);
    }
    for (const n of summary.nodes) {
      expect(n.readings).to.equal(72);
      expect(n.acked).to.equal(72); // the last upload is at the last wake (6 h)
      expect(n.queued + n.dropped + n.lost).to.equal(0);
      expect(n.receivedAtBroker).to.equal(72);
      expect(n.chargeMah).to.be.closeTo(6, 1e-9); // 1 mA for 6 h
      expect(n.mahPerDay).to.be.closeTo(24, 1e-9);
    }
    expect(summary.nodes.find((n) => n.board === "esp32-air")!.batteryLifeDays).to.be.closeTo((6800 * 0.8) / 24, 1e-9);
    expect(summary.nodes.find((n) => n.board === "esp32-pole")!.batteryLifeDays).to.equal(null);
    expect(summary.totals).to.deep.include({ nodes: 3, readings: 216, acked: 216, lost: 0, receivedAtBroker: 216 });
    expect(summary.durationMs).to.equal(6 * H);
    expect(progress.at(-1)).to.equal(6 * H);
    // traces: the broker's view with real values, and samples for the report
    const air = traces.nodes[0];
    expect(air.readings).to.have.length(72);
    expect(air.readings.every((r) => r.name === "pm.pm25" && r.unit === "ug/m3" && r.value > 0)).to.equal(true);
    expect(air.queue.length).to.equal(577); // every duration / 288, 1 ms before and at each grid point
    expect(air.charge.at(-1)![1]).to.be.closeTo(6, 1e-9);
    expect(Math.max(...air.queue.map((q) => q[1]))).to.be.within(5, 6);
    expect(JSON.parse(JSON.stringify(summary))).to.deep.equal(summary);
  });

  it("applies faults: Wi-Fi outage queues then drains, unplugged sensor takes nothing, power cuts reboot", async () => {
    const opts = standIn({ faults: ["wifi-down@1h+1h", "unplug:air-02/pm@3h+30m", "power-cut:pole-01@4h+10s"] });
    const { summary, traces } = await runFleet(opts);
    const [a1, p1, a2] = summary.nodes;
    expect(a2.readings).to.equal(72 - 6); // 30 min unplugged: 6 wakes without a reading
    expect(p1.boots).to.equal(2);
    expect(p1.readings).to.be.below(72); // the cut lost a wake cycle
    for (const n of summary.nodes) expect(n.lost).to.equal(0);
    // the outage: depth climbs past one upload's worth, then drains at 2 h
    const q = traces.nodes[0].queue;
    const at = (t: number) => q.filter((p) => p[0] - summary.startMs <= t).at(-1)![1];
    expect(at(1.9 * H)).to.be.at.least(12);
    expect(at(2.1 * H)).to.be.below(6);
    expect(a1.receivedAtBroker).to.equal(72);
    expect(summary.faults.map((f) => `${f.kind}:${f.node}`)).to.deep.equal(["wifi-down:air-01", "wifi-down:air-02", "wifi-down:pole-01", "unplug:air-02", "power-cut:pole-01"]);
    expect(a1.faults).to.equal(1);
  });

  it("counts records with times outside the run as bad, without merging distinct readings that share a made-up time", async () => {
    // pole-01 stamps seconds since boot; two power cuts make it reuse the same small times
    const { summary } = await runFleet(standIn({ unsetClock: ["pole-01"], faults: ["power-cut:pole-01@2h+10s", "power-cut:pole-01@4h+10s"] }));
    const [a1, p1] = summary.nodes;
    expect(a1.badTimesAtBroker).to.equal(0);
    expect(p1.acked).to.be.greaterThan(50);
    // every acked reading reached the observer as itself, and each one has an impossible time
    expect(p1.receivedAtBroker).to.equal(p1.acked);
    expect(p1.badTimesAtBroker).to.equal(p1.receivedAtBroker);
    expect(summary.totals.badTimesAtBroker).to.equal(p1.badTimesAtBroker);
    expect(() => checkRun(summary)).to.throw(CommanderError, /pole-01/).with.property("exitCode", 1);
    expect(formatSummary(summary)).to.match(/BAD TIMES at the broker: pole-01 \d+/);
    const good = await runFleet(standIn({ nodes: 2 }));
    expect(() => checkRun(good.summary)).to.not.throw();
  });

  it("is reproducible from the seed", async () => {
    const one = await runFleet(standIn({ nodes: 2, durationMs: 2 * H, powerCuts: 2 }));
    const two = await runFleet(standIn({ nodes: 2, durationMs: 2 * H, powerCuts: 2 }));
    const other = await runFleet(standIn({ nodes: 2, durationMs: 2 * H, powerCuts: 2, seed: 43 }));
    const view = (r: typeof one) => ({ faults: r.summary.faults, readings: r.traces.nodes.map((n) => n.readings) });
    expect(view(two)).to.deep.equal(view(one));
    expect(view(other)).to.not.deep.equal(view(one));
    expect(one.summary.faults).to.have.length(2);
  });

  it("refuses bad options with one clear message", async () => {
    await expectReject(runFleet(standIn({ boards: ["esp32-toaster"] })), SimOptionError, 'unknown board "esp32-toaster"');
    await expectReject(runFleet(standIn({ nodes: 0 })), SimOptionError, "--nodes");
    await expectReject(runFleet(standIn({ broker: "http://x" })), SimOptionError, "mqtt://host:port");
    await expectReject(runFleet(standIn({ faults: ["power-cut:air-09@1h"] })), FaultSpecError, 'no node "air-09"');
    await expectReject(runFleet(standIn({ replay: ["esp32-air/pm=/nonexistent"] })), SimOptionError, "--replay: no file /nonexistent");
    // the node's own validator: a queue bound the board's flash cannot hold is refused before anything runs
    await expectReject(runFleet(standIn({ config: { queueMax: 20000 } })), SimOptionError, "--config for esp32-air: queueMax must be a whole number of readings (what 896 KB of Storage holds) between 10 and 12507, got 20000");
    await expectReject(runFleet(standIn({ config: { node: "x", keyHex: "00" } })), SimOptionError, "--config may not set node, keyHex");
    await expectReject(runFleet(standIn({ storageBytes: 1000 })), SimOptionError, "--storage-kb");
    expect(() => parseReplaySpec("pm")).to.throw(SimOptionError, "<device>=<file>");
    expect(parseReplaySpec("air-01/pm=cap.bin")).to.deep.equal({ node: "air-01", device: "pm", file: "cap.bin" });
    expect(parseReplaySpec("pm=cap.bin", true)).to.deep.equal({ device: "pm", file: "cap.bin", raw: true });
  });

  it("refuses a replay target that is sensors of more than one model, unless a model or board is named", async () => {
    // the default fleet's "pm" is a PMS5003 on poles and an SDS011 on air nodes: one capture fits one
    await expectReject(runFleet(standIn({ replay: [`pm=${PMS_CAPTURE}`] })), SimOptionError, '--replay: "pm" is more than one sensor model (sds011 on esp32-air; pms5003 on esp32-pole)');
    // the suggestion is the model whose frames the capture holds
    await expectReject(runFleet(standIn({ replay: [`pm=${PMS_CAPTURE}`] })), SimOptionError, `name the model (pms5003=${PMS_CAPTURE}) or the board (esp32-pole/pm=${PMS_CAPTURE})`);
    await expectReject(runFleet(standIn({ replay: [`pm=${SDS_CAPTURE}`] })), SimOptionError, `name the model (sds011=${SDS_CAPTURE}) or the board (esp32-air/pm=${SDS_CAPTURE})`);
    for (const target of ["pms5003", "esp32-pole/pm", "pole-01/pm"]) {
      const { summary } = await runFleet(standIn({ durationMs: H, replay: [`${target}=${PMS_CAPTURE}`] }));
      expect(summary.totals.nodes).to.equal(3);
    }
    await expectReject(runFleet(standIn({ replay: [`lamp=${PMS_CAPTURE}`] })), SimOptionError, '"lamp" is a relay; captures play into UART sensors (pms5003, sds011, a02yyuw)');
  });

  it("refuses a capture that is not a regular file of bounded size, or not in a capture format, before the run", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-replay-"));
    try {
      await expectReject(runFleet(standIn({ replay: ["esp32-air/pm=/etc"] })), SimOptionError, "--replay: /etc is a directory, not a capture file");
      await expectReject(runFleet(standIn({ replay: ["esp32-air/pm=/dev/zero"] })), SimOptionError, "--replay: /dev/zero is not a regular file");
      const big = path.join(dir, "big.bin");
      writeFileSync(big, "");
      truncateSync(big, MAX_CAPTURE_FILE_BYTES + 1);
      await expectReject(runFleet(standIn({ replay: [{ device: "sds011", file: big, raw: true }] })), SimOptionError, `--replay-raw: ${big} is ${MAX_CAPTURE_FILE_BYTES + 1} bytes, more than the ${MAX_CAPTURE_FILE_BYTES}`);
      const stray = path.join(dir, "stray.hex");
      writeFileSync(stray, "aa c0 d2 04 29 09 12 34 4e ab\naa c0 d2 04 29 O9 12 34 4e ab\n");
      await expectReject(runFleet(standIn({ replay: [`sds011=${stray}`] })), SimOptionError, `--replay: ${stray}: line 2, column 16: "O" is not a hex digit`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a fault that starts after the run ends, and an in-use console port, with what to do", async () => {
    await expectReject(runFleet(standIn({ durationMs: H, faults: ["wifi-down@2h+1h"] })), FaultSpecError, '--fault: "wifi-down@2h+1h" starts at 2h, after the run ends (1h)');
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      await expectReject(runFleet(standIn({ durationMs: H, consolePort: port })), SimOptionError, `--console-port: port ${port} (air-01's console) is in use`);
    } finally {
      busy.close();
    }
  });

  it("gives every node the --config fields over its own and the --storage-kb flash", async () => {
    const opts = standIn({ nodes: 2, durationMs: H, config: { queueMax: 500, lingerMs: 1000 }, storageBytes: 192 * 1024 });
    await runFleet(opts);
    for (const n of opts.made) {
      expect((n as any).o.config).to.include({ queueMax: 500, lingerMs: 1000, site: "sim" });
      expect((n as any).o.storageBytes).to.equal(192 * 1024);
    }
  });

  it("gives a node the same identity, provisioning, faults and readings whether it runs in the whole fleet or in a shard", async () => {
    const extra: Partial<FleetOptions> = { nodes: 6, durationMs: 2 * H, staticIp: true, powerCuts: 6, faults: ["power-cut:air-03@1h+20s", "unplug:pole-02/pm@30m+30m", "wifi-down:esp32-pole@40m+20m"] };
    // below the ephemeral range (32768 up on Linux), where the runs' own MQTT connections take ports
    const port = 20000 + (process.pid % 10000);
    const run = async (shard?: { index: number; count: number }) => {
      const opts = standIn({ ...extra, consolePort: port, shard });
      const r = await runFleet(opts);
      const made = new Map(opts.made.map((n) => [(n as any).o.id as string, (n as any).o as SimNodeOptions]));
      return { r, made };
    };
    const whole = await run();
    const one = await run({ index: 1, count: 2 });
    const two = await run({ index: 2, count: 2 });
    expect(one.r.summary.nodes.map((n) => n.id)).to.deep.equal(["air-01", "pole-01", "air-02"]);
    expect(two.r.summary.nodes.map((n) => n.id)).to.deep.equal(["pole-02", "air-03", "pole-03"]);
    expect(one.r.summary.shard).to.deep.equal({ index: 1, count: 2 });
    expect(one.r.summary.fleet).to.deep.equal({ nodes: 6, durationMs: 2 * H });
    const sharded = [...one.r.summary.nodes, ...two.r.summary.nodes];
    const infos = [...one.r.nodes, ...two.r.nodes];
    expect(infos).to.deep.equal(whole.r.nodes); // ids, boards, keys, console ports
    expect(infos.map((n) => n.consolePort)).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => port + i));
    const view = (n: (typeof sharded)[number]) => ({ id: n.id, readings: n.readings, acked: n.acked, queued: n.queued, wakes: n.wakes, boots: n.boots, charge: n.chargeMah, faults: n.faults, received: n.receivedAtBroker });
    expect(sharded.map(view)).to.deep.equal(whole.r.summary.nodes.map(view));
    // the random power cuts and the named faults land on the same nodes at the same times
    const faults = (fs: typeof whole.r.summary.faults) => fs.map((f) => `${f.kind}:${f.node}/${f.device ?? ""}@${f.startMs}-${f.endMs}`).sort();
    expect(faults([...one.r.summary.faults, ...two.r.summary.faults])).to.deep.equal(faults(whole.r.summary.faults));
    expect(whole.r.summary.faults.filter((f) => f.kind === "power-cut")).to.have.length(7);
    // provisioning: static addresses by place in the whole fleet, and the world each node sees
    for (const [id, o] of [...one.made, ...two.made]) {
      const w = whole.made.get(id)!;
      expect({ ...o.config, broker: 0 }, id).to.deep.equal({ ...w.config, broker: 0 }); // each run here has its own embedded broker
      expect(o.world.pm(whole.r.summary.startMs + H), id).to.deep.equal(w.world.pm(whole.r.summary.startMs + H));
    }
    expect((two.made.get("air-03")!.config as any).wifi.ip).to.equal("192.168.4.102");
  });

  it("refuses a bad shard, and a fault that names no node of the whole fleet, but not one on another shard's node", async () => {
    await expectReject(runFleet(standIn({ shard: { index: 4, count: 4 } })), SimOptionError, "--shard: 3 node(s) cannot make 4 shards");
    await expectReject(runFleet(standIn({ shard: { index: 0, count: 2 } })), SimOptionError, "--shard i/N counts from 1");
    await expectReject(runFleet(standIn({ shard: { index: 1, count: 2 }, faults: ["power-cut:air-09@1h"] })), FaultSpecError, 'no node "air-09"');
    await expectReject(runFleet(standIn({ shard: { index: 1, count: 2 }, faults: ["unplug:air-02/lamp@1h"] })), FaultSpecError, 'no device "lamp"');
    const { summary } = await runFleet(standIn({ durationMs: H, shard: { index: 1, count: 2 }, faults: ["power-cut:air-02@30m", "unplug:air-02/pm@10m"] }));
    expect(summary.nodes.map((n) => n.id)).to.deep.equal(["air-01"]);
    expect(summary.faults).to.deep.equal([]);
  });

  it("lists the street boards and names nodes after them", () => {
    const boards = defaultBoards();
    expect(boards).to.include.members(["esp32-air", "esp32-pole"]);
    expect(boards).to.not.include("linux");
    expect(boardSuffix("esp32-bin-sr04")).to.equal("bin-sr04");
  });
});

async function expectReject(p: Promise<unknown>, type: Function, text: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    expect((err as Error).message).to.include(text);
    expect((err as Error).message).to.not.include("\n");
    return;
  }
  expect.fail("expected a rejection: " + text);
}

describe("casanode sim (options)", () => {
  function program() {
    const p = new Command("casanode").exitOverride();
    registerSim(p).exitOverride();
    return p;
  }

  for (const [args, why] of [
    [["--duration", "90"], "no unit"],
    [["--duration", "soon"], "--duration"],
    [["--nodes", "three"], "--nodes must be a whole number"],
    [["--nodes", "0"], "--nodes must be from 1"],
    [["--seed", "x1"], "--seed"],
    [["--broker", "localhost:1883"], "mqtt://host:port"],
    [["--fault", "flood@1h"], 'unknown kind "flood"'],
    [["--power-cuts", "-1"], "--power-cuts"],
    [["--replay", "pm"], "--replay"],
    [["--console-port", "70000"], "--console-port"],
    [["--rtt", "60-20"], "--rtt must be ms per round trip, e.g. 40 or 20-60"],
    [["--rtt", "fast"], "--rtt must be"],
    [["--rtc-fast", "fast"], '--rtc-fast must be a percent, e.g. 1 or 3.3, got "fast"'],
    [["--rtc-fast", "-1"], "--rtc-fast must be a percent"],
    [["--tls-handshake", "-5"], "--tls-handshake must be a whole number"],
    [["--duration", "0"], "--duration must be more than 0, e.g. 90m"],
    [["--duration", "0m"], "--duration must be more than 0"],
    [["--summary", os.tmpdir()], `--summary: ${os.tmpdir()} is a directory`],
    [["--report", "/proc/version/run.html"], "--report: cannot create /proc/version/run.html: /proc/version is not a directory"],
    [["--replay-raw", "pm"], "--replay-raw: bad"],
    [["--board", "esp32-air", "--replay", "pm=/etc"], "--replay: /etc is a directory"],
    [["--fault", "wifi-down@30h"], '--fault: "wifi-down@30h" starts at 1d6h, after the run ends (1d)'],
    [["--storage-kb", "4"], "--storage-kb must be from 16"],
    [["--config", "/nonexistent/casanode.json"], "--config: cannot read /nonexistent/casanode.json"],
    [["--config", path.join(ROOT, "README.md")], "is not JSON"],
    [["--config", path.join(ROOT, "package.json")], "--config for"], // a JSON object, but no config
    [["--shard", "0/2"], "--shard i/N counts from 1: i must be from 1 to 2, got 0"],
    [["--shard", "3/2"], "--shard i/N counts from 1"],
    [["--shard", "2"], "--shard must be i/N"],
    [["--shard", "4/8"], "--shard: 6 node(s) cannot make 8 shards"],
    [["--shards", "0"], "--shards must be from 1"],
    [["--shard", "1/2", "--shards", "2"], "--shard runs one shard here, --shards runs them all here"],
  ] as Array<[string[], string]>) {
    it(`exits 2 with one line for ${args.join(" ")}`, async () => {
      const err = sinon.stub(console, "error");
      try {
        await program().parseAsync(["sim", ...args], { from: "user" });
        expect.fail("should have refused");
      } catch (e) {
        expect(e).to.be.instanceOf(CommanderError);
        expect((e as CommanderError).exitCode).to.equal(2);
        expect(err.callCount).to.equal(1);
        const line = String(err.firstCall.args[0]);
        expect(line).to.include(why);
        expect(line).to.match(/^casanode sim: --/); // the option it is about, first
        expect(line).to.not.include("0m, 0h"); // no suggestion that is refused in turn
        expect(line).to.not.include("\n");
        expect(line).to.not.match(/\bat .*\.ts:\d+/); // no stack trace
      } finally {
        err.restore();
      }
    });
  }
});

describe("one options check for `casanode sim` and runFleet (sim/options.ts)", () => {
  const DAY = 24 * H;
  const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-opts-"));
  const ownConfig = path.join(dir, "own.json");
  writeFileSync(ownConfig, JSON.stringify({ node: "x", queueMax: 500 }));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** the one line the CLI prints for these arguments, without "casanode sim: " */
  async function cliRefusal(args: string[]): Promise<string> {
    const err = sinon.stub(console, "error");
    try {
      const p = new Command("casanode").exitOverride();
      registerSim(p).exitOverride();
      await p.parseAsync(["sim", ...args], { from: "user" });
    } catch (e) {
      expect(e, String(e)).to.be.instanceOf(CommanderError);
      expect((e as CommanderError).exitCode).to.equal(2);
      expect(err.callCount).to.equal(1);
      return String(err.firstCall.args[0]).replace(/^casanode sim: /, "");
    } finally {
      err.restore();
    }
    return expect.fail("the CLI should have refused " + args.join(" "));
  }

  async function fleetRefusal(o: Partial<FleetOptions>): Promise<string> {
    try {
      await runFleet(standIn({ durationMs: DAY, ...o }));
    } catch (e) {
      expect((e as Error).name).to.be.oneOf(["SimOptionError", "FaultSpecError"]);
      return (e as Error).message;
    }
    return expect.fail("runFleet should have refused " + JSON.stringify(o));
  }

  for (const [args, opts, says] of [
    [["--nodes", "0"], { nodes: 0 }, "--nodes must be from 1 to 10000, got 0"],
    [["--duration", "400d"], { durationMs: 400 * DAY }, "--duration is limited to a year"],
    [["--seed", "9007199254740993"], { seed: 9007199254740993 }, "--seed is too large"],
    [["--power-cuts", "100001"], { powerCuts: 100001 }, "--power-cuts must be from 0 to 100000"],
    [["--storage-kb", "4"], { storageBytes: 4 * 1024 }, "--storage-kb must be from 16 to 16384, got 4"],
    [["--console-port", "0"], { consolePort: 0 }, "--console-port must be from 1 to 65535, got 0"],
    [["--rtc-fast", "11"], { rtcFastPct: 11 }, "--rtc-fast must be a percent from 0 to 10, got 11"],
    [["--broker", "localhost:1883"], { broker: "localhost:1883" }, '--broker must look like mqtt://host:port, got "localhost:1883"'],
    [["--broker", "mqtt://h:70000"], { broker: "mqtt://h:70000" }, "--broker port must be from 1 to 65535"],
    [["--tls-handshake", "70000"], { netLatency: { ...DEFAULT_NET_LATENCY, tlsHandshakeMs: 70000 } }, "--tls-handshake must be from 0 to 60000"],
    [["--board", "esp32-air/x"], { boards: ["esp32-air/x"] }, '--board: bad board name "esp32-air/x"'],
    [["--fault", "wifi-down@30h"], { faults: ["wifi-down@30h"] }, '--fault: "wifi-down@30h" starts at 1d6h, after the run ends (1d)'],
    [["--fault", "flood@1h"], { faults: ["flood@1h"] }, '--fault: bad fault "flood@1h"'],
    [["--config", ownConfig], { config: { node: "x", queueMax: 500 } }, "--config may not set node: the simulator sets"],
  ] as Array<[string[], Partial<FleetOptions>, string]>) {
    it(`refuses ${args.join(" ")} from the CLI and ${JSON.stringify(opts)} from a program with the same message`, async () => {
      const fromCli = await cliRefusal(["--duration", "1d", ...args]);
      const fromProgram = await fleetRefusal(opts);
      expect(fromCli).to.include(says);
      expect(fromProgram).to.equal(fromCli);
    });
  }
});

// Whole bundles on the emulation: only once sim/node.ts and the board bundles exist.
const haveNode = existsSync(path.join(ROOT, "sim", "node.ts"));
(haveNode ? describe : describe.skip)("fleet runner (real bundles)", function () {
  this.timeout(120_000);

  it("runs a small mixed fleet for a few hours with every reading accounted for", async () => {
    // 7 h: the bin node sends every 6 h
    const { summary, traces, runner } = await runFleet({ boards: ["esp32-air", "esp32-pole", "esp32-bin"], nodes: 3, durationMs: 7 * H, seed: 5 });
    expect(runner.lateReplies, "MQTT replies delivered after virtual time moved on").to.equal(0);
    for (const n of summary.nodes) {
      expect(n.crashes, `${n.id}: ${n.lastError}`).to.equal(0);
      expect(n.readings, n.id).to.be.greaterThan(0);
      expect(n.lost, n.id).to.equal(0);
      expect(n.acked, n.id).to.be.at.most(n.receivedAtBroker);
      expect(n.chargeMah, n.id).to.be.greaterThan(0);
    }
    expect(traces.nodes.every((n) => n.readings.length > 0)).to.equal(true);
    const air = summary.nodes.find((n) => n.board === "esp32-air")!;
    const pole = summary.nodes.find((n) => n.board === "esp32-pole")!;
    expect(air.wakes).to.be.greaterThan(10); // deep-sleeps between cycles
    expect(air.mahPerDay).to.be.below(pole.mahPerDay);
  });

  it("a node of real bundles gives the same books whether the fleet runs whole or as shards 1/2 and 2/2", async () => {
    const o = { nodes: 6, durationMs: 2 * H, seed: 11, powerCuts: 3 };
    const whole = await runFleet(o);
    const parts = [await runFleet({ ...o, shard: { index: 1, count: 2 } }), await runFleet({ ...o, shard: { index: 2, count: 2 } })];
    // charge to 12 digits: it is integrated between whatever events the process has, summed in another order
    const view = (n: FleetSummary["nodes"][number]) => ({ id: n.id, readings: n.readings, acked: n.acked, queued: n.queued, wakes: n.wakes, boots: n.boots, charge: n.chargeMah.toPrecision(12), received: n.receivedAtBroker });
    expect(parts.flatMap((p) => p.summary.nodes).map(view)).to.deep.equal(whole.summary.nodes.map(view));
    expect(whole.summary.totals.readings).to.be.greaterThan(0);
    expect(whole.summary.totals.lost).to.equal(0);
  });

  it("runs a fleet over worker processes, each with its own embedded broker, with the books of the fleet run whole", async () => {
    const { runShardedFleet } = await import("../../sim/fleet-shards.js");
    const o = { nodes: 4, durationMs: H, seed: 12 };
    const sharded = await runShardedFleet({ ...o, keepReadings: false }, 2);
    const whole = await runFleet(o);
    const books = (n: FleetSummary["nodes"][number]) => ({ id: n.id, readings: n.readings, acked: n.acked, queued: n.queued, wakes: n.wakes, received: n.receivedAtBroker, charge: n.chargeMah.toPrecision(12), awakeMs: n.awakeMs, flashBytes: n.flashBytes });
    expect(sharded.summary.nodes.map(books)).to.deep.equal(whole.summary.nodes.map(books));
    expect(sharded.summary.broker).to.equal("embedded");
    expect(sharded.summary.totals.lost).to.equal(0);
    expect(sharded.runner.cpuMs).to.be.greaterThan(0); // the workers' CPU comes back with their results
  });

  it("runs a fleet over worker processes against the parent's broker, with the books of the fleet run whole", async () => {
    const { runShardedFleet } = await import("../../sim/fleet-shards.js");
    const o = { nodes: 4, durationMs: H, seed: 12 };
    const progress: number[] = [];
    const sharded = await runShardedFleet({ ...o, shardBrokers: "parent", keepReadings: false, onProgress: (p) => progress.push(p.doneMs) }, 2);
    const whole = await runFleet(o);
    // charge too: a node draws one round trip per instant, however another process's TCP cuts a reply (to 12 digits: summed in another order);
    // and its flash writes: a worker's nodes are told the broker's port as the one process's are
    const books = (n: FleetSummary["nodes"][number]) => ({ id: n.id, readings: n.readings, acked: n.acked, queued: n.queued, wakes: n.wakes, received: n.receivedAtBroker, charge: n.chargeMah.toPrecision(12), awakeMs: n.awakeMs, flashBytes: n.flashBytes });
    expect(sharded.summary.nodes.map(books)).to.deep.equal(whole.summary.nodes.map(books));
    expect(sharded.summary.shards!.map((s) => s.nodes)).to.deep.equal([2, 2]);
    expect(sharded.summary.totals.lost).to.equal(0);
    expect(sharded.nodes.map((n) => n.keyHex)).to.deep.equal(whole.nodes.map((n) => n.keyHex));
    expect(progress.at(-1)).to.equal(H);
    expect(sharded.traces.nodes.every((n) => n.readings.length === 0)).to.equal(true); // not asked for: streamed
  });

  it("the low-power bin board builds, runs in the fleet and sleeps on a fraction of the DevKitC-class board's charge", async () => {
    // 7 h: one 6 h send
    const { summary, runner } = await runFleet({ boards: ["esp32-bin", "esp32-bin-lp"], nodes: 2, durationMs: 7 * H, seed: 6 });
    expect(runner.lateReplies).to.equal(0);
    const dev = summary.nodes.find((n) => n.board === "esp32-bin")!;
    const lp = summary.nodes.find((n) => n.board === "esp32-bin-lp")!;
    for (const n of [dev, lp]) {
      expect(n.crashes, `${n.id}: ${n.lastError}`).to.equal(0);
      expect(n.receivedAtBroker, n.id).to.be.greaterThan(0);
      expect(n.lost, n.id).to.equal(0);
    }
    // same firmware and sensor, same cycles: only the board's sleep floor differs (60 vs 13 uA)
    expect(lp.wakes).to.equal(dev.wakes);
    expect(lp.mahPerDay).to.be.below(dev.mahPerDay - 24 * (0.06 - 0.013) * 0.8);
  });

  it("serves each node's console on its own TCP port", async () => {
    const first = await freePort();
    let reply = "";
    let client: net.Socket | undefined;
    let typed = false;
    await runFleet({
      boards: ["esp32-pole"], nodes: 1, durationMs: 10 * 60_000, seed: 3, consolePort: first, progressEveryMs: 0,
      onProgress: () => {
        if (!client) {
          client = net.connect(first, "127.0.0.1");
          client.on("data", (d) => (reply += d.toString("latin1")));
        } else if (!typed && reply.includes("uplink: connected")) {
          typed = true; // the node is up: a crew types at its REPL
          client.write("casanode.status()\n");
        }
      },
    });
    client?.destroy();
    expect(reply).to.include("pole-01 console");
    expect(reply).to.match(/pole-01: running, queue \d+, next cycle/); // what casanode.status() prints
  });

  it("runs against a broker given by URL", async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const { summary, runner } = await runFleet({ boards: ["esp32-bin"], nodes: 2, durationMs: 2 * H, seed: 4, broker: broker.url });
      expect(summary.broker).to.equal(broker.url);
      expect(summary.totals.readings).to.be.greaterThan(0);
      expect(summary.totals.acked).to.equal(summary.totals.receivedAtBroker);
      expect(summary.totals.lost).to.equal(0);
      expect(runner.lateReplies).to.equal(0);
    } finally {
      await broker.stop();
    }
  });

  // every frame of a capture at the broker, in order: frame i's value, then the capture again
  for (const [board, target, file, quantity, frame] of [
    ["esp32-pole", "pole-01/pm", PMS_CAPTURE, "pm.pm25", (i: number) => 13 + 3 * i],
    ["esp32-air", "sds011", SDS_CAPTURE, "pm.pm25", (i: number) => (117 + 17 * i) / 10],
    ["esp32-bin", "bin", A02_CAPTURE, "bin.distance", (i: number) => 960 - 40 * i],
  ] as Array<[string, string, string, string, (i: number) => number]>) {
    it(`replays an 18-frame ${path.basename(file)} so that each frame reaches the broker, in order`, async () => {
      const hours = board === "esp32-pole" ? 1 : 5.5;
      const { summary, traces } = await runFleet({ boards: [board], nodes: 1, durationMs: hours * H, seed: 7, replay: [`${target}=${file}`] });
      const got = traces.nodes[0].readings.filter((r) => r.name === quantity).map((r) => r.value);
      const want = Array.from({ length: 18 }, (_, i) => frame(i));
      expect(got.slice(0, 18)).to.deep.equal(want);
      expect(got.length).to.be.above(18);
      expect(got).to.deep.equal(got.map((_, i) => want[i % 18])); // then it wraps
      const [r] = summary.nodes[0].replays!;
      expect(r).to.deep.include({ model: board === "esp32-pole" ? "pms5003" : board === "esp32-air" ? "sds011" : "a02yyuw", file, units: 19, frames: 18, wrapped: true });
      // the bad-checksum frame is refused each time round, the garbage chunk goes out with a frame
      expect(r.rejected.checksum).to.be.at.least(1);
      expect(r.rejected.garbage).to.be.at.least(1);
      expect(r.rejected.range).to.equal(0);
      expect(r.decoded + r.rejected.checksum).to.equal(r.consumed);
      expect(r.decoded).to.be.at.least(got.length);
      expect(r.fault).to.equal(undefined);
      expect(summary.nodes[0].faults).to.equal(0);
    });
  }

  it("reports a replay that decodes nothing as a fault (a PMS5003 capture played into an SDS011)", async () => {
    const { summary } = await runFleet({ boards: ["esp32-air"], nodes: 1, durationMs: H, seed: 2, replay: [`sds011=${PMS_CAPTURE}`] });
    const n = summary.nodes[0];
    expect(n.replays![0].decoded).to.equal(0);
    expect(n.replays![0].fault).to.include("no sds011 frame");
    expect(n.faults).to.equal(1);
    expect(summary.totals.faults).to.equal(1);
    const text = formatSummary(summary);
    expect(text).to.include(`FAULT air-01/pm: replay decoded nothing: the capture holds no sds011 frame`);
    expect(text).to.match(/replay air-01\/pm \(sds011\) .*pms5003-18-frames.hex: 1 frame\(s\) in the capture, 0 good; \d+ handed out, 0 decoded, rejected \d+ garbage/);
  });

  it("casanode sim exits 1 after a run whose replay decoded nothing, having printed why", async () => {
    const p = new Command("casanode").exitOverride();
    registerSim(p).exitOverride();
    const out = sinon.stub(console, "log");
    try {
      await p.parseAsync(["sim", "--board", "esp32-air", "--duration", "1h", "--replay", `sds011=${PMS_CAPTURE}`], { from: "user" });
      expect.fail("should have failed");
    } catch (e) {
      expect(e).to.be.instanceOf(CommanderError);
      expect((e as CommanderError).exitCode).to.equal(1);
      expect(out.args.map((a) => String(a[0])).join("\n")).to.include("FAULT air-01/pm: replay decoded nothing");
    } finally {
      out.restore();
    }
  });

  // Issue 10, full flash: a small Storage under the default queue bound, a long outage, a reboot
  it("a small Storage through a long outage: the oldest dropped and counted, nothing delivered twice after a power cut", async () => {
    const { summary } = await runFleet({
      boards: ["esp32-noise"], nodes: 1, durationMs: 13 * H, seed: 3, storageBytes: 160 * 1024,
      faults: ["broker-down@30m+10h", "power-cut@12h10m+1m"],
    });
    const n = summary.nodes[0];
    expect(n.crashes, n.lastError).to.equal(0);
    expect(n.lost).to.equal(0);
    expect(n.dropped).to.be.greaterThan(200);
    expect(n.duplicatesAtBroker).to.equal(0);
    expect(n.acked).to.equal(n.receivedAtBroker);
    expect(n.readings).to.equal(n.acked + n.queued + n.dropped + n.untimed);
  });

  it("replays a captured byte log into one node's sensor", async () => {
    const capture = path.join(ROOT, "test", "sim", "fixtures", "sds011-pm25-123.4.hex");
    const { traces } = await runFleet({ boards: ["esp32-air"], nodes: 2, durationMs: H, seed: 2, replay: [`air-01/pm=${capture}`] });
    const pm25 = (id: string) => traces.nodes.find((n) => n.id === id)!.readings.filter((r) => r.name === "pm.pm25").map((r) => r.value);
    expect(pm25("air-01")).to.not.be.empty;
    expect(pm25("air-01").every((v) => v === 123.4)).to.equal(true);
    expect(pm25("air-02")).to.not.be.empty;
    expect(pm25("air-02")).to.not.include(123.4); // its twin, in the simulated street
  });
});
