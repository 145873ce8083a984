import { expect } from "chai";
import fc from "fast-check";
import { HcSr04, RANGER_MODELS, echoToMm, speedOfSound } from "../../drivers/hcsr04.js";
import type { HcSr04Options } from "../../drivers/hcsr04.js";
import { HcSr04Twin, physicalSpeedOfSound } from "../../sim/devices/hcsr04.js";
import { PinBank, gpioFor } from "../../sim/hw/pins.js";
import type { WorldModel } from "../../sim/world/types.js";
import { createRng } from "../../sim/random.js";
import type { DeviceSpec } from "../../firmware/board.js";
import { installVirtualTime, settle, runFor } from "../support/virtual-time.js";
import type { VirtualTime } from "../support/virtual-time.js";

describe("hcsr04: echo arithmetic", () => {
  it("matches the datasheet rule of thumb: 58 us per cm", () => {
    // us / 58 = cm assumes c = 2 * 10 / 58 mm/us = 344.8 m/s (about 22 C)
    expect(echoToMm(580, 22)).to.be.closeTo(100, 0.3);
    expect(echoToMm(5800, 22)).to.be.closeTo(1000, 3);
  });

  it("uses c = 331.3 + 0.606 T, within 0.25 % of the ideal-gas law over -20..40 C", () => {
    expect(speedOfSound(0)).to.equal(331.3);
    expect(speedOfSound(20)).to.be.closeTo(343.42, 1e-9);
    fc.assert(
      fc.property(fc.double({ min: -20, max: 40, noNaN: true }), (t) => Math.abs(speedOfSound(t) / physicalSpeedOfSound(t) - 1) < 0.0025),
    );
  });

  it("is linear in the pulse width and grows with temperature", () => {
    fc.assert(
      fc.property(fc.double({ min: 100, max: 30000, noNaN: true }), fc.double({ min: -20, max: 40, noNaN: true }), (w, t) => {
        const a = echoToMm(w, t);
        return Math.abs(echoToMm(2 * w, t) - 2 * a) < 1e-6 && echoToMm(w, t + 5) > a;
      }),
    );
  });
});

interface Rig {
  vt: VirtualTime;
  pins: PinBank;
  world: { distanceMm: number; temperatureC: number };
  twin: HcSr04Twin;
  driver: HcSr04;
  read(): ReturnType<HcSr04["read"]>;
}

const TRIG = "D13";
const ECHO = "D14";

function rig(opts: { options?: HcSr04Options; power?: boolean; seed?: number; liveTemperature?: boolean; noTwin?: boolean } = {}): Rig {
  const vt = installVirtualTime();
  const clock = vt.clock;
  const pins = new PinBank(clock);
  const state = { distanceMm: 800, temperatureC: 20 };
  const world: WorldModel = {
    pm: () => ({ pm1: 0, pm25: 0, pm10: 0 }),
    noiseDb: () => 50,
    binDistanceMm: () => state.distanceMm,
    temperatureC: () => state.temperatureC,
    lampCurrentA: () => 0,
    daylightLux: () => 0,
  };
  const options: HcSr04Options = { emptyDepthMm: 1000, fullDepthMm: 200, ...opts.options };
  const power = opts.power ? { pin: "D25", activeHigh: true } : undefined;
  const spec: DeviceSpec = {
    name: "bin",
    model: "hcsr04",
    bus: { kind: "pins", pins: { trigger: TRIG, echo: ECHO } },
    power,
    currentMa: { on: 15, off: 0 },
    options,
  };
  const twin = new HcSr04Twin({ clock, pins, spec, world, rng: createRng(opts.seed ?? 3) });
  if (opts.noTwin) twin.faults.unplugged = true;
  const driver = new HcSr04({
    name: "bin",
    gpio: gpioFor(pins),
    pins: { trigger: TRIG, echo: ECHO },
    power,
    temperatureC: opts.liveTemperature ? () => state.temperatureC : undefined,
    options,
  });
  return { vt, pins, world: state, twin, driver, read: () => settle(clock, driver.read()) };
}

