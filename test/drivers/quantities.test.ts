// The quantity table (drivers/quantities.ts): well formed, and covering every reading a driver
// makes, drivers no board fits today included. What each board's bundle publishes is checked
// against it in test/boards/bundle-sim.test.ts.
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { QUANTITIES, resolutionOf, roundTo, DEFAULT_RES } from "../../drivers/quantities.js";

const DRIVERS = fileURLToPath(new URL("../../drivers/", import.meta.url));

describe("quantity table", () => {
  it("each row: an ASCII unit, a resolution of 10^-n (n <= 3, what SenML carries), a range min < max on its grid", () => {
    for (const [name, q] of Object.entries(QUANTITIES)) {
      expect(q.unit, name).to.match(/^[\x21-\x7e]+$/);
      expect([1, 0.1, 0.01, 0.001], name).to.include(q.res);
      expect(q.res, name).to.be.at.least(DEFAULT_RES);
      expect(q.min, name).to.be.below(q.max);
      expect(roundTo(q.min, q.res), name).to.equal(q.min);
      expect(roundTo(q.max, q.res), name).to.equal(q.max);
      expect(resolutionOf("dev." + name), name).to.equal(q.res);
    }
  });

  it("covers every reading name a driver makes, and no driver writes a unit of its own", () => {
    const found = new Map<string, string>();
    for (const file of readdirSync(DRIVERS).filter((f) => f.endsWith(".ts"))) {
      const src = readFileSync(DRIVERS + file, "utf8");
      let n = 0;
      // readings are made by reading("pm25", v) (drivers/types.ts), which takes the unit from the table
      for (const m of src.matchAll(/\breading\("(\w+)"/g)) {
        n++;
        expect(QUANTITIES[m[1]], `${file}: reading "${m[1]}"`).to.not.equal(undefined);
        found.set(m[1], file);
      }
      // no Reading written by hand with its own unit
      expect(src, `${file}: a reading literal with its own unit`).to.not.match(/\{\s*name:\s*"\w+",\s*unit:/);
      // a driver that builds its readings inline must be seen doing so (else this test checks nothing of it)
      if (/okResult\(\[/.test(src)) expect(n, `${file}: reading literals found`).to.be.above(0);
    }
    expect([...found.keys()]).to.include.members(["pm1", "pm25", "pm10", "LAeq", "LAmin", "LAmax", "distance", "fill", "relay", "lampCurrent"]);
  });
});
