import { expect } from "chai";
import fc from "fast-check";
import { crc8 } from "../../drivers/crc8.js";
import {
  parseSps30Values,
  sps30Command,
  sps30Words,
  Sps30,
  SPS30_ADDRESS,
  SPS30_CMD_START,
  SPS30_WARMUP_MS,
  type Sps30Options,
} from "../../drivers/sps30.js";
import { createSps30, Sps30Twin, sps30ValueBytes, SPS30_MEASURE_MA, SPS30_SLEEP_MA } from "../../sim/devices/sps30.js";
import { SPS30_CRC_EXAMPLE, SPS30_START, SPS30_VALUES, SPS30_VALUES_I2C, SPS30_READY, SPS30_NOT_READY } from "./fixtures/pm-frames.js";
import { bench, i2cSpec, type Bench } from "./fixtures/pm-harness.js";
import { settle, runFor } from "../support/virtual-time.js";
import type { DeviceSpec } from "../../firmware/board.js";
import type { PowerSwitch } from "../../drivers/types.js";

describe("sps30 wire format", () => {
  it("CRC and start command match the datasheet", () => {
    expect(crc8(SPS30_CRC_EXAMPLE.data)).to.equal(SPS30_CRC_EXAMPLE.crc);
    expect(sps30Command(SPS30_CMD_START, [0x0300])).to.deep.equal(SPS30_START);
  });

  it("decodes a measurement captured from a real sensor", () => {
    const d = parseSps30Values(SPS30_VALUES_I2C)!;
    expect([d.pm1, d.pm25, d.pm4, d.pm10, d.nc05, d.nc1, d.nc25, d.nc4, d.nc10, d.typicalSize]).to.deep.equal(SPS30_VALUES);
    expect(sps30Words(SPS30_READY)).to.deep.equal([0, 1]);
    expect(sps30Words(SPS30_NOT_READY)).to.deep.equal([0, 0]);
  });

  it("property: any single corrupted byte is caught by the word CRCs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = SPS30_VALUES_I2C.slice();
        bad[at] ^= x;
        expect(parseSps30Values(bad)).to.equal(null);
      }),
    );
    expect(parseSps30Values(SPS30_VALUES_I2C.slice(0, 57))).to.equal(null);
  });

  it("property: the twin's encoding round-trips through the driver's parser", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 10, maxLength: 10 }), (vals) => {
        const d = parseSps30Values(sps30ValueBytes(vals))!;
        expect([d.pm1, d.pm25, d.pm4, d.pm10, d.nc05, d.nc1, d.nc25, d.nc4, d.nc10, d.typicalSize]).to.deep.equal(vals);
      }),
    );
  });
});

