import { expect } from "chai";
import fc from "fast-check";
import {
  packetReader, encodeLength, encodeConnect, encodePublish, encodePuback, encodeSubscribe, packetError, connackReason,
  PINGREQ_PACKET, DISCONNECT_PACKET, TOO_LARGE_HEAD,
} from "../../../firmware/mqtt/packet.js";
import { bin, bytesOf, srv, parseClient } from "../../support/fake-net.js";

const hex = (s: string) => Buffer.from(s, "latin1").toString("hex");

/** a packet as the reader hands it over */
interface Frame {
  first: number;
  body: string;
  tooLarge: number;
}

/** the firmware's reader, its packets collected per push */
class Reader {
  readonly r;
  constructor(max?: number) {
    this.r = packetReader(max);
  }
  get error() {
    return this.r.error;
  }
  get buf() {
    return this.r.buf;
  }
  push(data: string): Frame[] {
    const out: Frame[] = [];
    this.r.push(data, (first, body, tooLarge) => out.push({ first, body, tooLarge }));
    return out;
  }
}

/** a whole packet (as the test's codec encodes it) split as the reader should split it; `keep` bytes of the body when too large */
function frameOf(packet: string, tooLarge = 0, keep = Infinity): Frame {
  let i = 1;
  while (packet.charCodeAt(i) & 128) i++;
  return { first: packet.charCodeAt(0), body: packet.slice(i + 1, i + 1 + keep), tooLarge };
}

describe("mqtt packet: remaining length (spec 2.2.3, table 2.4)", () => {
  const table: [number, number[]][] = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16383, [0xff, 0x7f]],
    [16384, [0x80, 0x80, 0x01]],
    [2097151, [0xff, 0xff, 0x7f]],
    [2097152, [0x80, 0x80, 0x80, 0x01]],
    [268435455, [0xff, 0xff, 0xff, 0x7f]],
  ];
  for (const [n, bytes] of table) {
    it(`encodes ${n} as ${bytes.map((b) => b.toString(16)).join(" ")}`, () => {
      expect(bytesOf(encodeLength(n))).to.deep.equal(bytes);
    });
    if (n > 0) {
      it(`reader takes ${n} from the ${bytes.length}-byte form`, () => {
        // a SUBACK header claiming n bytes: a limit of n waits for the body, a limit of n-1 refuses it
        // (a PUBLISH over the limit is read past instead: see below)
        const header = bin([0x90, ...bytes]);
        const atLimit = new Reader(n);
        expect(atLimit.push(header)).to.deep.equal([]);
        expect(atLimit.error).to.equal(null);
        const below = new Reader(n - 1);
        below.push(header);
        expect(below.error).to.equal("too-large");
      });
    }
  }
  it("rejects a fifth length byte", () => {
    const r = new Reader();
    expect(r.push(bin([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]))).to.deep.equal([]);
    expect(r.error).to.equal("bad-length");
  });
  it("rejects a length above its limit before buffering the body (any packet but PUBLISH)", () => {
    const r = new Reader(100);
    r.push(bin([0x90, 0x65])); // a SUBACK of 101
    expect(r.error).to.equal("too-large");
  });
  it("rejects a PUBLISH over the limit whose topic alone does not fit in it", () => {
    const r = new Reader(100);
    r.push(srv.publish("t".repeat(60), "x".repeat(100), 1, 9).substring(0, 10));
    expect(r.error).to.equal("too-large");
  });
});

