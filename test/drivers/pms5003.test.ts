import { expect } from "chai";
import fc from "fast-check";
import {
  parsePmsFrame,
  pmsCommand,
  PmsFrameReader,
  Pms5003,
  PMS_CMD_MODE,
  PMS_CMD_READ,
  PMS_CMD_SLEEP,
  PMS_WARMUP_MS,
  PMS_STUCK_READS,
  type PmsFrame,
  type PmsOptions,
} from "../../drivers/pms5003.js";
import { createPms5003, Pms5003Twin, pmsFrameBytes, PMS_SLEEP_MA, PMS_RUN_MA } from "../../sim/devices/pms5003.js";
import { PMS_CAPTURED, PMS_COMMANDS, PMS_REPLIES } from "./fixtures/pm-frames.js";
import { bench, serialSpec, indexOfBytes, chunk, binary, type Bench } from "./fixtures/pm-harness.js";
import { settle, runFor } from "../support/virtual-time.js";
import type { DeviceSpec } from "../../firmware/board.js";
import type { PowerSwitch } from "../../drivers/types.js";

/** reference semantics, written plainly: at each offset take a valid frame and jump over it */
function oracle(bytes: number[]): PmsFrame[] {
  const out: PmsFrame[] = [];
  for (let i = 0; i < bytes.length; ) {
    const f = parsePmsFrame(bytes, i);
    if (f) {
      out.push(f);
      i += 32;
    } else i++;
  }
  return out;
}

const frameWords = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 13, maxLength: 13 });