describe("sps30 driver against its simulated twin", () => {
  let b: Bench<Sps30Twin>;
  afterEach(() => b?.vt.restore());

  function setup(opts: Sps30Options & { power?: PowerSwitch } = {}, spec: Partial<DeviceSpec> = {}, levels = { pm1: 20, pm25: 35, pm10: 50 }) {
    b = bench<Sps30Twin>(createSps30, i2cSpec("sps30", SPS30_ADDRESS, spec), levels);
    const { power, ...options } = opts;
    const driver = new Sps30({ name: "pm", bus: { port: "I2C1", i2c: b.i2c, scl: "D22", sda: "D21" }, gpio: b.gpio, power, options });
    driver.configure();
    return driver;
  }

  async function warm(d: Sps30) {
    d.powerOn();
    await runFor(b.clock, SPS30_WARMUP_MS);
  }

  const value = (r: { readings: { name: string; value: number }[] }, n: string) => r.readings.find((x) => x.name === n)!.value;

  it("is off before powerOn, measures from powerOn and refuses to read during warm-up", async () => {
    const d = setup();
    expect((await d.read()).fault).to.equal("off");
    d.powerOn();
    expect(b.device.mode()).to.equal("measuring");
    await runFor(b.clock, SPS30_WARMUP_MS - 1000);
    expect((await d.read()).fault).to.equal("warming");
  });

  it("reads the world's PM after warm-up", async () => {
    const d = setup();
    await warm(d);
    const r = await settle(b.clock, d.read());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(r.readings.map((x) => x.name)).to.deep.equal(["pm1", "pm25", "pm10"]);
    expect(r.readings.every((x) => x.unit === "ug/m3")).to.equal(true);
    expect(value(r, "pm25")).to.be.within(25, 45);
    expect(value(r, "pm10")).to.be.within(38, 62);
    expect(d.counters.framesOk).to.equal(1);
    expect(d.counters.lastGoodMs).to.equal(b.clock.now());
  });

  it("sleeps when off (current drops, no measurements) and wakes with the two-step wake-up", async () => {
    const d = setup();
    await warm(d);
    expect(b.device.currentMa()).to.equal(SPS30_MEASURE_MA);
    d.powerOff();
    expect(b.device.mode()).to.equal("sleep");
    expect(b.device.currentMa()).to.equal(SPS30_SLEEP_MA);
    const n = b.device.measurements;
    await runFor(b.clock, 10_000);
    expect(b.device.measurements).to.equal(n);
    await warm(d);
    expect(b.device.mode()).to.equal("measuring");
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
  });

  it("with a switched supply: 0 mA off, waits for the part to boot before starting it", async () => {
    const power = { pin: "D26", activeHigh: true };
    const d = setup({ power }, { power });
    d.powerOn();
    await runFor(b.clock, 1);
    expect(b.device.mode(), "booting").to.equal("idle");
    await runFor(b.clock, 200);
    expect(b.device.mode()).to.equal("measuring");
    await runFor(b.clock, SPS30_WARMUP_MS);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    d.powerOff();
    expect(b.device.currentMa()).to.equal(0);
  });

  it("unplugged: absent and counted; plugged in late: warms up from then", async () => {
    const d = setup();
    b.device.faults.unplugged = true;
    await warm(d);
    expect((await settle(b.clock, d.read())).fault).to.equal("absent");
    expect(d.counters.timeouts).to.equal(1);
    b.device.faults.unplugged = false;
    expect((await settle(b.clock, d.read())).fault).to.equal("warming");
    await runFor(b.clock, SPS30_WARMUP_MS);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    b.device.faults.unplugged = true;
    expect((await settle(b.clock, d.read())).fault).to.equal("timeout");
  });

  it("garbage on the bus: still good readings", async () => {
    const d = setup();
    b.device.faults.garbage = true;
    await warm(d);
    for (let i = 0; i < 5; i++) {
      const r = await settle(b.clock, d.read());
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      expect(value(r, "pm25")).to.be.within(25, 45);
    }
    expect(d.counters.checksumErrors, "garbage was seen").to.be.greaterThan(0);
  });

  it("bad CRCs: checksum fault and counter", async () => {
    const d = setup();
    b.device.faults.badChecksum = true;
    await warm(d);
    const r = await settle(b.clock, d.read());
    expect(r.fault).to.equal("checksum");
    expect(d.counters.checksumErrors).to.be.greaterThan(0);
    expect(d.counters.framesOk).to.equal(0);
  });

  it("stuck: the values stop following the world", async () => {
    const d = setup();
    await warm(d);
    const first = await settle(b.clock, d.read());
    b.device.faults.stuck = true;
    b.world.levels = { pm1: 80, pm25: 120, pm10: 160 };
    await runFor(b.clock, 5000);
    expect((await settle(b.clock, d.read())).readings).to.deep.equal(first.readings);
    b.device.faults.stuck = false;
    await runFor(b.clock, 5000);
    expect(value(await settle(b.clock, d.read()), "pm25")).to.be.above(95);
  });

  it("slow measurements: a little slower still reads, far slower times out", async () => {
    const d = setup();
    await warm(d);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    b.device.faults.slowMs = 800;
    for (let i = 0; i < 3; i++) expect((await settle(b.clock, d.read())).ok).to.equal(true);
    b.device.faults.slowMs = 5000;
    // the measurement already under way still lands; the next one comes 6 s later
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    expect((await settle(b.clock, d.read())).fault).to.equal("timeout");
    expect(d.counters.timeouts).to.equal(1);
  });

  it("values beyond the datasheet range are refused", async () => {
    const d = setup({}, {}, { pm1: 900, pm25: 1200, pm10: 1500 });
    await warm(d);
    const r = await settle(b.clock, d.read());
    expect(r.fault).to.equal("range");
    expect(d.counters.rangeErrors).to.equal(1);
  });
});
