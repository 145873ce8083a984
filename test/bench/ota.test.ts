// bench/ota.ts: the update's cost per node is measured, not assumed: a rollout and a run
// without it, the same seed, the difference in bytes and charge, and when each node confirmed.
import { expect } from "chai";
import { benchOta } from "../../bench/ota.js";

describe("bench: over-the-air update cost", function () {
  this.timeout(120_000);

  it("a small mains fleet: every node updated, about the bundle's bytes on the air per node (chunks, topics, SUBSCRIBE/UNSUBSCRIBE), done within minutes", async () => {
    const f = await benchOta({ board: "esp32-noise", nodes: 2, durationMs: 40 * 60_000, atMs: 10 * 60_000, seed: 3 });
    expect(f.updated).to.equal(2);
    expect(f.chunks).to.equal(Math.ceil(f.bundleBytes / 768));
    // the chunks come in (rx); what goes out is requests and reports
    expect(f.extraRxBytesPerNode).to.be.above(f.bundleBytes);
    expect(f.extraTxBytesPerNode).to.be.above(0).and.below(f.bundleBytes / 4);
    expect(f.airPerBundleByte).to.be.within(1, 1.6);
    expect(f.fleetDoneMs).to.be.a("number").and.below(5 * 60_000);
    expect(f.medianDoneMs!).to.be.at.most(f.fleetDoneMs!);
  });
});
