// The fleet's in-process link to its embedded broker (sim/broker-pipe.ts) against loopback TCP:
// the firmware must get the same socket events, with the same bytes cut the same way, at the
// same virtual instants, and the run the same books.

import { expect } from "chai";
import net from "node:net";
import mqttPacket from "mqtt-packet";
import { runFleet, type FleetOptions } from "../../sim/fleet.js";
import { SimNode, type SimNodeOptions } from "../../sim/node.js";
import { createEspruinoNet, type EspruinoNet, type EspruinoNetOptions } from "../../sim/espruino/net.js";
import { startBroker } from "../../sim/broker.js";
import { brokerPipe, clientPipe } from "../../sim/broker-pipe.js";
import mqtt from "mqtt";

const H = 3_600_000;

/** every socket event each node's firmware is handed: [virtual ms, event, bytes as hex] */
type NetLog = Map<string, Array<[number, string, string]>>;

function loggingNodes(log: NetLog): FleetOptions["createNode"] {
  return (o: SimNodeOptions) => {
    const events: Array<[number, string, string]> = [];
    log.set(o.id, events);
    const make = o.createNet ?? createEspruinoNet;
    const createNet = (no: EspruinoNetOptions): EspruinoNet => {
      const inner = make(no);
      return {
        ...inner,
        connect(options, onConnect) {
          const sock = inner.connect(options, onConnect);
          return {
            ...sock,
            write: (d: string) => sock.write(d),
            end: () => sock.end(),
            removeAllListeners: (e?: string) => sock.removeAllListeners(e),
            on: (event: string, listener: (...a: any[]) => void) =>
              (sock as any).on(event, (...args: any[]) => {
                const a = args[0];
                events.push([o.clock.now(), event, typeof a === "string" ? Buffer.from(a, "latin1").toString("hex") : JSON.stringify(a ?? null)]);
                listener(...args);
              }),
          } as NetSocket;
        },
      };
    };
    return new SimNode({ ...o, createNet });
  };
}

