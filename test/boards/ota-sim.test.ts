// Over-the-air updates through the REAL bundles (dist/<board>.js) in the simulator: the
// back office's rollout (sim/ota-rollout.ts planRollout) retained on an in-memory broker, the
// node staging across wakes, the .boot0 selector booting the new bundle from its slot, the
// trial confirmed or rolled back, and the faults of issue 13: power cuts while staging and
// inside the switch, a broker outage mid-transfer, a corrupted chunk, a bundle that throws at
// boot, a bundle for another board and a forged manifest.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { ensureBundle, withFirmwareVersion } from "../../toolchain/bundle.js";
import { crc32 } from "../../sim/espruino/crc32.js";
import { planRollout, type Rollout } from "../../sim/ota-rollout.js";
import { readRecord } from "../../firmware/ota/boot.js";
import { frameChunk, unframeChunk, type OtaReport } from "../../firmware/ota/messages.js";
import { rig, KEY, type Rig } from "../support/bundle-rig.js";

const MIN = 60_000;
const HOUR = 3_600_000;
const STATE_TOPIC = "casanode/t/n1/ota-state";

async function bundleOf(board: string): Promise<string> {
  return readFileSync(await ensureBundle(board), "latin1");
}

/** the same bundle reporting another version (FIRMWARE_VERSION is the one x.y.z literal in it) */
function withVersion(bundle: string, fw: string): string {
  return withFirmwareVersion(bundle, "0.1.0", fw);
}

/** what `casanode ota` publishes, put on the broker: chunks retained, the manifest retained and sent */
function publish(r: Rig, bundle: string, o: { fw?: string; board?: string; keyHex?: string; ctr?: number; corrupt?: (chunks: Rollout["chunks"]) => void } = {}): Rollout {
  const plan = planRollout({ bundle, board: o.board ?? "esp32-bin", site: "t", nodes: [{ node: "n1", keyHex: o.keyHex ?? KEY }], fw: o.fw ?? "0.2.0", ctr: o.ctr ?? r.clock.now(), ts: Math.floor(r.clock.now() / 1000) });
  o.corrupt?.(plan.chunks);
  for (const c of plan.chunks) r.broker.retained.set(c.topic, c.payload);
  for (const m of plan.manifests) r.broker.retain(m.topic, m.payload);
  return plan;
}

function report(r: Rig): OtaReport | undefined {
  const p = r.broker.retained.get(STATE_TOPIC);
  return p === undefined ? undefined : JSON.parse(p);
}

function reports(r: Rig): OtaReport[] {
  return r.broker.published.filter((m) => m.topic === STATE_TOPIC).map((m) => JSON.parse(m.payload));
}

/** chunks staged and marked (ota.prog: one byte per chunk, 0 once written and read back) */
function staged(r: Rig): number {
  const p = r.node.storage.read("ota.prog");
  return p === undefined ? 0 : p.split("\x00").length - 1;
}

/** the versions that booted, in order ("CasaNode 0.1.0 esp32-bin n1 boot=...") */
function boots(r: Rig): string[] {
  return r.lines.filter((l) => /^CasaNode \d/.test(l[1])).map((l) => l[1].split(" ")[1]);
}

/** advance in small steps until cond (the node awake), at most maxMs */
function runUntil(r: Rig, cond: () => boolean, maxMs: number): void {
  const end = r.clock.now() + maxMs;
  while (r.clock.now() < end && !cond()) r.clock.runUntil(r.clock.now() + 50);
  expect(cond(), "condition reached").to.equal(true);
}

/** the update ended on 0.2.0 in fw.b, confirmed, reported done, nothing left of the stage */
function expectUpdated(r: Rig, plan: Rollout): void {
  expect(readRecord(r.node.storage, crc32)).to.include({ run: "fw.b", id: plan.id, fw: "0.2.0", n: 0 });
  expect(report(r)).to.include({ state: "done", id: plan.id, fw: "0.2.0", run: "0.2.0" });
  expect(r.node.storage.read(".bootcde")).to.equal(undefined);
  expect(r.node.storage.read("ota.job")).to.equal(undefined);
  expect(r.node.storage.read("ota.try")).to.equal(undefined);
  expect(boots(r).slice(-1)).to.deep.equal(["0.2.0"]);
}

