// The node's side of an update end to end (firmware/ota/agent.ts) over the simulator's flash:
// staged across wakes, resumed after power cuts, checked, switched, confirmed or rolled back.
import { expect } from "chai";
import fc from "fast-check";
import { SimStorage } from "../../../sim/espruino/storage.js";
import { otaStart, otaFinish, otaManifest, otaWanted, otaChunk, otaConfirm, type OtaDeps, type OtaStatus } from "../../../firmware/ota/agent.js";
import { readRecord, writeRecord, bootFailed } from "../../../firmware/ota/boot.js";
import { chunkIndex, frameChunk } from "../../../firmware/ota/messages.js";
import { bundleId, type Manifest } from "../../../firmware/ota/manifest.js";
import { readJob, stagedCount } from "../../../firmware/ota/stage.js";
import { KEY, bundle, crc, manifestFor, sha256, signed, CutStorage, espruinoBoot } from "../../support/ota-flash.js";

const OLD = bundle(9000, 1), NEW = bundle(8000, 2);
const VERSIONS = new Map([[OLD, "0.1.0"], [NEW, "0.2.0"]]);

function deps(s: StorageModule, fw: string, over: Partial<OtaDeps> = {}): OtaDeps {
  return { storage: s, crc, sha256, node: "bin-01", board: "esp32-bin", fw, slot: "", keyHex: KEY, queue: () => ({ queued: 0, max: 100 }), room: () => s.getFree(), log: () => {}, ...over };
}

/** the retained chunks of a bundle on the broker, by topic */
function chunksOf(b: string, m: Manifest): Map<string, string> {
  const out = new Map<string, string>();
  for (let k = 0; k * m.cs < b.length; k++) out.set(`casanode-ota/${m.board}/${bundleId(m)}/${k}`, frameChunk(b.substring(k * m.cs, (k + 1) * m.cs), crc));
  return out;
}

/**
 * One boot of a node: the selector picks a bundle (or .bootcde runs), the bundle runs the
 * agent: manifest, at most `perWake` chunks, confirm after its "upload". Returns what ran.
 */
function boot(s: StorageModule, manifest: string, broker: Map<string, string>, perWake: number, crashes = false): { ran: string; st: OtaStatus; reboot: boolean } {
  const file = espruinoBoot(s), pick = file === ".bootcde" ? "" : file;
  const fw = VERSIONS.get(s.read(file)!);
  if (!fw) throw new Error("no whole bundle to boot (" + file + ")");
  const d = deps(s, fw, { slot: pick });
  if (crashes && fw === "0.2.0") {
    bootFailed(s, crc, readRecord, writeRecord, "Error: boom");
    return { ran: fw, st: otaStart(d), reboot: true };
  }
  const st = otaStart(d);
  if (otaFinish(d, st).reboot) return { ran: fw, st, reboot: true };
  otaManifest(d, st, manifest);
  for (const t of otaWanted(d, st, perWake)) {
    const o = otaChunk(d, st, t, broker.get(t)!);
    if (o.reboot) return { ran: fw, st, reboot: true };
  }
  otaConfirm(d, st); // booted, sensors configured, uploaded
  return { ran: fw, st, reboot: false };
}

function fresh(c?: CutStorage): StorageModule {
  const s = c ? c.s : new SimStorage({ sizeBytes: 256 * 1024 });
  s.write(".bootcde", OLD);
  return s;
}

const M = manifestFor(NEW);
const MANIFEST = signed("bin-01", M);
const BROKER = chunksOf(NEW, M);

