import { expect } from "chai";
import fc from "fast-check";
import { verifyManifest, compareVersions, chunkCount, chunkBytes, MAX_MANIFEST_BYTES, type NodeIdentity } from "../../../firmware/ota/manifest.js";
import { signCommand } from "../../../firmware/messages/commands.js";
import { KEY, bundle, manifestFor, sha256, signed } from "../../support/ota-flash.js";

const me: NodeIdentity = { node: "bin-01", board: "esp32-bin", fw: "0.1.0", keyHex: KEY, lastCtr: 0 };
const B = bundle(3000, 7);

describe("OTA manifest", () => {
  it("accepts a manifest signed with the node's key, for its board, newer than it runs", () => {
    const v = verifyManifest(signed("bin-01", manifestFor(B)), me, sha256);
    expect(v.ok).to.equal(true);
    if (v.ok) expect(v.m).to.include({ fw: "0.2.0", size: 3000, cs: 256 });
  });

  it("refuses a forged manifest: another key, another node's, or a field changed after signing", () => {
    expect(verifyManifest(signed("bin-01", manifestFor(B), "22".repeat(32)), me, sha256)).to.include({ ok: false, error: "bad-mac" });
    expect(verifyManifest(signed("bin-02", manifestFor(B)), me, sha256)).to.include({ ok: false, error: "bad-mac" });
    const j = JSON.parse(signed("bin-01", manifestFor(B)));
    for (const [k, v] of [["fw", "9.0.0"], ["size", 2999], ["board", "esp32-air"], ["down", 1], ["sha", "0".repeat(64)], ["ctr", 1001]] as const) {
      expect(verifyManifest(JSON.stringify({ ...j, [k]: v }), me, sha256), k).to.include({ ok: false, error: "bad-mac" });
    }
  });

  it("refuses a bundle for another board, after checking its MAC", () => {
    const v = verifyManifest(signed("bin-01", manifestFor(B, { board: "esp32-air" })), me, sha256);
    expect(v).to.include({ ok: false, error: "wrong-board" });
  });

  it("refuses the same or an older version unless signed as a downgrade", () => {
    expect(verifyManifest(signed("bin-01", manifestFor(B, { fw: "0.1.0" })), me, sha256)).to.include({ ok: false, error: "not-newer" });
    expect(verifyManifest(signed("bin-01", manifestFor(B, { fw: "0.0.9" })), me, sha256)).to.include({ ok: false, error: "not-newer" });
    expect(verifyManifest(signed("bin-01", manifestFor(B, { fw: "0.0.9", down: 1 })), me, sha256).ok).to.equal(true);
    expect(verifyManifest(signed("bin-01", manifestFor(B, { fw: "0.1.10" })), me, sha256).ok).to.equal(true);
  });

  it("refuses a manifest older than the last accepted (a replayed downgrade), takes the same one again", () => {
    const p = signed("bin-01", manifestFor(B, { fw: "0.0.9", down: 1, ctr: 50 }));
    expect(verifyManifest(p, { ...me, lastCtr: 51 }, sha256)).to.include({ ok: false, error: "replay" });
    expect(verifyManifest(p, { ...me, lastCtr: 50 }, sha256).ok).to.equal(true);
  });

  it("is never a command's MAC, nor a command a manifest's", () => {
    const cmd = JSON.parse(signCommand("bin-01", KEY, 1000, "c-1", "reboot", {}, sha256, { ts: 1768435235, ttl: 60 }));
    const j = JSON.parse(signed("bin-01", manifestFor(B)));
    expect(verifyManifest(JSON.stringify({ ...j, mac: cmd.mac }), me, sha256)).to.include({ ok: false, error: "bad-mac" });
  });

  it("says why a malformed manifest is refused, and never throws on garbage", () => {
    const j = JSON.parse(signed("bin-01", manifestFor(B)));
    const cases: [unknown, string][] = [
      [42, "not text"],
      ["{", "not JSON"],
      ["[]", "not an object"],
      [JSON.stringify({ ...j, fw: "1.2" }), "bad fw"],
      [JSON.stringify({ ...j, size: 0 }), "bad size"],
      [JSON.stringify({ ...j, cs: 4096 }), "bad cs"],
      [JSON.stringify({ ...j, sha: "AB".repeat(32) }), "bad sha"],
      [JSON.stringify({ ...j, mac: "xyz" }), "bad mac"],
      [JSON.stringify({ ...j, ctr: 1.5 }), "bad ctr"],
    ];
    for (const [p, why] of cases) {
      const v = verifyManifest(p, me, sha256);
      expect(v.ok, why).to.equal(false);
      if (!v.ok) expect(v.detail, why).to.contain(why);
    }
    expect(verifyManifest("x".repeat(MAX_MANIFEST_BYTES + 1), me, sha256)).to.include({ error: "too-large" });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (g) => {
        const v = verifyManifest(g, me, sha256);
        expect(v.ok).to.equal(false);
      }),
      { numRuns: 400 },
    );
    // a valid manifest with one field replaced by anything: refused with a reason, no throw
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(j)), fc.anything(), (k, v) => {
        const r = verifyManifest(JSON.stringify({ ...j, [k]: v }), me, sha256);
        if (!r.ok) expect(r.detail).to.be.a("string").and.not.empty;
      }),
      { numRuns: 400 },
    );
  });

  it("orders versions by number, not text, and cuts bundles into chunks", () => {
    expect(compareVersions("0.10.0", "0.9.9")).to.be.greaterThan(0);
    expect(compareVersions("1.0.0", "1.0.0")).to.equal(0);
    expect(compareVersions("1.0", "1.0.0")).to.be.NaN;
    expect(chunkCount({ size: 3000, cs: 256 })).to.equal(12);
    expect(chunkBytes({ size: 3000, cs: 256 }, 11)).to.equal(3000 - 11 * 256);
    expect(chunkBytes({ size: 3072, cs: 256 }, 11)).to.equal(256);
  });
});