describe("mqtt packet: encoders against spec bytes", () => {
  it("CONNECT variable header matches the spec example (3.1.2.10: flags CE, keep alive 10)", () => {
    const s = encodeConnect({
      clientId: "node-1",
      username: "u",
      password: "p",
      keepAliveS: 10,
      cleanSession: true,
      will: { topic: "w", payload: "bye", qos: 1, retain: false },
    });
    const b = bytesOf(s);
    expect(b[0]).to.equal(0x10);
    // remaining length (1 byte here) then: 00 04 'MQTT' 04 CE 00 0A
    expect(hex(s.substring(2, 12))).to.equal("00044d5154540" + "4ce000a");
    expect(b[1]).to.equal(b.length - 2);
    // payload order: client id, will topic, will message, user name, password (3.1.3)
    expect(hex(s.substring(12))).to.equal(hex("\x00\x06node-1" + "\x00\x01w" + "\x00\x03bye" + "\x00\x01u" + "\x00\x01p"));
  });
  it("CONNECT flags: retained will qos 0, no clean session, no credentials", () => {
    const [p] = parseClient(encodeConnect({ clientId: "c", keepAliveS: 60, cleanSession: false, will: { topic: "t", payload: "x", qos: 0, retain: true } }));
    expect(p.connect!.flags).to.equal(0x24);
    expect(p.connect!.keepAlive).to.equal(60);
    expect(p.connect!.cleanSession).to.equal(false);
  });
  it("a password alone still sets the user name flag (MQTT-3.1.2-22)", () => {
    const [p] = parseClient(encodeConnect({ clientId: "c", password: "pw", keepAliveS: 0, cleanSession: true }));
    expect(p.connect!.flags & 0xc0).to.equal(0xc0);
    expect(p.connect!.username).to.equal("");
    expect(p.connect!.password).to.equal("pw");
  });
  it("PUBLISH variable header matches the spec example (3.3.2.3: a/b, id 10)", () => {
    const s = encodePublish("a/b", "hi", 1, false, false, 10);
    expect(hex(s)).to.equal("32" + "09" + "0003612f62" + "000a" + "6869");
  });
  it("PUBLISH qos 0 has no packet id; DUP and RETAIN bits", () => {
    expect(hex(encodePublish("a", "", 0, true, false, 0))).to.equal("31030001" + "61");
    expect(bytesOf(encodePublish("a", "", 1, false, true, 1))[0]).to.equal(0x3a);
  });
  it("PUBLISH carries binary payload bytes untouched", () => {
    const payload = bin([0, 255, 128, 10, 13]);
    const [p] = parseClient(encodePublish("t", payload, 0, false, false, 0));
    expect(p.payload).to.equal(payload);
  });
  it("PUBACK 40 02 idH idL, SUBSCRIBE 82 with one filter (3.8.3.1 example), PINGREQ C0 00, DISCONNECT E0 00", () => {
    expect(hex(encodePuback(0x1234))).to.equal("40021234");
    expect(hex(encodeSubscribe(10, "a/b", 1))).to.equal("8208000a0003612f6201");
    expect(hex(PINGREQ_PACKET)).to.equal("c000");
    expect(hex(DISCONNECT_PACKET)).to.equal("e000");
  });
  it("CONNACK return codes by name (3.2.2.3)", () => {
    expect([1, 2, 3, 4, 5].map(connackReason)).to.deep.equal([
      "unacceptable protocol version", "identifier rejected", "server unavailable", "bad user name or password", "not authorized",
    ]);
    expect(connackReason(9)).to.equal("code 9");
  });
});

