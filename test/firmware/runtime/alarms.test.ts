// Alarm rules (firmware/runtime/alarms.ts) as the quantity table (drivers/quantities.ts) drives them.
import { expect } from "chai";
import fc from "fast-check";
import { readAlarms, settleAlarms } from "../../../firmware/runtime/alarms.js";
import { QUANTITIES } from "../../../drivers/quantities.js";
import { okResult, faultResult } from "../../../drivers/types.js";
import type { Reading, SensorResult } from "../../../drivers/types.js";
import type { NodeConfig } from "../../../firmware/config.js";

type Thresholds = NodeConfig["thresholds"];
const TH: Thresholds = { pm25: 55, binFill: 0.8, noiseDb: 70, binFillStep: 0.1 };

function alarmsOf(dev: string, r: SensorResult, th: Thresholds = TH, active: string[] = []): string[] {
  const out: string[] = [];
  readAlarms(dev, r, th, active, out);
  return out;
}

const reading = (name: string, value: number): Reading => ({ name, unit: QUANTITIES[name]?.unit ?? "/", value });

describe("alarm rules (alarms.ts, from the quantity table)", () => {
  it("the table keeps the alarm names the back office knows, each on a threshold the config has", () => {
    const rows = Object.keys(QUANTITIES).filter((n) => QUANTITIES[n].alarm).map((n) => [n, QUANTITIES[n].alarm, QUANTITIES[n].above]);
    expect(rows).to.deep.equal([["pm25", "pm25-high", "pm25"], ["LAeq", "noise-high", "noiseDb"], ["fill", "bin-full", "binFill"]]);
  });

  it("each table alarm is raised above its threshold, not at it, and not without the threshold", () => {
    for (const name of Object.keys(QUANTITIES)) {
      const q = QUANTITIES[name];
      if (!q.alarm || !q.above) continue;
      const limit = TH[q.above] as number, step = q.res;
      expect(alarmsOf("d", okResult([reading(name, limit + step)])), name).to.deep.equal(["d:" + q.alarm]);
      expect(alarmsOf("d", okResult([reading(name, limit)])), name).to.deep.equal([]);
      const without: Thresholds = { ...TH };
      delete (without as Partial<Thresholds>)[q.above];
      expect(alarmsOf("d", okResult([reading(name, limit + 1000)]), without), name + " without a threshold").to.deep.equal([]);
    }
  });

  it("quantities without an alarm, names outside the table and non-numbers raise nothing", () => {
    const r = okResult([reading("pm10", 5000), reading("distance", 1e6), { name: "nope", unit: "/", value: 1e9 }, { name: "pm25", unit: "ug/m3", value: NaN }, { name: "fill", unit: "/", value: Infinity }]);
    expect(alarmsOf("d", r)).to.deep.equal([]);
  });

  it("a driver's own alarms come first, then the readings' in their order", () => {
    const r: SensorResult = { ...okResult([reading("fill", 0.9), reading("pm25", 60)]), alarms: ["stuck"] };
    expect(alarmsOf("x", r)).to.deep.equal(["x:stuck", "x:bin-full", "x:pm25-high"]);
  });

  it("a failed read keeps that device's active alarms (not another's, not twice); an ok read clears them", () => {
    const active = ["bin:bin-full", "pm:pm25-high", "bin:stuck"];
    const out = ["bin:stuck"];
    readAlarms("bin", faultResult("timeout"), TH, active, out);
    expect(out).to.deep.equal(["bin:stuck", "bin:bin-full"]);
    expect(alarmsOf("bin", okResult([reading("fill", 0.1)]), TH, active)).to.deep.equal([]);
  });

  it("settling: the cycle's alarms become the active set, each once; raised are only the new ones", () => {
    const st = { alarms: ["a:x", "b:y"] };
    expect(settleAlarms(st, ["b:y", "c:z", "c:z", "d:w"])).to.deep.equal(["c:z", "d:w"]);
    expect(st.alarms).to.deep.equal(["b:y", "c:z", "d:w"]);
    expect(settleAlarms(st, [])).to.deep.equal([]);
    expect(st.alarms).to.deep.equal([]);
  });

  it("property: an ok read raises exactly the table alarms whose readings exceed their thresholds", () => {
    const names = Object.keys(QUANTITIES);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...names), fc.double({ min: -10, max: 2000, noNaN: true })), { maxLength: 8 }), (rs) => {
        const expected: string[] = [];
        for (const [n, v] of rs) {
          const q = QUANTITIES[n];
          const limit = q.above ? TH[q.above] : undefined;
          if (q.alarm && limit !== undefined && v > limit) expected.push("d:" + q.alarm);
        }
        expect(alarmsOf("d", okResult(rs.map(([n, v]) => reading(n, v))))).to.deep.equal(expected);
      }),
    );
  });
});
