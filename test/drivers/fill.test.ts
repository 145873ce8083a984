import { expect } from "chai";
import fc from "fast-check";
import { median, fillFraction, binReadings } from "../../drivers/fill.js";

describe("fill: median", () => {
  it("takes the middle value, or the mean of the middle two", () => {
    expect(median([5, 1, 3])).to.equal(3);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([7])).to.equal(7);
    expect(median([])).to.be.NaN;
  });

  it("ignores one wild ping among five", () => {
    expect(median([812, 809, 30, 811, 810])).to.equal(810);
    expect(median([812, 809, 4500, 811, 810])).to.equal(811);
  });

  it("does not reorder its input", () => {
    const v = [3, 1, 2];
    median(v);
    expect(v).to.deep.equal([3, 1, 2]);
  });

  it("is order-independent and splits the values in half", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: 1, maxLength: 40 }), (vs) => {
        const m = median(vs);
        const reversed = median(vs.slice().reverse());
        const below = vs.filter((v) => v <= m).length;
        const above = vs.filter((v) => v >= m).length;
        return m === reversed && below >= vs.length / 2 && above >= vs.length / 2 && m >= Math.min(...vs) && m <= Math.max(...vs);
      }),
    );
  });

  it("of an odd count is one of the values", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 21 }).filter((a) => a.length % 2 === 1), (vs) =>
        vs.includes(median(vs)),
      ),
    );
  });
});

describe("fill: fillFraction", () => {
  it("maps empty depth to 0, full depth to 1, linearly between", () => {
    expect(fillFraction(1000, 1000, 200)).to.equal(0);
    expect(fillFraction(200, 1000, 200)).to.equal(1);
    expect(fillFraction(600, 1000, 200)).to.equal(0.5);
    expect(fillFraction(800, 1000, 200)).to.be.closeTo(0.25, 1e-12);
  });

  it("clamps beyond the depths", () => {
    expect(fillFraction(1200, 1000, 200)).to.equal(0); // floor further than configured
    expect(fillFraction(50, 1000, 200)).to.equal(1); // heaped above the full line
  });

  it("refuses depths that make no sense", () => {
    expect(fillFraction(500, 200, 1000)).to.be.NaN;
    expect(fillFraction(500, 500, 500)).to.be.NaN;
    expect(fillFraction(NaN, 1000, 200)).to.be.NaN;
  });

  it("stays in 0..1 and falls as the distance grows", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 0, max: 6000 }),
        fc.integer({ min: 0, max: 6000 }),
        (full, span, d1, d2) => {
          const empty = full + span;
          const f1 = fillFraction(d1, empty, full);
          const f2 = fillFraction(d2, empty, full);
          const inRange = f1 >= 0 && f1 <= 1 && f2 >= 0 && f2 <= 1;
          return inRange && (d1 <= d2 ? f1 >= f2 : f1 <= f2);
        },
      ),
    );
  });
});

describe("fill: binReadings", () => {
  it("gives distance only without bin depths", () => {
    expect(binReadings(812.4, {})).to.deep.equal([{ name: "distance", unit: "mm", value: 812 }]);
  });

  it("adds fill as a ratio when both depths are configured", () => {
    expect(binReadings(600, { emptyDepthMm: 1000, fullDepthMm: 200 })).to.deep.equal([
      { name: "distance", unit: "mm", value: 600 },
      { name: "fill", unit: "/", value: 0.5 },
    ]);
    expect(binReadings(733, { emptyDepthMm: 1000, fullDepthMm: 200 })[1].value).to.equal(0.334);
  });

  it("leaves fill out when only one depth or bad depths are given", () => {
    expect(binReadings(600, { emptyDepthMm: 1000 })).to.have.length(1);
    expect(binReadings(600, { emptyDepthMm: 100, fullDepthMm: 200 })).to.have.length(1);
  });
});
