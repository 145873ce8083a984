// The firmware's MQTT client, on the Espruino net emulation over real sockets, against real
// brokers (embedded aedes; Mosquitto when installed), watched by an mqtt.js subscriber.
// Real time: sockets do not run on the virtual clock, so backoffs here are tens of ms.
import { expect } from "chai";
import fc from "fast-check";
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import mqtt, { type MqttClient as JsClient } from "mqtt";
import { MqttClient, type MqttClientOptions } from "../../../firmware/mqtt/client.js";
import { nodeTopics, clientIdFor, siteFilter, statusPayload } from "../../../firmware/messages/topics.js";
import { packReadings, senmlBaseName } from "../../../firmware/messages/senml.js";
import { signCommand, verifyCommand, ackMessage } from "../../../firmware/messages/commands.js";
import { createEspruinoNet, type EspruinoNet } from "../../../sim/espruino/net.js";
import { startBroker, startMosquitto, findMosquitto, freePort, type BrokerHandle } from "../../../sim/broker.js";
import { decodeMessage } from "../../../sim/senml-decode.js";
import { srv, parseClient } from "../../support/fake-net.js";

const sha256 = (s: string) => createHash("sha256").update(s, "latin1").digest("binary");
const KEY = "a1".repeat(32);
const T = nodeTopics("s1", "n1");
const WILL = { topic: T.status, payload: statusPayload("offline"), qos: 1, retain: true };

async function waitFor(what: string, pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Node {
  client: MqttClient;
  net: EspruinoNet;
  events: string[];
  messages: { topic: string; payload: string; qos: number }[];
  link: { up: boolean };
}

function startNode(port: number, opts: Partial<MqttClientOptions> = {}): Node {
  const link = { up: true };
  const n = createEspruinoNet({ blocked: () => !link.up });
  const client = new MqttClient(n, {
    host: "127.0.0.1",
    port,
    clientId: clientIdFor("s1", "n1"),
    keepAliveS: 30,
    cleanSession: false,
    will: WILL,
    connectTimeoutMs: 2000,
    reconnect: { minMs: 20, maxMs: 200 },
    ...opts,
  });
  const node: Node = { client, net: n, events: [], messages: [], link };
  client.onConnect = (sp) => node.events.push(`connect sp=${sp}`);
  client.onClose = (r) => node.events.push(`close ${r}`);
  client.onError = (e) => node.events.push(`error ${e}`);
  client.onMessage = (topic, payload, qos) => node.messages.push({ topic, payload, qos });
  return node;
}

/** payloads of the PUBLISH packets the node sends again (DUP set), read off its socket writes */
function tapResends(node: Node): string[] {
  const resent: string[] = [];
  const connect = node.net.connect.bind(node.net);
  node.net.connect = (options, onConnect) => {
    const sock = connect(options, onConnect);
    const write = sock.write.bind(sock);
    sock.write = (data: string) => {
      for (const p of parseClient(data)) if (p.type === 3 && p.dup) resent.push(p.payload!);
      return write(data);
    };
    return sock;
  };
  return resent;
}

async function connected(node: Node): Promise<void> {
  node.client.connect();
  await waitFor("node connected", () => node.client.isConnected());
}

function publishAsync(node: Node, topic: string, payload: string, qos: number, retain = false): Promise<string | null> {
  return new Promise((resolve) => node.client.publish(topic, payload, { qos, retain }, resolve));
}

interface Seen {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

async function watcher(url: string, filter: string, opts: mqtt.IClientOptions = {}): Promise<{ c: JsClient; seen: Seen[] }> {
  const seen: Seen[] = [];
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 30, connectTimeout: 2000, ...opts });
  c.on("message", (topic, payload, packet) => seen.push({ topic, payload, retain: packet.retain }));
  await c.subscribeAsync(filter, { qos: 1 });
  return { c, seen };
}

interface BrokerKind {
  name: string;
  available(): boolean;
  /** start on `port` (0: any); `state` survives stop/start of the same test */
  start(port: number, state: { persistence?: any; dataDir?: string }): Promise<BrokerHandle>;
}

