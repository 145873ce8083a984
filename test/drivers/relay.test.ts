import { expect } from "chai";
import fc from "fast-check";
import { Relay, rmsAround } from "../../drivers/relay.js";
import type { RelayOptions } from "../../drivers/relay.js";
import { RelayTwin, RELAY_COIL_MA, ACS712_MA, SENSE_NOISE_V } from "../../sim/devices/relay.js";
import type { RelayTwinOptions } from "../../sim/devices/relay.js";
import { PinBank, gpioFor } from "../../sim/hw/pins.js";
import type { WorldModel } from "../../sim/world/types.js";
import { createRng } from "../../sim/random.js";
import type { DeviceSpec } from "../../firmware/board.js";
import { installVirtualTime, settle, runFor } from "../support/virtual-time.js";
import type { VirtualTime } from "../support/virtual-time.js";

describe("relay: rmsAround", () => {
  it("of a constant is its distance from the zero", () => {
    expect(rmsAround([2.6, 2.6, 2.6], 2.5)).to.be.closeTo(0.1, 1e-12);
    expect(rmsAround([2.4, 2.4], 2.5)).to.be.closeTo(0.1, 1e-12);
    expect(rmsAround([], 2.5)).to.be.NaN;
  });

  it("of a sine sampled evenly over whole cycles is amplitude / sqrt 2, whatever the phase", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        fc.integer({ min: 3, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (amp, phase, n, cycles) => {
          // n samples spanning `cycles` periods: exact unless n divides 2 * cycles (aliasing)
          fc.pre(n > 2 * cycles);
          const v = Array.from({ length: n }, (_, i) => 2.5 + amp * Math.sin(phase + (2 * Math.PI * cycles * i) / n));
          return Math.abs(rmsAround(v, 2.5) - amp / Math.SQRT2) < 1e-9;
        },
      ),
    );
  });
});

const RELAY = "D26";
const SENSE = "D34";

interface Rig {
  vt: VirtualTime;
  pins: PinBank;
  world: { lampA: number };
  twin: RelayTwin;
  driver: Relay;
  read(): ReturnType<Relay["read"]>;
}

function rig(opts: { options?: RelayOptions; sense?: boolean; twin?: RelayTwinOptions; seed?: number } = {}): Rig {
  const vt = installVirtualTime();
  const clock = vt.clock;
  const pins = new PinBank(clock);
  const state = { lampA: 0.45 }; // a 100 W LED lantern on 230 V
  const world: WorldModel = {
    pm: () => ({ pm1: 0, pm25: 0, pm10: 0 }),
    noiseDb: () => 50,
    binDistanceMm: () => 800,
    temperatureC: () => 20,
    lampCurrentA: () => state.lampA,
    daylightLux: () => 0,
  };
  const sense = opts.sense !== false;
  // ACS712-05B on 5 V through a 10k/20k divider: zero 2.5 V at the sensor, 1.67 V at the pin
  const options: RelayOptions = { activeLow: true, sensitivityVPerA: 0.185, zeroV: 2.5, dividerRatio: 2 / 3, ...opts.options };
  const spec: DeviceSpec = {
    name: "lamp",
    model: "relay",
    bus: { kind: "pins", pins: sense ? { relay: RELAY, sense: SENSE } : { relay: RELAY } },
    currentMa: { on: 80, off: 10 },
    options,
  };
  const twin = new RelayTwin({ clock, pins, spec, world, rng: createRng(opts.seed ?? 5) }, opts.twin);
  const driver = new Relay({ name: "lamp", gpio: gpioFor(pins), pins: sense ? { relay: RELAY, sense: SENSE } : { relay: RELAY }, options });
  return { vt, pins, world: state, twin, driver, read: () => settle(clock, driver.read()) };
}

const value = (res: Awaited<ReturnType<Relay["read"]>>, name: string) => res.readings.find((r) => r.name === name)?.value;

