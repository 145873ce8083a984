// HMAC-SHA256 (firmware/crypto/hmac.ts) against RFC 4231's vectors and node:crypto.
import { expect } from "chai";
import fc from "fast-check";
import { createHash, createHmac } from "node:crypto";
import { hmacSha256, toHex, fromHex, equalConstantTime } from "../../../firmware/crypto/hmac.js";

const sha256 = (s: string) => createHash("sha256").update(s, "latin1").digest("binary");
const h = (hex: string) => Buffer.from(hex, "hex").toString("latin1");
const rep = (byte: number, n: number) => String.fromCharCode(byte).repeat(n);

describe("HMAC-SHA256 (RFC 4231 test vectors)", () => {
  const vectors: [string, string, string, string][] = [
    ["1", rep(0x0b, 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    ["2", "Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
    ["3", rep(0xaa, 20), rep(0xdd, 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"],
    ["4", h("0102030405060708090a0b0c0d0e0f10111213141516171819"), rep(0xcd, 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"],
    ["6", rep(0xaa, 131), "Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"],
    [
      "7",
      rep(0xaa, 131),
      "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  for (const [tc, key, data, mac] of vectors) {
    it(`test case ${tc}`, () => {
      expect(toHex(hmacSha256(sha256, key, data))).to.equal(mac);
    });
  }
  it("test case 5 (truncated to 128 bits)", () => {
    expect(toHex(hmacSha256(sha256, rep(0x0c, 20), "Test With Truncation")).substring(0, 32)).to.equal("a3b6167473100ee06e0c796c2955552b");
  });
  it("agrees with node:crypto for any key and message", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 300 }), (k, m) => {
        const key = Buffer.from(k), msg = Buffer.from(m);
        expect(toHex(hmacSha256(sha256, key.toString("latin1"), msg.toString("latin1")))).to.equal(createHmac("sha256", key).update(msg).digest("hex"));
      }),
      { numRuns: 200 },
    );
  });
  it("hex helpers", () => {
    expect(toHex("\x00\x0f\xff")).to.equal("000fff");
    expect(fromHex("000FfF")).to.equal("\x00\x0f\xff");
    expect(fromHex("abc")).to.equal(null);
    expect(fromHex("zz")).to.equal(null);
    expect(equalConstantTime("abc", "abc")).to.equal(true);
    expect(equalConstantTime("abc", "abd")).to.equal(false);
    expect(equalConstantTime("abc", "ab")).to.equal(false);
  });
});
