// The DNMS twin's interval levels, bit for bit against the sensor's arithmetic done the long
// way (every ~93 ms frame the energetic mean of 4 looks at the world, the interval the
// energetic mean of its frames): the twin takes shortcuts on a step-shaped world and must
// not change a single bit of what the firmware reads.

import { expect } from "chai";
import { VirtualClock } from "../../../sim/clock.js";
import { PinBank } from "../../../sim/hw/pins.js";
import { SimI2C } from "../../../sim/hw/i2c.js";
import { createDnms, DNMS_FRAME_MS } from "../../../sim/devices/dnms.js";
import { createWorld } from "../../../sim/world/index.js";
import { energeticMean } from "../../../drivers/decibel.js";
import { stubWorld } from "../../support/node-fixture.js";
import type { WorldModel } from "../../../sim/world/types.js";

const ADDRESS = 0x55;
const BOOT_MS = 400;

/** frame level, interval LAeq/min/max as the sensor works them out, with no shortcut */
function longWay(world: WorldModel, cursor: { t: number }, until: number): { leq: number; min: number; max: number } {
  let sum = 0, n = 0, min = 0, max = 0;
  for (; cursor.t + DNMS_FRAME_MS <= until; cursor.t += DNMS_FRAME_MS) {
    const t = cursor.t;
    const levels: number[] = [];
    for (let i = 0; i < 4; i++) levels.push(world.noiseDb(t + ((i + 0.5) * DNMS_FRAME_MS) / 4));
    const level = energeticMean(levels);
    sum += Math.pow(10, level / 10);
    min = n ? Math.min(min, level) : level;
    max = n ? Math.max(max, level) : level;
    n++;
  }
  return { leq: Math.fround(10 * Math.log10(sum / n)), min: Math.fround(min), max: Math.fround(max) };
}

function command(bus: SimI2C, cmd: number): void {
  bus.writeTo(ADDRESS, [cmd >> 8, cmd & 0xff]);
}

/** read LAeq, LAmin, LAmax (three float32 values as two CRC'd words each) */
function readLeq(bus: SimI2C): { leq: number; min: number; max: number } {
  command(bus, 5);
  const b = bus.readFrom(ADDRESS, 18);
  const view = new DataView(new ArrayBuffer(4));
  const f = (k: number) => {
    view.setUint8(0, b[k * 6]);
    view.setUint8(1, b[k * 6 + 1]);
    view.setUint8(2, b[k * 6 + 3]);
    view.setUint8(3, b[k * 6 + 4]);
    return view.getFloat32(0, false);
  };
  return { leq: f(0), min: f(1), max: f(2) };
}

/** a DNMS on its own bus, always powered, reset at `resetAt`, closing intervals every `everyMs` */
function intervals(world: WorldModel, resetAt: number, everyMs: number, count: number) {
  const clock = new VirtualClock(0);
  const bus = new SimI2C("I2C1");
  bus.setup();
  createDnms({
    clock, pins: new PinBank(clock), i2c: bus, world, rng: () => 0.5,
    spec: { name: "noise", model: "dnms", bus: { kind: "i2c", port: "I2C1", scl: "D22", sda: "D21", address: ADDRESS }, currentMa: { on: 30, off: 0 } },
  });
  clock.runUntil(resetAt);
  command(bus, 1);
  const t0 = BOOT_MS;
  const cursor = { t: t0 + Math.floor((resetAt - t0) / DNMS_FRAME_MS) * DNMS_FRAME_MS };
  const got = [], want = [];
  for (let k = 1; k <= count; k++) {
    const at = resetAt + k * everyMs;
    clock.runUntil(at);
    command(bus, 3); // calculate: the interval closes with the frames ended 1 ms later
    want.push(longWay(world, cursor, at + 1));
    clock.runUntil(at + 2);
    got.push(readLeq(bus));
  }
  return { got, want };
}

describe("DNMS twin: interval levels", () => {
  it("are bit for bit the long way's on the street's noise (steps of 125 ms, events)", () => {
    // an afternoon hour with traffic events: frames within one step and frames across steps
    const world = createWorld(5);
    expect(world.noiseSlotMs, "the world says it steps: the twin asks once per frame within a slot").to.equal(125);
    const { got, want } = intervals(world, 14 * 3_600_000 + 1234.5, 60_000, 30);
    expect(got).to.deep.equal(want);
    expect(new Set(got.map((g) => g.max)).size, "the levels vary").to.be.greaterThan(5);
  });

  it("are the long way's on a world that changes within every frame", () => {
    const world: WorldModel = { ...stubWorld, noiseDb: (t) => 60 + 10 * Math.sin(t / 37) + 5 * Math.sin(t / 5000) };
    const { got, want } = intervals(world, 5_000, 10_000, 6);
    expect(got).to.deep.equal(want);
  });

  it("read the steady level itself on a steady world", () => {
    const { got } = intervals(stubWorld, 5_000, 10_000, 2);
    expect(got).to.deep.equal([{ leq: 55, min: 55, max: 55 }, { leq: 55, min: 55, max: 55 }]);
  });
});
