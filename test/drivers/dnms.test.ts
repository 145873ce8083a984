import { expect } from "chai";
import fc from "fast-check";
import { Dnms, dnmsResult, dnmsWords, parseDnmsLeq, DNMS_WARMUP_MS } from "../../drivers/dnms.js";
import type { DnmsOptions } from "../../drivers/dnms.js";
import { crc8 } from "../../drivers/crc8.js";
import type { SensorResult } from "../../drivers/types.js";
import { createDnms, DNMS_FRAME_MS } from "../../sim/devices/dnms.js";
import type { SimDevice } from "../../sim/devices/types.js";
import { settle, runFor } from "../support/virtual-time.js";
import {
  CRC_CHECK, CRC_ZERO, DISORDERED_FRAME, LEQ_FRAME, LEQ_VALUES, READY_0, READY_1, VERSION_REPLY, ZERO_FRAME,
  i2cSpec, leq, noiseRig, refCrc8,
} from "./fixtures/noise.js";
import type { LevelFn, NoiseRig } from "./fixtures/noise.js";

const ADDR = 0x55;
const POWER = "D26";

const value = (r: SensorResult, name: string) => {
  const found = r.readings.find((x) => x.name === name);
  if (!found) throw new Error(`no ${name} in ${JSON.stringify(r)}`);
  return found.value;
};

/** true if the first `words` words of `bytes` all carry a correct CRC (reference CRC) */
function crcsOk(bytes: ArrayLike<number>, words: number): boolean {
  if (bytes.length < words * 3) return false;
  for (let i = 0; i < words; i++) if (refCrc8(bytes[3 * i], bytes[3 * i + 1]) !== bytes[3 * i + 2]) return false;
  return true;
}

/** 18 bytes for three floats, with correct CRCs */
function frameOf(values: number[]): number[] {
  const dv = new DataView(new ArrayBuffer(12));
  values.forEach((v, i) => dv.setFloat32(4 * i, v, false));
  const out: number[] = [];
  for (let i = 0; i < 12; i += 2) out.push(dv.getUint8(i), dv.getUint8(i + 1), refCrc8(dv.getUint8(i), dv.getUint8(i + 1)));
  return out;
}

describe("dnms: reply parsing (fixtures)", () => {
  it("uses the Sensirion CRC-8: datasheet check values", () => {
    expect(crc8(CRC_CHECK.bytes)).to.equal(CRC_CHECK.crc);
    expect(crc8(CRC_ZERO.bytes)).to.equal(CRC_ZERO.crc);
    expect(refCrc8(0xbe, 0xef)).to.equal(0x92);
  });

  it("decodes a hand-built Leq frame: three big-endian float32, a CRC after every word", () => {
    expect(parseDnmsLeq(LEQ_FRAME)).to.deep.equal(LEQ_VALUES);
    expect(parseDnmsLeq(Uint8Array.from(LEQ_FRAME))).to.deep.equal(LEQ_VALUES);
    const r = dnmsResult(LEQ_FRAME, 0);
    expect(r.readings).to.deep.equal([
      { name: "LAeq", unit: "dB", value: 56.5 },
      { name: "LAmin", unit: "dB", value: 42 },
      { name: "LAmax", unit: "dB", value: 71.3 }, // 71.25 to 0.1 dB
    ]);
  });

  it("decodes data-ready words", () => {
    expect(dnmsWords(READY_1, 1)).to.deep.equal([1]);
    expect(dnmsWords(READY_0, 1)).to.deep.equal([0]);
    expect(dnmsWords([0x00, 0x01, 0x81], 1)).to.equal(null);
  });

  it("rejects any single corrupted byte and any short frame", () => {
    for (let i = 0; i < LEQ_FRAME.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const bad = LEQ_FRAME.slice();
        bad[i] ^= flip;
        expect(parseDnmsLeq(bad), `byte ${i} ^ ${flip}`).to.equal(null);
        expect(dnmsResult(bad, 0).fault).to.equal("checksum");
      }
    }
    expect(parseDnmsLeq(LEQ_FRAME.slice(0, 17))).to.equal(null);
    expect(parseDnmsLeq([])).to.equal(null);
  });

  it("flags levels out of order or implausible (the zeros of a second read) as range", () => {
    expect(dnmsResult(DISORDERED_FRAME, 0).fault).to.equal("range");
    expect(dnmsResult(ZERO_FRAME, 0).fault).to.equal("range");
    expect(dnmsResult(frameOf([NaN, 40, 60]), 0).fault).to.equal("range");
    expect(dnmsResult(frameOf([150, 140, 160]), 0).fault).to.equal("range");
  });

  it("sends 16-bit commands MSB first: mic select (if set) and reset on configure()", () => {
    const writes: number[][] = [];
    const bus = {
      writeTo: (_a: number, d: any) => void writes.push(Array.from(d as number[])),
      readFrom: (_a: number, n: number) => new Uint8Array(n),
    };
    new Dnms({ name: "noise", bus: { port: "I2C1", i2c: bus }, options: { microphone: "IM72D128" } }).configure();
    new Dnms({ name: "noise", bus: { port: "I2C1", i2c: bus } }).configure();
    expect(writes).to.deep.equal([[0x00, 0x1c], [0x00, 0x01], [0x00, 0x01]]);
  });

  it("adds the correction offset (airrohr's dnms_correction)", () => {
    expect(dnmsResult(LEQ_FRAME, -1.5).readings.map((x) => x.value)).to.deep.equal([55, 40.5, 69.8]);
  });

  it("never throws on random bytes and accepts them only when every CRC matches (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const parsed = parseDnmsLeq(bytes);
        expect(parsed !== null).to.equal(crcsOk(bytes, 6));
        const r = dnmsResult(bytes, 0);
        if (!crcsOk(bytes, 6)) expect(r.fault).to.equal("checksum");
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts random bytes once their CRCs are fixed up, and round-trips any float32 (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 3, maxLength: 3 }), (values) => {
        const v = parseDnmsLeq(frameOf(values));
        expect(v).to.not.equal(null);
        expect([v!.laeq, v!.lamin, v!.lamax]).to.deep.equal(values.map(Math.fround));
      }),
    );
  });
});

