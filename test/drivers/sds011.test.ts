import { expect } from "chai";
import fc from "fast-check";
import {
  parseSdsFrame,
  sdsCommand,
  SdsFrameReader,
  Sds011,
  SDS_CMD_MODE,
  SDS_CMD_QUERY,
  SDS_CMD_SLEEP,
  SDS_CMD_PERIOD,
  SDS_WARMUP_MS,
  type SdsFrame,
  type SdsOptions,
} from "../../drivers/sds011.js";
import { createSds011, Sds011Twin, sdsFrameBytes, SDS_SLEEP_MA, SDS_WORK_MA } from "../../sim/devices/sds011.js";
import { SDS_CAPTURED, SDS_COMMANDS, SDS_DATASHEET_FRAME, SDS_REPLY_MODE } from "./fixtures/pm-frames.js";
import { LatchedSupply } from "../../sim/hw/latch.js";
import { bench, serialSpec, indexOfBytes, chunk, binary, type Bench } from "./fixtures/pm-harness.js";
import { settle, runFor } from "../support/virtual-time.js";
import type { DeviceSpec } from "../../firmware/board.js";
import type { PowerSwitch } from "../../drivers/types.js";

/** reference semantics, written plainly: at each offset take a valid data frame and jump over it */
function oracle(bytes: number[]): SdsFrame[] {
  const out: SdsFrame[] = [];
  for (let i = 0; i < bytes.length; ) {
    const f = parseSdsFrame(bytes, i);
    if (f) {
      out.push(f);
      i += 10;
    } else i++;
  }
  return out;
}