describe("over-the-air updates (real bundles in the simulator)", function () {
  this.timeout(120_000);
  let r: Rig | undefined;
  let v1 = "", v2 = "";
  before(async () => {
    v1 = await bundleOf("esp32-bin");
    v2 = withVersion(v1, "0.2.0");
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed" && r) console.log(r.text().slice(-3000));
    r?.node.stop();
    r = undefined;
  });

  it("a battery node stages 24 chunks a wake, checks, switches, boots the new bundle through .boot0 and confirms it after its first upload", async () => {
    r = await rig("esp32-bin", {});
    r.run(20 * MIN);
    const plan = publish(r, v2);
    r.run(5 * HOUR);
    expectUpdated(r, plan);
    expect(r.node.storage.read("fw.b")).to.equal(v2);
    expect(boots(r)[0]).to.equal("0.1.0");
    // progress reported per wake, never more than the bound at a time
    const have = reports(r).filter((x) => x.state === "fetching").map((x) => x.have!);
    expect(have.length).to.be.at.least(Math.ceil(plan.chunks.length / 24) - 1);
    for (let i = 1; i < have.length; i++) expect(have[i] - have[i - 1]).to.be.within(0, 24);
    expect(reports(r).map((x) => x.state)).to.include.members(["fetching", "trial", "done"]);
    // the node kept measuring and uploading on the new bundle
    expect(r.seen(/^cycle: /).filter((t) => t > r!.seen(/^CasaNode 0\.2\.0/)[0]).length).to.be.above(0);
    expect(r.node.stats.crashes).to.equal(0);
  });

  it("a mains node fetches every chunk at once and switches", async () => {
    r = await rig("esp32-noise", {});
    r.run(10 * MIN);
    const noise2 = withVersion(await bundleOf("esp32-noise"), "0.2.0");
    const plan = publish(r, noise2, { board: "esp32-noise" });
    r.run(30 * MIN);
    expectUpdated(r, plan);
    expect(reports(r).filter((x) => x.state === "fetching" && x.have! > 0 && x.have! < x.of!)).to.have.length(0);
  });

  it("a manifest the back office clears once the node has the update (an empty retained message) changes nothing on the node", async () => {
    r = await rig("esp32-noise", {});
    r.run(10 * MIN);
    const plan = publish(r, withVersion(await bundleOf("esp32-noise"), "0.2.0"), { board: "esp32-noise" });
    r.run(30 * MIN);
    expectUpdated(r, plan);
    const before = reports(r).length;
    r.broker.retain(plan.manifests[0].topic, "");
    r.run(10 * MIN);
    expect(r.seen(/ota: manifest: refused/)).to.have.length(0);
    expect(reports(r)).to.have.length(before);
    expect(report(r)).to.include({ state: "done", fw: "0.2.0" });
  });

  it("a Linux node on a 236 KB Storage (the 256 KB build fits two slots beside the 68 KB image): the first update adopts the flashed bundle and restarts to free .bootcde; updates in a row (one crashing) neither run out of room nor count as a boot loop", async () => {
    r = await rig("linux", {}, { storageBytes: 224 * 1024 });
    // sooner than a mains boot counts as stable (STABLE_MS): every boot from here is in a row
    r.run(1 * MIN);
    const linux = await bundleOf("linux");
    const plan = publish(r, withVersion(linux, "0.2.0"), { board: "linux" });
    r.run(2 * MIN);
    expect(r.seen(/ota: the flashed bundle is now in fw\.a: restarting to free \.bootcde/)).to.have.length(1);
    expectUpdated(r, plan);
    expect(boots(r)).to.deep.equal(["0.1.0", "0.1.0", "0.2.0"]);
    // the next one goes into fw.a, over the bundle kept there (its room counts as free): it throws at boot
    const crash = publish(r, 'throw new Error("boom");\n' + withVersion(linux, "0.3.0"), { board: "linux", fw: "0.3.0" });
    r.run(2 * MIN);
    expect(report(r)).to.include({ state: "rolled-back", id: crash.id, run: "0.2.0" });
    // a good one right after: five restarts within minutes, none of them a crash of the running bundle
    const next = publish(r, withVersion(linux, "0.3.1"), { board: "linux", fw: "0.3.1" });
    r.run(3 * MIN);
    expect(r.seen(/SAFE MODE/)).to.have.length(0);
    expect(readRecord(r.node.storage, crc32)).to.include({ run: "fw.a", id: next.id, fw: "0.3.1", prev: "fw.b", n: 0 });
    expect(report(r)).to.include({ state: "done", fw: "0.3.1" });
  });

  it("a power cut while staging loses at most the chunk being written: the stage resumes, it does not restart", async () => {
    r = await rig("esp32-bin", {});
    r.run(20 * MIN);
    const plan = publish(r, v2);
    runUntil(r, () => staged(r!) >= 30 && r!.node.powerState === "awake" && r!.node.radio, 4 * HOUR);
    const before = staged(r);
    r.node.powerCut(10_000, { tear: true });
    r.run(11_000);
    expect(r.node.stats.powerCuts).to.equal(1);
    expect(staged(r)).to.be.at.least(before - 1);
    r.run(5 * HOUR);
    expectUpdated(r, plan);
    expect(r.node.storage.read("fw.b")).to.equal(v2);
  });

  for (const at of [
    { what: "ota.try", when: (name: string) => name === "ota.try" },
    { what: "the boot record naming the new slot", when: (name: string, data: string) => /^ota\.r[01]$/.test(name) && /"n":4/.test(data) },
    { what: "the first try of the new bundle (.boot0)", when: (name: string, data: string, off?: number) => name === "ota.try" && data === "\x00" && off === 0 },
  ]) {
    it(`a power cut inside the switch (writing ${at.what}) leaves a bundle that boots, and the update completes`, async () => {
      r = await rig("esp32-bin", {});
      const s = r.node.storage, write = s.write.bind(s);
      let cut = 0;
      s.write = (name: string, data: any, offset?: number, size?: number) => {
        if (!cut && at.when(name, String(data), offset)) {
          cut = r!.clock.now();
          r!.node.powerCut(5_000, { tear: true });
        }
        return write(name, data, offset, size);
      };
      r.run(20 * MIN);
      const plan = publish(r, v2);
      r.run(6 * HOUR);
      expect(cut, "the cut happened").to.be.above(0);
      expect(r.node.stats.tornWrites).to.equal(1);
      // every boot after the cut ran a whole bundle
      expect(r.lines.filter((l) => l[0] > cut && /^CasaNode \d/.test(l[1]))).to.not.be.empty;
      expect(r.node.stats.crashes).to.equal(0);
      expectUpdated(r, plan);
    });
  }

  it("a broker outage mid-transfer: staging pauses and resumes where it stopped when the broker is back", async () => {
    r = await rig("esp32-bin", {});
    r.run(20 * MIN);
    const plan = publish(r, v2);
    runUntil(r, () => staged(r!) >= 24, 4 * HOUR);
    r.broker.setUp(false);
    const during = staged(r);
    r.run(3 * HOUR);
    expect(staged(r)).to.equal(during);
    expect(r.seen(/upload failed/).length).to.be.above(0);
    r.broker.setUp(true);
    r.run(5 * HOUR);
    expectUpdated(r, plan);
  });

  it("a chunk corrupted on the broker is refused on arrival (reported), and taken once the back office publishes it again", async () => {
    r = await rig("esp32-bin", {});
    r.run(20 * MIN);
    let good = "";
    const plan = publish(r, v2, {
      corrupt: (cs) => {
        good = cs[5].payload;
        cs[5].payload = good.slice(0, 100) + String.fromCharCode(good.charCodeAt(100) ^ 0x20) + good.slice(101);
      },
    });
    r.run(5 * HOUR);
    expect(reports(r).find((x) => x.error === "chunk")).to.include({ state: "fetching", detail: "chunk 5 fails its CRC" });
    expect(readRecord(r.node.storage, crc32)).to.include({ run: "fw.a", fw: "0.1.0" });
    expect(report(r)).to.include({ state: "fetching", have: plan.chunks.length - 1 });
    r.broker.retained.set(plan.chunks[5].topic, good);
    r.run(3 * HOUR);
    expectUpdated(r, plan);
  });

  it("a chunk wrong on the broker with a valid CRC: the bundle hash refuses it twice, the node reports failed (hash) and keeps its bundle", async () => {
    r = await rig("esp32-bin", { samplePeriodS: 300, uploadPeriodS: 3600 });
    r.run(20 * MIN);
    publish(r, v2, {
      corrupt: (cs) => {
        const data = unframeChunk(cs[7].payload, crc32)!;
        cs[7].payload = frameChunk(data.slice(0, 10) + "X" + data.slice(11), crc32);
      },
    });
    r.run(8 * HOUR);
    expect(report(r)).to.include({ state: "failed", error: "hash", run: "0.1.0" });
    expect(reports(r).filter((x) => x.error === "hash").map((x) => x.state)).to.deep.equal(["fetching", "failed"]);
    expect(readRecord(r.node.storage, crc32)).to.include({ run: "fw.a", fw: "0.1.0", n: 0 });
    // the slot's room is given back
    expect(r.node.storage.read("fw.b")).to.equal(undefined);
    expect(boots(r).every((v) => v === "0.1.0")).to.equal(true);
  });

  it("a bundle that throws at boot is rolled back at once and reported 'rolled-back (crashed at boot: ...)'; the same manifest is not taken again", async () => {
    r = await rig("esp32-bin", {});
    r.run(20 * MIN);
    const crashing = 'throw new Error("boom at boot");\n' + v2;
    const plan = publish(r, crashing);
    r.run(5 * HOUR);
    expect(report(r)).to.include({ state: "rolled-back", id: plan.id, fw: "0.2.0", run: "0.1.0", error: "rolled-back" });
    expect(report(r)!.detail).to.match(/^crashed at boot: Error: boom at boot/);
    expect(readRecord(r.node.storage, crc32)).to.deep.include({ run: "fw.a", fw: "0.1.0", n: 0, rb: { id: plan.id, fw: "0.2.0", why: report(r)!.detail } });
    expect(r.seen(/ota: rolled-back \(crashed at boot/).length).to.be.above(0);
    const n = r.node.stats.boots;
    r.run(3 * HOUR);
    expect(r.node.stats.boots, "no retry of the same manifest").to.equal(n);
    expect(boots(r).slice(-1)).to.deep.equal(["0.1.0"]);
  });

  it("a bundle for another board is refused (wrong-board), nothing staged", async () => {
    r = await rig("esp32-bin", {});
    r.run(20 * MIN);
    publish(r, withVersion(await bundleOf("esp32-air"), "0.2.0"), { board: "esp32-air" });
    r.run(3 * HOUR);
    expect(report(r)).to.include({ state: "refused", error: "wrong-board", run: "0.1.0" });
    expect(r.node.storage.read("ota.job")).to.equal(undefined);
    expect(r.node.storage.read("fw.b")).to.equal(undefined);
    expect(boots(r).every((v) => v === "0.1.0")).to.equal(true);
  });

  it("a forged manifest (signed with another key) is refused (bad-mac), nothing staged", async () => {
    r = await rig("esp32-bin", {});
    r.run(20 * MIN);
    publish(r, v2, { keyHex: "5a".repeat(32) });
    r.run(3 * HOUR);
    expect(report(r)).to.include({ state: "refused", error: "bad-mac", run: "0.1.0" });
    expect(r.node.storage.read("ota.job")).to.equal(undefined);
    expect(r.node.storage.read("fw.a")).to.equal(undefined);
  });

  it("an update that does not fit beside what the queue needs is refused (no-room), and no reading is dropped for it", async () => {
    r = await rig("esp32-bin", {}, { storageBytes: 256 * 1024 });
    r.run(20 * MIN);
    publish(r, v2);
    r.run(3 * HOUR);
    expect(report(r)).to.include({ state: "refused", error: "no-room", run: "0.1.0" });
    expect(report(r)!.detail).to.match(/^needs \d+ bytes, \d+ free of which the queue and state keep \d+$/);
    expect(r.node.storage.read("ota.job")).to.equal(undefined);
    expect(r.node.storage.read("fw.b")).to.equal(undefined);
    expect(r.seen(/dropped to make room/)).to.have.length(0);
  });
});