describe("dnms: driver against its twin", () => {
  let rig: NoiseRig;
  let twin: SimDevice;

  /** module and driver, past the module's start-up */
  async function setup(level: LevelFn, options: DnmsOptions = {}, seed = 5) {
    rig = noiseRig(i2cSpec("dnms", ADDR), level, seed);
    twin = createDnms(rig.ctx);
    await runFor(rig.clock, DNMS_WARMUP_MS);
    const driver = new Dnms({ name: "noise", bus: { port: "I2C1", i2c: rig.i2c }, options });
    driver.configure();
    return driver;
  }

  afterEach(() => rig.restore());

  it("reports the firmware version", async () => {
    const driver = await setup(() => 50);
    expect(driver.readVersion()).to.equal("DNMS Version 6.0.x");
    rig.i2c.writeTo(ADDR, [0x00, 0x02]);
    expect(Array.from(rig.i2c.readFrom(ADDR, 27))).to.deep.equal(VERSION_REPLY);
  });

  it("reads LAeq over the time since configure(), with frame min/max", async () => {
    const driver = await setup(() => 64.7);
    await runFor(rig.clock, 30_000);
    const r = await settle(rig.clock, driver.read());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(value(r, "LAeq")).to.be.closeTo(64.7, 0.05);
    expect(value(r, "LAmin")).to.be.closeTo(64.7, 0.05);
    expect(value(r, "LAmax")).to.be.closeTo(64.7, 0.05);
    expect(driver.counters.framesOk).to.equal(1);
    expect(driver.counters.lastGoodMs).to.equal(rig.clock.now());
  });

  it("integrates energetically: 2 s at 90 dB in a minute at 50 dB gives ~75 dB, not 51", async () => {
    const driver = await setup(() => 50);
    const t1 = rig.clock.now() - rig.t0;
    rig.setLevel((t) => (t >= t1 + 20_000 && t < t1 + 22_000 ? 90 : 50));
    await runFor(rig.clock, 60_000);
    const r = await settle(rig.clock, driver.read());
    const expected = leq([...new Array(58).fill(50), 90, 90]);
    expect(expected).to.be.closeTo(75.3, 0.1);
    expect(value(r, "LAeq")).to.be.closeTo(expected, 0.3);
    expect(value(r, "LAmax")).to.be.closeTo(90, 0.05);
    expect(value(r, "LAmin")).to.be.closeTo(50, 0.05);
  });

  it("starts a new interval at every read", async () => {
    const driver = await setup(() => 70);
    await runFor(rig.clock, 10_000);
    expect(value(await settle(rig.clock, driver.read()), "LAeq")).to.be.closeTo(70, 0.05);
    rig.setLevel(() => 52);
    await runFor(rig.clock, 10_000);
    const second = await settle(rig.clock, driver.read());
    expect(value(second, "LAeq")).to.be.closeTo(52, 0.1);
    expect(value(second, "LAmax")).to.be.lessThan(53); // the 70 dB interval is not in it
  });

  it("waits for data-ready when the interval holds no frame yet", async () => {
    const driver = await setup(() => 61);
    await runFor(rig.clock, 20_000);
    // frames run from boot + 400 ms every ~92.9 ms: read 1 ms after one ends
    const since = rig.clock.now() - (rig.t0 + 400);
    const frameEnd = rig.t0 + 400 + Math.ceil(since / DNMS_FRAME_MS) * DNMS_FRAME_MS;
    await runFor(rig.clock, frameEnd + 1 - rig.clock.now());
    expect((await settle(rig.clock, driver.read())).ok).to.equal(true);
    // read again at once: no frame has ended since, so the module closes the interval only
    // after the next one, ~93 ms after the last; the driver keeps polling until then
    const start = rig.clock.now();
    const r = await settle(rig.clock, driver.read());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(value(r, "LAeq")).to.be.closeTo(61, 0.05);
    expect(rig.clock.now() - frameEnd).to.be.within(DNMS_FRAME_MS, DNMS_FRAME_MS + 10 + 1);
    expect(rig.clock.now() - start).to.be.greaterThan(70);
  });

  it("answers 'warming' during its start-up, and NACKs while booting", async () => {
    rig = noiseRig(i2cSpec("dnms", ADDR, { pin: POWER, activeHigh: true }), () => 60);
    twin = createDnms(rig.ctx);
    const driver = new Dnms({ name: "noise", bus: { port: "I2C1", i2c: rig.i2c }, gpio: rig.gpio, power: { pin: POWER, activeHigh: true } });
    driver.powerOff();
    expect(twin.active()).to.equal(false);
    expect(twin.currentMa()).to.equal(0);
    expect((await driver.read()).fault).to.equal("off");
    await runFor(rig.clock, 1000);
    driver.powerOn();
    expect(twin.currentMa()).to.equal(100);
    expect(() => rig.i2c.writeTo(ADDR, [0, 2])).to.throw("No ACK");
    expect((await driver.read()).fault).to.equal("warming");
    await runFor(rig.clock, DNMS_WARMUP_MS);
    driver.configure();
    await runFor(rig.clock, 5000);
    expect(value(await settle(rig.clock, driver.read()), "LAeq")).to.be.closeTo(60, 0.05);
  });

  it("unplugged: absent, counted as a timeout, never a throw", async () => {
    const driver = await setup(() => 60);
    twin.faults.unplugged = true;
    const r = await settle(rig.clock, driver.read());
    expect(r.fault).to.equal("absent");
    expect(driver.counters.timeouts).to.equal(1);
    expect(driver.readVersion()).to.equal(undefined);
    expect(() => driver.configure()).not.to.throw();
  });

  it("bad CRCs: checksum fault and counter", async () => {
    const driver = await setup(() => 60);
    await runFor(rig.clock, 5000);
    twin.faults.badChecksum = true;
    const r = await settle(rig.clock, driver.read());
    expect(r.fault).to.equal("checksum");
    expect(driver.counters.checksumErrors).to.equal(1);
    expect(driver.counters.framesOk).to.equal(0);
    twin.faults.badChecksum = false;
    await runFor(rig.clock, 5000);
    expect((await settle(rig.clock, driver.read())).ok).to.equal(true);
  });

  it("garbage bytes: checksum faults, never a reading", async () => {
    const driver = await setup(() => 60, {}, 9);
    twin.faults.garbage = true;
    for (let i = 0; i < 10; i++) {
      await runFor(rig.clock, 1000);
      const r = await settle(rig.clock, driver.read());
      expect(r.ok).to.equal(false);
      expect(r.fault).to.equal("checksum");
    }
    expect(driver.counters.checksumErrors).to.equal(10);
  });

  it("slow module (slowMs): data not ready in time -> timeout, counted", async () => {
    const driver = await setup(() => 60);
    await runFor(rig.clock, 5000);
    twin.faults.slowMs = 1000;
    const r = await settle(rig.clock, driver.read());
    expect(r.fault).to.equal("timeout");
    expect(driver.counters.timeouts).to.equal(1);
  });

  it("stuck: the last values before the fault come back while the world changes", async () => {
    const driver = await setup(() => 58);
    await runFor(rig.clock, 5000);
    const before = await settle(rig.clock, driver.read());
    twin.faults.stuck = true;
    rig.setLevel(() => 80);
    await runFor(rig.clock, 5000);
    const r = await settle(rig.clock, driver.read());
    expect(r.readings).to.deep.equal(before.readings);
  });

  it("zeroes the values after they are read, as the firmware does", async () => {
    await setup(() => 60);
    await runFor(rig.clock, 3000);
    rig.i2c.writeTo(ADDR, [0, 3]);
    await runFor(rig.clock, 5);
    rig.i2c.writeTo(ADDR, [0, 4]);
    expect(Array.from(rig.i2c.readFrom(ADDR, 3))).to.deep.equal(READY_1);
    rig.i2c.writeTo(ADDR, [0, 5]);
    expect(dnmsResult(rig.i2c.readFrom(ADDR, 18), 0).ok).to.equal(true);
    rig.i2c.writeTo(ADDR, [0, 5]);
    expect(Array.from(rig.i2c.readFrom(ADDR, 18))).to.deep.equal(ZERO_FRAME);
  });
});
