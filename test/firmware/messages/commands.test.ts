import { expect } from "chai";
import fc from "fast-check";
import sinon from "sinon";
import { createHash, createHmac } from "node:crypto";
import {
  verifyCommand, signCommand, canonicalJson, commandString, ackMessage, MAX_COMMAND_BYTES, MAX_CTR, type VerifyResult,
} from "../../../firmware/messages/commands.js";
import { espruinoNumber } from "../../../sim/espruino/format.js";

const sha256 = (s: string) => createHash("sha256").update(s, "latin1").digest("binary");

const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const NODE = "n7";

const TS = 1768435200; // 2026-01-15
function signed(ctr: number, cmd: string, args: any, id = "c-1", node = NODE, key = KEY, valid: { ts?: number; ttl?: number } = { ts: TS }): string {
  return signCommand(node, key, ctr, id, cmd, args, sha256, valid);
}
function verify(payload: any, lastCtr = 0, nowMs = 0): VerifyResult {
  return verifyCommand(payload, NODE, KEY, lastCtr, sha256, nowMs);
}
function errorOf(r: VerifyResult): string {
  return r.ok ? "ok" : r.error;
}

describe("command canonical form", () => {
  it("sorts keys, drops spaces, writes numbers from micro-units", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], c: { z: -12.25, y: 0.5, x: 1e-6 } })).to.equal('{"a":[true,null,"x"],"b":1,"c":{"x":0.000001,"y":0.5,"z":-12.25}}');
    expect(canonicalJson({})).to.equal("{}");
    expect(canonicalJson(-0)).to.equal("0");
  });
  it("has no form for long fractions, huge numbers, non-ASCII text, deep nesting", () => {
    expect(canonicalJson(0.1234567)).to.equal(null);
    expect(canonicalJson(1e9)).to.equal(null);
    expect(canonicalJson(NaN)).to.equal(null);
    expect(canonicalJson("caf\u00e9")).to.equal(null);
    expect(canonicalJson({ "\n": 1 })).to.equal(null);
    expect(canonicalJson({ a: { b: { c: { d: {} } } } })).to.equal(null);
    expect(canonicalJson(undefined)).to.equal(null);
  });
  it("the MAC is HMAC-SHA256 over the documented string", () => {
    const msg = JSON.parse(signed(42, "relay", { state: "on", expiresS: 600 }));
    // a relay override carries its own expiry: valid for as long as it lasts
    expect(msg).to.include({ ts: TS, ttl: 600 });
    const text = `n7\n42\n${TS}\n600\nc-1\nrelay\n{"expiresS":600,"state":"on"}`;
    expect(commandString(NODE, { ctr: 42, ts: TS, ttl: 600, id: "c-1", cmd: "relay", args: { state: "on", expiresS: 600 } })).to.equal(text);
    expect(msg.mac).to.equal(createHmac("sha256", Buffer.from(KEY, "hex")).update(text).digest("hex"));
  });
  it("signCommand refuses what it cannot sign", () => {
    expect(() => signed(1, "config", { thresholds: { pm25: 0.1234567 } })).to.throw(/canonical/);
    expect(() => signCommand(NODE, "xyz", 1, "c", "diag", {}, sha256)).to.throw(/hex/);
  });
});

