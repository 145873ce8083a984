// Replaying a captured serial log into a node: capture formats, framing, frame-by-frame playback.

import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { VirtualClock } from "../../sim/clock.js";
import { PinBank } from "../../sim/hw/pins.js";
import { SimUart } from "../../sim/hw/uart.js";
import { parseCapture, splitCapture, createReplayDevice, CaptureFormatError, REPLAY_REPLY_MS } from "../../sim/replay.js";
import { pmsCommand, PMS_CMD_MODE, PMS_CMD_READ, parsePmsFrame } from "../../drivers/pms5003.js";
import { sdsCommand, SDS_CMD_QUERY } from "../../drivers/sds011.js";
import type { DeviceSpec } from "../../firmware/board.js";
import { stubWorld } from "../support/node-fixture.js";
import { hex, PMS_CAPTURED } from "../drivers/fixtures/pm-frames.js";

const FIXTURES = fileURLToPath(new URL("fixtures", import.meta.url));
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));

const serial = { kind: "serial" as const, port: "Serial2" as const, tx: "D17", rx: "D16", baud: 9600 };
const pmsSpec: DeviceSpec = { name: "pm", model: "pms5003", bus: serial, power: { pin: "D25", activeHigh: true }, currentMa: { on: 60, off: 0.2 } };
const sdsSpec: DeviceSpec = { ...pmsSpec, model: "sds011", currentMa: { on: 70, off: 0 } };
const a02Spec: DeviceSpec = { ...pmsSpec, name: "bin", model: "a02yyuw", currentMa: { on: 8, off: 0 } };

function rig(spec: DeviceSpec, bytes: Uint8Array) {
  const clock = new VirtualClock(0);
  const pins = new PinBank(clock);
  const uart = new SimUart("Serial2", clock);
  const dev = createReplayDevice({ clock, pins, uart, spec, world: stubWorld, rng: () => 0.5 }, bytes);
  const got: number[] = [];
  uart.on("data", (data) => got.push(...Buffer.from(data, "latin1")));
  return { clock, pins, uart, dev, got };
}

/** xxd's own layout: offset, 8 groups of 2 bytes, two spaces, the text */
function xxd(bytes: Uint8Array): string {
  let out = "";
  for (let o = 0; o < bytes.length; o += 16) {
    const row = [...bytes.subarray(o, o + 16)];
    let h = "";
    row.forEach((b, i) => (h += b.toString(16).padStart(2, "0") + (i % 2 ? " " : "")));
    const text = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    out += `${o.toString(16).padStart(8, "0")}: ${h.padEnd(40)} ${text}\n`;
  }
  return out;
}

/** hexdump -C's layout: offset, 8 + 8 bytes, |text|, "*" for lines equal to the one before, the length last */
function hexdumpC(bytes: Uint8Array): string {
  let out = "";
  let prev = "";
  let starred = false;
  for (let o = 0; o < bytes.length; o += 16) {
    const row = [...bytes.subarray(o, o + 16)];
    const key = row.join(",");
    if (key === prev && row.length === 16) {
      if (!starred) out += "*\n";
      starred = true;
      continue;
    }
    prev = key;
    starred = false;
    const h = row.map((b, i) => b.toString(16).padStart(2, "0") + (i === 7 ? "  " : " ")).join("");
    const text = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    out += `${o.toString(16).padStart(8, "0")}  ${h.padEnd(49)} |${text}|\n`;
  }
  return out + bytes.length.toString(16).padStart(8, "0") + "\n";
}

