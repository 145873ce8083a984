import { expect } from "chai";
import fc from "fast-check";
import { PcbSpl, pcbSplResult, PCB_SPL_WARMUP_MS } from "../../drivers/pcb-spl.js";
import type { PcbSplOptions } from "../../drivers/pcb-spl.js";
import type { SensorResult } from "../../drivers/types.js";
import { createPcbSpl } from "../../sim/devices/pcb-spl.js";
import type { SimDevice } from "../../sim/devices/types.js";
import { settle, runFor } from "../support/virtual-time.js";
import { i2cSpec, leq, noiseRig } from "./fixtures/noise.js";
import type { LevelFn, NoiseRig } from "./fixtures/noise.js";

const ADDR = 0x48;
const POWER = "D25";

const value = (r: SensorResult, name: string) => {
  const found = r.readings.find((x) => x.name === name);
  if (!found) throw new Error(`no ${name} in ${JSON.stringify(r)}`);
  return found.value;
};

/** Records every transaction; answers reads from a register file like the module's. */
class RecordingI2c {
  writes: number[][] = [];
  regs = new Uint8Array(256);
  pointer = 0;
  nack = false;
  writeTo(address: number, data: number[] | Uint8Array | number | string): void {
    if (this.nack || address !== ADDR) throw new Error("I2C Error: No ACK");
    const bytes = typeof data === "number" ? [data] : Array.from(data as ArrayLike<number>);
    this.writes.push(bytes);
    this.pointer = bytes[0];
  }
  readFrom(address: number, n: number): Uint8Array {
    if (this.nack || address !== ADDR) throw new Error("I2C Error: No ACK");
    return this.regs.slice(this.pointer, this.pointer + n);
  }
}

describe("pcb-spl: register bytes and level checks", () => {
  it("configures A-weighting, the averaging time high byte first, and clears min/max", () => {
    const bus = new RecordingI2c();
    new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: bus }, options: { averagingMs: 125 } }).configure();
    // CONTROL 0x06 read first (is it powered down?), then = 0b010 (bits 2:1 = 01, A);
    // TAVG_HIGH 0x07 then TAVG_LOW 0x08 = 0x007D; RESET 0x09 bit 1 = clear MIN/MAX
    expect(bus.writes).to.deep.equal([[0x06], [0x06, 0x02], [0x07, 0x00, 0x7d], [0x09, 0x02]]);
    const slow = new RecordingI2c();
    new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: slow } }).configure();
    expect(slow.writes[2]).to.deep.equal([0x07, 0x03, 0xe8]); // 1000 ms, the power-up default
  });

  it("reads DECIBEL, MIN, MAX in one burst from 0x0A, then clears min/max", async () => {
    const bus = new RecordingI2c();
    bus.regs.set([64, 58, 77], 0x0a);
    const driver = new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: bus } });
    driver.configure();
    bus.writes = [];
    const r = await driver.read();
    expect(bus.writes).to.deep.equal([[0x0a], [0x09, 0x02]]);
    expect(r.readings).to.deep.equal([
      { name: "LAeq", unit: "dB", value: 64 },
      { name: "LAmin", unit: "dB", value: 58 },
      { name: "LAmax", unit: "dB", value: 77 },
    ]);
  });

  it("puts the module to sleep with CONTROL bit 0 and wakes it with RESET bit 3", async () => {
    const bus = new RecordingI2c();
    const driver = new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: bus } });
    driver.powerOff();
    expect(bus.writes).to.deep.equal([[0x06, 0x03]]);
    bus.writes = [];
    driver.powerOn();
    expect(bus.writes).to.deep.equal([[0x09, 0x08]]);
  });

  it("checks levels: 0 = not yet, 35-120 dB, MIN <= DECIBEL <= MAX", () => {
    expect(pcbSplResult([60, 55, 70], 0).ok).to.equal(true);
    expect(pcbSplResult([0, 55, 70], 0).fault).to.equal("warming");
    // right after a clear MIN/MAX read 0 until the next Tavg: fall back to DECIBEL
    expect(pcbSplResult([60, 0, 0], 0).readings.map((x) => x.value)).to.deep.equal([60, 60, 60]);
    expect(pcbSplResult([200, 55, 210], 0).fault).to.equal("range");
    expect(pcbSplResult([20, 20, 20], 0).fault).to.equal("range");
    expect(pcbSplResult([60, 65, 70], 0).fault).to.equal("range");
    expect(pcbSplResult([75, 55, 70], 0).fault).to.equal("range");
    expect(pcbSplResult([60, 55, 70], -1.5).readings.map((x) => x.value)).to.deep.equal([58.5, 53.5, 68.5]);
  });

  it("never throws on any three bytes and accepts only consistent in-range levels (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3, maxLength: 3 }), (b) => {
        const r = pcbSplResult(b, 0);
        const [db, mn, mx] = [b[0], b[1] || b[0], b[2] || b[0]];
        const good = db > 0 && [db, mn, mx].every((v) => v >= 34 && v <= 121) && mn <= db && db <= mx;
        expect(r.ok).to.equal(good);
      }),
    );
  });

  it("turns a NACK into an absent fault, never a throw", async () => {
    const bus = new RecordingI2c();
    bus.nack = true;
    const driver = new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: bus } });
    expect(() => driver.configure()).not.to.throw();
    expect(() => driver.powerOff()).not.to.throw();
    expect(() => driver.powerOn()).not.to.throw();
    driver.powerOff();
    const d2 = new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: bus } });
    const r = await d2.read();
    expect(r.fault).to.equal("absent");
    expect(d2.counters.timeouts).to.equal(1);
  });
});

