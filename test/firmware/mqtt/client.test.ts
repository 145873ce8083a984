// MqttClient state machine against an in-memory net played by the test, on virtual time.
import { expect } from "chai";
import fc from "fast-check";
import { MqttClient, MqttClientOptions } from "../../../firmware/mqtt/client.js";
import { installVirtualTime, VirtualTime } from "../../support/virtual-time.js";
import { FakeNet, FakeSocket, autoBroker, srv, bin } from "../../support/fake-net.js";

const base: MqttClientOptions = {
  host: "broker",
  port: 1883,
  clientId: "casanode-s1-n1",
  keepAliveS: 30,
  cleanSession: false,
  connectTimeoutMs: 5000,
  reconnect: { minMs: 100, maxMs: 1000 },
  random: () => 0.5,
};

interface Harness {
  net: FakeNet;
  client: MqttClient;
  events: string[];
  messages: [string, string, number, boolean][];
}

function setup(opts: Partial<MqttClientOptions> = {}, broker: Parameters<typeof autoBroker>[1] | null = {}): Harness {
  const net = new FakeNet();
  if (broker) autoBroker(net, broker);
  const client = new MqttClient(net, { ...base, ...opts });
  const events: string[] = [];
  const messages: Harness["messages"] = [];
  client.onConnect = (sp) => events.push(`connect sp=${sp}`);
  client.onClose = (r) => events.push(`close ${r}`);
  client.onError = (e) => events.push(`error ${e}`);
  client.onMessage = (t, p, q, r) => messages.push([t, p, q, r]);
  return { net, client, events, messages };
}