const kinds: BrokerKind[] = [
  {
    name: "aedes (embedded)",
    available: () => true,
    async start(port, state) {
      const b = await startBroker({ port, persistence: state.persistence });
      state.persistence = b.persistence;
      return b;
    },
  },
  {
    name: "mosquitto",
    available: () => findMosquitto() !== null,
    async start(port, state) {
      state.dataDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "casanode-mq-data-"));
      const b = await startMosquitto({ port: port || (await freePort()), dataDir: state.dataDir });
      if (!b) throw new Error("mosquitto vanished");
      return b;
    },
  },
];

for (const kind of kinds) {
  describe(`mqtt interop: firmware client <-> ${kind.name}`, function () {
    let broker: BrokerHandle;
    let state: { persistence?: any; dataDir?: string };
    const cleanups: (() => Promise<void> | void)[] = [];

    before(function () {
      if (!kind.available()) this.skip();
    });
    beforeEach(async () => {
      state = {};
      broker = await kind.start(0, state);
    });
    afterEach(async () => {
      for (const f of cleanups.splice(0).reverse()) await f();
      await broker.stop();
      if (state.dataDir) fs.rmSync(state.dataDir, { recursive: true, force: true });
    });
    const track = <T extends { client: MqttClient } | { c: JsClient }>(x: T): T => {
      cleanups.push(() => ("client" in x ? x.client.destroy() : x.c.endAsync(true)));
      return x;
    };

    it("QoS 1 publishes are acknowledged and arrive intact, binary payload included", async () => {
      const w = track(await watcher(broker.url, T.data));
      const node = track(startNode(broker.port));
      await connected(node);
      const payloads = [...packReadings(senmlBaseName("s1", "n1"), [{ name: "pm.pm25", unit: "ug/m3", value: 12.5, t: 1768464000 }], 512), Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("latin1")];
      const results = await Promise.all(payloads.map((p) => publishAsync(node, T.data, p, 1)));
      expect(results).to.deep.equal([null, null]);
      expect(node.client.inflightCount()).to.equal(0);
      await waitFor("messages", () => w.seen.length === 2);
      expect(w.seen.map((s) => s.payload.toString("latin1"))).to.deep.equal(payloads);
    });

    it("retained status is served to late subscribers, and the last will says offline when the link dies", async () => {
      const node = track(startNode(broker.port, { reconnect: false }));
      await connected(node);
      expect(await publishAsync(node, T.status, statusPayload("online"), 1, true)).to.equal(null);
      const late = track(await watcher(broker.url, T.status));
      await waitFor("retained online", () => late.seen.length === 1);
      expect(late.seen[0]).to.deep.include({ retain: true });
      expect(JSON.parse(late.seen[0].payload.toString())).to.deep.equal({ state: "online" });
      // Wi-Fi gone: the socket is cut without DISCONNECT
      node.link.up = false;
      node.net.cutAll();
      await waitFor("will", () => late.seen.length === 2);
      expect(JSON.parse(late.seen[1].payload.toString())).to.deep.equal({ state: "offline" });
      const later = track(await watcher(broker.url, T.status));
      await waitFor("retained will", () => later.seen.length === 1);
      expect(later.seen[0].retain).to.equal(true);
      expect(JSON.parse(later.seen[0].payload.toString())).to.deep.equal({ state: "offline" });
      expect(node.events.some((e) => e.startsWith("close socket:"))).to.equal(true);
    });

    it("a clean DISCONNECT publishes no will", async () => {
      const w = track(await watcher(broker.url, T.status));
      const node = startNode(broker.port);
      await connected(node);
      await new Promise<void>((r) => node.client.disconnect(r));
      await new Promise((r) => setTimeout(r, 150));
      expect(w.seen).to.deep.equal([]);
      expect(node.net.openSockets()).to.equal(0);
    });

    it("receives signed commands on cmd and answers on ack; a subscriber knowing only the topic scheme decodes every kind", async () => {
      const w = track(await watcher(broker.url, siteFilter("s1")));
      const node = track(startNode(broker.port));
      let lastCtr = 0;
      node.client.onMessage = (topic, payload) => {
        const r = verifyCommand(payload, "n1", KEY, lastCtr, sha256);
        if (r.ok) lastCtr = r.cmd.ctr;
        node.client.publish(T.ack, r.ok ? ackMessage(r.cmd.id, true) : ackMessage(r.id ?? "?", false, r.error, r.detail), { qos: 1 });
      };
      const granted = await new Promise<[string | null, number]>((resolve) => {
        node.client.subscribe(T.cmd, 1, (e, q) => resolve([e, q]));
        node.client.connect();
      });
      expect(granted).to.deep.equal([null, 1]);
      await w.c.publishAsync(T.cmd, signCommand("n1", KEY, 1, "c-1", "relay", { state: "on" }, sha256), { qos: 1 });
      await w.c.publishAsync(T.cmd, signCommand("n1", "b2".repeat(32), 2, "c-2", "relay", { state: "on" }, sha256), { qos: 1 });
      await publishAsync(node, T.status, statusPayload("online"), 1, true);
      await publishAsync(node, T.diag, JSON.stringify({ heapFree: 1234, faults: [] }), 1);
      const [pack] = packReadings(senmlBaseName("s1", "n1"), [{ name: "noise.LAeq", unit: "dB", value: 55.5, t: 1768464000 }], 512);
      await publishAsync(node, T.data, pack, 1);
      // PUBACK to the node does not mean the watcher has it yet
      await waitFor("acks and every kind", () => w.seen.filter((s) => s.topic === T.ack).length === 2 && new Set(w.seen.map((s) => s.topic)).size === 5);
      const decoded = w.seen.map((s) => decodeMessage(s.topic, s.payload));
      expect([...new Set(decoded.map((d) => d.kind))].sort()).to.deep.equal(["ack", "cmd", "data", "diag", "status"]);
      const acks = decoded.filter((d) => d.kind === "ack").map((d) => (d as any).body);
      expect(acks).to.deep.equal([{ id: "c-1", ok: true }, { id: "c-2", ok: false, error: "bad-mac", detail: "mac mismatch" }]);
      const data = decoded.find((d) => d.kind === "data") as any;
      expect(data.pack.records).to.deep.equal([{ name: "casanode/s1/n1/noise.LAeq", unit: "dB", value: 55.5, time: 1768464000 }]);
    });

    /** a node that subscribed with a persistent session and went away; then `n` commands for it, from a host client watching `filter` */
    async function queuedWhileAway(n: number, filter: string) {
      const node = startNode(broker.port);
      // the SUBACK through the public callback (the client's state is closure-private)
      let subacked = false;
      node.client.subscribe(T.cmd, 1, (err) => (subacked = err === null));
      await connected(node);
      await waitFor("suback", () => subacked);
      await new Promise<void>((r) => node.client.disconnect(r));
      const host = track(await watcher(broker.url, filter));
      const sent = Array.from({ length: n }, (_, i) => signCommand("n1", KEY, i + 1, `c-${i + 1}`, "diag", {}, sha256));
      for (const s of sent) await host.c.publishAsync(T.cmd, s, { qos: 1 });
      return { host, sent };
    }

    it("persistent session: commands sent while the node was away arrive when it reconnects", async () => {
      const { sent } = await queuedWhileAway(3, "unused/#");
      // same client id, clean session off: a fresh client object, as after a deep-sleep reboot
      const again = track(startNode(broker.port));
      again.client.subscribe(T.cmd, 1);
      await connected(again);
      await waitFor("queued commands", () => again.messages.length === 3);
      expect(again.events[0]).to.equal("connect sp=true");
      expect(again.messages.map((m) => m.payload)).to.deep.equal(sent);
      expect(again.messages.every((m) => m.qos === 1)).to.equal(true);
    });

    it("pipelined (a battery wake): status and data behind the CONNECT are acked, and the commands queued while the node slept arrive (on Mosquitto before those PUBACKs, which settle() relies on)", async () => {
      const { host } = await queuedWhileAway(2, T.data);
      const again = track(startNode(broker.port, { pipeline: true, reconnect: false }));
      const order: string[] = [];
      again.client.onMessage = (topic) => order.push("command " + topic.split("/").pop());
      again.client.subscribe(T.cmd, 1);
      const acked = new Promise<string | null>((resolve) => again.client.publish(T.data, "[1]", { qos: 1 }, (e) => {
        order.push("puback");
        resolve(e);
      }));
      again.client.connect();
      expect(await acked).to.equal(null);
      await waitFor("queued commands", () => order.length === 3);
      // Mosquitto sends a session's queue within its CONNECT handling; aedes streams it and may
      // answer a pipelined PUBLISH in between (a command then waits for the next wake, not lost)
      if (kind.name === "mosquitto") expect(order).to.deep.equal(["command cmd", "command cmd", "puback"]);
      else expect(order.filter((e) => e === "puback")).to.have.length(1);
      await waitFor("data at the subscriber", () => host.seen.length === 1);
      expect(host.seen[0].payload.toString()).to.equal("[1]");
    });

    it("a 100 KB QoS 1 message in the node's persistent session is acked and dropped unread: the node still flushes, a later run is not poisoned (issue 10)", async () => {
      // as the firmware's uplink sets it: a command with its topic fits, 100 KB does not
      const opts = { maxPacketBytes: 1024 };
      const first = startNode(broker.port, opts);
      // the SUBACK through the public callback (the client's state is closure-private)
      let subacked = false;
      first.client.subscribe(T.cmd, 1, (err) => (subacked = err === null));
      await connected(first);
      await waitFor("suback", () => subacked);
      await new Promise<void>((r) => first.client.disconnect(r));
      // mosquitto_pub -q 1 -t .../cmd -f 100KB.json while the node is away
      const w = track(await watcher(broker.url, T.data));
      const big = '{"id":"big","cmd":"diag","args":{"pad":"' + "x".repeat(100 * 1024) + '"}}';
      await w.c.publishAsync(T.cmd, big, { qos: 1 });
      const small = signCommand("n1", KEY, 1, "c-1", "diag", {}, sha256);
      await w.c.publishAsync(T.cmd, small, { qos: 1 });
      const run = async (label: string) => {
        const node = track(startNode(broker.port, opts));
        const dropped: [string, number, string][] = [];
        node.client.onTooLarge = (topic, bytes, head) => dropped.push([topic, bytes, head]);
        node.client.subscribe(T.cmd, 1);
        await connected(node);
        const packs = Array.from({ length: 20 }, (_, i) => packReadings(senmlBaseName("s1", "n1"), [{ name: "pm.pm25", unit: "ug/m3", value: i, t: 1768464000 + i }], 512)[0]);
        const done = await Promise.all(packs.map((p) => publishAsync(node, T.data, p, 1)));
        expect(done, label).to.deep.equal(packs.map(() => null));
        await new Promise((r) => setTimeout(r, 200));
        await new Promise<void>((r) => node.client.disconnect(r));
        return { node, dropped };
      };
      const a = await run("with the big message waiting");
      expect(a.dropped).to.deep.equal([[T.cmd, big.length, big.substring(0, 64)]]);
      expect(a.node.messages.map((m) => m.payload)).to.deep.equal([small]);
      // one connection, never dropped until the node itself ended it
      expect(a.node.events).to.deep.equal(["connect sp=true", "close disconnect"]);
      await waitFor("readings at the broker", () => w.seen.length >= 20);
      // the broker got its PUBACK: the next run finds nothing to redeliver
      const b = await run("the run after");
      expect(b.dropped).to.deep.equal([]);
      expect(b.node.messages).to.deep.equal([]);
      expect(b.node.events).to.deep.equal(["connect sp=true", "close disconnect"]);
    });

    it("QoS 1 across a broker restart: every done fires once, nothing lost, duplicates only from resends", async () => {
      const port = broker.port;
      const w = track(await watcher(broker.url, T.data, { clientId: "watcher-restart", clean: false }));
      const watcherSessions: boolean[] = [];
      w.c.on("connect", (connack) => watcherSessions.push(connack.sessionPresent));
      const node = track(startNode(port));
      const resent = tapResends(node);
      await connected(node);
      const done: (string | null)[][] = Array.from({ length: 20 }, () => []);
      const publishOne = (i: number) => node.client.publish(T.data, `m${i}`, { qos: 1 }, (e) => done[i].push(e));
      for (let i = 0; i < 5; i++) publishOne(i);
      // some of these may be in flight when the broker goes
      await new Promise((r) => setImmediate(r));
      const pendingAtStop = node.client.inflightCount();
      await broker.stop();
      await waitFor("node sees the broker gone", () => !node.client.isConnected());
      for (let i = 5; i < 20; i++) publishOne(i);
      await new Promise((r) => setTimeout(r, 100));
      broker = await kind.start(port, state);
      await waitFor("all done", () => done.every((d) => d.length > 0), 5000);
      await waitFor("watcher got all", () => new Set(w.seen.map((s) => s.payload.toString())).size === 20, 5000);
      await new Promise((r) => setTimeout(r, 100));
      // the broker kept the watcher's session across the restart; without it m5..m19 would be lost
      expect(watcherSessions).to.not.be.empty;
      expect(watcherSessions.every((present) => present)).to.equal(true);
      expect(done).to.deep.equal(done.map(() => [null]));
      // The node sends again only what was unacknowledged when the broker went, and nothing
      // published during the outage. The watcher may see more copies than that: its broker
      // redelivers what the watcher had not acknowledged yet (QoS 1 is at least once on that hop too).
      expect(resent.length).to.be.at.most(pendingAtStop);
      expect(resent.filter((p) => !["m0", "m1", "m2", "m3", "m4"].includes(p))).to.deep.equal([]);
    });

    it("a QoS 1 message written into a dead link (Wi-Fi loss) is delivered once the link is back", async () => {
      const w = track(await watcher(broker.url, T.data));
      const node = track(startNode(broker.port));
      await connected(node);
      const done: (string | null)[] = [];
      node.link.up = false;
      // written into a dead link: lost on the way, so only a resend can deliver it
      node.client.publish(T.data, "after-loss", { qos: 1 }, (e) => done.push(e));
      await waitFor("drop", () => !node.client.isConnected());
      expect(node.events.some((e) => e.startsWith("close socket:"))).to.equal(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(done).to.deep.equal([]);
      node.link.up = true;
      await waitFor("done", () => done.length === 1);
      expect(done).to.deep.equal([null]);
      await waitFor("delivered", () => w.seen.length >= 1);
      expect(w.seen.map((s) => s.payload.toString())).to.include("after-loss");
    });
  });
}

describe("mqtt interop: firmware client against a hostile broker (real sockets)", () => {
  it("random bytes after CONNACK never crash the client", async () => {
    let round = 0;
    const conns = new Set<net.Socket>();
    let garbage = Buffer.alloc(0);
    const server = net.createServer((s) => {
      conns.add(s);
      s.on("close", () => conns.delete(s));
      s.on("error", () => {});
      s.once("data", (d) => {
        // answer the CONNECT, then the garbage of this round
        if (parseClient(d.toString("latin1"))[0]?.type !== 1) {
          s.destroy();
          return;
        }
        s.write(Buffer.from(srv.connack(false), "latin1"));
        s.write(garbage);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const errors: string[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
          garbage = Buffer.from(bytes);
          round++;
          const node = startNode(port, { keepAliveS: 0 });
          node.client.onError = (e) => errors.push(e);
          node.client.connect();
          await waitFor("connected once", () => node.events.some((e) => e.startsWith("connect")), 2000);
          await new Promise((r) => setTimeout(r, 10));
          // whatever the garbage did, the client is alive and answers through its API
          expect(() => node.client.publish(T.data, "x", { qos: 1 })).not.to.throw();
          node.client.destroy();
          expect(node.client.isConnected()).to.equal(false);
          for (const c of conns) c.destroy();
        }),
        { numRuns: 25 },
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(round).to.equal(25);
    for (const e of errors) expect(e).to.match(/^(protocol:|socket:|callback:|refused:)/);
  });
});

describe("mqtt interop: the Mosquitto test broker", function () {
  before(function () {
    if (!findMosquitto()) this.skip();
  });

  it("says so on stop when it could not save its sessions, instead of losing them silently", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "casanode-mq-bad-"));
    const notADir = path.join(dir, "file");
    fs.writeFileSync(notADir, "");
    try {
      const b = await startMosquitto({ dataDir: path.join(notADir, "data") });
      let err: Error | null = null;
      await b!.stop().catch((e: Error) => (err = e));
      expect(String(err)).to.match(/mosquitto could not save its sessions: Error saving in-memory database/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
