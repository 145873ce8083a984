import { expect } from "chai";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { sha256 } from "../../../firmware/crypto/sha256.js";

const hex = (s: string) => Buffer.from(s, "latin1").toString("hex");
const node = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("hex");

describe("plain-JS SHA-256 (Espruino builds without crypto)", () => {
  it("matches the FIPS 180-4 examples", () => {
    expect(hex(sha256("abc"))).to.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(sha256(""))).to.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).to.equal(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("agrees with Node's crypto on any bytes, across every padding boundary", () => {
    for (let n = 0; n < 200; n++) {
      const s = String.fromCharCode(...Array.from({ length: n }, (_, i) => (i * 37 + n) & 255));
      expect(hex(sha256(s)), `length ${n}`).to.equal(node(s));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const s = Buffer.from(bytes).toString("latin1");
        expect(hex(sha256(s))).to.equal(node(s));
      }),
      { numRuns: 300 },
    );
  });
});