describe("relay: driver against its simulated twin", () => {
  let r: Rig | undefined;
  afterEach(() => r?.vt.restore());

  it("active-low module: on drives the pin low, off high; configure leaves it off", () => {
    r = rig({ options: { activeLow: true } });
    expect(r.twin.energised()).to.equal(false); // undriven input: the module's pull keeps it off
    r.driver.configure();
    expect(r.pins.level(RELAY)).to.equal(true);
    expect(r.twin.energised()).to.equal(false);
    r.driver.set(true);
    expect(r.pins.level(RELAY)).to.equal(false);
    expect(r.twin.energised()).to.equal(true);
    expect(r.twin.contactsClosed()).to.equal(true);
    expect(r.driver.isOn()).to.equal(true);
    r.driver.set(false);
    expect(r.pins.level(RELAY)).to.equal(true);
    expect(r.twin.contactsClosed()).to.equal(false);
  });

  it("active-high module: on drives the pin high", () => {
    r = rig({ options: { activeLow: false } });
    r.driver.configure();
    expect(r.pins.level(RELAY)).to.equal(false);
    expect(r.twin.energised()).to.equal(false);
    r.driver.set(true);
    expect(r.pins.level(RELAY)).to.equal(true);
    expect(r.twin.energised()).to.equal(true);
  });

  it("the twin draws coil current only when energised, plus the ACS712", () => {
    r = rig();
    r.driver.configure();
    expect(r.twin.currentMa()).to.equal(ACS712_MA);
    r.driver.set(true);
    expect(r.twin.currentMa()).to.equal(RELAY_COIL_MA + ACS712_MA);
    expect(r.twin.active()).to.equal(true);
  });

  it("without a current sensor reports the relay state only", async () => {
    r = rig({ sense: false });
    r.driver.configure();
    expect((await r.read()).readings).to.deep.equal([{ name: "relay", unit: "/", value: 0 }]);
    r.driver.set(true);
    expect((await r.read()).readings).to.deep.equal([{ name: "relay", unit: "/", value: 1 }]);
  });

  it("measures the lamp current through the divider (DC-equivalent twin)", async () => {
    r = rig();
    r.driver.configure();
    let res = await r.read();
    expect(value(res, "relay")).to.equal(0);
    expect(value(res, "lampCurrent")).to.be.closeTo(0, 0.02);
    r.driver.set(true);
    await runFor(r.vt.clock, 2500);
    res = await r.read();
    expect(res.ok).to.equal(true);
    expect(value(res, "relay")).to.equal(1);
    expect(res.readings.find((x) => x.name === "lampCurrent")?.unit).to.equal("A");
    expect(value(res, "lampCurrent")).to.be.closeTo(0.45, 0.02);
    expect(res.alarms).to.equal(undefined);
  });

  it("measures the RMS of a real 50 Hz waveform", async () => {
    r = rig({ twin: { acHz: 50 } });
    r.driver.configure();
    r.driver.set(true);
    await runFor(r.vt.clock, 2100);
    const res = await r.read();
    expect(value(res, "lampCurrent")).to.be.closeTo(0.45, 0.02);
    expect(res.alarms).to.equal(undefined);
  });

  it("measures a 60 Hz waveform when told the mains frequency", async () => {
    r = rig({ twin: { acHz: 60 }, options: { mainsHz: 60 } });
    r.world.lampA = 1.2;
    r.driver.configure();
    r.driver.set(true);
    await runFor(r.vt.clock, 2100);
    expect(value(await r.read(), "lampCurrent")).to.be.closeTo(1.2, 0.03);
  });

  it("raises lamp-failure when the relay is on and no current flows, after the settle time", async () => {
    r = rig({ options: { settleMs: 2000 } });
    r.world.lampA = 0; // the lamp has failed
    r.driver.configure();
    r.driver.set(true);
    await runFor(r.vt.clock, 500);
    expect((await r.read()).alarms).to.equal(undefined); // too soon to judge
    await runFor(r.vt.clock, 2000);
    const res = await r.read();
    expect(res.ok).to.equal(true);
    expect(res.alarms).to.deep.equal(["lamp-failure"]);
    r.world.lampA = 0.45; // lamp replaced
    await runFor(r.vt.clock, 1000);
    expect((await r.read()).alarms).to.equal(undefined);
  });

  it("fault stuck: contacts stay closed after off, raising stuck-relay once settled", async () => {
    r = rig();
    r.driver.configure();
    r.driver.set(true);
    await runFor(r.vt.clock, 2500);
    r.twin.faults.stuck = true;
    r.driver.set(false);
    expect(r.twin.energised()).to.equal(false);
    expect(r.twin.contactsClosed()).to.equal(true);
    await runFor(r.vt.clock, 2500);
    const res = await r.read();
    expect(value(res, "relay")).to.equal(0);
    expect(value(res, "lampCurrent")).to.be.closeTo(0.45, 0.02);
    expect(res.alarms).to.deep.equal(["stuck-relay"]);
    r.twin.faults.stuck = false;
    await runFor(r.vt.clock, 1000);
    expect((await r.read()).alarms).to.equal(undefined);
  });

  it("fault stuck open: on, but no current: lamp-failure", async () => {
    r = rig();
    r.driver.configure();
    r.twin.faults.stuck = true;
    r.driver.set(true);
    await runFor(r.vt.clock, 2500);
    expect((await r.read()).alarms).to.deep.equal(["lamp-failure"]);
  });

  it("fault unplugged: the sense pin reads 0 V: absent", async () => {
    r = rig();
    r.driver.configure();
    r.twin.faults.unplugged = true;
    await runFor(r.vt.clock, 1000);
    const res = await r.read();
    expect(res.ok).to.equal(false);
    expect(res.fault).to.equal("absent");
    expect(r.twin.currentMa()).to.equal(0);
    expect(r.driver.counters.timeouts).to.equal(1);
  });

  it("fault garbage: a noisy sense line moves the reading by at most the noise", async () => {
    r = rig({ seed: 9 });
    r.driver.configure();
    r.driver.set(true);
    r.twin.faults.garbage = true;
    await runFor(r.vt.clock, 2500);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await r.read();
      expect(res.ok).to.equal(true);
      seen.push(value(res, "lampCurrent")!);
      expect(value(res, "lampCurrent")).to.be.closeTo(0.45, SENSE_NOISE_V / 0.185 + 0.01);
      expect(res.alarms).to.equal(undefined);
      await runFor(r.vt.clock, 1000);
    }
    expect(new Set(seen).size).to.be.greaterThan(1); // the noise is really there
  });

  it("fault badChecksum: nothing to check on an analog line, readings stay good", async () => {
    r = rig();
    r.twin.faults.badChecksum = true;
    r.driver.configure();
    r.driver.set(true);
    await runFor(r.vt.clock, 2500);
    expect(value(await r.read(), "lampCurrent")).to.be.closeTo(0.45, 0.02);
  });

  it("fault slowMs: contacts slower than the settle time look like a lamp failure until they close", async () => {
    r = rig({ options: { settleMs: 2000 } });
    r.driver.configure();
    r.twin.faults.slowMs = 3000;
    r.driver.set(true);
    await runFor(r.vt.clock, 2100);
    expect(r.twin.contactsClosed()).to.equal(false);
    expect((await r.read()).alarms).to.deep.equal(["lamp-failure"]);
    await runFor(r.vt.clock, 1000);
    expect(r.twin.contactsClosed()).to.equal(true);
    expect((await r.read()).alarms).to.equal(undefined);
  });

  it("gives a range fault when the sense output saturates the ADC", async () => {
    r = rig({ options: { dividerRatio: 1 } }); // no divider: 2.5 V + 0.185 V/A * 5 A > 3.3 V
    r.world.lampA = 5;
    r.driver.configure();
    r.driver.set(true);
    await runFor(r.vt.clock, 2500);
    const res = await r.read();
    expect(res.fault).to.equal("range");
    expect(r.driver.counters.rangeErrors).to.equal(1);
  });

  it("samples over two mains cycles (40 ms at 50 Hz) and shares one read between callers", async () => {
    r = rig();
    r.driver.configure();
    const t0 = r.vt.clock.now();
    const a = r.driver.read();
    expect(r.driver.read()).to.equal(a);
    await settle(r.vt.clock, a);
    expect(r.vt.clock.now() - t0).to.be.closeTo(38, 0.01); // 20 samples, 2 ms apart
  });
});
