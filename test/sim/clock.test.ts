import { expect } from "chai";
import { VirtualClock } from "../../sim/clock.js";

describe("VirtualClock", () => {
  it("runs timers in time order and moves time only when advanced", () => {
    const clock = new VirtualClock(1000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push("b@" + clock.now()), 20);
    clock.setTimeout(() => seen.push("a@" + clock.now()), 10);
    const c = clock.setTimeout(() => seen.push("never"), 15);
    clock.clearTimeout(c);
    expect(clock.now()).to.equal(1000);
    clock.advance(25);
    expect(seen).to.deep.equal(["a@1010", "b@1020"]);
    expect(clock.now()).to.equal(1025);
  });

  it("keeps insertion order for timers due at the same instant", () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) clock.setTimeout(() => seen.push(i), 5);
    clock.advance(5);
    expect(seen).to.deep.equal([...Array(50).keys()]);
  });
});