describe("sds011 parser", () => {
  it("decodes the control protocol's example frame", () => {
    expect(parseSdsFrame(SDS_DATASHEET_FRAME, 0)).to.deep.equal({ pm25: 123.6, pm10: 261.8, id: 0x60a1 });
  });

  it("decodes frames captured from a real sensor", () => {
    for (const c of SDS_CAPTURED) {
      const f = parseSdsFrame(c.bytes, 0)!;
      expect([f.pm25, f.pm10]).to.deep.equal([c.pm25, c.pm10]);
    }
  });

  it("refuses bad header, command, checksum, tail and short input; finds a frame at an offset", () => {
    const good = SDS_DATASHEET_FRAME;
    const flip = (i: number) => good.map((b, k) => (k === i ? b ^ 0x01 : b));
    for (const i of [0, 1, 4, 8, 9]) expect(parseSdsFrame(flip(i), 0), "byte " + i).to.equal(null);
    expect(parseSdsFrame(good.slice(0, 9), 0)).to.equal(null);
    expect(parseSdsFrame([0xaa, 0xaa].concat(good), 2)!.pm25).to.equal(123.6);
    expect(parseSdsFrame(SDS_REPLY_MODE, 0), "a reply is not a data frame").to.equal(null);
  });

  it("builds the control protocol's command strings", () => {
    expect(sdsCommand(SDS_CMD_MODE, [1, 0])).to.deep.equal(SDS_COMMANDS.reportActive);
    expect(sdsCommand(SDS_CMD_MODE, [1, 1])).to.deep.equal(SDS_COMMANDS.reportQuery);
    expect(sdsCommand(SDS_CMD_QUERY, [])).to.deep.equal(SDS_COMMANDS.query);
    expect(sdsCommand(SDS_CMD_SLEEP, [1, 0])).to.deep.equal(SDS_COMMANDS.sleep);
    expect(sdsCommand(SDS_CMD_SLEEP, [1, 1])).to.deep.equal(SDS_COMMANDS.work);
    expect(sdsCommand(SDS_CMD_PERIOD, [1, 5])).to.deep.equal(SDS_COMMANDS.period5);
  });

  it("hands replies to onReply and data frames to onFrame, skipping a false start", () => {
    const frames: number[] = [];
    const replies: number[][] = [];
    let bad = 0;
    const r = new SdsFrameReader(
      (f) => frames.push(f.pm25),
      (cmd, d1, d2, d3) => replies.push([cmd, d1, d2, d3]),
      () => bad++,
    );
    const falseStart = [0xaa, 0xc0, 1, 2, 3, 4, 5, 6, 7, 0xab]; // framed, wrong checksum
    r.push(binary(SDS_REPLY_MODE.concat(falseStart, SDS_CAPTURED[0].bytes, [0xaa], SDS_DATASHEET_FRAME)));
    expect(replies).to.deep.equal([[2, 1, 1, 0]]);
    expect(frames).to.deep.equal([0.6, 123.6]);
    expect(bad).to.equal(1);
  });

  it("property: garbage and valid frames in random chunks yield exactly the frames, in order", () => {
    const frame = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }));
    const piece = fc.oneof(
      { arbitrary: frame.map(([a, c, id]) => ({ frame: true, bytes: sdsFrameBytes(0xc0, [a & 0xff, a >> 8, c & 0xff, c >> 8], id) })), weight: 2 },
      { arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 30 }).map((b) => ({ frame: false, bytes: b })), weight: 2 },
      { arbitrary: fc.integer({ min: 1, max: 2 }).map((n) => ({ frame: false, bytes: [0xaa, 0xc0].slice(0, n) })), weight: 1 },
      { arbitrary: fc.constant({ frame: false, bytes: SDS_REPLY_MODE }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }), fc.boolean(), (pieces, cuts, asString) => {
        const bytes = pieces.flatMap((p) => p.bytes);
        const expected = pieces.filter((p) => p.frame).map((p) => parseSdsFrame(p.bytes, 0));
        const got: SdsFrame[] = [];
        const r = new SdsFrameReader((f) => got.push(f));
        for (const c of chunk(bytes, cuts)) r.push(asString ? binary(c) : Uint8Array.from(c));
        expect(got).to.deep.equal(oracle(bytes));
        // an 8-bit checksum and a tail byte are easier to forge by chance than the PMS's
        fc.pre(oracle(bytes).length === expected.length);
        expect(got).to.deep.equal(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("sds011 driver against its simulated twin", () => {
  let b: Bench<Sds011Twin>;
  afterEach(() => b?.vt.restore());

  function setup(opts: SdsOptions & { power?: PowerSwitch } = {}, spec: Partial<DeviceSpec> = {}, levels = { pm1: 20, pm25: 35, pm10: 50 }) {
    b = bench<Sds011Twin>(createSds011, serialSpec("sds011", spec), levels);
    const { power, ...options } = opts;
    const driver = new Sds011({ name: "pm", bus: { port: "Serial2", serial: b.uart, rx: "D16", tx: "D17" }, gpio: b.gpio, power, options });
    driver.configure();
    return driver;
  }

  async function warm(d: Sds011) {
    d.powerOn();
    await runFor(b.clock, SDS_WARMUP_MS);
  }

  const value = (r: { readings: { name: string; value: number }[] }, n: string) => r.readings.find((x) => x.name === n)!.value;

  it("is off before powerOn and refuses to read during warm-up", async () => {
    const d = setup();
    expect((await d.read()).fault).to.equal("off");
    d.powerOn();
    await runFor(b.clock, SDS_WARMUP_MS - 1000);
    const r = await d.read();
    expect(r.fault).to.equal("warming");
    expect(r.readings).to.deep.equal([]);
  });

  it("switched on before the bundle ran (the wake prelude), counts its warm-up from then: full values 15 s after that power-on, warming before", async () => {
    const power = { pin: "D25", activeHigh: true };
    for (const readAfterMs of [SDS_WARMUP_MS - 1000, SDS_WARMUP_MS]) {
      const d = setup({ power });
      const on = b.clock.now();
      b.gpio.write("D25", true);
      await runFor(b.clock, 900);
      d.powerOn(on);
      await runFor(b.clock, readAfterMs - 900);
      const r = await settle(b.clock, d.read());
      if (readAfterMs < SDS_WARMUP_MS) expect(r.fault).to.equal("warming");
      else {
        expect(r.ok, JSON.stringify(r)).to.equal(true);
        // the fan is up to speed: the world's value, not the low one of a cold start
        expect(value(r, "pm25")).to.be.within(25, 45);
      }
      b.vt.restore();
    }
  });

  it("reads the world's PM after warm-up, in query mode with the datasheet's query command", async () => {
    const d = setup();
    await warm(d);
    expect(b.device.queryMode).to.equal(true);
    const before = b.uart.txLog.length;
    const r = await settle(b.clock, d.read());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(r.readings.map((x) => x.name)).to.deep.equal(["pm25", "pm10"]);
    expect(r.readings.every((x) => x.unit === "ug/m3")).to.equal(true);
    expect(value(r, "pm25")).to.be.within(25, 45);
    expect(value(r, "pm10")).to.be.within(38, 62);
    expect(Math.round(value(r, "pm25") * 10)).to.equal(value(r, "pm25") * 10);
    expect(indexOfBytes(b.uart.txLog.slice(before), SDS_COMMANDS.query)).to.equal(0);
    expect(d.counters.framesOk).to.equal(1);
    expect(d.counters.lastGoodMs).to.equal(b.clock.now());
  });

  it("writes the flash settings once, not at every wake (laser and flash both wear)", async () => {
    const d = setup();
    b.device.periodMin = 5;
    await warm(d);
    expect(b.device.queryMode).to.equal(true);
    expect(b.device.periodMin).to.equal(0);
    expect(b.device.flashWrites).to.equal(2);
    for (let i = 0; i < 3; i++) {
      expect((await settle(b.clock, d.read())).ok).to.equal(true);
      d.powerOff();
      await runFor(b.clock, 60_000);
      await warm(d);
    }
    expect(b.device.flashWrites).to.equal(2);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
  });

  it("needs the warm-up: right after wake the fan is still spinning up and values read low", async () => {
    const d = setup({ warmupMs: 0 });
    d.powerOn();
    await runFor(b.clock, 1500);
    const r = await settle(b.clock, d.read());
    expect(r.ok).to.equal(true);
    expect(value(r, "pm25")).to.be.below(0.6 * 35);
  });

  it("sleep stops the frames and drops the current; asleep it ignores all but work", async () => {
    const d = setup();
    // factory default: active reporting, a frame every second from power-up
    await runFor(b.clock, 3000);
    expect(b.device.framesSent).to.be.within(2, 3);
    await warm(d);
    expect(b.device.currentMa()).to.equal(SDS_WORK_MA);
    d.powerOff();
    await runFor(b.clock, 1000);
    expect(indexOfBytes(b.uart.txLog, SDS_COMMANDS.sleep)).to.be.greaterThan(-1);
    const sent = b.device.framesSent;
    b.uart.write(SDS_COMMANDS.query);
    b.uart.write(SDS_COMMANDS.reportActive);
    await runFor(b.clock, 10_000);
    expect(b.device.framesSent).to.equal(sent);
    expect(b.device.flashWrites, "mode command ignored asleep").to.equal(1);
    expect(b.device.active()).to.equal(false);
    expect(b.device.currentMa()).to.equal(SDS_SLEEP_MA).and.at.most(4).and.above(0);
    await warm(d);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
  });

  it("cuts a switched supply to 0 mA", async () => {
    const power = { pin: "D26", activeHigh: true };
    const d = setup({ power }, { power });
    await warm(d);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    d.powerOff();
    expect(b.device.currentMa()).to.equal(0);
    await warm(d);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
  });

  it("on a latched supply (power.offPin) powerOn pulses the set pin and powerOff the clear pin, leaving both low: the supply holds while the chip's pins float", async () => {
    const d = setup({ power: { pin: "D26", activeHigh: true, offPin: "D33" } }, { power: { pin: "latch:pm", activeHigh: true } });
    const latch = new LatchedSupply(b.pins, "D26", "D33", "pm");
    const edges: string[] = [];
    for (const pin of ["D26", "D33"]) b.pins.onChange(pin, (high) => edges.push(`${pin} ${high ? 1 : 0}`));
    await warm(d);
    expect(edges).to.deep.equal(["D26 1", "D26 0"]);
    expect(latch.isOn).to.equal(true);
    // the chip sleeps: its pins float to their pulls, the latch does not move
    b.pins.release("D26");
    edges.length = 0;
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    expect(b.device.currentMa()).to.be.above(0);
    d.powerOff();
    expect(edges).to.deep.equal(["D33 1", "D33 0"]);
    expect(latch.isOn).to.equal(false);
    expect(b.device.currentMa()).to.equal(0);
  });

  it("unplugged: absent, counted as a timeout; stops answering later: timeout", async () => {
    const d = setup();
    b.device.faults.unplugged = true;
    await warm(d);
    expect((await settle(b.clock, d.read())).fault).to.equal("absent");
    expect(d.counters.timeouts).to.equal(1);
    b.device.faults.unplugged = false;
    d.powerOff();
    await warm(d);
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    b.device.faults.unplugged = true;
    expect((await settle(b.clock, d.read())).fault).to.equal("timeout");
    expect(d.counters.timeouts).to.equal(2);
  });

  it("garbage on the line: still good readings", async () => {
    const d = setup();
    let received = 0;
    b.uart.on("data", (x) => (received += x.length));
    b.device.faults.garbage = true;
    await warm(d);
    for (let i = 0; i < 5; i++) {
      const r = await settle(b.clock, d.read());
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      expect(value(r, "pm25")).to.be.within(25, 45);
    }
    expect(received, "garbage was on the wire").to.be.greaterThan(10 * b.device.framesSent + 10 * 5);
  });

  it("bad checksums: checksum fault and counter", async () => {
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
    for (let i = 0; i < 3; i++) {
      await runFor(b.clock, 5000);
      const r = await settle(b.clock, d.read());
      expect(r.readings).to.deep.equal(first.readings);
    }
    b.device.faults.stuck = false;
    expect(value(await settle(b.clock, d.read()), "pm25")).to.be.above(95);
  });

  it("slow replies: a little late still reads, far too late times out", async () => {
    const d = setup();
    await warm(d);
    b.device.faults.slowMs = 800;
    expect((await settle(b.clock, d.read())).ok).to.equal(true);
    b.device.faults.slowMs = 5000;
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