describe("OTA update on a node (agent over simulated flash)", () => {
  it("stages across wakes (a bounded number of chunks each), checks, switches and confirms", () => {
    const s = fresh();
    const wakes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const b = boot(s, MANIFEST, BROKER, 8);
      wakes.push(b.ran);
      if (b.ran === "0.2.0" && !b.reboot) break;
    }
    // 32 chunks at 8 a wake: 4 wakes on the old bundle, then the new one
    expect(wakes).to.deep.equal(["0.1.0", "0.1.0", "0.1.0", "0.1.0", "0.2.0"]);
    expect(readRecord(s, crc)).to.include({ run: "fw.b", fw: "0.2.0", n: 0 });
    expect(s.read("fw.b")).to.equal(NEW);
    expect(readJob(s)).to.equal(null);
    const st = otaStart(deps(s, "0.2.0", { slot: "fw.b" }));
    expect(st.report).to.include({ state: "done", fw: "0.2.0", run: "0.2.0" });
    // the retained manifest seen again changes nothing
    expect(otaManifest(deps(s, "0.2.0"), st, MANIFEST)).to.include({ state: "done" });
  });

  it("rolls back a bundle that crashes at boot, reports why, and does not take it again", () => {
    const s = fresh();
    let b;
    for (let i = 0; i < 10; i++) if ((b = boot(s, MANIFEST, BROKER, 64, true)).st.report?.state === "rolled-back") break;
    const next = boot(s, MANIFEST, BROKER, 64, true);
    expect(next.ran).to.equal("0.1.0");
    expect(next.st.report).to.include({ state: "rolled-back", fw: "0.2.0", run: "0.1.0", detail: "crashed at boot: Error: boom" });
    expect(otaManifest(deps(s, "0.1.0"), next.st, MANIFEST)).to.include({ state: "rolled-back" });
    // re-issued (a new counter), it is tried again
    expect(otaManifest(deps(s, "0.1.0"), otaStart(deps(s, "0.1.0")), signed("bin-01", { ...M, ctr: 2000 }))).to.include({ state: "fetching" });
  });

  it("refuses a chunk whose CRC fails and fetches it again; gives a bundle up after two hash failures", () => {
    const s = fresh();
    const bad = new Map(BROKER);
    const t3 = [...bad.keys()][3];
    const p = bad.get(t3)!;
    bad.set(t3, p.substring(0, 10) + String.fromCharCode(p.charCodeAt(10) ^ 1) + p.substring(11));
    const d = deps(s, "0.1.0"), st = otaStart(d);
    otaManifest(d, st, MANIFEST);
    const r = otaChunk(d, st, t3, bad.get(t3)!);
    expect(r.report).to.include({ state: "fetching", error: "chunk", have: 0 });
    expect(otaWanted(d, st, 100)).to.include(t3);
    // a chunk forged with a matching CRC passes on arrival but not the bundle's SHA-256
    const forged = p.substring(4, 10) + String.fromCharCode(p.charCodeAt(10) ^ 1) + p.substring(11);
    bad.set(t3, frameChunk(forged, crc));
    let last: any;
    for (let i = 0; i < 4; i++) for (const t of otaWanted(d, st, 100)) last = otaChunk(d, st, t, bad.get(t)!).report;
    expect(last).to.include({ state: "failed", error: "hash" });
    expect(otaWanted(d, st, 100)).to.deep.equal([]);
    expect(s.read("fw.b")).to.equal(undefined); // its room is given back
    expect(otaStart(deps(s, "0.1.0")).report).to.include({ state: "failed" });
    expect(readRecord(s, crc)).to.include({ run: "fw.a", n: 0 });
  });

  it("refuses a forged manifest, another board's bundle, and one that does not fit beside the queue", () => {
    const s = fresh();
    const d = deps(s, "0.1.0"), st = otaStart(d);
    expect(otaManifest(d, st, signed("bin-01", M, "22".repeat(32)))).to.include({ state: "refused", error: "bad-mac" });
    expect(otaManifest(d, st, signed("bin-01", { ...M, board: "esp32-air" }))).to.include({ state: "refused", error: "wrong-board" });
    // the queue may grow by 4000 values of 56 bytes: that room is the queue's
    const tight = deps(s, "0.1.0", { room: () => 200000, queue: () => ({ queued: 1000, max: 5000 }) });
    const r = otaManifest(tight, otaStart(tight), MANIFEST);
    expect(r).to.include({ state: "refused", error: "no-room" });
    expect(r.detail).to.match(/queue and state keep 232192/);
    expect(s.read(".bootcde")).to.equal(OLD); // nothing was touched
    expect(s.list()).to.deep.equal([".bootcde"]);
  });

  it("power cut inside any flash write: one whole bundle always boots, at most one chunk is lost, the update completes", () => {
    // the uncut run's writes, counted once
    const run = (c: CutStorage, max = 40) => {
      const seen: string[] = [];
      for (let i = 0; i < max; i++) {
        const b = boot(c.s, MANIFEST, BROKER, 5);
        seen.push(b.ran);
        if (b.ran === "0.2.0" && !b.reboot) return seen;
      }
      throw new Error("did not finish: " + seen.join(" "));
    };
    const clean = new CutStorage();
    fresh(clean);
    const base = clean.writes;
    run(clean);
    const total = clean.writes;
    expect(total - base).to.be.greaterThan(70);
    let cuts = 0;
    for (let i = base + 1; i <= total; i++) {
      for (const frac of [0, 0.5, 0.999]) {
        const c = new CutStorage();
        fresh(c);
        c.cutAt = i;
        let before = 0;
        try {
          for (let w = 0; w < 40 && !c.dead; w++) {
            const job = readJob(c.s);
            before = job ? stagedCount(c.s, job) : 0;
            const b = boot(c.s, MANIFEST, BROKER, 5);
            if (b.ran === "0.2.0" && !b.reboot) break;
          }
        } catch (e) {
          if (!c.dead) throw e;
        }
        if (!c.dead) continue;
        cuts++;
        c.revive();
        // after the cut: progress kept but for the chunk being written
        const job = readJob(c.s), rec = readRecord(c.s, crc);
        // unless the bundle was switched to already (its marks are then cleared on purpose)
        if (job && before && rec?.id !== bundleId(job.m)) expect(stagedCount(c.s, job), `cut ${i}@${frac}`).to.be.at.least(before - 1);
        let seen: string[];
        try {
          seen = run(c); // throws if no whole bundle boots
        } catch (e) {
          const st = otaStart(deps(c.s, "0.1.0"));
          throw new Error(`cut ${i}@${frac}: ${(e as Error).message.slice(0, 60)} ${JSON.stringify(st.report)} ${JSON.stringify(st.job?.slot)} ${c.s.list()}`);
        }
        expect(seen[seen.length - 1]).to.equal("0.2.0");
        const fin = readRecord(c.s, crc)!;
        const got = c.s.read(fin.run)!;
        let diff = -1;
        for (let x = 0; x < got.length; x++) if (got[x] !== NEW[x]) { diff = x; break; }
        expect(c.s.read(fin.run) === NEW, `cut ${i}@${frac}: ${got.length} ${NEW.length} diff@${diff} ${JSON.stringify(got.substring(diff, diff + 8))} ${JSON.stringify(NEW.substring(diff, diff + 8))} ${seen}`).to.equal(true);
      }
    }
    expect(cuts).to.be.greaterThan(total - base);
  });

  it("several power cuts at random writes and points, with a chunk budget per wake: the update always completes", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: 1, max: 60 }), frac: fc.double({ min: 0, max: 0.999, noNaN: true }) }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 40 }), (cuts, perWake) => {
        const c = new CutStorage();
        fresh(c);
        let wakes = 0;
        for (const cut of cuts) {
          c.cutAt = c.writes + cut.at;
          c.frac = cut.frac;
          try {
            for (let w = 0; w < 60 && !c.dead; w++, wakes++) {
              const b = boot(c.s, MANIFEST, BROKER, perWake);
              if (b.ran === "0.2.0" && !b.reboot) break;
            }
          } catch (e) {
            if (!c.dead) throw e;
          }
          c.revive();
        }
        for (let w = 0; w < 80; w++) {
          const b = boot(c.s, MANIFEST, BROKER, perWake);
          if (b.ran === "0.2.0" && !b.reboot) {
            expect(readRecord(c.s, crc)).to.include({ run: "fw.b", n: 0 });
            return;
          }
        }
        const job = readJob(c.s);
        throw new Error(JSON.stringify(readRecord(c.s, crc)) + " job " + JSON.stringify(job && { slot: job.slot, fails: job.fails, have: stagedCount(c.s, job) }) + " " + c.s.list() + " " + JSON.stringify(otaStart(deps(c.s, "0.1.0")).report) + " did not complete after " + wakes + " wakes and the cuts " + JSON.stringify(cuts));
      }),
      { numRuns: 60 },
    );
  });
});
