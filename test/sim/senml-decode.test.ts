import { expect } from "chai";
import { packReadings, senmlBaseName } from "../../firmware/messages/senml.js";
import { nodeTopics, statusPayload } from "../../firmware/messages/topics.js";
import { decodeSenml, decodeMessage, toPrimaryUnit } from "../../sim/senml-decode.js";

const BT = 1768464000; // 2026-01-15T08:00:00Z

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