describe("command verification", () => {
  it("accepts good commands of each kind", () => {
    const cases: [string, any][] = [
      ["relay", { state: "on", expiresS: 600 }],
      ["relay", { state: "auto" }],
      ["config", { samplePeriodS: 60, uploadPeriodS: 900, thresholds: { pm25: 35.5, binFill: 0.8 } }],
      ["config", { thresholds: { binFill: 1 } }],
      ["diag", {}],
      ["reboot", {}],
    ];
    cases.forEach(([cmd, args], i) => {
      const r = verify(signed(10 + i, cmd, args, `c-${i}`), 9);
      expect(r).to.deep.equal({ ok: true, cmd: { id: `c-${i}`, cmd, args, ctr: 10 + i, ts: TS, ttl: cmd === "relay" && args.expiresS ? args.expiresS : 3600 } });
    });
  });

  it("does not depend on key order, whitespace or MAC case", () => {
    const m = JSON.parse(signed(5, "config", { uploadPeriodS: 900, samplePeriodS: 60 }));
    const reordered = `{ "mac" : "${m.mac.toUpperCase()}", "ttl": 3600, "ts": ${TS}, "ctr": 5, "args": {"samplePeriodS": 60, "uploadPeriodS": 900.0}, "cmd": "config", "id": "c-1" }`;
    expect(verify(reordered).ok).to.equal(true);
  });

  it("refuses forged MACs: flipped digit, other key, other node, tampered args or id", () => {
    const good = signed(5, "relay", { state: "off" });
    const m = JSON.parse(good);
    const flip = { ...m, mac: (m.mac[0] === "0" ? "1" : "0") + m.mac.substring(1) };
    expect(errorOf(verify(JSON.stringify(flip)))).to.equal("bad-mac");
    expect(errorOf(verify(signed(5, "relay", { state: "off" }, "c-1", NODE, "ff".repeat(32))))).to.equal("bad-mac");
    expect(errorOf(verify(signed(5, "relay", { state: "off" }, "c-1", "n8")))).to.equal("bad-mac");
    expect(errorOf(verify(JSON.stringify({ ...m, args: { state: "on" } })))).to.equal("bad-mac");
    expect(errorOf(verify(JSON.stringify({ ...m, id: "c-2" })))).to.equal("bad-mac");
    expect(errorOf(verify(JSON.stringify({ ...m, ctr: 6 })))).to.equal("bad-mac");
    expect(errorOf(verify(JSON.stringify({ ...m, ts: TS + 86400 })))).to.equal("bad-mac");
    expect(errorOf(verify(JSON.stringify({ ...m, ttl: 604800 })))).to.equal("bad-mac");
    expect(errorOf(verifyCommand(good, NODE, "", 0, sha256))).to.equal("bad-mac");
  });

  it("refuses replayed counters, and says which", () => {
    const p = signed(7, "diag", {});
    expect(verify(p, 6).ok).to.equal(true);
    const again = verify(p, 7);
    expect(again).to.deep.include({ ok: false, error: "replay", id: "c-1", ctr: 7 });
    expect(errorOf(verify(p, 100))).to.equal("replay");
  });

  it("refuses oversized payloads before parsing them", () => {
    const big = signed(1, "diag", {}, "x".repeat(32)).replace("{", "{" + " ".repeat(MAX_COMMAND_BYTES));
    const parse = sinon.spy(JSON, "parse");
    try {
      expect(errorOf(verify(big))).to.equal("too-large");
      expect(parse.called).to.equal(false);
    } finally {
      parse.restore();
    }
  });

  const malformed: [string, any][] = [
    ["not text", 42],
    ["empty", ""],
    ["not JSON", "{relay on}"],
    ["truncated", signed(1, "diag", {}).slice(0, -1)],
    ["an array", "[]"],
    ["null", "null"],
    ["id a number", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), id: 5 })],
    ["id with a slash", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), id: "a/b" })],
    ["cmd missing", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), cmd: undefined })],
    ["ctr a string", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ctr: "1" })],
    ["ctr a fraction", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ctr: 1.5 })],
    ["ctr zero", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ctr: 0 })],
    ["ctr past 2^53-1", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ctr: 2 ** 53 })],
    ["no issue time (the format before expiry)", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ts: undefined })],
    ["ts a fraction", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ts: TS + 0.5 })],
    ["no validity", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ttl: undefined })],
    ["validity 0", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ttl: 0 })],
    ["validity over a week", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), ttl: 604801 })],
    ["mac short", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), mac: "abcd" })],
    ["args an array", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), args: [] })],
    ["args missing", JSON.stringify({ ...JSON.parse(signed(1, "diag", {})), args: undefined })],
    ["args with a long fraction", JSON.stringify({ ...JSON.parse(signed(1, "config", { thresholds: { pm25: 1 } })), args: { thresholds: { pm25: 1.0000001 } } })],
    ["nested 200 deep", "[".repeat(200) + "]".repeat(200)],
  ];
  for (const [what, payload] of malformed) {
    it(`calls a payload malformed: ${what}`, () => {
      expect(errorOf(verify(payload))).to.equal("malformed");
    });
  }

  it("unknown but authentic commands are unknown-command (with ctr, so it can be consumed)", () => {
    expect(verify(signed(3, "selfdestruct", {}))).to.deep.include({ ok: false, error: "unknown-command", ctr: 3 });
  });

  const badArgs: [string, any][] = [
    ["relay", { state: "blink" }],
    ["relay", {}],
    ["relay", { state: "on", expiresS: 0 }],
    ["relay", { state: "on", expiresS: 86401 }],
    ["relay", { state: "on", expiresS: 1.5 }],
    ["relay", { state: "on", expiresS: "60" }],
    ["relay", { state: "on", colour: "red" }],
    ["config", {}],
    ["config", { samplePeriodS: 5 }],
    ["config", { uploadPeriodS: 604801 }],
    ["config", { samplePeriodS: true }],
    ["config", { thresholds: { binFill: 1.5 } }],
    ["config", { thresholds: { pm25: -1 } }],
    ["config", { thresholds: { co2: 400 } }],
    ["config", { thresholds: 3 }],
    ["config", { wifi: "x" }],
    ["diag", { verbose: true }],
    ["reboot", { now: 1 }],
  ];
  for (const [cmd, args] of badArgs) {
    it(`refuses ${cmd} ${JSON.stringify(args)} as bad-args`, () => {
      const r = verify(signed(2, cmd, args));
      expect(errorOf(r)).to.equal("bad-args");
      expect((r as any).detail).to.be.a("string").and.not.equal("");
    });
  }

  it("garbage never throws and is never accepted", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 600 }), fc.json(), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString("latin1"))), (s) => {
        const r = verify(s);
        expect(r.ok).to.equal(false);
      }),
      { numRuns: 500 },
    );
  });

  it("any one-byte change to a signed command is refused unless it means the same command", () => {
    const good = signed(9, "config", { samplePeriodS: 120, thresholds: { pm25: 25.5 } });
    const original = verify(good);
    expect(original.ok).to.equal(true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, c) => {
        const s = good.substring(0, i) + String.fromCharCode(c) + good.substring(i + 1);
        const r = verify(s);
        if (r.ok) expect(r).to.deep.equal(original);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("command validity (issue time + ttl) and counters past 2038", () => {
  const at = (s: number) => s * 1000;
  it("a node with a set clock refuses a stale command as expired, consuming its counter", () => {
    const p = signed(5, "diag", {}, "c-1", NODE, KEY, { ts: TS, ttl: 3600 });
    expect(verify(p, 0, at(TS + 3600)).ok).to.equal(true);
    expect(verify(p, 0, at(TS + 3601))).to.deep.equal({ ok: false, error: "expired", detail: "issued 3601 s ago, valid 3600 s", id: "c-1", ctr: 5 });
    // a week-old command the broker kept for a sleeping node
    expect(errorOf(verify(p, 0, at(TS + 7 * 86400)))).to.equal("expired");
  });
  it("refuses one issued in the future beyond the clock skew allowed (300 s)", () => {
    expect(verify(signed(5, "diag", {}, "c-1", NODE, KEY, { ts: TS + 300 }), 0, at(TS)).ok).to.equal(true);
    expect(verify(signed(5, "diag", {}, "c-1", NODE, KEY, { ts: TS + 400 }), 0, at(TS))).to.deep.include({ error: "expired", detail: "issued 400 s in the future (clock skew?)" });
  });
  it("a relay override expires with its own expiresS, whatever its ttl", () => {
    const p = signed(5, "relay", { state: "on", expiresS: 600 }, "c-1", NODE, KEY, { ts: TS, ttl: 3600 });
    expect(verify(p, 0, at(TS + 599)).ok).to.equal(true);
    expect(verify(p, 0, at(TS + 601))).to.deep.include({ error: "expired", detail: "issued 601 s ago, valid 600 s" });
  });
  it("a node without a clock goes by the counter alone", () => {
    const p = signed(5, "diag", {}, "c-1", NODE, KEY, { ts: TS - 365 * 86400, ttl: 60 });
    expect(verify(p, 0, 0).ok).to.equal(true);
    expect(errorOf(verify(p, 5, 0))).to.equal("replay");
  });
  it("a replay is called a replay even when it is stale too", () => {
    expect(errorOf(verify(signed(5, "diag", {}), 5, at(TS + 86400)))).to.equal("replay");
  });
  it("counters and issue times past 2^31 (2038) and up to 2^53-1 are accepted, in order", () => {
    const y2040 = Date.UTC(2040, 0, 1);
    const p = signed(y2040, "diag", {}, "c-1", NODE, KEY, { ts: y2040 / 1000 });
    expect(verify(p, 2 ** 31 - 1, y2040 + 1000)).to.deep.include({ ok: true });
    expect(errorOf(verify(p, y2040, y2040 + 1000))).to.equal("replay");
    expect(verify(signed(MAX_CTR, "diag", {}), MAX_CTR - 1).ok).to.equal(true);
    expect(MAX_CTR).to.equal(Number.MAX_SAFE_INTEGER);
  });
  it("Espruino prints every integer up to 2^53-1 with all its digits, as the MAC string needs", () => {
    // what ftoa does on the board (sim/espruino/format.ts is a port of it): integer digits are exact
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(espruinoNumber(n)).to.equal(String(n));
      }),
      { numRuns: 2000 },
    );
    expect(espruinoNumber(Date.UTC(2200, 0, 1))).to.equal("7258118400000");
  });
});

describe("ack messages", () => {
  it("are JSON with id and ok, plus error and detail when refused", () => {
    expect(JSON.parse(ackMessage("c-1", true))).to.deep.equal({ id: "c-1", ok: true });
    expect(JSON.parse(ackMessage("c-2", false, "bad-args", "state must be on, off or auto"))).to.deep.equal({
      id: "c-2",
      ok: false,
      error: "bad-args",
      detail: "state must be on, off or auto",
    });
  });
});