describe("pms5003 parser", () => {
  it("decodes frames captured from a real sensor", () => {
    for (const c of PMS_CAPTURED) {
      const f = parsePmsFrame(c.bytes, 0)!;
      expect([f.pm1Cf, f.pm25Cf, f.pm10Cf]).to.deep.equal(c.cf);
      expect([f.pm1, f.pm25, f.pm10]).to.deep.equal(c.atm);
      expect(f.counts).to.deep.equal(c.counts);
    }
  });

  it("finds a frame at an offset and refuses bad header, length, checksum and short input", () => {
    const good = PMS_CAPTURED[0].bytes;
    expect(parsePmsFrame([1, 2, 3].concat(good), 3)!.pm25).to.equal(8);
    const flip = (i: number) => good.map((b, k) => (k === i ? b ^ 0x01 : b));
    expect(parsePmsFrame(flip(0), 0), "header").to.equal(null);
    expect(parsePmsFrame(flip(3), 0), "length").to.equal(null);
    expect(parsePmsFrame(flip(13), 0), "data vs checksum").to.equal(null);
    expect(parsePmsFrame(flip(31), 0), "checksum").to.equal(null);
    expect(parsePmsFrame(good.slice(0, 31), 0), "short").to.equal(null);
  });

  it("builds the datasheet's command strings", () => {
    expect(pmsCommand(PMS_CMD_MODE, 0)).to.deep.equal(PMS_COMMANDS.passive);
    expect(pmsCommand(PMS_CMD_MODE, 1)).to.deep.equal(PMS_COMMANDS.active);
    expect(pmsCommand(PMS_CMD_READ, 0)).to.deep.equal(PMS_COMMANDS.read);
    expect(pmsCommand(PMS_CMD_SLEEP, 0)).to.deep.equal(PMS_COMMANDS.sleep);
    expect(pmsCommand(PMS_CMD_SLEEP, 1)).to.deep.equal(PMS_COMMANDS.wake);
  });

  it("skips command replies and a false start without losing the frames around them", () => {
    const got: number[] = [];
    let bad = 0;
    const r = new PmsFrameReader((f) => got.push(f.counts[0]), () => bad++);
    const stream = PMS_REPLIES.passive.concat(PMS_CAPTURED[0].bytes, PMS_REPLIES.sleep, [0x42, 0x4d, 0x00, 0x1c, 9, 9], PMS_CAPTURED[1].bytes);
    r.push(binary(stream));
    expect(got).to.deep.equal([210, 189]);
    expect(bad, "the false start is one bad candidate").to.equal(1);
  });

  it("property: garbage and valid frames in random chunks yield exactly the frames, in order", () => {
    const piece = fc.oneof(
      { arbitrary: frameWords.map((w) => ({ frame: true, bytes: pmsFrameBytes(w) })), weight: 2 },
      { arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }).map((b) => ({ frame: false, bytes: b })), weight: 2 },
      // prefixes of a header and whole false headers: the resync's hard cases
      { arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => ({ frame: false, bytes: [0x42, 0x4d, 0x00, 0x1c].slice(0, n) })), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }), fc.boolean(), (pieces, cuts, asString) => {
        const bytes = pieces.flatMap((p) => p.bytes);
        const expected = pieces.filter((p) => p.frame).map((p) => parsePmsFrame(p.bytes, 0));
        const got: PmsFrame[] = [];
        const r = new PmsFrameReader((f) => got.push(f));
        for (const c of chunk(bytes, cuts)) r.push(asString ? binary(c) : Uint8Array.from(c));
        // streaming with any chunking equals the plain definition...
        expect(got).to.deep.equal(oracle(bytes));
        // ...which, unless garbage forged a checksum by chance, is exactly the inserted frames
        fc.pre(oracle(bytes).length === expected.length);
        expect(got).to.deep.equal(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("pms5003 driver against its simulated twin", () => {
  let b: Bench<Pms5003Twin>;
  afterEach(() => b?.vt.restore());

  function setup(opts: PmsOptions & { power?: PowerSwitch } = {}, spec: Partial<DeviceSpec> = {}, levels = { pm1: 20, pm25: 35, pm10: 50 }) {
    b = bench<Pms5003Twin>(createPms5003, serialSpec("pms5003", spec), levels);
    const { power, ...options } = opts;
    const driver = new Pms5003({ name: "pm", bus: { port: "Serial2", serial: b.uart, rx: "D16", tx: "D17" }, gpio: b.gpio, power, options });
    driver.configure();
    return driver;
  }

  async function warm(d: Pms5003) {
    d.powerOn();
    await runFor(b.clock, PMS_WARMUP_MS);
  }

  const value = (r: { readings: { name: string; value: number }[] }, n: string) => r.readings.find((x) => x.name === n)!.value;

  it("is off before powerOn and refuses to read during warm-up", async () => {
    const d = setup();
    expect((await d.read()).fault).to.equal("off");
    d.powerOn();
    await runFor(b.clock, PMS_WARMUP_MS - 1000);
    const r = await d.read();
    expect(r.ok).to.equal(false);
    expect(r.fault).to.equal("warming");
    expect(r.readings).to.deep.equal([]);
  });

  it("reads the world's PM after warm-up, in passive mode with the datasheet's read command", async () => {
    const d = setup();
    await warm(d);
    expect(b.device.isPassive()).to.equal(true);
    const sentBefore = b.uart.txLog.length;
    const r = await settle(b.clock, d.read());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(r.readings.map((x) => x.name)).to.deep.equal(["pm1", "pm25", "pm10"]);
    expect(r.readings.every((x) => x.unit === "ug/m3")).to.equal(true);
    expect(value(r, "pm25")).to.be.within(25, 45);
    expect(value(r, "pm10")).to.be.within(38, 62);
    expect(indexOfBytes(b.uart.txLog.slice(sentBefore), PMS_COMMANDS.read)).to.equal(0);
    expect(d.counters.framesOk).to.equal(1);
    expect(d.counters.lastGoodMs).to.equal(b.clock.now());
  });

  it("works in active mode too, taking the next frame", async () => {
    const d = setup({ mode: "active" });
    await warm(d);
    expect(b.device.isPassive()).to.equal(false);
    const r = await settle(b.clock, d.read());
    expect(r.ok).to.equal(true);
    expect(value(r, "pm25")).to.be.within(25, 45);
  });

  it("needs the warm-up: right after wake the fan is still spinning up and values read low", async () => {
    const d = setup({ warmupMs: 0 });
    d.powerOn();
    await runFor(b.clock, 2500);
    const r = await settle(b.clock, d.read());
    expect(r.ok).to.equal(true);
    expect(value(r, "pm25")).to.be.below(0.6 * 35);
  });

  it("sleep command stops the frames and drops the current", async () => {
    const d = setup({ mode: "active" });
    await warm(d);
    expect(b.device.currentMa()).to.equal(PMS_RUN_MA);
    d.powerOff();
    await runFor(b.clock, 100);
    expect(indexOfBytes(b.uart.txLog, PMS_COMMANDS.sleep)).to.be.greaterThan(-1);
    const sent = b.device.framesSent;
    await runFor(b.clock, 20_000);
    expect(b.device.framesSent).to.equal(sent);
    expect(b.device.active()).to.equal(false);
    expect(b.device.currentMa()).to.be.at.most(PMS_SLEEP_MA).and.above(0);
    expect((await d.read()).fault).to.equal("off");
    // and wakes again, warm-up counted from the new powerOn
    await warm(d);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
  });

  it("sleeps on its SET pin alone (no command needed)", async () => {
    b = bench<Pms5003Twin>(createPms5003, serialSpec("pms5003", { options: { setPin: "D25" } }), { pm1: 20, pm25: 35, pm10: 50 });
    expect(b.device.active(), "SET floating: runs").to.equal(true);
    b.pins.digitalWrite("D25", false);
    expect(b.device.active()).to.equal(false);
    expect(b.device.currentMa()).to.be.at.most(PMS_SLEEP_MA);
    const sent = b.device.framesSent;
    await runFor(b.clock, 10_000);
    expect(b.device.framesSent).to.equal(sent);
    b.pins.digitalWrite("D25", true);
    await runFor(b.clock, 10_000);
    expect(b.device.framesSent).to.be.greaterThan(sent);
  });

  it("drives SET low and high when wired", async () => {
    const d = setup({ setPin: "D25" }, { options: { setPin: "D25" } });
    await warm(d);
    expect(b.pins.level("D25")).to.equal(true);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    d.powerOff();
    expect(b.pins.level("D25")).to.equal(false);
    expect(b.device.active()).to.equal(false);
  });

  it("cuts a switched supply to 0 mA and comes back in active mode, then passive again", async () => {
    const power = { pin: "D26", activeHigh: false };
    const d = setup({ power }, { power });
    await warm(d);
    expect(b.device.currentMa()).to.equal(PMS_RUN_MA);
    d.powerOff();
    expect(b.pins.level("D26")).to.equal(true);
    expect(b.device.currentMa()).to.equal(0);
    await warm(d);
    expect(b.device.isPassive()).to.equal(true);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
  });

  it("unplugged: absent, and counted as a timeout", async () => {
    const d = setup();
    b.device.faults.unplugged = true;
    await warm(d);
    const r = await settle(b.clock, d.read());
    expect(r.fault).to.equal("absent");
    expect(d.counters.timeouts).to.equal(1);
    expect(b.device.currentMa()).to.equal(0);
  });

  it("a sensor that stops answering after talking times out", async () => {
    const d = setup();
    await warm(d);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    b.device.faults.unplugged = true;
    const r = await settle(b.clock, d.read());
    expect(r.fault).to.equal("timeout");
    expect(d.counters.timeouts).to.equal(1);
  });

  it("garbage on the line: still good readings", async () => {
    const d = setup({ mode: "active" });
    b.device.faults.garbage = true;
    await warm(d);
    for (let i = 0; i < 5; i++) {
      const r = await settle(b.clock, d.read());
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      expect(value(r, "pm25")).to.be.within(25, 45);
    }
    expect(d.counters.checksumErrors, "garbage was seen").to.be.greaterThan(0);
  });

  it("bad checksums: checksum fault and counter", async () => {
    const d = setup();
    b.device.faults.badChecksum = true;
    await warm(d);
    const r = await settle(b.clock, d.read());
    expect(r.fault).to.equal("checksum");
    expect(d.counters.checksumErrors).to.be.greaterThan(0);
    expect(d.counters.framesOk).to.equal(0);
    expect(d.counters.timeouts).to.equal(0);
  });

  it("stuck: values stop following the world and the stuck alarm rises", async () => {
    const d = setup();
    await warm(d);
    const first = await settle(b.clock, d.read());
    expect(first.alarms).to.equal(undefined);
    b.device.faults.stuck = true;
    b.world.levels = { pm1: 80, pm25: 120, pm10: 160 };
    let last = first;
    for (let i = 0; i < PMS_STUCK_READS; i++) {
      await runFor(b.clock, 5000);
      last = await settle(b.clock, d.read());
      expect(last.ok).to.equal(true);
      expect(value(last, "pm25")).to.be.below(60);
    }
    expect(last.alarms).to.deep.equal(["stuck"]);
    // healthy again: the alarm clears with the first changed frame
    b.device.faults.stuck = false;
    const healthy = await settle(b.clock, d.read());
    expect(healthy.alarms).to.equal(undefined);
    expect(value(healthy, "pm25")).to.be.above(95);
  });

  it("slow replies: a little late still reads, far too late times out", async () => {
    const d = setup();
    await warm(d);
    b.device.faults.slowMs = 500;
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    b.device.faults.slowMs = 5000;
    const r = await settle(b.clock, d.read());
    expect(r.fault).to.equal("timeout");
    expect(d.counters.timeouts).to.equal(1);
  });

  it("values beyond the datasheet's maximum range are refused", async () => {
    const d = setup({}, {}, { pm1: 900, pm25: 1400, pm10: 1800 });
    await warm(d);
    const r = await settle(b.clock, d.read());
    expect(r.fault).to.equal("range");
    expect(d.counters.rangeErrors).to.equal(1);
  });

  it("two reads at once share one transaction; powerOff ends a pending read", async () => {
    const d = setup({ mode: "active" });
    await warm(d);
    const p1 = d.read();
    const p2 = d.read();
    expect(p1).to.equal(p2);
    expect((await settle(b.clock, p1)).ok).to.equal(true);
    const p3 = d.read();
    d.powerOff();
    expect((await settle(b.clock, p3)).fault).to.equal("off");
  });
});