describe("replay: capture files", () => {
  it("reads hex text with spaces, newlines, commas, 0x and comments", () => {
    const text = "# PMS5003 frame start\n42 4d 00 1c // header\n0x01,0x02\n  ff\n\n424d # a pair run together";
    expect([...parseCapture(text)]).to.deep.equal([0x42, 0x4d, 0x00, 0x1c, 0x01, 0x02, 0xff, 0x42, 0x4d]);
  });

  it("refuses a stray character, naming its line and column, instead of playing the text as bytes", () => {
    expect(() => parseCapture("42 4d 00 1c\n00 05 0g 0b")).to.throw(CaptureFormatError, 'line 2, column 8: "g" is not a hex digit');
    expect(() => parseCapture("hello world")).to.throw(CaptureFormatError, "line 1, column 1");
    expect(() => parseCapture("42 4d 0")).to.throw(CaptureFormatError, 'line 1, column 7: "0" has an odd number of hex digits');
    expect(() => parseCapture("# only a comment\n")).to.throw(CaptureFormatError, "no bytes");
  });

  it("takes binary bytes only as raw (--replay-raw)", () => {
    const bin = Uint8Array.of(0x42, 0x4d, 0x00, 0xff, 0x0a);
    expect(() => parseCapture(bin)).to.throw(CaptureFormatError, "line 1, column 3: byte 0x00 is not text: a binary capture needs --replay-raw");
    expect([...parseCapture(bin, { raw: true })]).to.deep.equal([...bin]);
    expect([...parseCapture("hello", { raw: true })]).to.deep.equal([...Buffer.from("hello")]);
  });

  it("reads xxd and hexdump -C output (the fixtures were made by the real tools), * repeats included", () => {
    const sds = parseCapture(fixture("sds011-18-frames.hexdump"));
    expect(sds.length).to.equal(0xc5);
    expect([...sds.subarray(0, 10)]).to.deep.equal(hex("aa c0 75 00 df 00 12 34 9a ab"));
    const a02 = parseCapture(fixture("a02yyuw-18-frames.xxd"));
    expect(a02.length).to.equal(80);
    expect([...a02.subarray(0, 4)]).to.deep.equal(hex("ff 03 c0 c2"));
    expect([...parseCapture(xxd(a02))]).to.deep.equal([...a02]);
    const repeated =
      "00000000  42 4d 00 1c 00 00 00 08  00 08 00 00 00 08 00 08  |BM..............|\n" +
      "*\n" +
      "00000030  ff ff                                             |..|\n" +
      "00000032\n";
    const got = parseCapture(repeated);
    expect(got.length).to.equal(0x32);
    expect([...got.subarray(32, 48)]).to.deep.equal([...got.subarray(0, 16)]);
    expect(parseCapture(repeated.replace("00000030", "00000040").replace("00000032", "00000042")).length).to.equal(0x42); // "*" fills up to it
    expect(() => parseCapture("00000000: 424d 001c  BM..\n00000010: 0000  ..\n")).to.throw(CaptureFormatError, "line 2, column 1: offset 10 does not follow the 4 bytes");
    expect(() => parseCapture("00000000: 424d 0x1c  BM..\n")).to.throw(CaptureFormatError, 'line 1, column 16: "0x1c"');
  });

  it("round-trips any bytes written as hex text or xxd output; any text either parses or gets a CaptureFormatError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.constantFrom(" ", "\n", ", "), (bytes, sep) => {
        const text = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(sep);
        expect([...parseCapture(text)]).to.deep.equal([...bytes]);
        expect([...parseCapture(xxd(bytes))]).to.deep.equal([...bytes]);
        expect([...parseCapture(hexdumpC(bytes))]).to.deep.equal([...bytes]);
      }),
    );
    // long runs of one byte, as hexdump -C folds them into "*"
    fc.assert(
      fc.property(fc.array(fc.record({ b: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 80 }) }), { minLength: 1, maxLength: 6 }), (runs) => {
        const bytes = Uint8Array.from(runs.flatMap((r) => Array(r.n).fill(r.b)));
        expect([...parseCapture(hexdumpC(bytes))]).to.deep.equal([...bytes]);
      }),
    );
    expect(() => parseCapture("00000000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|\n*\nffffffff\n")).to.throw(CaptureFormatError, "line 3, column 1");
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array().map((b) => Buffer.from(b).toString("latin1"))), (text) => {
        try {
          parseCapture(text);
        } catch (err) {
          expect(err).to.be.instanceOf(CaptureFormatError);
          expect((err as Error).message).to.match(/^line \d+, column \d+: |no bytes/);
        }
      }),
    );
  });
});

