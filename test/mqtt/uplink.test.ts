import { expect } from "chai";
import fc from "fast-check";
import { packReadings, senmlBaseName, SENML_BVER_SECONDARY, type TimedReading } from "../../firmware/messages/senml.js";
import { nodeTopics, parseTopic, validId, idError, topicFor, clientIdFor, siteFilter, statusPayload, TOPIC_KINDS } from "../../firmware/messages/topics.js";
import { decodeSenml, decodeMessage, toPrimaryUnit } from "../../sim/senml-decode.js";

const BT = 1768464000; // 2026-01-15T08:00:00Z

describe("topics", () => {
  it("builds the five topics of a node under casanode/<site>/<node>/", () => {
    expect(nodeTopics("casa-anfa", "n07")).to.deep.equal({
      data: "casanode/casa-anfa/n07/data",
      status: "casanode/casa-anfa/n07/status",
      diag: "casanode/casa-anfa/n07/diag",
      cmd: "casanode/casa-anfa/n07/cmd",
      ack: "casanode/casa-anfa/n07/ack",
    });
    expect(clientIdFor("casa-anfa", "n07")).to.equal("casanode-casa-anfa-n07");
    expect(siteFilter("casa-anfa", "data")).to.equal("casanode/casa-anfa/+/data");
    expect(siteFilter()).to.equal("casanode/+/+/+");
  });
  it("accepts only 1-24 chars of a-z 0-9 _ -", () => {
    for (const ok of ["a", "n7", "site_1", "x-y", "a".repeat(24)]) expect(validId(ok), ok).to.equal(true);
    for (const bad of ["", "A", "a/b", "+", "#", "a b", "caf\u00e9", "a".repeat(25), 7, null, undefined]) expect(validId(bad), String(bad)).to.equal(false);
    expect(idError("s", "N")).to.match(/node id/);
    expect(idError("S", "n")).to.match(/site id/);
    expect(() => topicFor("s/x", "n", "data")).to.throw(/site id/);
  });
  it("parses its own topics back and nothing else", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9_-]{1,24}$/), fc.stringMatching(/^[a-z0-9_-]{1,24}$/), fc.constantFrom(...TOPIC_KINDS), (site, node, kind) => {
        expect(parseTopic(topicFor(site, node, kind))).to.deep.equal({ site, node, kind });
      }),
    );
    for (const t of ["casanode/s/n", "casanode/s/n/data/x", "other/s/n/data", "casanode/S/n/data", "casanode/s/n/foo"]) expect(parseTopic(t), t).to.equal(null);
  });
  it("status payloads", () => {
    expect(JSON.parse(statusPayload("offline"))).to.deep.equal({ state: "offline" });
    expect(JSON.parse(statusPayload("online", { fw: "0.1.0", state: "ignored" }))).to.deep.equal({ state: "online", fw: "0.1.0" });
  });
});

describe("SenML decoder (RFC 8428 examples)", () => {
  it("resolves base name, base time and relative times (5.1.2 / 5.1.3 style)", () => {
    const pack = decodeSenml(
      JSON.stringify([
        { bn: "urn:dev:ow:10e2073a01080063:", bt: 1.276020076001e9, bu: "A", n: "voltage", u: "V", v: 120.1 },
        { n: "current", t: -5, v: 1.2 },
        { n: "current", t: -4, v: 1.3 },
      ]),
    );
    expect(pack.version).to.equal(10);
    expect(pack.records).to.deep.equal([
      { name: "urn:dev:ow:10e2073a01080063:voltage", unit: "V", value: 120.1, time: 1.276020076001e9 },
      { name: "urn:dev:ow:10e2073a01080063:current", unit: "A", value: 1.2, time: 1.276020076001e9 - 5 },
      { name: "urn:dev:ow:10e2073a01080063:current", unit: "A", value: 1.3, time: 1.276020076001e9 - 4 },
    ]);
  });
  it("rejects what is not valid SenML", () => {
    expect(() => decodeSenml("{}")).to.throw();
    expect(() => decodeSenml("[]")).to.throw();
    expect(() => decodeSenml('[{"n":"a b","v":1}]')).to.throw(/name/);
    expect(() => decodeSenml('[{"n":"a"}]')).to.throw(/no value/);
    expect(() => decodeSenml('[{"n":"a","v":1,"x_":1}]')).to.throw(/must-understand/);
    expect(() => decodeSenml('[{"bver":5,"n":"a","v":1}]')).to.throw(/version/);
    // a secondary unit without the feature bit
    expect(() => decodeSenml('[{"n":"pm","u":"ug/m3","v":1}]')).to.throw(/bver 26/);
  });
  it("converts secondary units to primary ones", () => {
    const pm = toPrimaryUnit({ name: "x", unit: "ug/m3", value: 12.5, time: 0 });
    expect(pm.unit).to.equal("kg/m3");
    expect(pm.value).to.be.closeTo(12.5e-9, 1e-20);
    expect(toPrimaryUnit({ name: "x", unit: "mm", value: 1500, time: 0 })).to.deep.equal({ unit: "m", value: 1.5 });
    expect(toPrimaryUnit({ name: "x", unit: "dB", value: 55, time: 0 })).to.deep.equal({ unit: "dB", value: 55 });
  });
});

