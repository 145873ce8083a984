import { expect } from "chai";
import fc from "fast-check";
import { Sen0232, sen0232Result, SEN0232_WARMUP_MS } from "../../drivers/sen0232.js";
import type { Sen0232Options } from "../../drivers/sen0232.js";
import type { SensorResult } from "../../drivers/types.js";
import { createSen0232 } from "../../sim/devices/sen0232.js";
import type { SimDevice } from "../../sim/devices/types.js";
import type { DeviceSpec } from "../../firmware/board.js";
import { settle, runFor } from "../support/virtual-time.js";
import { leq, noiseRig } from "./fixtures/noise.js";
import type { LevelFn, NoiseRig } from "./fixtures/noise.js";

const PIN = "D35";
const POWER = "D27";

function spec(power = false): DeviceSpec {
  return {
    name: "noise",
    model: "sen0232",
    bus: { kind: "pins", pins: { out: PIN } },
    power: power ? { pin: POWER, activeHigh: true } : undefined,
    currentMa: { on: 3, off: 0 },
  };
}

const value = (r: SensorResult, name: string) => {
  const found = r.readings.find((x) => x.name === name);
  if (!found) throw new Error(`no ${name} in ${JSON.stringify(r)}`);
  return found.value;
};

describe("sen0232: conversion (pure)", () => {
  it("turns volts into dBA at 50 dB/V (datasheet) with LAeq/LAmin/LAmax", () => {
    const r = sen0232Result([1.2, 1.2, 1.2, 1.2], 0);
    expect(r.ok).to.equal(true);
    expect(r.readings).to.deep.equal([
      { name: "LAeq", unit: "dB", value: 60 },
      { name: "LAmin", unit: "dB", value: 60 },
      { name: "LAmax", unit: "dB", value: 60 },
    ]);
    // the range ends of the datasheet: 0.6 V = 30 dBA, 2.6 V = 130 dBA
    expect(value(sen0232Result([0.6, 2.6], 0), "LAmin")).to.equal(30);
    expect(value(sen0232Result([0.6, 2.6], 0), "LAmax")).to.equal(130);
  });

  it("averages energetically: one loud sample dominates", () => {
    // seven samples at 50 dBA (1.0 V), one at 90 dBA (1.8 V)
    const r = sen0232Result([1, 1, 1, 1, 1, 1, 1, 1.8], 0);
    expect(value(r, "LAeq")).to.be.closeTo(leq([50, 50, 50, 50, 50, 50, 50, 90]), 0.05);
    expect(value(r, "LAeq")).to.be.closeTo(81.0, 0.05); // arithmetic mean would say 55
    expect(value(r, "LAmin")).to.equal(50);
    expect(value(r, "LAmax")).to.equal(90);
  });

  it("adds the calibration offset after the range check", () => {
    const r = sen0232Result([1.2, 1.2], -2.5);
    expect(value(r, "LAeq")).to.equal(57.5);
    // 30 dBA with -3 dB offset is still a valid reading of the sensor
    expect(sen0232Result([0.6], -3).ok).to.equal(true);
  });

  it("reports 0 V on every sample as absent, any out-of-range sample as range", () => {
    expect(sen0232Result([0, 0.01, 0], 0).fault).to.equal("absent");
    expect(sen0232Result([1.2, 0, 1.2], 0).fault).to.equal("range"); // a loose contact
    expect(sen0232Result([1.2, 2.9, 1.2], 0).fault).to.equal("range"); // 145 dBA
    expect(sen0232Result([0.3], 0).fault).to.equal("range"); // 15 dBA
    expect(sen0232Result([NaN], 0).ok).to.equal(false);
    expect(sen0232Result([], 0).ok).to.equal(false);
  });

  it("never throws and only accepts windows inside 30-130 dBA (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1, max: 5 }), { maxLength: 20 }), (volts) => {
        const r = sen0232Result(volts, 0);
        const inside = volts.length > 0 && volts.every((v) => v * 50 >= 29 && v * 50 <= 131);
        expect(r.ok).to.equal(inside);
        if (!r.ok) expect(r.readings).to.deep.equal([]);
      }),
    );
  });
});

