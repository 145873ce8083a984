import { expect } from "chai";
import fc from "fast-check";
import { resolutionOf } from "../../../drivers/quantities.js";
import { newWindow, fold, summarize, exceededLevel, histBin, lden, foldDay, dayEntries, ldenPeriod } from "../../../firmware/runtime/aggregate.js";
import type { Window, DayAcc } from "../../../firmware/runtime/state.js";

const db = (name: string, value: number) => ({ name, unit: "dB", value });
const find = (es: any[], n: string) => es.find((e) => e[0] === n)?.[2];
/** what a deep sleep does to a window: JSON out to flash and back */
const sleep = <T>(w: T): T => JSON.parse(JSON.stringify(w));

describe("aggregate", () => {
  it("averages sound levels energetically, never arithmetically", () => {
    // fixture: 60, 70, 80 dB for equal times. Arithmetic mean 70 dB; energetic
    // 10 lg((10^6 + 10^7 + 10^8) / 3) = 75.68 dB: the loud third dominates.
    let w: Window = newWindow(0);
    for (const v of [60, 70, 80]) {
      fold(w, db("noise.LAeq", v));
      w = sleep(w);
    }
    const s = summarize(w);
    expect(find(s, "noise.LAeq.mean")).to.be.closeTo(10 * Math.log10((1e6 + 1e7 + 1e8) / 3), 0.05); // at the sensors' 0.1 dB
    expect(find(s, "noise.LAeq.mean")).to.be.equal(75.7);
    expect(find(s, "noise.LAeq.min")).to.equal(60);
    expect(find(s, "noise.LAeq.max")).to.equal(80);
  });

  it("rounds per quantity to its sensors' resolution, and never puts min or max outside the readings", () => {
    // issue 11: every bin reading was 0.207, yet min, max and mean went out as 0.21
    const w = newWindow(0);
    for (let i = 0; i < 4; i++) fold(w, { name: "bin.fill", unit: "/", value: 0.207 });
    for (const v of [12.3, 12.4, 12.4]) fold(w, { name: "pm.pm25", unit: "ug/m3", value: v });
    for (const v of [0.4461, 0.4467]) fold(w, { name: "x.unlisted", unit: "V", value: v });
    const s = summarize(sleep(w));
    expect([find(s, "bin.fill.min"), find(s, "bin.fill.max"), find(s, "bin.fill.mean")]).to.deep.equal([0.207, 0.207, 0.207]);
    expect(find(s, "pm.pm25.mean")).to.equal(12.4); // 12.3667 at the SDS011's 0.1 ug/m3
    expect([find(s, "x.unlisted.min"), find(s, "x.unlisted.max")]).to.deep.equal([0.4461, 0.4467]);
    expect(find(s, "x.unlisted.mean")).to.equal(0.4461); // 0.4464 at the default 0.001, kept inside the readings
    expect(resolutionOf("bin.fill")).to.equal(0.001);
    expect(resolutionOf("pm.pm25")).to.equal(0.1);
    expect(resolutionOf("bin.distance")).to.equal(1);
  });

  it("min and max are readings and the mean lies between them, for readings at any resolution", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("bin.fill", "pm.pm25", "bin.distance", "lamp.lampCurrent", "noise.LAeq", "x.other"),
        fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 4 }),
        (name, raw, decimals) => {
          const values = raw.map((v) => Math.round(v * 10 ** decimals) / 10 ** decimals);
          const w = newWindow(0);
          for (const v of values) fold(w, { name, unit: name === "noise.LAeq" ? "dB" : "u", value: v });
          const s = summarize(sleep(w));
          const min = find(s, name + ".min"), max = find(s, name + ".max"), mean = find(s, name + ".mean");
          expect(min).to.equal(Math.min(...values));
          expect(max).to.equal(Math.max(...values));
          expect(mean).to.be.within(min, max);
        },
      ),
    );
  });

  it("keeps count/mean/min/max for other quantities, max of LAmax and min of LAmin", () => {
    const w = newWindow(1768464000000);
    for (const v of [10, 20, 60]) fold(w, { name: "pm.pm25", unit: "ug/m3", value: v });
    for (const v of [71, 84.5, 78]) fold(w, db("noise.LAmax", v));
    for (const v of [41, 38.5, 45]) fold(w, db("noise.LAmin", v));
    fold(w, { name: "pm.pm25", unit: "ug/m3", value: NaN });
    const s = summarize(sleep(w));
    expect(find(s, "pm.pm25.mean")).to.equal(30);
    expect(find(s, "pm.pm25.min")).to.equal(10);
    expect(find(s, "pm.pm25.max")).to.equal(60);
    expect(find(s, "noise.LAmax.max")).to.equal(84.5);
    expect(find(s, "noise.LAmin.min")).to.equal(38.5);
    expect(find(s, "noise.LAmax.mean")).to.equal(undefined);
    expect(s.every((e) => e[3] === 1768464000)).to.equal(true);
  });

  it("L10/L50/L90 from the 0.5 dB histogram are within a bin of the exact percentiles", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 25, max: 135, noNaN: true }), { minLength: 1, maxLength: 400 }), (levels) => {
        let w = newWindow(0);
        for (const l of levels) fold(w, db("LAeq", l));
        w = sleep(w);
        const sorted = [...levels].sort((a, b) => a - b);
        // nearest-rank percentile: the level exceeded by N % of the samples
        const exact = (exceed: number) => sorted[Math.max(1, Math.ceil(((100 - exceed) / 100) * sorted.length)) - 1];
        const s = summarize(w);
        for (const [n, exceed] of [["LAeq.L10", 10], ["LAeq.L50", 50], ["LAeq.L90", 90]] as const) {
          expect(Math.abs(find(s, n) - exact(exceed)), n).to.be.at.most(0.25 + 1e-9);
        }
        expect(find(s, "LAeq.L10")).to.be.at.least(find(s, "LAeq.L50"));
        expect(find(s, "LAeq.L50")).to.be.at.least(find(s, "LAeq.L90"));
      }),
    );
  });

  it("a hand-made histogram: L10 is the peak level, L90 the background", () => {
    // 100 samples: 80 at 50 dB, 10 at 60 dB, 10 at 90 dB
    const h: { [b: string]: number } = { [histBin(50)]: 80, [histBin(60)]: 10, [histBin(90)]: 10 };
    expect(exceededLevel(h, 100, 90)).to.equal(50.25);
    expect(exceededLevel(h, 100, 50)).to.equal(50.25);
    expect(exceededLevel(h, 100, 10)).to.equal(60.25);
    expect(exceededLevel(h, 100, 5)).to.equal(90.25);
    // out-of-range levels land in the end bins
    expect(histBin(5)).to.equal(0);
    expect(histBin(200)).to.equal(239);
  });

  it("Lden: the directive's formula on a worked example", () => {
    // Ld 70, Le 65, Ln 55: (12*10^7 + 4*10^7 + 8*10^6.5) / 24 = 7.7208e6 -> 68.877 dB
    expect(lden(70, 65, 55)).to.be.closeTo(10 * Math.log10((12 * 1e7 + 4 * 1e7 + 8 * Math.pow(10, 6.5)) / 24), 1e-9);
    expect(lden(70, 65, 55)).to.be.closeTo(68.877, 0.001);
    // evening and night penalties of 5 and 10 dB make these equal to the day level
    expect(lden(60, 55, 50)).to.be.closeTo(60, 1e-9);
    expect([0, 6, 7, 18, 19, 22, 23].map(ldenPeriod)).to.deep.equal([2, 2, 0, 0, 1, 1, 2]);
  });

  it("Lden over a local day (UTC+1): samples split into day/evening/night by local hour", () => {
    const holder: { day: DayAcc | null } = { day: null };
    const tz = 60;
    // local day 2026-01-15 starts at 2026-01-14T23:00Z
    const start = Date.UTC(2026, 0, 14, 23, 0);
    const level = (localHour: number) => (localHour >= 7 && localHour < 19 ? 70 : localHour >= 19 && localHour < 23 ? 65 : 55);
    for (let m = 0; m < 24 * 60; m += 10) {
      const r = foldDay(holder, start + m * 60000, level(Math.floor(m / 60)), tz);
      expect(r).to.equal(null);
      holder.day = sleep(holder.day);
    }
    const done = foldDay(holder, start + 24 * 3600000, 50, tz)!;
    expect(done.t).to.equal(start);
    expect(done.ld).to.be.closeTo(70, 1e-9);
    expect(done.le).to.be.closeTo(65, 1e-9);
    expect(done.ln).to.be.closeTo(55, 1e-9);
    expect(done.lden).to.be.closeTo(68.877, 0.001);
    const es = dayEntries(done, "noise.");
    expect(es.map((e) => e[0])).to.deep.equal(["noise.Lday", "noise.Levening", "noise.Lnight", "noise.Lden"]);
    expect(es[3][2]).to.equal(68.9);
    expect(es[0][3]).to.equal(start / 1000);
  });

  it("a day with a period missing has no Lden", () => {
    const holder: { day: DayAcc | null } = { day: null };
    foldDay(holder, Date.UTC(2026, 0, 15, 12), 60, 0);
    const done = foldDay(holder, Date.UTC(2026, 0, 16, 12), 60, 0)!;
    expect(done.lden).to.be.NaN;
    expect(dayEntries(done, "").map((e) => e[0])).to.deep.equal(["Lday"]);
  });
});