describe("SenML packer", () => {
  const bn = senmlBaseName("s1", "n7");
  const readings: TimedReading[] = [
    { name: "pm.pm25", unit: "ug/m3", value: 12.5, t: BT },
    { name: "pm.pm10", unit: "ug/m3", value: 20.25, t: BT },
    { name: "noise.LAeq", unit: "dB", value: 61.3, t: BT + 60.5 },
    { name: "bin.fill", unit: "/", value: 0.42, t: BT + 120 },
  ];

  it("writes bn, bt and bver in the first record, then n/u/v and t relative to bt", () => {
    const [msg, ...rest] = packReadings(bn, readings, 1000);
    expect(rest).to.deep.equal([]);
    expect(JSON.parse(msg)).to.deep.equal([
      { bn: "casanode/s1/n7/", bver: 26, bt: BT, n: "pm.pm25", u: "ug/m3", v: 12.5 },
      { n: "pm.pm10", u: "ug/m3", v: 20.25 },
      { n: "noise.LAeq", u: "dB", v: 61.3, t: 60.5 },
      { n: "bin.fill", u: "/", v: 0.42, t: 120 },
    ]);
  });

  it("leaves bver out when every unit is a primary one", () => {
    const [msg] = packReadings(bn, [{ name: "noise.LAeq", unit: "dB", value: 50, t: BT }], 500);
    expect(JSON.parse(msg)[0]).to.not.have.property("bver");
    expect(decodeSenml(msg).version).to.equal(10);
  });

  it("splits under the size cap, each message a pack with its own bn and bt", () => {
    const many: TimedReading[] = Array.from({ length: 40 }, (_, i) => ({ name: "pm.pm25", unit: "ug/m3", value: i + 0.5, t: BT + i * 30 }));
    const msgs = packReadings(bn, many, 200);
    expect(msgs.length).to.be.greaterThan(5);
    for (const m of msgs) {
      expect(m.length).to.be.at.most(200);
      expect(JSON.parse(m)[0]).to.include({ bn: "casanode/s1/n7/", bver: 26 });
    }
    const back = msgs.flatMap((m) => decodeSenml(m).records);
    expect(back.map((r) => [r.value, r.time])).to.deep.equal(many.map((r) => [r.value, r.t]));
  });

  it("drops non-finite values and readings that cannot fit at all", () => {
    const msgs = packReadings(bn, [{ name: "a", unit: "dB", value: NaN, t: BT }, { name: "x".repeat(300), unit: "dB", value: 1, t: BT }, { name: "b", unit: "dB", value: 2, t: BT }], 120);
    expect(msgs.flatMap((m) => decodeSenml(m).records.map((r) => r.name))).to.deep.equal(["casanode/s1/n7/b"]);
  });

  it("round trip: any readings, any cap, every message under the cap, nothing lost or reordered", () => {
    const reading = fc.record({
      name: fc.stringMatching(/^[a-z][a-zA-Z0-9._-]{0,15}$/),
      unit: fc.constantFrom("ug/m3", "dB", "mm", "/", "A", "Cel", "%RH", ""),
      value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      t: fc.integer({ min: BT * 1000, max: (BT + 86400) * 1000 }).map((ms) => ms / 1000),
    });
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 60 }), fc.integer({ min: 160, max: 2000 }), (rs, cap) => {
        const msgs = packReadings(bn, rs, cap);
        for (const m of msgs) expect(m.length).to.be.at.most(cap);
        const back = msgs.flatMap((m) => decodeSenml(m).records);
        expect(back).to.have.length(rs.length);
        back.forEach((r, i) => {
          expect(r.name).to.equal(bn + rs[i].name);
          expect(r.unit).to.equal(rs[i].unit || undefined);
          expect(r.value).to.be.closeTo(rs[i].value, 0.0005 + 1e-12 * Math.abs(rs[i].value));
          expect(r.time).to.be.closeTo(rs[i].t, 0.0005);
        });
        const secondary = rs.some((r) => r.unit === "ug/m3" || r.unit === "mm");
        for (const m of msgs) expect(decodeSenml(m).version).to.equal(secondary ? SENML_BVER_SECONDARY : 10);
      }),
      { numRuns: 300 },
    );
  });
});

describe("decoding by topic", () => {
  it("decodes each kind of message from its topic alone", () => {
    const t = nodeTopics("s1", "n7");
    const [data] = packReadings(senmlBaseName("s1", "n7"), [{ name: "pm.pm25", unit: "ug/m3", value: 9, t: BT }], 512);
    const d = decodeMessage(t.data, data);
    expect(d.kind).to.equal("data");
    expect(d.kind === "data" && d.pack.records[0]).to.deep.equal({ name: "casanode/s1/n7/pm.pm25", unit: "ug/m3", value: 9, time: BT });
    expect(decodeMessage(t.status, statusPayload("online"))).to.deep.equal({ site: "s1", node: "n7", kind: "status", body: { state: "online" } });
    expect(decodeMessage(t.ack, '{"id":"c-1","ok":true}')).to.deep.include({ kind: "ack", body: { id: "c-1", ok: true } });
    // data whose names belong to another node is refused
    const [other] = packReadings(senmlBaseName("s1", "n8"), [{ name: "pm.pm25", unit: "ug/m3", value: 9, t: BT }], 512);
    expect(() => decodeMessage(t.data, other)).to.throw(/does not belong/);
    expect(() => decodeMessage("foo/bar", "{}")).to.throw(/not a CasaNode topic/);
  });
});
