// Replaying a captured serial log into a node: capture parsing, wire-speed playback, power.

import { expect } from "chai";
import fc from "fast-check";
import { VirtualClock } from "../../sim/clock.js";
import { PinBank } from "../../sim/hw/pins.js";
import { SimUart } from "../../sim/hw/uart.js";
import { parseCapture, createReplayDevice, CaptureFormatError, REPLAY_CHUNK_BYTES, REPLAY_LOOP_GAP_MS } from "../../sim/replay.js";
import type { DeviceSpec } from "../../firmware/board.js";
import { stubWorld } from "./node-fixture.js";

const spec: DeviceSpec = {
  name: "pm",
  model: "pms5003",
  bus: { kind: "serial", port: "Serial2", tx: "D17", rx: "D16", baud: 9600 },
  power: { pin: "D25", activeHigh: true },
  currentMa: { on: 60, off: 0.2 },
};

function rig(bytes: Uint8Array) {
  const clock = new VirtualClock(0);
  const pins = new PinBank(clock);
  const uart = new SimUart("Serial2", clock);
  const dev = createReplayDevice({ clock, pins, uart, spec, world: stubWorld, rng: () => 0.5 }, bytes);
  const got: Array<{ t: number; data: string }> = [];
  uart.on("data", (data) => got.push({ t: clock.now(), data }));
  return { clock, pins, uart, dev, got };
}

describe("replay of captured serial bytes", () => {
  it("reads hex text with spaces, commas, 0x and comments, and raw bytes as they are", () => {
    const text = "# PMS5003 frame start\n42 4d 00 1c // header\n0x01,0x02\n  ff";
    expect([...parseCapture(text)]).to.deep.equal([0x42, 0x4d, 0x00, 0x1c, 0x01, 0x02, 0xff]);
    expect([...parseCapture(Uint8Array.of(0x42, 0x4d, 0x00, 0xff, 0x0a))]).to.deep.equal([0x42, 0x4d, 0x00, 0xff, 0x0a]);
    expect([...parseCapture("hello world")]).to.deep.equal([...Buffer.from("hello world")]); // not hex: raw
    expect(() => parseCapture("42 4d 0")).to.throw(CaptureFormatError);
  });

  it("round-trips any bytes written as hex text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.constantFrom(" ", "\n", ", "), (bytes, sep) => {
        const text = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(sep);
        expect([...parseCapture(text)]).to.deep.equal([...bytes]);
      }),
    );
  });

  it("plays at wire speed while powered and the UART is set up, looping with a gap", () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => i);
    const r = rig(bytes);
    r.clock.advance(1000);
    expect(r.got).to.deep.equal([]); // unpowered
    r.uart.setup(9600);
    r.pins.digitalWrite("D25", 1);
    r.clock.advance(200);
    const ms = (n: number) => (n * 10 * 1000) / 9600;
    expect(r.got.map((g) => g.data.length)).to.deep.equal([REPLAY_CHUNK_BYTES, 40 - REPLAY_CHUNK_BYTES]);
    expect(r.got[0].t - 1000).to.be.closeTo(ms(REPLAY_CHUNK_BYTES), 1e-6);
    expect(r.got[1].t - 1000).to.be.closeTo(ms(40), 1e-6);
    expect([...Buffer.from(r.got.map((g) => g.data).join(""), "latin1")]).to.deep.equal([...bytes]);
    r.clock.advance(REPLAY_LOOP_GAP_MS - 200);
    expect(r.dev.loops).to.equal(1);
    expect(r.got.length).to.equal(2); // the gap between loops
    r.clock.advance(100);
    expect(r.got.length).to.be.greaterThan(2); // the second loop began
    expect(r.dev.currentMa()).to.equal(60);
    r.pins.digitalWrite("D25", 0);
    const n = r.got.length;
    r.clock.advance(5000);
    expect(r.got.length).to.be.at.most(n + 1); // at most the burst already on the wire
    expect(r.dev.currentMa()).to.equal(0);
  });

  it("feeds a node's firmware in place of the twin", async () => {
    const { bootNode, iife } = await import("./node-fixture.js");
    const { BOOT_MS } = await import("../../sim/node.js");
    const h = bootNode(
      iife(`Serial2.setup(9600, { rx: D16, tx: D17 }); digitalWrite(D25, 1); var n = 0;
            Serial2.on("data", function (d) { n += d.length; if (n >= 8) { print("got " + n); digitalWrite(D25, 0); } });`),
      { devices: [spec], replay: { pm: parseCapture("42 4d 00 1c 01 02 03 04") } },
    );
    h.node.start();
    h.clock.advance(BOOT_MS + 100);
    expect(h.out()).to.include("got 8\n");
    expect(h.node.devices.pm.currentMa()).to.equal(0);
    h.node.stop();
  });
});
