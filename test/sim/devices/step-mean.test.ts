// The twins' energetic mean by runs is drivers/decibel.ts energeticMean, bit for bit.

import { expect } from "chai";
import fc from "fast-check";
import { stepEnergeticMean } from "../../../sim/devices/step-mean.js";
import { energeticMean } from "../../../drivers/decibel.js";

const same = (a: number, b: number) => Object.is(a, b);

describe("stepEnergeticMean", () => {
  it("is energeticMean bit for bit on levels in runs, odd values included", () => {
    const level = fc.oneof(
      { weight: 8, arbitrary: fc.double({ min: 20, max: 140, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1e-300, -5) },
    );
    const runs = fc.array(fc.tuple(level, fc.integer({ min: 1, max: 6 })), { maxLength: 12 });
    fc.assert(
      fc.property(runs, (rs) => {
        const levels = rs.flatMap(([l, n]) => Array<number>(n).fill(l));
        expect(same(stepEnergeticMean(levels), energeticMean(levels)), JSON.stringify(levels)).to.equal(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("takes the first n levels only", () => {
    expect(stepEnergeticMean([60, 60, 90], 2)).to.equal(60);
    expect(stepEnergeticMean([60, 70, 90], 2)).to.equal(energeticMean([60, 70]));
    expect(Number.isNaN(stepEnergeticMean([60], 0))).to.equal(true);
  });
});