describe("mqtt packet: reader and checks", () => {
  const one = (s: string) => {
    const r = new Reader();
    const out = r.push(s);
    return { out, error: r.error };
  };
  // the fields are read by the client (client.test.ts: session present, refused SUBACK, messages)
  it("hands over valid packets whole: CONNACK, SUBACK with 0x80 = refused (3.9.3), PUBLISH qos 1 with DUP and RETAIN, UNSUBACK", () => {
    for (const p of [bin([0x20, 2, 0, 0]), bin([0x20, 2, 1, 5]), bin([0x90, 5, 0, 10, 0, 2, 0x80]), srv.publish("a/b", "x", 1, 7, true, true), srv.unsuback(3)]) {
      expect(one(p)).to.deep.equal({ out: [frameOf(p)], error: null });
      expect(packetError(p.charCodeAt(0), frameOf(p).body)).to.equal("");
    }
  });
  const bad: [string, number[], string][] = [
    ["CONNACK with reserved flag bits", [0x21, 2, 0, 0], "malformed"],
    ["CONNACK with reserved ack bits", [0x20, 2, 2, 0], "malformed"],
    ["CONNACK of 3 bytes", [0x20, 3, 0, 0, 0], "malformed"],
    ["PUBLISH qos 3", [0x36, 4, 0, 1, 0x61, 0], "malformed"],
    ["PUBLISH qos 0 with DUP", [0x38, 3, 0, 1, 0x61], "malformed"],
    ["PUBLISH topic longer than the packet", [0x30, 3, 0, 9, 0x61], "malformed"],
    ["PUBLISH empty topic", [0x30, 2, 0, 0], "malformed"],
    ["PUBLISH wildcard topic", [0x30, 3, 0, 1, 0x23], "malformed"],
    ["PUBLISH qos 1 with packet id 0", [0x32, 5, 0, 1, 0x61, 0, 0], "malformed"],
    ["PUBLISH qos 1 without packet id", [0x32, 3, 0, 1, 0x61], "malformed"],
    ["PUBACK with id 0", [0x40, 2, 0, 0], "malformed"],
    ["PUBACK with flags", [0x42, 2, 0, 1], "malformed"],
    ["SUBACK with return code 3", [0x90, 3, 0, 1, 3], "malformed"],
    ["PINGRESP with a body", [0xd0, 1, 0], "malformed"],
    ["a CONNECT from the server", [0x10, 0], "bad-type"],
    ["reserved type 0", [0x00, 0], "bad-type"],
    ["reserved type 15", [0xf0, 0], "bad-type"],
  ];
  for (const [what, bytes, code] of bad) {
    it(`rejects ${what} as ${code}`, () => {
      const r = one(bin(bytes));
      expect(r.out).to.deep.equal([]);
      expect(r.error).to.equal(code);
    });
  }
  it("keeps the packets read before a malformed one, and nothing after", () => {
    const r = new Reader();
    const out = r.push(srv.pingresp() + bin([0x21, 2, 0, 0]) + srv.pingresp());
    expect(out).to.deep.equal([frameOf(srv.pingresp())]);
    expect(r.error).to.equal("malformed");
    expect(r.push(srv.pingresp())).to.deep.equal([]);
  });
  it("packetError reports errors as codes, never throws", () => {
    expect(packetError(0x20, "")).to.equal("malformed");
    expect(packetError(0x30, "")).to.equal("malformed");
  });
});

// Arbitrary server packets, encoded by the test's own codec.
const topicArb = fc.stringMatching(/^[a-z0-9/_-]{1,40}$/);
const payloadArb = fc.uint8Array({ maxLength: 300 }).map((a) => bin(Buffer.from(a)));
const packetArb: fc.Arbitrary<{ bytes: string; expected: Frame }> = fc.oneof(
  fc.record({ sp: fc.boolean(), rc: fc.integer({ min: 0, max: 5 }) }).map(({ sp, rc }) => srv.connack(sp, rc)),
  fc.record({ topic: topicArb, payload: payloadArb, qos: fc.integer({ min: 0, max: 1 }), id: fc.integer({ min: 1, max: 65535 }), dup: fc.boolean(), retain: fc.boolean() })
    .map(({ topic, payload, qos, id, dup, retain }) => srv.publish(topic, payload, qos, qos ? id : 0, qos ? dup : false, retain)),
  fc.integer({ min: 1, max: 65535 }).map((id) => srv.puback(id)),
  fc.integer({ min: 1, max: 65535 }).map((id) => srv.unsuback(id)),
  fc.record({ id: fc.integer({ min: 1, max: 65535 }), codes: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 4 }) })
    .map(({ id, codes }) => srv.suback(id, codes)),
  fc.constant(srv.pingresp()),
).map((bytes) => ({ bytes, expected: frameOf(bytes) }));

/** split s at the given cut points (fractions of its length) */
function chunks(s: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * s.length)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const a of at) {
    out.push(s.substring(prev, a));
    prev = a;
  }
  out.push(s.substring(prev));
  return out;
}

