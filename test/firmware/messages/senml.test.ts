import { expect } from "chai";
import fc from "fast-check";
import { packReadings, senmlBaseName, SENML_BVER_SECONDARY, type TimedReading } from "../../../firmware/messages/senml.js";
import { decodeSenml } from "../../../sim/senml-decode.js";

const BT = 1768464000; // 2026-01-15T08:00:00Z

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
