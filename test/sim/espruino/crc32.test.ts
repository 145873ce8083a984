import { expect } from "chai";
import fc from "fast-check";
import zlib from "node:zlib";
import { crc32 } from "../../../sim/espruino/crc32.js";

describe("crc32 (E.CRC32, also what flash and provision check their writes with)", () => {
  it("matches Espruino's E.CRC32 (measured on 2v29) and zlib", () => {
    expect(crc32("hello")).to.equal(907060870);
    expect(crc32("123456789")).to.equal(0xcbf43926); // the standard check value
    expect(crc32("\xff")).to.equal(4278190080);
    expect(crc32(new Uint8Array(0))).to.equal(0);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => crc32(bytes) === zlib.crc32(bytes)));
  });

  it("reads a string as Latin-1 bytes, as E.CRC32 reads an Espruino String", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), (bytes) => crc32(Buffer.from(bytes).toString("latin1")) === crc32(bytes)));
  });
});