describe("in-process link to the embedded broker", function () {
  this.timeout(180_000);

  it("hands the firmware the same socket events, bytes and virtual times as loopback TCP, and the run the same books", async () => {
    const o: FleetOptions = { boards: ["esp32-air", "esp32-noise", "esp32-bin"], nodes: 3, durationMs: 6 * H, seed: 7, powerCuts: 2, faults: ["wifi-down:air-01@70m+10m"] };
    const tcpLog: NetLog = new Map(), pipeLog: NetLog = new Map();
    const tcp = await runFleet({ ...o, brokerLink: "tcp", createNode: loggingNodes(tcpLog) });
    const pipe = await runFleet({ ...o, brokerLink: "pipe", createNode: loggingNodes(pipeLog) });
    expect([...pipeLog.keys()]).to.deep.equal([...tcpLog.keys()]);
    for (const [id, events] of tcpLog) {
      expect(events.length, id).to.be.greaterThan(10);
      expect(pipeLog.get(id), id).to.deep.equal(events);
    }
    const books = (r: typeof tcp) => r.summary.nodes.map(({ flashBytes, ...n }) => n);
    expect(books(pipe)).to.deep.equal(books(tcp));
    expect(pipe.traces.nodes.map((n) => n.readings)).to.deep.equal(tcp.traces.nodes.map((n) => n.readings));
    expect(pipe.summary.totals.lost).to.equal(0);
    expect(pipe.runner.lateReplies).to.equal(0);
  });

  it("cuts what the broker writes into reads as a loopback socket does (CONNACK alone, the SUBACKs after it together)", async () => {
    const b = await startBroker({ port: 0 });
    try {
      const bytes = Buffer.concat([
        mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: "n1", keepalive: 60 } as any),
        mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "a/b", qos: 1 }] } as any),
        mqttPacket.generate({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "a/c", qos: 1 }] } as any),
      ]);
      const reads = async (connect: () => any): Promise<string[]> => {
        const raw = connect();
        const got: string[] = [];
        raw.on("connect", () => raw.write(bytes));
        raw.on("data", (d: Buffer) => got.push(d.toString("hex")));
        for (let i = 0; i < 100 && got.join("").length < 28; i++) await new Promise((r) => setTimeout(r, 5));
        raw.destroy();
        await new Promise((r) => setTimeout(r, 20));
        return got;
      };
      const tcp = await reads(() => net.connect({ host: "127.0.0.1", port: b.port }));
      const pipe = await reads(() => brokerPipe({ broker: b.broker, address: { host: "127.0.0.1", port: b.port } })({ host: "127.0.0.1", port: b.port }));
      expect(tcp).to.deep.equal(["20020000", "90030001019003000201"]);
      expect(pipe).to.deep.equal(tcp);
    } finally {
      await b.stop();
    }
  });

  it("on a cut errors then closes, and closes without error when the broker drops the connection, as a socket does", async () => {
    const b = await startBroker({ port: 0 });
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      const pipe = brokerPipe({ broker: b.broker, address: { host: "127.0.0.1", port: b.port } });
      const events = async (connect: () => any, then: (raw: any) => void): Promise<string[]> => {
        const raw = connect();
        const got: string[] = [];
        raw.on("error", (e: NodeJS.ErrnoException) => got.push("error " + e.code));
        raw.on("close", (hadError: boolean) => got.push("close " + hadError));
        await new Promise<void>((resolve) => raw.on("connect", () => resolve()));
        got.push("connect");
        then(raw);
        for (let i = 0; i < 100 && !got.some((g) => g.startsWith("close")); i++) await wait(5);
        return got;
      };
      const cut = (raw: any) => raw.destroy(Object.assign(new Error("connection lost"), { code: "ECONNRESET" }));
      // a PUBLISH before CONNECT: the broker drops the connection
      const rude = (raw: any) => raw.write(mqttPacket.generate({ cmd: "publish", topic: "a", payload: "x", qos: 0, retain: false, dup: false } as any));
      const tcp = () => net.connect({ host: "127.0.0.1", port: b.port });
      const inProcess = () => pipe({ host: "127.0.0.1", port: b.port });
      expect(await events(inProcess, cut)).to.deep.equal(await events(tcp, cut)).and.deep.equal(["connect", "error ECONNRESET", "close true"]);
      expect(await events(inProcess, rude)).to.deep.equal(await events(tcp, rude)).and.deep.equal(["connect", "close false"]);
    } finally {
      await b.stop();
    }
  });

  it("carries a host client (the observer) to the broker and back: QoS 1 both ways, and its end is the broker's disconnect", async () => {
    const b = await startBroker({ port: 0 });
    const connect = (clientId: string) =>
      new Promise<mqtt.MqttClient>((resolve, reject) => {
        const c = new mqtt.MqttClient(() => clientPipe(b.broker), { clientId, clean: true, reconnectPeriod: 0 });
        c.once("connect", () => resolve(c));
        c.once("error", reject);
      });
    try {
      const observer = await connect("observer");
      await observer.subscribeAsync("casanode/+/+/data", { qos: 1 });
      const got: Array<[string, string, number]> = [];
      observer.on("message", (topic, payload, packet) => got.push([topic, payload.toString(), packet.qos]));
      const node = await connect("node");
      const gone = new Promise<string>((resolve) => b.broker.once("clientDisconnect", (c: { id: string }) => resolve(c.id)));
      const big = "x".repeat(70_000); // more than one chunk of any stream buffer
      await node.publishAsync("casanode/s/n1/data", "r1", { qos: 1 });
      await node.publishAsync("casanode/s/n1/data", big, { qos: 1 });
      await node.publishAsync("casanode/s/n1/status", "not data", { qos: 1 });
      for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(got).to.deep.equal([
        ["casanode/s/n1/data", "r1", 1],
        ["casanode/s/n1/data", big, 1],
      ]);
      await node.endAsync();
      expect(await gone).to.equal("node");
      await observer.endAsync();
    } finally {
      await b.stop();
    }
  });
});