describe("mqtt client (fake net, virtual time)", () => {
  let vt: VirtualTime;
  const run = (ms = 0) => vt.clock.advance(ms);
  beforeEach(() => {
    vt = installVirtualTime();
  });
  afterEach(() => vt.restore());

  it("sends CONNECT with its options and reports the CONNACK", () => {
    const h = setup({
      username: "node",
      password: "secret",
      will: { topic: "casanode/s1/n1/status", payload: '{"state":"offline"}', qos: 1, retain: true },
    });
    h.client.connect();
    run();
    const [c] = h.net.last.packets();
    expect(c.type).to.equal(1);
    expect(c.connect).to.deep.include({ protocol: "MQTT", level: 4, keepAlive: 30, clientId: "casanode-s1-n1", cleanSession: false, username: "node", password: "secret" });
    expect(c.connect!.will).to.deep.equal({ topic: "casanode/s1/n1/status", payload: '{"state":"offline"}', qos: 1, retain: true });
    expect(h.events).to.deep.equal(["connect sp=false"]);
    expect(h.client.isConnected()).to.equal(true);
  });

  it("QoS 1: done fires only on the PUBACK for its packet id", () => {
    const h = setup({}, { pubackDelayMs: 500 });
    h.client.connect();
    run();
    const done: (string | null)[] = [];
    h.client.publish("casanode/s1/n1/data", "[1]", { qos: 1 }, (e) => done.push(e));
    run(499);
    const pub = h.net.last.packets().find((p) => p.type === 3)!;
    expect(pub).to.deep.include({ topic: "casanode/s1/n1/data", payload: "[1]", qos: 1, dup: false });
    expect(pub.id).to.be.greaterThan(0);
    expect(done).to.deep.equal([]);
    expect(h.client.inflightCount()).to.equal(1);
    // a PUBACK for some other id changes nothing
    h.net.last.feed(srv.puback(pub.id! + 1));
    run();
    expect(done).to.deep.equal([]);
    run(1);
    expect(done).to.deep.equal([null]);
    expect(h.client.inflightCount()).to.equal(0);
  });

  it("roundTrip: one PINGREQ, done on its PINGRESP, after what the broker sent before it; down/closed otherwise", () => {
    const h = setup({ keepAliveS: 0 }, { answerPings: false });
    const got: (string | null)[] = [];
    h.client.roundTrip((e) => got.push(e));
    run();
    expect(got).to.deep.equal(["down"]);
    h.client.connect();
    run();
    h.client.roundTrip((e) => got.push(e + " " + h.messages.length));
    run(100);
    expect(h.net.last.packets().filter((p) => p.type === 12).length).to.equal(1);
    expect(got.length).to.equal(1);
    // a queued message, then the PINGRESP, in one TCP read
    h.net.last.feed(srv.publish("casanode/s1/n1/cmd", "x", 1, 7) + srv.pingresp());
    run();
    expect(got).to.deep.equal(["down", "null 1"]);
    h.client.roundTrip((e) => got.push(e));
    h.net.last.fail("reset");
    run();
    expect(got[2]).to.match(/^(socket:reset|closed)$/);
  });

  it("QoS 0: done once written, retain flag on the wire", () => {
    const h = setup();
    h.client.connect();
    run();
    let done: string | null | undefined;
    h.client.publish("casanode/s1/n1/status", "on", { qos: 0, retain: true }, (e) => (done = e));
    expect(done).to.equal(undefined); // never inside publish()
    run();
    expect(done).to.equal(null);
    expect(h.net.last.packets().find((p) => p.type === 3)).to.deep.include({ qos: 0, retain: true, payload: "on" });
  });

  it("publishes queued while offline once connected, in order", () => {
    const h = setup();
    const done: string[] = [];
    for (let i = 0; i < 3; i++) h.client.publish("t", `m${i}`, { qos: 1 }, () => done.push(`m${i}`));
    run(1000);
    expect(h.net.attempts).to.equal(0);
    h.client.connect();
    run();
    expect(h.net.last.packets().filter((p) => p.type === 3).map((p) => p.payload)).to.deep.equal(["m0", "m1", "m2"]);
    expect(done).to.deep.equal(["m0", "m1", "m2"]);
  });

  it("bounds the inflight window and the queue", () => {
    const h = setup({ maxInflight: 2, maxQueue: 3 }, { pubackDelayMs: 1_000_000 });
    h.client.connect();
    run();
    const errs: (string | null)[] = [];
    for (let i = 0; i < 6; i++) h.client.publish("t", `m${i}`, { qos: 1 }, (e) => errs.push(e));
    run();
    // 3 fit the queue; the others are refused at once
    expect(errs).to.deep.equal(["queue-full", "queue-full", "queue-full"]);
    const sent = () => h.net.last.packets().filter((p) => p.type === 3);
    expect(sent().map((p) => p.payload)).to.deep.equal(["m0", "m1"]);
    h.net.last.feed(srv.puback(sent()[0].id!));
    run();
    expect(sent().map((p) => p.payload)).to.deep.equal(["m0", "m1", "m2"]);
    expect(h.client.inflightCount()).to.equal(2);
  });

  it("refuses bad topics and qos without touching the wire", () => {
    const h = setup();
    h.client.connect();
    run();
    const errs: (string | null)[] = [];
    h.client.publish("a/+/b", "x", { qos: 1 }, (e) => errs.push(e));
    h.client.publish("", "x", {}, (e) => errs.push(e));
    h.client.publish("a", "x", { qos: 2 }, (e) => errs.push(e));
    run();
    expect(errs).to.deep.equal(["bad-topic", "bad-topic", "bad-qos"]);
    expect(h.net.last.packets().filter((p) => p.type === 3)).to.have.length(0);
  });

  it("resends unacknowledged QoS 1 after a reconnect with DUP and the same ids, before new messages", () => {
    const h = setup({}, null);
    const done: string[] = [];
    // broker 1: CONNACK, then swallows PUBLISHes and dies
    h.net.onSocket = (s) => setTimeout(() => s.feed(srv.connack(false)), 0);
    h.client.connect();
    run();
    for (let i = 0; i < 3; i++) h.client.publish("t", `m${i}`, { qos: 1 }, (e) => done.push(`m${i} ${e}`));
    run();
    const first = h.net.last.packets().filter((p) => p.type === 3);
    expect(first.map((p) => p.dup)).to.deep.equal([false, false, false]);
    h.net.last.fail();
    run();
    expect(h.events).to.deep.equal(["connect sp=false", "close socket:connection reset"]);
    h.client.publish("t", "m3", { qos: 1 }, (e) => done.push(`m3 ${e}`));
    // broker 2 acks everything
    autoBroker(h.net);
    run(100);
    expect(h.net.sockets).to.have.length(2);
    const second = h.net.last.packets().filter((p) => p.type === 3);
    expect(second.map((p) => [p.payload, p.dup])).to.deep.equal([["m0", true], ["m1", true], ["m2", true], ["m3", false]]);
    expect(second.slice(0, 3).map((p) => p.id)).to.deep.equal(first.map((p) => p.id));
    expect(done).to.deep.equal(["m0 null", "m1 null", "m2 null", "m3 null"]);
  });

  it("acks inbound QoS 1 with its id before handing it on; QoS 0 gets no PUBACK", () => {
    const h = setup();
    h.client.connect();
    run();
    h.net.last.feed(srv.publish("casanode/s1/n1/cmd", "{}", 1, 4242, true) + srv.publish("casanode/s1/n1/cmd", "q0", 0));
    let acksAtDelivery = -1;
    h.client.onMessage = (t, p, q, r) => {
      if (acksAtDelivery < 0) acksAtDelivery = h.net.last.packets().filter((x) => x.type === 4).length;
      h.messages.push([t, p, q, r]);
    };
    run();
    expect(h.net.last.packets().filter((p) => p.type === 4).map((p) => p.id)).to.deep.equal([4242]);
    expect(acksAtDelivery).to.equal(1);
    expect(h.messages).to.deep.equal([["casanode/s1/n1/cmd", "{}", 1, false], ["casanode/s1/n1/cmd", "q0", 0, false]]);
  });

  it("property: any valid PUBLISH reaches onMessage with its topic, payload bytes, qos and retain; QoS 1 ones are acked by their id", () => {
    const topicArb = fc.stringMatching(/^[a-z0-9/_-]{1,40}$/);
    const msgArb = fc.record({
      topic: topicArb,
      payload: fc.uint8Array({ maxLength: 300 }).map((a) => bin(Buffer.from(a))),
      qos: fc.integer({ min: 0, max: 1 }),
      id: fc.integer({ min: 1, max: 65535 }),
      dup: fc.boolean(),
      retain: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(msgArb, { minLength: 1, maxLength: 6 }), (msgs) => {
        const h = setup({ maxPacketBytes: 1024 });
        h.client.connect();
        run();
        h.net.last.feed(msgs.map((m) => srv.publish(m.topic, m.payload, m.qos, m.qos ? m.id : 0, m.qos ? m.dup : false, m.retain)).join(""));
        run();
        expect(h.messages).to.deep.equal(msgs.map((m) => [m.topic, m.payload, m.qos, m.retain]));
        expect(h.net.last.packets().filter((p) => p.type === 4).map((p) => p.id)).to.deep.equal(msgs.filter((m) => m.qos).map((m) => m.id));
        expect(h.client.isConnected()).to.equal(true);
        h.client.destroy();
      }),
      { numRuns: 200 },
    );
  });

  it("a QoS 2 PUBLISH (never subscribed for) drops the link as a protocol error, unacknowledged", () => {
    const h = setup({ reconnect: false });
    h.client.connect();
    run();
    h.net.last.feed(srv.publish("a", "x", 2, 9));
    run();
    expect(h.events).to.deep.equal(["connect sp=false", "close protocol:qos2"]);
    expect(h.messages).to.deep.equal([]);
    expect(h.net.last.packets().filter((p) => p.type === 4 || p.type === 5)).to.deep.equal([]);
  });

  it("an inbound PUBLISH over maxPacketBytes is read past: PUBACK, onTooLarge, the link stays up, what follows arrives", () => {
    const h = setup({ maxPacketBytes: 1024 });
    const big: [string, number, string][] = [];
    h.client.onTooLarge = (t, bytes, head) => big.push([t, bytes, head]);
    h.client.connect();
    run();
    const T = "casanode/s1/n1/cmd";
    const payload = '{"id":"c-9","cmd":"diag","args":{"pad":"' + "x".repeat(100_000) + '"}}';
    const stream = srv.publish(T, payload, 1, 777) + srv.publish(T, "{}", 1, 778);
    for (let i = 0; i < stream.length; i += 536) h.net.last.feed(stream.substring(i, i + 536));
    run();
    // acknowledged, so a broker stops redelivering it
    expect(h.net.last.packets().filter((p) => p.type === 4).map((p) => p.id)).to.deep.equal([777, 778]);
    expect(big).to.deep.equal([[T, payload.length, payload.substring(0, 64)]]);
    expect(h.messages).to.deep.equal([[T, "{}", 1, false]]);
    expect(h.events).to.deep.equal(["connect sp=false"]);
    expect(h.client.isConnected()).to.equal(true);
  });

  it("a CONNACK followed by the same failure does not reset the backoff; a link that stayed up healthyMs does", () => {
    const h = setup({ reconnect: { minMs: 100, maxMs: 1000, healthyMs: 5000 }, random: () => 0 });
    const serve = h.net.onSocket!;
    let kick = true;
    // the broker accepts the session, then the link dies at once (as with a poisoned session)
    h.net.onSocket = (s) => {
      serve(s);
      if (kick) setTimeout(() => s.close(), 10);
    };
    const times: number[] = [];
    const connect = h.net.connect.bind(h.net);
    h.net.connect = (o, cb) => {
      times.push(vt.clock.now());
      return connect(o, cb);
    };
    h.client.connect();
    run(3000);
    expect(h.events.filter((e) => e.startsWith("connect")).length).to.be.at.least(5);
    // up 10 ms each time, then half of 100, 200, 400, 800, 1000 (random 0)
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps.slice(0, 5)).to.deep.equal([60, 110, 210, 410, 510]);
    // a link that stays up proves the broker healthy: the next drop retries after minMs again
    kick = false;
    run(1000);
    expect(h.client.isConnected()).to.equal(true);
    run(5000);
    h.net.last.close();
    const before = h.net.attempts;
    run(50);
    expect(h.net.attempts).to.equal(before + 1);
  });

  it("subscribes, reports the granted QoS and a refusal (0x80)", () => {
    const h = setup({}, { grant: 1 });
    h.client.connect();
    run();
    const got: [string | null, number][] = [];
    h.client.subscribe("casanode/s1/n1/cmd", 1, (e, q) => got.push([e, q]));
    run();
    const sub = h.net.last.packets().find((p) => p.type === 8)!;
    expect(sub.flags).to.equal(2);
    expect(sub.subscriptions).to.deep.equal([{ topic: "casanode/s1/n1/cmd", qos: 1 }]);
    expect(got).to.deep.equal([[null, 1]]);

    const r = setup({}, { grant: 0x80 });
    r.client.connect();
    run();
    r.client.subscribe("forbidden", 0, (e, q) => got.push([e, q]));
    run();
    expect(got[1]).to.deep.equal(["refused", 0x80]);
  });

  it("unsubscribes several filters in one packet and forgets them (a reconnect does not subscribe them again)", () => {
    const h = setup({}, { sessionPresent: false });
    h.client.subscribe("a/1", 0);
    h.client.subscribe("a/2", 0);
    h.client.subscribe("keep", 1);
    h.client.connect();
    run();
    const first = h.net.last;
    h.client.unsubscribe(["a/1", "a/2"]);
    run();
    const un = first.packets().find((p) => p.type === 10)!;
    expect(un.flags).to.equal(2);
    expect(un.unsubscribe).to.deep.equal(["a/1", "a/2"]);
    // the broker's UNSUBACK (autoBroker answers) is taken quietly: the link stays up
    expect(h.events).to.deep.equal(["connect sp=false"]);
    expect(h.client.isConnected()).to.equal(true);
    first.close();
    run(100);
    expect(h.net.last).to.not.equal(first);
    expect(h.net.last.packets().filter((p) => p.type === 8).map((p) => p.subscriptions![0].topic)).to.deep.equal(["keep"]);
    // with the link down nothing is sent, and the filter is still forgotten
    h.net.last.close();
    h.client.subscribe("b", 0);
    h.client.unsubscribe(["b"]);
    run(100);
    expect(h.net.last.packets().filter((p) => p.type === 10)).to.deep.equal([]);
    expect(h.net.last.packets().filter((p) => p.type === 8).map((p) => p.subscriptions![0].topic)).to.deep.equal(["keep"]);
  });

  // pipelined (battery links: the SUBSCRIBE goes behind the CONNECT) or not, the same rule
  for (const pipeline of [false, true]) it(`subscribes again after a reconnect without a session, not with one${pipeline ? " (pipelined)" : ""}`, () => {
    const h = setup({ pipeline }, { sessionPresent: false });
    h.client.subscribe("casanode/s1/n1/cmd", 1);
    h.client.connect();
    run();
    expect(h.net.last.packets().filter((p) => p.type === 8)).to.have.length(1);
    h.net.last.close();
    run(100);
    expect(h.net.sockets).to.have.length(2);
    expect(h.net.last.packets().filter((p) => p.type === 8)).to.have.length(1);
    autoBroker(h.net, { sessionPresent: true });
    h.net.last.close();
    // the link was not up long: the backoff doubled
    run(150);
    expect(h.net.sockets).to.have.length(3);
    expect(h.net.last.packets().filter((p) => p.type === 8)).to.have.length(0);
    expect(h.events.filter((e) => e.startsWith("connect"))).to.deep.equal(["connect sp=false", "connect sp=false", "connect sp=true"]);
  });

  it("pings every keep-alive period and drops the link when no PINGRESP comes", () => {
    const h = setup({ keepAliveS: 10, connectTimeoutMs: 3000 }, { answerPings: false });
    h.client.connect();
    run();
    const pings = () => h.net.sockets[0].packets().filter((p) => p.type === 12).length;
    run(9999);
    expect(pings()).to.equal(0);
    run(1);
    expect(pings()).to.equal(1);
    run(2999);
    expect(h.client.isConnected()).to.equal(true);
    run(1);
    expect(h.client.isConnected()).to.equal(false);
    expect(h.events.slice(1)).to.deep.equal(["close ping-timeout"]);
  });

  it("keeps the link while PINGRESPs come", () => {
    const h = setup({ keepAliveS: 10 });
    h.client.connect();
    run(60_000);
    expect(h.net.sockets).to.have.length(1);
    expect(h.net.last.packets().filter((p) => p.type === 12)).to.have.length(6);
    expect(h.client.isConnected()).to.equal(true);
  });

  it("gives up a connection attempt after connectTimeoutMs without CONNACK", () => {
    const h = setup({}, null);
    h.net.mode = "silent";
    h.client.connect();
    run(4999);
    expect(h.events).to.deep.equal([]);
    run(1);
    expect(h.events).to.deep.equal(["close connect-timeout"]);
    expect(h.net.sockets[0].ended).to.equal(true);
  });

  it("survives net.connect throwing (Espruino, port closed) and backs off exponentially with jitter", () => {
    const h = setup({ reconnect: { minMs: 100, maxMs: 1000 }, random: () => 0 }, {});
    h.net.mode = "throw";
    const times: number[] = [];
    const t0 = vt.clock.now();
    const orig = h.net.connect.bind(h.net);
    h.net.connect = (o, cb) => {
      times.push(vt.clock.now() - t0);
      return orig(o, cb);
    };
    expect(() => h.client.connect()).not.to.throw();
    run(5000);
    // random 0 takes half of each delay: 100, 200, 400, 800, then capped at 1000
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps.slice(0, 6)).to.deep.equal([50, 100, 200, 400, 500, 500]);
    expect(h.events[0]).to.equal("close connect-failed:Unable to create socket");
    expect(h.events[1]).to.equal("close connect-failed:Unable to create socket");
    // a link that stayed up (30 s by default) resets the backoff
    h.net.mode = "accept";
    run(1000);
    expect(h.client.isConnected()).to.equal(true);
    run(30_000);
    h.net.last.close();
    const before = h.net.attempts;
    run(50);
    expect(h.net.attempts).to.equal(before + 1);
  });

  it("jitter spreads the delay over [d/2, d]", () => {
    for (const [r, expected] of [[0, 50], [0.5, 75], [1, 100]] as const) {
      const h = setup({ random: () => r }, null);
      h.net.mode = "throw";
      h.client.connect();
      run(0);
      const a = h.net.attempts;
      run(expected - 1);
      expect(h.net.attempts).to.equal(a);
      run(1);
      expect(h.net.attempts).to.equal(a + 1);
      h.client.destroy();
    }
  });

  it("error then close from one failure gives one close and one retry", () => {
    const h = setup({}, null);
    h.net.mode = "refuse";
    h.client.connect();
    run(0);
    expect(h.events).to.deep.equal(["close socket:connection refused"]);
    run(74);
    expect(h.net.attempts).to.equal(1);
    run(1);
    expect(h.net.attempts).to.equal(2);
  });

  it("reports a refused CONNACK by name", () => {
    const h = setup({ reconnect: false }, null);
    h.net.onSocket = (s) => setTimeout(() => s.feed(srv.connack(false, 5)), 0);
    h.client.connect();
    run(10_000);
    expect(h.events).to.deep.equal(["close refused:not authorized"]);
    expect(h.net.attempts).to.equal(1);
  });

  it("drops the link on a packet before CONNACK, or a malformed one", () => {
    const h = setup({ reconnect: false }, null);
    h.net.onSocket = (s) => setTimeout(() => s.feed(srv.pingresp()), 0);
    h.client.connect();
    run();
    expect(h.events).to.deep.equal(["close protocol:no-connack"]);
    const m = setup({ reconnect: false });
    m.client.connect();
    run();
    m.net.last.feed(bin([0x21, 2, 0, 0]));
    run();
    expect(m.events).to.deep.equal(["connect sp=false", "close protocol:malformed"]);
  });

  it("a throwing callback is reported and the rest of the chunk is still handled", () => {
    const h = setup({}, { pubackDelayMs: 1_000_000 });
    h.client.connect();
    run();
    h.client.onMessage = () => {
      throw new Error("app bug");
    };
    let done: string | null | undefined;
    h.client.publish("t", "x", { qos: 1 }, (e) => (done = e));
    run();
    const id = h.net.last.packets().find((p) => p.type === 3)!.id!;
    h.net.last.feed(srv.publish("a", "1") + srv.puback(id));
    run();
    expect(h.events).to.include("error callback:Error: app bug");
    expect(done).to.equal(null);
    expect(h.client.isConnected()).to.equal(true);
  });

  it("disconnect sends DISCONNECT, keeps unacked messages, and does not reconnect", () => {
    const h = setup({}, { pubackDelayMs: 1_000_000 });
    h.client.connect();
    run();
    const done: (string | null)[] = [];
    h.client.publish("t", "x", { qos: 1 }, (e) => done.push(e));
    run();
    let closed = false;
    h.client.disconnect(() => (closed = true));
    run(10_000);
    expect(closed).to.equal(true);
    expect(h.net.sockets[0].packets().map((p) => p.type)).to.deep.equal([1, 3, 14]);
    expect(h.net.attempts).to.equal(1);
    expect(h.events).to.deep.equal(["connect sp=false", "close disconnect"]);
    expect(h.client.inflightCount()).to.equal(1);
    autoBroker(h.net);
    h.client.connect();
    run();
    expect(done).to.deep.equal([null]);
  });

  it("disconnect right after publish: the PUBLISH goes out before the DISCONNECT, in one go (a battery node's last status)", () => {
    const h = setup({}, { pubackDelayMs: 1_000_000 });
    h.client.connect();
    run();
    h.client.publish("st", "offline", { qos: 1, retain: true });
    h.client.publish("q0", "bye", { qos: 0 });
    h.client.disconnect();
    // no tick in between: the pump's timer would come after the socket is gone
    const types = h.net.sockets[0].packets().map((p) => p.type);
    expect(types).to.deep.equal([1, 3, 3, 14]);
    const pubs = h.net.sockets[0].packets().filter((p) => p.type === 3);
    expect(pubs.map((p) => [p.topic, p.payload, p.qos, p.retain])).to.deep.equal([["st", "offline", 1, true], ["q0", "bye", 0, false]]);
    run(10_000);
    expect(h.net.sockets[0].packets().length).to.equal(4);
  });

  it("destroy aborts pending callbacks and stops for good", () => {
    const h = setup({}, { pubackDelayMs: 1_000_000 });
    h.client.connect();
    run();
    const got: string[] = [];
    h.client.publish("t", "a", { qos: 1 }, (e) => got.push(`a ${e}`));
    run();
    h.client.publish("t", "b", { qos: 1 }, (e) => got.push(`b ${e}`));
    h.client.subscribe("c", 1, (e) => got.push(`sub ${e}`));
    h.client.destroy();
    run(60_000);
    expect(got.sort()).to.deep.equal(["a aborted", "b aborted", "sub aborted"]);
    expect(h.net.attempts).to.equal(1);
    expect(h.client.inflightCount()).to.equal(0);
    expect(h.events).to.deep.equal(["connect sp=false", "close destroyed"]);
  });

  it("reconnect: false stays down after a drop", () => {
    const h = setup({ reconnect: false });
    h.client.connect();
    run();
    h.net.last.close();
    run(60_000);
    expect(h.net.attempts).to.equal(1);
    expect(h.events).to.deep.equal(["connect sp=false", "close closed"]);
  });

  describe("pipeline: packets right behind the CONNECT (MQTT 3.1.1 section 3.1.4 allows it), a round trip saved", () => {
    it("subscriptions, unacknowledged and queued publishes follow the CONNECT before any CONNACK, and none goes twice", () => {
      const h = setup({ pipeline: true }, null);
      const done: (string | null)[] = [];
      h.client.subscribe("casanode/s1/n1/cmd", 1);
      h.client.publish("casanode/s1/n1/data", "[1]", { qos: 1 }, (e) => done.push(e));
      h.client.connect();
      run();
      expect(h.net.last.packets().map((p) => p.type)).to.deep.equal([1, 8, 3]);
      expect(h.client.isConnected()).to.equal(true);
      // published once the CONNECT is out goes at once too
      h.client.publish("casanode/s1/n1/status", "{}", { qos: 1, retain: true }, (e) => done.push(e));
      run();
      const sub = h.net.last.packets()[1], pubs = h.net.last.packets().filter((p) => p.type === 3);
      expect(pubs.map((p) => [p.payload, p.dup])).to.deep.equal([["[1]", false], ["{}", false]]);
      h.net.last.feed(srv.connack(false));
      run();
      expect(h.events).to.deep.equal(["connect sp=false"]);
      // nothing sent again at the CONNACK
      expect(h.net.last.packets().map((p) => p.type)).to.deep.equal([1, 8, 3, 3]);
      h.net.last.feed(srv.suback(sub.id!, [1]) + srv.puback(pubs[0].id!) + srv.puback(pubs[1].id!));
      run();
      expect(done).to.deep.equal([null, null]);
    });

    it("a refused CONNECT leaves pipelined publishes undelivered: sent again (DUP, same id) on the next connection", () => {
      const h = setup({ pipeline: true }, null);
      const done: (string | null)[] = [];
      h.net.onSocket = (s) => setTimeout(() => s.feed(srv.connack(false, 3)), 30);
      h.client.publish("t", "m0", { qos: 1 }, (e) => done.push(e));
      h.client.connect();
      run();
      const first = h.net.last.packets().filter((p) => p.type === 3);
      expect(first.map((p) => p.payload)).to.deep.equal(["m0"]);
      run(30);
      expect(h.events).to.deep.equal(["close refused:server unavailable"]);
      expect(h.client.isConnected()).to.equal(false);
      expect(done).to.deep.equal([]);
      expect(h.client.inflightCount()).to.equal(1);
      autoBroker(h.net);
      run(200);
      expect(h.net.sockets).to.have.length(2);
      const second = h.net.last.packets();
      expect(second.map((p) => p.type)).to.deep.equal([1, 3]);
      expect([second[1].dup, second[1].id]).to.deep.equal([true, first[0].id]);
      expect(done).to.deep.equal([null]);
    });

    it("nothing is written while TCP still connects", () => {
      const h = setup({ pipeline: true }, null);
      h.net.mode = "silent";
      h.client.subscribe("c", 1);
      h.client.publish("t", "m0", { qos: 1 });
      h.client.connect();
      run(100);
      expect(h.net.last.written).to.equal("");
      expect(h.client.isConnected()).to.equal(false);
    });
  });

  it("fuzz: any bytes from the broker never throw out of the client, and it keeps reconnecting", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.boolean(), (chunks, connack) => {
        const h = setup({ keepAliveS: 5 }, null);
        let sock: FakeSocket | undefined;
        h.net.onSocket = (s) => {
          if (!sock) {
            sock = s;
            if (connack) setTimeout(() => s.feed(srv.connack(false)), 0);
          } else setTimeout(() => s.feed(srv.connack(true)), 0);
        };
        const done: (string | null)[] = [];
        h.client.connect();
        h.client.publish("t", "x", { qos: 1 }, (e) => done.push(e));
        run();
        for (const c of chunks) {
          sock!.feed(bin(Buffer.from(c)));
          run();
        }
        // whatever happened, the client either still talks to broker 1 or is on a later connection
        sock!.close();
        run(2000);
        expect(h.client.isConnected()).to.equal(true);
        expect(h.net.sockets.length).to.be.greaterThan(1);
        // and a PUBACK on the new connection completes the message exactly once (unless garbage acked it)
        const pub = h.net.last.packets().find((p) => p.type === 3);
        if (pub) {
          h.net.last.feed(srv.puback(pub.id!));
          run();
        }
        expect(done).to.deep.equal([null]);
        h.client.destroy();
        run();
      }),
      { numRuns: 200 },
    );
  });
});
