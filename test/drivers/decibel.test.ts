import { expect } from "chai";
import fc from "fast-check";
import {
  dbToEnergy, energeticMean, energeticWeightedMean, energyToDb, log10, roundDb, splFromPressure,
} from "../../drivers/decibel.js";

describe("decibel helpers", () => {
  it("log10 matches Math.log10 without using it", () => {
    for (const x of [1e-9, 0.5, 1, 2, 10, 1234.5, 1e12]) expect(log10(x)).to.be.closeTo(Math.log10(x), 1e-12);
  });

  it("converts between levels and energy", () => {
    expect(dbToEnergy(30)).to.be.closeTo(1000, 1e-9);
    expect(energyToDb(1e6)).to.be.closeTo(60, 1e-12);
    // 1 Pa RMS is 93.98 dB SPL; 20 uPa is 0 dB
    expect(splFromPressure(1)).to.be.closeTo(93.979, 0.001);
    expect(splFromPressure(20e-6)).to.be.closeTo(0, 1e-9);
  });

  it("averages energetically, not arithmetically", () => {
    // two equal sources add 3 dB; a 90 dB second in a quiet minute dominates it
    expect(energeticMean([60, 60])).to.be.closeTo(60, 1e-12);
    expect(energeticMean([60, 70])).to.be.closeTo(67.404, 0.001);
    const minute = [...new Array(59).fill(40), 90];
    expect(energeticMean(minute)).to.be.closeTo(72.22, 0.01);
    expect(minute.reduce((a, b) => a + b) / 60).to.be.closeTo(40.83, 0.01);
  });

  it("weights by duration", () => {
    // 50 dB for 9 s and 80 dB for 1 s: 10*log10((9*1e5 + 1e8) / 10)
    expect(energeticWeightedMean([50, 80], [9, 1])).to.be.closeTo(70.04, 0.01);
    expect(energeticWeightedMean([50, 80], [1, 1])).to.be.closeTo(energeticMean([50, 80]), 1e-12);
  });

  it("gives NaN for nothing or garbage, never throws", () => {
    expect(energeticMean([])).to.be.NaN;
    expect(energeticMean([60, NaN])).to.be.NaN;
    expect(energeticWeightedMean([60], [0])).to.be.NaN;
  });

  it("stays between min and max and keeps precision far from 0 dB (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -50, max: 400, noNaN: true }), { minLength: 1, maxLength: 50 }), (levels) => {
        const m = energeticMean(levels);
        expect(m).to.be.at.least(Math.min(...levels) - 1e-9);
        expect(m).to.be.at.most(Math.max(...levels) + 1e-9);
        // loudest one dominates: at most 10*log10(n) below it
        expect(m).to.be.at.least(Math.max(...levels) - 10 * Math.log10(levels.length) - 1e-9);
      }),
    );
  });

  it("rounds to 0.1 dB", () => {
    expect(roundDb(63.449)).to.equal(63.4);
    expect(roundDb(63.45000001)).to.equal(63.5);
  });
});
