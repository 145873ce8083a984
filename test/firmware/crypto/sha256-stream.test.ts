import { expect } from "chai";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { sha256, sha256Init, sha256Update, sha256Final } from "../../../firmware/crypto/sha256.js";

const hex = (s: string) => Buffer.from(s, "latin1").toString("hex");
const node = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("hex");

describe("streaming SHA-256 (a staged bundle hashed from flash in pieces)", () => {
  it("gives the one-shot digest however the message is cut into pieces", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 12 }), (bytes, cuts) => {
        const s = Buffer.from(bytes).toString("latin1");
        const st = sha256Init();
        let at = 0;
        for (const c of cuts) {
          sha256Update(st, s.substring(at, at + c));
          at = Math.min(s.length, at + c);
        }
        sha256Update(st, s.substring(at));
        expect(hex(sha256Final(st))).to.equal(node(s));
        expect(hex(sha256(s))).to.equal(node(s));
      }),
      { numRuns: 300 },
    );
  });

  it("hashes a 70 KB bundle in 4 KB pieces as Node does", () => {
    const big = Buffer.from(Array.from({ length: 70 * 1024 + 13 }, (_, i) => (i * 131 + (i >> 8)) & 255)).toString("latin1");
    for (const inRam of [false, true]) {
      const st = sha256Init(inRam);
      for (let o = 0; o < big.length; o += 4096) sha256Update(st, big.substring(o, o + 4096));
      expect(hex(sha256Final(st)), inRam ? "block code copied to RAM" : "").to.equal(node(big));
    }
  });
});