describe("replay: framing with the model's parser", () => {
  it("cuts a capture into frames, each with the garbage before it; a bad checksum is a rejected frame, a false start garbage", () => {
    const units = splitCapture("pms5003", parseCapture(fixture("pms5003-18-frames.hex")));
    expect(units.map((u) => u.kind)).to.deep.equal([...Array(11).fill("frame"), "checksum", ...Array(7).fill("frame")]);
    expect(units[5].garbage).to.equal(10); // "13 37 42 00 ff 42 4d 00 1c 42" before frame 6
    expect(units.filter((u) => u.kind === "frame").map((u) => parsePmsFrame(u.bytes, u.garbage)!.pm25)).to.deep.equal(Array.from({ length: 18 }, (_, i) => 13 + 3 * i));
    const sds = splitCapture("sds011", parseCapture(fixture("sds011-18-frames.hexdump")));
    expect(sds.map((u) => u.kind).filter((k) => k !== "frame")).to.deep.equal(["checksum"]);
    expect(sds[3].garbage).to.equal(7);
    const a02 = splitCapture("a02yyuw", parseCapture(fixture("a02yyuw-18-frames.xxd")));
    expect(a02.map((u) => u.kind)).to.deep.equal([...Array(7).fill("frame"), "checksum", ...Array(11).fill("frame")]);
    expect(a02[2].garbage).to.equal(4);
  });

  it("finds no frame of one model in another's capture", () => {
    const pms = parseCapture(fixture("pms5003-18-frames.hex"));
    expect(splitCapture("sds011", pms).filter((u) => u.kind === "frame")).to.deep.equal([]);
    expect(splitCapture("pms5003", parseCapture(fixture("sds011-18-frames.hexdump"))).filter((u) => u.kind === "frame")).to.deep.equal([]);
  });

  it("keeps every byte, in order, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.constantFrom("pms5003", "sds011", "a02yyuw"), (bytes, model) => {
        const units = splitCapture(model, bytes);
        expect(Buffer.concat(units.map((u) => u.bytes)).equals(Buffer.from(bytes))).to.equal(true);
      }),
    );
  });
});