describe("sen0232: driver against its twin", () => {
  let rig: NoiseRig;
  let twin: SimDevice;

  function setup(level: LevelFn, options: Sen0232Options = {}, power = false, seed = 1) {
    rig = noiseRig(spec(power), level, seed);
    twin = createSen0232(rig.ctx);
    const driver = new Sen0232({ name: "noise", gpio: rig.gpio, pins: { out: PIN }, power: power ? { pin: POWER, activeHigh: true } : undefined, options });
    driver.configure();
    return driver;
  }

  afterEach(() => rig.restore());

  it("is read as soon as it is warm (its level is its own samples' mean), unless the board says the fan next to it is heard", () => {
    expect(setup(() => 60).readsWhenWarm).to.equal(true);
    rig.restore();
    expect(setup(() => 60, { readDuringWarmUp: false }).readsWhenWarm).to.equal(false);
  });

  it("reads the world's level within ADC resolution", async () => {
    const driver = setup(() => 63.2);
    await runFor(rig.clock, 500);
    const r = await settle(rig.clock, driver.read());
    expect(r.ok).to.equal(true);
    expect(value(r, "LAeq")).to.be.closeTo(63.2, 0.15);
    expect(driver.counters.framesOk).to.equal(1);
    expect(driver.counters.lastGoodMs).to.equal(rig.clock.now());
  });

  it("samples every 125 ms for the configured count: the window takes (n-1) x 125 ms", async () => {
    const driver = setup(() => 60, { samples: 40 });
    await runFor(rig.clock, 500);
    const start = rig.clock.now();
    await settle(rig.clock, driver.read());
    expect(rig.clock.now() - start).to.equal(39 * 125);
  });

  it("gives the energetic LAeq of a window with a loud event, far from the arithmetic mean", async () => {
    // 45 dBA street, a 92 dBA horn for 300 ms in the middle of a 2 s window
    const horn = (t: number) => (t >= 1800 && t < 2100 ? 92 : 45);
    const driver = setup(horn, { samples: 16 });
    await runFor(rig.clock, 1000);
    const r = await settle(rig.clock, driver.read());
    // what the driver saw: the level at each sample time (twin updates every 50 ms)
    const seen: number[] = [];
    for (let i = 0; i < 16; i++) seen.push(horn(Math.floor((1000 + i * 125) / 50) * 50));
    expect(value(r, "LAeq")).to.be.closeTo(leq(seen), 0.2);
    expect(value(r, "LAeq")).to.be.greaterThan(75);
    expect(seen.reduce((a, b) => a + b) / seen.length).to.be.lessThan(60);
    expect(value(r, "LAmax")).to.be.closeTo(92, 0.15);
    expect(value(r, "LAmin")).to.be.closeTo(45, 0.15);
  });

  it("applies the board calibration (full scale, gain, offset)", async () => {
    setup(() => 70);
    await runFor(rig.clock, 500);
    expect(rig.pins.analogRead(PIN) * 3.3).to.be.closeTo(1.4, 0.002); // 70 dBA / 50
    // a 1:2 divider in front of the pin, undone by gain 2; offset corrects +1 dB
    const divided = { ...rig.gpio, analog: (p: PinRef) => rig.gpio.analog(p) / 2 };
    const r = await settle(rig.clock, new Sen0232({ name: "noise", gpio: divided, pins: { out: PIN }, options: { gain: 2, offsetDb: 1 } }).read());
    expect(value(r, "LAeq")).to.be.closeTo(71, 0.15);
    // an ADC whose full scale is really 3.1 V: the raw fraction means less voltage
    const r2 = await settle(rig.clock, new Sen0232({ name: "noise", gpio: rig.gpio, pins: { out: PIN }, options: { fullScaleV: 3.1 } }).read());
    expect(value(r2, "LAeq")).to.be.closeTo(70 * (3.1 / 3.3), 0.15);
  });

  it("reports an unplugged sensor as absent and counts it", async () => {
    const driver = setup(() => 60);
    twin.faults.unplugged = true;
    await runFor(rig.clock, 100);
    const r = await settle(rig.clock, driver.read());
    expect(r.fault).to.equal("absent");
    expect(driver.counters.timeouts).to.equal(1);
    expect(twin.currentMa()).to.equal(0);
  });

  it("reports analog garbage as a range fault and counts it", async () => {
    const driver = setup(() => 60, {}, false, 7);
    twin.faults.garbage = true;
    for (let i = 0; i < 5; i++) {
      const r = await settle(rig.clock, driver.read());
      expect(r.ok, JSON.stringify(r)).to.equal(false);
      expect(r.fault).to.equal("range");
    }
    expect(driver.counters.rangeErrors).to.equal(5);
    expect(driver.counters.framesOk).to.equal(0);
  });

  it("keeps reporting the frozen level when the sensor is stuck", async () => {
    const driver = setup(() => 55);
    await runFor(rig.clock, 300);
    twin.faults.stuck = true;
    rig.setLevel(() => 85);
    await runFor(rig.clock, 300);
    const r = await settle(rig.clock, driver.read());
    expect(value(r, "LAeq")).to.be.closeTo(55, 0.15);
  });

  it("switches power: off, warming, then settled readings", async () => {
    const driver = setup(() => 66, {}, true);
    driver.powerOff();
    await runFor(rig.clock, 1000);
    expect(twin.active()).to.equal(false);
    expect(twin.currentMa()).to.equal(0);
    expect(rig.pins.analogRead(PIN)).to.equal(0);
    expect((await driver.read()).fault).to.equal("off");

    driver.powerOn();
    expect(twin.active()).to.equal(true);
    expect(twin.currentMa()).to.equal(3);
    expect((await driver.read()).fault).to.equal("warming");
    // the output is still rising with the 125 ms time constant: early raw samples read low
    await runFor(rig.clock, 100);
    expect(rig.pins.analogRead(PIN) * 3.3 * 50).to.be.lessThan(60);

    await runFor(rig.clock, SEN0232_WARMUP_MS);
    const r = await settle(rig.clock, driver.read());
    expect(r.ok).to.equal(true);
    expect(value(r, "LAeq")).to.be.closeTo(66, 0.15);
  });

  it("resolves a read cut short by powerOff with 'off', and shares a read in flight", async () => {
    const driver = setup(() => 60, { samples: 8 }, true);
    const a = driver.read();
    const b = driver.read();
    expect(a).to.equal(b);
    await runFor(rig.clock, 300);
    driver.powerOff();
    expect((await a).fault).to.equal("off");
    expect(rig.clock.pending()).to.equal(0); // the sampling timer is gone, the twin is unpowered
  });
});