describe("pcb-spl: driver against its twin", () => {
  let rig: NoiseRig;
  let twin: SimDevice;

  /** module and driver, 10 ms after power-up (it ignores the bus for its first 5 ms) */
  async function setup(level: LevelFn, options: PcbSplOptions = {}, power = false, seed = 3) {
    rig = noiseRig(i2cSpec("pcb-spl", ADDR, power ? { pin: POWER, activeHigh: true } : undefined), level, seed);
    if (power) rig.pins.digitalWrite(POWER, 1);
    twin = createPcbSpl(rig.ctx);
    await runFor(rig.clock, 10);
    return new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: rig.i2c }, gpio: rig.gpio, power: power ? { pin: POWER, activeHigh: true } : undefined, options });
  }

  /** read a register straight off the bus, as a test probe */
  const peek = (reg: number, n = 1) => {
    rig.i2c.writeTo(ADDR, reg);
    return Array.from(rig.i2c.readFrom(ADDR, n));
  };

  afterEach(() => rig.restore());

  it("identifies as the MEMS module (VERSION 0x31) with a scratch register that holds 0xAA", async () => {
    await setup(() => 60);
    expect(peek(0x00)).to.deep.equal([0x31]);
    expect(peek(0x05)).to.deep.equal([0xaa]);
  });

  it("reads the world's level in whole dB", async () => {
    const driver = await setup(() => 67.3);
    driver.configure();
    await runFor(rig.clock, 3000);
    const r = await driver.read();
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(value(r, "LAeq")).to.equal(67);
    expect(driver.counters.framesOk).to.equal(1);
  });

  it("sets the averaging time on the module and integrates energetically over it", async () => {
    // 50 dB with a 100 ms burst at 90 dB every second: LAeq,1s = 80, arithmetic mean 54
    const burst = (t: number) => (t % 1000 >= 400 && t % 1000 < 500 ? 90 : 50);
    const driver = await setup(burst, { averagingMs: 1000 });
    driver.configure();
    expect(peek(0x07, 2)).to.deep.equal([0x03, 0xe8]);
    await runFor(rig.clock, 5000);
    const r = await driver.read();
    expect(value(r, "LAeq")).to.be.closeTo(leq([...new Array(9).fill(50), 90]), 1);
    expect(value(r, "LAeq")).to.be.greaterThan(75);
  });

  it("with a fast Tavg, min/max follow the levels of the window since the last read", async () => {
    const steps = (t: number) => (t < 3000 ? 50 : t < 6000 ? 72 : 61);
    const driver = await setup(steps, { averagingMs: 125 });
    driver.configure();
    expect(peek(0x07, 2)).to.deep.equal([0x00, 0x7d]);
    await runFor(rig.clock, 7000);
    const first = await driver.read();
    expect([value(first, "LAeq"), value(first, "LAmin"), value(first, "LAmax")]).to.deep.equal([61, 50, 72]);
    // the driver cleared min/max: the next window only saw 61 dB
    await runFor(rig.clock, 2000);
    const second = await driver.read();
    expect([value(second, "LAeq"), value(second, "LAmin"), value(second, "LAmax")]).to.deep.equal([61, 61, 61]);
  });

  it("re-selects A-weighting: a module left on C-weighting reads high until configured", async () => {
    const driver = await setup(() => 60);
    rig.i2c.writeTo(ADDR, [0x06, 0x04]); // C-weighting
    await runFor(rig.clock, 3000);
    expect(peek(0x0a)[0]).to.be.greaterThan(62);
    driver.configure();
    await runFor(rig.clock, 2000);
    expect(value(await driver.read(), "LAeq")).to.equal(60);
  });

  it("reports no level yet as warming right after power-up", async () => {
    const driver = await setup(() => 60);
    await runFor(rig.clock, 500);
    const r = await driver.read();
    expect(r.fault).to.equal("warming");
  });

  it("sleeps and wakes: current, reconfiguration after the reset, warm-up", async () => {
    const driver = await setup(() => 58, { averagingMs: 250 });
    driver.configure();
    await runFor(rig.clock, 2000);
    expect(twin.active()).to.equal(true);
    expect(twin.currentMa()).to.equal(5);

    driver.powerOff();
    expect(twin.active()).to.equal(false);
    expect(twin.currentMa()).to.equal(0.1);
    expect(peek(0x06)[0] & 1).to.equal(1); // still answers while asleep
    expect((await driver.read()).fault).to.equal("off");
    await runFor(rig.clock, 60_000);

    driver.powerOn();
    expect(twin.active()).to.equal(true);
    expect(peek(0x07, 2)).to.deep.equal([0x03, 0xe8]); // the wake reset restored Tavg = 1000
    expect((await driver.read()).fault).to.equal("warming");
    await runFor(rig.clock, 60);
    expect(peek(0x07, 2)).to.deep.equal([0x00, 0xfa]); // configured again 50 ms later
    await runFor(rig.clock, PCB_SPL_WARMUP_MS + 500);
    const r = await driver.read();
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(value(r, "LAeq")).to.equal(58);
  });

  it("wakes a module left powered down across a node reboot (deep sleep) instead of reading stale levels", async () => {
    const before = await setup(() => 50);
    before.configure();
    await runFor(rig.clock, 3000);
    expect(value(await before.read(), "LAeq")).to.equal(50);
    before.powerOff();
    rig.setLevel(() => 75);
    await runFor(rig.clock, 60_000);
    // the node wakes from deep sleep: a fresh driver that never saw powerOff()
    const after = new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: rig.i2c } });
    after.configure();
    expect(twin.active()).to.equal(true);
    expect((await after.read()).fault).to.equal("warming");
    await runFor(rig.clock, PCB_SPL_WARMUP_MS + 500);
    expect(value(await after.read(), "LAeq")).to.equal(75);
    // a driver that skips configure() finds out on its first read
    after.powerOff();
    const lazy = new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: rig.i2c } });
    expect((await lazy.read()).fault).to.equal("warming");
    await runFor(rig.clock, PCB_SPL_WARMUP_MS + 500);
    expect(value(await lazy.read(), "LAeq")).to.equal(75);
  });

  it("switches a supply pin when one is fitted; the module NACKs without power", async () => {
    const driver = await setup(() => 62, {}, true);
    driver.configure();
    await runFor(rig.clock, 3000);
    expect((await driver.read()).ok).to.equal(true);
    driver.powerOff();
    expect(rig.pins.digitalRead(POWER)).to.equal(0);
    expect(twin.currentMa()).to.equal(0.1); // the spec's off figure
    expect(() => peek(0x00)).to.throw("No ACK");
    driver.powerOn();
    expect(rig.pins.digitalRead(POWER)).to.equal(1);
    await runFor(rig.clock, PCB_SPL_WARMUP_MS + 1500);
    const r = await driver.read();
    expect(value(r, "LAeq")).to.equal(62);
  });

  it("unplugged: absent, counted, and it comes back when plugged in", async () => {
    const driver = await setup(() => 60);
    driver.configure();
    await runFor(rig.clock, 2000);
    twin.faults.unplugged = true;
    const r = await driver.read();
    expect(r.fault).to.equal("absent");
    expect(driver.counters.timeouts).to.equal(1);
    expect(twin.currentMa()).to.equal(0);
    twin.faults.unplugged = false;
    await runFor(rig.clock, 3000);
    const back = await driver.read();
    expect(back.ok, JSON.stringify(back)).to.equal(true);
    expect(peek(0x07, 2)).to.deep.equal([0x03, 0xe8]); // reconfigured after the power cycle
  });

  it("garbage bytes on the bus give faults, never a throw or a reading", async () => {
    const driver = await setup(() => 60, {}, false, 11);
    driver.configure();
    await runFor(rig.clock, 2000);
    twin.faults.garbage = true;
    let faults = 0;
    for (let i = 0; i < 50; i++) {
      const r = await driver.read();
      // random bytes pass the checks only by chance: 3 bytes in range and in order
      if (!r.ok) faults++;
      else expect(value(r, "LAmin")).to.be.at.most(value(r, "LAmax"));
    }
    expect(faults).to.be.greaterThan(45);
    expect(driver.counters.rangeErrors).to.be.greaterThan(40);
  });

  it("stuck: the levels stop following the world", async () => {
    const driver = await setup(() => 55);
    driver.configure();
    await runFor(rig.clock, 2500);
    twin.faults.stuck = true;
    rig.setLevel(() => 80);
    await runFor(rig.clock, 5000);
    expect(value(await driver.read(), "LAeq")).to.equal(55);
  });

  it("slow start (slowMs): still no level after the warm-up -> warming, then a level", async () => {
    rig = noiseRig(i2cSpec("pcb-spl", ADDR), () => 60, 3);
    const slow = createPcbSpl(rig.ctx);
    slow.faults.slowMs = 3000;
    // the fault applies from the next power-up
    slow.faults.unplugged = true;
    await runFor(rig.clock, 1);
    expect(slow.currentMa()).to.equal(0);
    slow.faults.unplugged = false;
    await runFor(rig.clock, 10);
    const driver = new PcbSpl({ name: "noise", bus: { port: "I2C1", i2c: rig.i2c } });
    driver.configure();
    await runFor(rig.clock, 2500);
    expect((await driver.read()).fault).to.equal("warming");
    await runFor(rig.clock, 2500);
    expect(value(await driver.read(), "LAeq")).to.equal(60);
  });
});
