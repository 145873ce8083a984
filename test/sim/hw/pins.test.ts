import { expect } from "chai";
import { VirtualClock } from "../../../sim/clock.js";
import { PinBank } from "../../../sim/hw/pins.js";

describe("PinBank", () => {
  it("reports edges with virtual times to watches, honouring the edge filter", () => {
    const clock = new VirtualClock(10_000);
    const pins = new PinBank(clock);
    const seen: Array<[boolean, number, number]> = [];
    pins.setWatch((e) => seen.push([e.state, e.time, e.lastTime]), "D14", { repeat: true, edge: "both" });
    clock.advance(5);
    pins.drive("D14", true);
    clock.advance(2.5);
    pins.drive("D14", false);
    expect(seen).to.deep.equal([
      [true, 10.005, 10],
      [false, 10.0075, 10.005],
    ]);
  });

  it("a pulled-up pin driven low by the MCU is an edge for the device", () => {
    const pins = new PinBank(new VirtualClock(0));
    const edges: boolean[] = [];
    pins.pull("D25", true);
    pins.onChange("D25", (high) => edges.push(high));
    expect(pins.level("D25")).to.equal(true);
    pins.digitalWrite("D25", 0);
    expect(edges).to.deep.equal([false]);
  });

  it("releases an MCU-driven pin on reset, back to its pull, as a chip reset does", () => {
    const pins = new PinBank(new VirtualClock(0));
    const edges: boolean[] = [];
    pins.onChange("D25", (high) => edges.push(high));
    pins.digitalWrite("D25", 1);
    pins.drive("D14", true); // a device's output is not the MCU's to release
    pins.release("D25");
    pins.release("D14");
    expect(edges).to.deep.equal([true, false]);
    expect(pins.level("D14")).to.equal(true);
    expect(pins.driven("D25")).to.equal(false);
  });

  it("digitalPulse drives the level for the given time, then the opposite", () => {
    const clock = new VirtualClock(0);
    const pins = new PinBank(clock);
    const edges: Array<[boolean, number]> = [];
    pins.onChange("D13", (high, t) => edges.push([high, t]));
    pins.digitalPulse("D13", 1, 0.01);
    clock.advance(1);
    expect(edges).to.deep.equal([
      [true, 0],
      [false, 0.01],
    ]);
  });
});