describe("replay: playback walks the capture frame by frame", () => {
  it("PMS5003 (passive): each read command gets the next frame, in order, and the capture wraps", () => {
    const r = rig(pmsSpec, parseCapture(fixture("pms5003-18-frames.hex")));
    r.uart.setup(9600);
    r.pins.digitalWrite("D25", 1);
    r.uart.write(pmsCommand(PMS_CMD_MODE, 0));
    r.clock.advance(5000);
    expect(r.got).to.deep.equal([]); // passive: nothing until asked
    const seen: number[] = [];
    for (let i = 0; i < 21; i++) {
      const before = r.got.length;
      r.uart.write(pmsCommand(PMS_CMD_READ, 0));
      r.clock.advance(100);
      const bytes = r.got.slice(before);
      const at = bytes.findIndex((_, j) => parsePmsFrame(bytes, j));
      seen.push(at >= 0 ? parsePmsFrame(bytes, at)!.pm25 : -1);
    }
    // frame 12 is the bad-checksum one; after 19 units the capture starts again
    expect(seen).to.deep.equal([13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, -1, 46, 49, 52, 55, 58, 61, 64, 13, 16]);
    expect(r.dev.replayStats()).to.deep.equal({ units: 19, frames: 18, consumed: 21, decoded: 20, rejected: { checksum: 1, range: 0, garbage: 1 }, wrapped: true });
    expect(REPLAY_REPLY_MS).to.be.below(100);
  });

  it("SDS011: each query gets the next frame; nothing while unpowered", () => {
    const r = rig(sdsSpec, parseCapture(fixture("sds011-18-frames.hexdump")));
    r.uart.setup(9600);
    r.uart.write(sdsCommand(SDS_CMD_QUERY, []));
    r.clock.advance(1000);
    expect(r.got).to.deep.equal([]); // its supply is off
    r.pins.digitalWrite("D25", 1);
    for (let i = 0; i < 3; i++) {
      r.uart.write(sdsCommand(SDS_CMD_QUERY, []));
      r.clock.advance(1000);
    }
    expect(r.got.slice(0, 10)).to.deep.equal(hex("aa c0 75 00 df 00 12 34 9a ab"));
    expect(r.got.length).to.equal(30);
    expect(r.dev.replayStats().consumed).to.equal(3);
  });

  it("A02YYUW: one frame per power-up, repeated at its frame rate while powered", () => {
    const r = rig(a02Spec, parseCapture(fixture("a02yyuw-18-frames.xxd")));
    r.uart.setup(9600);
    const windows: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const before = r.got.length;
      r.pins.digitalWrite("D25", 1);
      r.clock.advance(1500);
      r.pins.digitalWrite("D25", 0);
      r.clock.advance(60_000);
      windows.push(r.got.slice(before));
    }
    expect(windows[0].length).to.be.at.least(4 * 5);
    expect(windows[0].slice(0, 8)).to.deep.equal(hex("ff 03 c0 c2 ff 03 c0 c2")); // 960 mm, again
    expect(windows[1].slice(0, 4)).to.deep.equal(hex("ff 03 98 9a"));
    expect(windows[2].slice(0, 8)).to.deep.equal(hex("00 00 12 34 ff 03 70 72")); // garbage, then 880 mm
    expect(r.dev.replayStats()).to.include({ consumed: 3, decoded: 3 });
  });

  it("A02YYUW without a switched supply: the frames one after another at its frame rate", () => {
    const r = rig({ ...a02Spec, power: undefined }, parseCapture(fixture("a02yyuw-18-frames.xxd")));
    r.uart.setup(9600);
    r.clock.advance(1000);
    expect(r.got.slice(0, 12)).to.deep.equal(hex("ff 03 c0 c2 ff 03 98 9a 00 00 12 34")); // 960, 920, then the garbage before 880
    expect(r.dev.replayStats().consumed).to.be.within(4, 6);
  });

  it("an unpowered or unplugged replay draws no current and sends nothing", () => {
    const r = rig(pmsSpec, parseCapture(PMS_CAPTURED[0].bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ")));
    r.uart.setup(9600);
    expect(r.dev.currentMa()).to.equal(0);
    r.pins.digitalWrite("D25", 1);
    expect(r.dev.currentMa()).to.equal(60);
    r.dev.faults.unplugged = true;
    r.uart.write(pmsCommand(PMS_CMD_READ, 0));
    r.clock.advance(3000);
    expect(r.got).to.deep.equal([]);
    expect(r.dev.currentMa()).to.equal(0);
  });

  it("feeds a node's firmware in place of the twin", async () => {
    const { bootNode, iife } = await import("../support/node-fixture.js");
    const { BOOT_MS } = await import("../../sim/node.js");
    const h = bootNode(
      iife(`Serial2.setup(9600, { rx: D16, tx: D17 }); digitalWrite(D25, 1); var n = 0;
            Serial2.on("data", function (d) { n += d.length; if (n >= 32) { print("got " + n); digitalWrite(D25, 0); } });
            setTimeout(function () { Serial2.write([0x42, 0x4d, 0xe1, 0, 0, 1, 0x70]); Serial2.write([0x42, 0x4d, 0xe2, 0, 0, 1, 0x71]); }, 10);`),
      { devices: [pmsSpec], replay: { pm: Uint8Array.from(PMS_CAPTURED[0].bytes) } },
    );
    h.node.start();
    h.clock.advance(BOOT_MS + 500);
    expect(h.out()).to.include("got 32\n");
    expect(h.node.devices.pm.currentMa()).to.equal(0);
    h.node.stop();
  });
});
