import { expect } from "chai";
import mqtt from "mqtt";
import { writeFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { planRollout, fleetFromKeys, tallyRollout, formatTally, publishRollout, watchReports, parseReport, clearRollout } from "../../tools/ota.js";
import { readKeysFile } from "../../tools/command.js";
import { verifyManifest } from "../../firmware/ota/manifest.js";
import { unframeChunk, otaStateTopic, reportPayload, type OtaReport } from "../../firmware/ota/messages.js";
import { startBroker } from "../../sim/broker.js";
import { bundle, crc, sha256 } from "../support/ota-flash.js";

const K1 = "11".repeat(32), K2 = "22".repeat(32);
const B = bundle(5000, 9);
const plan = () => planRollout({ bundle: B, board: "esp32-bin", site: "casa", nodes: [{ node: "bin-01", keyHex: K1 }, { node: "bin-02", keyHex: K2 }], fw: "0.2.0", ctr: 500, ts: 1768435235, cs: 768 });

describe("casanode ota (back office)", () => {
  it("cuts the bundle into retained chunks once per board and signs a manifest per node", () => {
    const p = plan();
    expect(p.chunks.map((c) => c.topic)).to.deep.equal([0, 1, 2, 3, 4, 5, 6].map((k) => `casanode-ota/esp32-bin/${p.id}/${k}`));
    expect(p.chunks.map((c) => unframeChunk(c.payload, crc)).join("")).to.equal(B);
    expect(p.manifests.map((m) => m.topic)).to.deep.equal(["casanode/casa/bin-01/ota", "casanode/casa/bin-02/ota"]);
    const me = { node: "bin-01", board: "esp32-bin", fw: "0.1.0", keyHex: K1, lastCtr: 0 };
    expect(verifyManifest(p.manifests[0].payload, me, sha256).ok).to.equal(true);
    // each node's manifest is its own: another node refuses it
    expect(verifyManifest(p.manifests[1].payload, me, sha256)).to.include({ ok: false, error: "bad-mac" });
  });

  it("refuses bad input with a clear message", () => {
    const base = { bundle: B, board: "esp32-bin", site: "casa", nodes: [{ node: "bin-01", keyHex: K1 }], fw: "0.2.0" };
    expect(() => planRollout({ ...base, fw: "2" })).to.throw(/--fw must be major.minor.patch/);
    expect(() => planRollout({ ...base, cs: 4000 })).to.throw(/--chunk must be/);
    expect(() => planRollout({ ...base, bundle: "" })).to.throw(/a node takes/);
    expect(() => planRollout({ ...base, nodes: [] })).to.throw(/no nodes of board esp32-bin at site casa/);
    expect(() => planRollout({ ...base, nodes: [{ node: "Bad!", keyHex: K1 }] })).to.throw(/node id/);
    expect(() => planRollout({ ...base, nodes: [{ node: "bin-01", keyHex: "zz" }] })).to.throw(/64 hex/);
  });

  it("takes a board's nodes at a site from the keys file, the newest key per node", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ota-keys-"));
    const f = path.join(dir, "keys.jsonl");
    const line = (site: string, node: string, board: string, keyHex: string) => JSON.stringify({ site, node, board, keyHex, at: "x" });
    writeFileSync(f, [line("casa", "bin-01", "esp32-bin", K2), line("casa", "bin-01", "esp32-bin", K1), line("casa", "air-01", "esp32-air", K2), line("other", "bin-09", "esp32-bin", K2), ""].join("\n"));
    const keys = readKeysFile(f);
    expect(fleetFromKeys(keys, "casa", "esp32-bin")).to.deep.equal([{ node: "bin-01", keyHex: K1 }]);
    expect(() => fleetFromKeys(keys, "casa", "esp32-bin", ["air-01"])).to.throw(/air-01 is a esp32-air/);
    expect(() => fleetFromKeys(keys, "casa", "esp32-bin", ["bin-07"])).to.throw(/no key for casa\/bin-07/);
    writeFileSync(f, "{not json\n");
    expect(() => readKeysFile(f)).to.throw(/keys.jsonl:1: not a JSON line/);
  });

  it("tallies the nodes' reports: who has it, fetches, failed and why, rolled back", () => {
    const id = "0123456789abcdef", fw = "0.2.0";
    const r = (o: Partial<OtaReport>): OtaReport => ({ state: "fetching", run: "0.1.0", id, fw, ...o });
    const t = tallyRollout({ id, fw }, ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"], {
      n1: r({ state: "done", run: "0.2.0" }),
      n2: r({ state: "fetching", have: 40, of: 94 }),
      n3: r({ state: "rolled-back", error: "rolled-back", detail: "crashed at boot: Error: boom" }),
      n4: r({ state: "refused", error: "no-room", detail: "needs 80000 bytes" }),
      n5: r({ state: "failed", error: "hash", detail: "bundle hash mismatch 2 times" }),
      n6: r({ state: "trial", run: "0.2.0" }),
      n7: { state: "done", run: "0.2.0", id: "ffffffffffffffff", fw: "0.2.0" }, // same version by another rollout
      n8: undefined,
    });
    expect(t.counts).to.deep.equal({ updated: 2, trial: 1, fetching: 1, failed: 1, refused: 1, "rolled-back": 1, waiting: 1 });
    expect(t.why).to.deep.equal({
      "rolled-back: rolled-back (crashed at boot: Error: boom)": ["n3"],
      "refused: no-room (needs 80000 bytes)": ["n4"],
      "failed: hash (bundle hash mismatch 2 times)": ["n5"],
    });
    const text = formatTally(t, true);
    expect(text).to.contain("0.2.0 (0123456789abcdef): 2/8 updated, 1 on trial, 1 fetching, 1 waiting, 1 failed, 1 refused, 1 rolled back");
    expect(text).to.contain("n2: fetching 40/94 chunks, runs 0.1.0");
    expect(parseReport("garbage")).to.equal(undefined);
    expect(parseReport('{"state":1}')).to.equal(undefined);
  });

  it("publishes retained chunks and manifests a node finds later, and reads its retained report", async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const p = plan();
      await publishRollout(p, broker.url);
      // a node that connects afterwards: its manifest and a chunk are there, retained
      const node = await mqtt.connectAsync(broker.url, { clientId: "casanode-casa-bin-01" });
      const got = new Map<string, string>();
      node.on("message", (t, m) => got.set(t, m.toString("latin1")));
      await node.subscribeAsync([p.manifests[0].topic, p.chunks[3].topic], { qos: 0 });
      for (let i = 0; i < 100 && got.size < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(got.get(p.manifests[0].topic)).to.equal(p.manifests[0].payload);
      expect(got.get(p.chunks[3].topic)).to.equal(p.chunks[3].payload);
      await node.publishAsync(otaStateTopic("casa", "bin-01"), reportPayload({ state: "fetching", run: "0.1.0", id: p.id, fw: "0.2.0", have: 1, of: 7 }), { qos: 1, retain: true });
      await node.endAsync();
      const reports: { [n: string]: OtaReport } = {};
      await watchReports(broker.url, "casa", 300, (n, r) => (reports[n] = r));
      expect(reports["bin-01"]).to.include({ state: "fetching", have: 1 });
      expect(formatTally(tallyRollout(p, ["bin-01", "bin-02"], reports))).to.contain("0/2 updated, 0 on trial, 1 fetching, 1 waiting");
    } finally {
      await broker.stop();
    }
  });
  it("--clear deletes the chunks and the manifests of the nodes that run the bundle; a node still on its way keeps its manifest", async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const p = plan();
      await publishRollout(p, broker.url);
      const reports: { [n: string]: OtaReport } = {
        "bin-01": { state: "done", run: "0.2.0", id: p.id, fw: "0.2.0" },
        "bin-02": { state: "fetching", run: "0.1.0", id: p.id, fw: "0.2.0", have: 3, of: 7 },
      };
      expect(await clearRollout(p, tallyRollout(p, ["bin-01", "bin-02"], reports), broker.url)).to.deep.equal(["bin-01"]);
      // what a node connecting now finds retained
      const later = await mqtt.connectAsync(broker.url, { clientId: "later" });
      const got = new Map<string, string>();
      later.on("message", (t, m) => got.set(t, m.toString("latin1")));
      await later.subscribeAsync(["casanode/casa/+/ota", "casanode-ota/#"], { qos: 0 });
      await new Promise((r) => setTimeout(r, 300));
      await later.endAsync();
      expect([...got.keys()]).to.deep.equal([p.manifests[1].topic]);
    } finally {
      await broker.stop();
    }
  });
});