describe("hcsr04: driver against its simulated twin", () => {
  let r: Rig | undefined;
  afterEach(() => r?.vt.restore());

  it("reads distance and fill from the echo width", async () => {
    r = rig();
    r.driver.configure();
    const res = await r.read();
    expect(res.ok, res.detail).to.equal(true);
    expect(res.readings[0]).to.deep.include({ name: "distance", unit: "mm" });
    expect(res.readings[0].value).to.be.closeTo(800, 5);
    expect(res.readings[1]).to.deep.include({ name: "fill", unit: "/" });
    expect(res.readings[1].value).to.be.closeTo(0.25, 0.01);
    expect(r.twin.pings).to.equal(5);
    expect(r.driver.counters.framesOk).to.equal(5);
    expect(r.pins.watchCount()).to.equal(0); // the echo watch is cleared after the read
  });

  it("triggers with a 10 us pulse and leaves at least 60 ms between pings", async () => {
    r = rig();
    r.driver.configure();
    const edges: Array<[boolean, number]> = [];
    r.pins.onChange(TRIG, (high, t) => edges.push([high, t]));
    await r.read();
    const rises = edges.filter((e) => e[0]).map((e) => e[1]);
    const widths = rises.map((t, i) => edges.filter((e) => !e[0])[i][1] - t);
    expect(rises).to.have.length(5);
    // virtual epoch-ms times are doubles: 0.01 ms comes out to within a quarter of a us
    for (const w of widths) expect(w).to.be.closeTo(RANGER_MODELS["hc-sr04"].triggerMs, 0.0005);
    for (let i = 1; i < rises.length; i++) expect(rises[i] - rises[i - 1]).to.be.at.least(60);
  });

  it("corrects for air temperature", async () => {
    r = rig({ options: { temperatureC: 35 } });
    r.world.distanceMm = 2000;
    r.world.temperatureC = 35;
    r.driver.configure();
    expect((await r.read()).readings[0].value).to.be.closeTo(2000, 8);
    r.vt.restore();
    // the same echo read at the default 20 C is about 2.4 % short
    r = rig();
    r.world.distanceMm = 2000;
    r.world.temperatureC = 35;
    r.driver.configure();
    const uncorrected = (await r.read()).readings[0].value;
    expect(2000 - uncorrected).to.be.within(35, 60);
  });

  it("takes the temperature from a live source when given one", async () => {
    r = rig({ liveTemperature: true, options: { temperatureC: 20 } });
    r.world.distanceMm = 1500;
    r.driver.configure();
    for (const t of [-10, 5, 38]) {
      r.world.temperatureC = t;
      await runFor(r.vt.clock, 500);
      expect(r.driver.temperatureC()).to.equal(t);
      expect((await r.read()).readings[0].value).to.be.closeTo(1500, 6);
    }
  });

  it("gives a range fault in the blind zone", async () => {
    r = rig();
    r.world.distanceMm = 12;
    r.driver.configure();
    const res = await r.read();
    expect(res.fault).to.equal("range");
    expect(r.driver.counters.rangeErrors).to.equal(5);
  });

  it("gives a range fault with 'no echo' beyond 4 m (38 ms pulse)", async () => {
    r = rig();
    r.world.distanceMm = 4300;
    r.driver.configure();
    const res = await r.read();
    expect(res.fault).to.equal("range");
    expect(res.detail).to.equal("no echo");
  });

  it("JSN-SR04T: 20 us trigger, 25 cm blind zone, reaches 4.5 m", async () => {
    r = rig({ options: { model: "jsn-sr04t" } });
    expect(r.driver.model).to.equal("jsn-sr04t");
    r.world.distanceMm = 200; // fine for an HC-SR04, blind for the JSN
    r.driver.configure();
    expect((await r.read()).fault).to.equal("range");
    r.world.distanceMm = 4300;
    await runFor(r.vt.clock, 500);
    const res = await r.read();
    expect(res.ok, res.detail).to.equal(true);
    expect(res.readings[0].value).to.be.closeTo(4300, 6);
    r.vt.restore();
    r = rig();
    r.world.distanceMm = 200;
    r.driver.configure();
    expect((await r.read()).readings[0].value).to.be.closeTo(200, 5);
  });

  it("fault unplugged: absent when no edge was ever seen, timeout once it had answered", async () => {
    r = rig({ noTwin: true });
    r.driver.configure();
    let res = await r.read();
    expect(res.fault).to.equal("absent");
    r.twin.faults.unplugged = false;
    expect((await r.read()).ok).to.equal(true);
    r.twin.faults.unplugged = true;
    res = await r.read();
    expect(res.fault).to.equal("timeout");
    expect(r.driver.counters.timeouts).to.equal(10);
    expect(r.twin.currentMa()).to.equal(0);
  });

  it("reports a timeout when the echo rises and never falls", async () => {
    r = rig({ noTwin: true });
    r.driver.configure();
    r.pins.onChange(TRIG, (high) => { if (!high) r!.pins.drive(ECHO, true); });
    const res = await r.read();
    expect(res.fault).to.equal("timeout");
    expect(res.detail).to.equal("echo stuck high");
  });

  it("fault garbage: random echo widths are range-checked, never crash the read", async () => {
    r = rig({ seed: 11 });
    r.twin.faults.garbage = true;
    r.driver.configure();
    for (let i = 0; i < 6; i++) {
      const res = await r.read();
      if (res.ok) expect(res.readings[0].value).to.be.within(20, 4000);
      else expect(res.fault).to.equal("range");
    }
    expect(r.driver.counters.rangeErrors).to.be.greaterThan(0);
  });

  it("fault badChecksum: nothing to check on a pulse sensor, the read stays good", async () => {
    r = rig();
    r.twin.faults.badChecksum = true;
    r.driver.configure();
    expect((await r.read()).readings[0].value).to.be.closeTo(800, 5);
  });

  it("fault stuck: the echo width stops following the bin", async () => {
    r = rig();
    r.driver.configure();
    const before = (await r.read()).readings[0].value;
    r.twin.faults.stuck = true;
    r.world.distanceMm = 400;
    expect((await r.read()).readings[0].value).to.be.closeTo(before, 8); // one frozen width, not 400
    r.twin.faults.stuck = false;
    expect((await r.read()).readings[0].value).to.be.closeTo(400, 5);
  });

  it("fault slowMs: late echoes land in later ping windows or not at all", async () => {
    r = rig();
    r.driver.configure();
    await r.read();
    r.twin.faults.slowMs = 100; // the module ignores triggers while its late echo is pending
    let res = await r.read();
    expect(res.ok, res.detail).to.equal(true);
    expect(res.readings[0].value).to.be.closeTo(800, 5);
    expect(r.driver.counters.timeouts).to.be.greaterThan(0);
    r.twin.faults.slowMs = 5000;
    await runFor(r.vt.clock, 6000);
    res = await r.read();
    expect(res.fault).to.equal("timeout");
  });

  it("reads off before powerOn; draws 2 mA idle, 15 mA measuring, 0 unpowered", async () => {
    r = rig({ power: true });
    r.driver.configure();
    expect((await r.read()).fault).to.equal("off");
    expect(r.twin.currentMa()).to.equal(0);
    r.driver.powerOn();
    expect(r.twin.currentMa()).to.equal(2);
    const p = r.driver.read();
    await runFor(r.vt.clock, 1); // mid-echo
    expect(r.twin.currentMa()).to.equal(15);
    expect(r.twin.active()).to.equal(true);
    expect((await settle(r.vt.clock, p)).ok).to.equal(true);
    r.driver.powerOff();
    expect(r.twin.currentMa()).to.equal(0);
  });
});