describe("mqtt packet: a PUBLISH over the reader's limit", () => {
  const T = "casanode/s1/n1/cmd";
  const big = '{"id":"c-9","cmd":"diag","args":{"pad":"' + "x".repeat(100_000) + '"}}';
  it("comes out as its header and first bytes (tooLarge = payload size), and reading goes on after it", () => {
    const r = new Reader(1024);
    const out: Frame[] = [];
    const bigPacket = srv.publish(T, big, 1, 777, true);
    const stream = bigPacket + srv.publish(T, "{}", 1, 778) + srv.pingresp();
    // Espruino hands the socket's bytes over 536 at a time
    for (let i = 0; i < stream.length; i += 536) out.push(...r.push(stream.substring(i, i + 536)));
    expect(r.error).to.equal(null);
    // the body kept: topic (2 + length), packet id, then the payload's first bytes
    expect(out).to.deep.equal([frameOf(bigPacket, big.length, 2 + T.length + 2 + TOO_LARGE_HEAD), frameOf(srv.publish(T, "{}", 1, 778)), frameOf(srv.pingresp())]);
    expect(out[0].body.slice(2 + T.length + 2)).to.equal(big.substring(0, TOO_LARGE_HEAD));
  });
  it("a QoS 0 one has no packet id; a payload just over the limit works too", () => {
    const r = new Reader(100);
    const p = "y".repeat(100);
    expect(r.push(srv.publish("a", p, 0) + srv.pingresp())).to.deep.equal([frameOf(srv.publish("a", p, 0), 100, 3 + TOO_LARGE_HEAD), frameOf(srv.pingresp())]);
  });
  it("a malformed header of an oversized PUBLISH is still an error", () => {
    const r = new Reader(100);
    r.push(srv.publish("a/#", "y".repeat(200), 0));
    expect(r.error).to.equal("malformed");
  });
  it("property: oversized PUBLISHes among valid packets, any chunking: same packets, never more than the limit buffered", () => {
    const bigArb = fc.record({ topic: topicArb, size: fc.integer({ min: 400, max: 5000 }), qos: fc.integer({ min: 0, max: 1 }), id: fc.integer({ min: 1, max: 65535 }) }).map(({ topic, size, qos, id }) => {
      const payload = "z".repeat(size);
      const bytes = srv.publish(topic, payload, qos, qos ? id : 0);
      return { bytes, expected: frameOf(bytes, size, 2 + topic.length + (qos ? 2 : 0) + TOO_LARGE_HEAD) };
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(packetArb, bigArb), { minLength: 1, maxLength: 8 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }), (packets, cuts) => {
        // 300-byte payloads of the small ones fit: the limit is above them
        const r = new Reader(350);
        const out: Frame[] = [];
        for (const c of chunks(packets.map((p) => p.bytes).join(""), cuts)) {
          out.push(...r.push(c));
          expect(r.buf.length).to.be.at.most(350 + 5);
        }
        expect(r.error).to.equal(null);
        expect(out).to.deep.equal(packets.map((p) => p.expected));
      }),
      { numRuns: 300 },
    );
  });
});

describe("mqtt packet: PacketReader properties", () => {
  it("valid packets split and coalesced arbitrarily decode identically", () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 12 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }), (packets, cuts) => {
        const r = new Reader();
        const stream = packets.map((p) => p.bytes).join("");
        const out: Frame[] = [];
        for (const c of chunks(stream, cuts)) out.push(...r.push(c));
        expect(r.error).to.equal(null);
        expect(out).to.deep.equal(packets.map((p) => p.expected));
        expect(r.buf).to.equal("");
      }),
      { numRuns: 300 },
    );
  });

  it("random bytes in random chunks never throw; after an error nothing more comes out", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }), (bytes, cuts) => {
        const r = new Reader(256);
        let errored = false;
        for (const c of chunks(bin(Buffer.from(bytes)), cuts)) {
          const out = r.push(c);
          if (errored) expect(out).to.deep.equal([]);
          for (const p of out) {
            expect([2, 3, 4, 9, 11, 13]).to.include(p.first >> 4);
            expect(packetError(p.first, p.body)).to.equal("");
          }
          if (r.error) {
            errored = true;
            expect(["bad-length", "too-large", "malformed", "bad-type"]).to.include(r.error);
          }
        }
        // the same bytes in one piece give the same verdict
        const whole = new Reader(256);
        whole.push(bin(Buffer.from(bytes)));
        expect(whole.error).to.equal(r.error);
      }),
      { numRuns: 500 },
    );
  });
});
