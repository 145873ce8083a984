import { expect } from "chai";
import { SimStorage } from "../../../sim/espruino/storage.js";
import { readRecord, writeRecord, selectBoot, bootFailed, adoptBootcde, switchTo, confirmBoot, selectorInstalled, boot0Text, TRIAL_BOOTS, type BootRecord } from "../../../firmware/ota/boot.js";
import { crc, bundle, CutStorage, espruinoBoot } from "../../support/ota-flash.js";

const OLD = bundle(9000, 1), NEW = bundle(8000, 2);
const select = (s: StorageModule) => selectBoot(s, crc, readRecord, writeRecord);

/** a node flashed the classic way, adopted, with NEW written in fw.b and switched to */
function switched(s: StorageModule): BootRecord {
  s.write(".bootcde", OLD);
  const r = adoptBootcde(s, crc, "0.1.0")!;
  s.write("fw.b", NEW);
  return switchTo(s, crc, r, "fw.b", "b".repeat(16), "0.2.0", 1000);
}

describe("OTA boot records and the .boot0 selector", () => {
  it("steps aside for a classic .bootcde, and adopts it into slot fw.a with the selector", () => {
    const s = new SimStorage();
    s.write(".bootcde", OLD);
    expect(select(s)).to.equal("");
    const r = adoptBootcde(s, crc, "0.1.0")!;
    expect(r).to.include({ run: "fw.a", n: 0, fw: "0.1.0" });
    expect(s.read("fw.a")).to.equal(OLD);
    expect(selectorInstalled(s)).to.equal(true);
    expect(s.read(".boot0")).to.equal(boot0Text());
    // a torn .boot0 (its tail still 0xFF) is not a selector: written again while .bootcde runs
    const t = boot0Text();
    s.erase(".boot0");
    s.write(".boot0", t.substring(0, 40), 0, t.length);
    expect(selectorInstalled(s)).to.equal(false);
    adoptBootcde(s, crc, "0.1.0");
    expect(s.read(".boot0")).to.equal(t);
    // the bundle runs from .bootcde (erasing it would stop it): the selector does it at the next boot
    expect(s.read(".bootcde")).to.equal(OLD);
    expect(select(s)).to.equal("fw.a");
    expect(s.read(".bootcde")).to.equal(undefined);
  });

  it("gives a new bundle TRIAL_BOOTS boots to confirm itself, then rolls back by itself", () => {
    const s = new SimStorage();
    switched(s);
    for (let i = 0; i < TRIAL_BOOTS; i++) expect(select(s), "boot " + i).to.equal("fw.b");
    expect(select(s)).to.equal("fw.a");
    const r = readRecord(s, crc)!;
    expect(r).to.include({ run: "fw.a", n: 0, prev: "" });
    expect(r.rb).to.deep.equal({ id: "b".repeat(16), fw: "0.2.0", why: "not confirmed in " + TRIAL_BOOTS + " boots" });
    expect(select(s)).to.equal("fw.a");
  });

  it("keeps a bundle that confirms itself, and stops counting its boots", () => {
    const s = new SimStorage();
    switched(s);
    select(s);
    confirmBoot(s, crc);
    expect(s.read("ota.try")).to.equal(undefined);
    for (let i = 0; i < 2 * TRIAL_BOOTS; i++) expect(select(s)).to.equal("fw.b");
  });

  it("rolls back at once a trial that throws while it boots, with the error as the reason", () => {
    const s = new SimStorage();
    switched(s);
    expect(select(s)).to.equal("fw.b");
    expect(bootFailed(s, crc, readRecord, writeRecord, "ReferenceError: x is not defined")).to.equal(true);
    expect(readRecord(s, crc)!.rb!.why).to.equal("crashed at boot: ReferenceError: x is not defined");
    expect(select(s)).to.equal("fw.a");
    // a confirmed bundle has nothing to go back to
    expect(bootFailed(s, crc, readRecord, writeRecord, "again")).to.equal(false);
  });

  it("lets a firmware flashed by cable since run, and adopts it afresh", () => {
    const s = new SimStorage();
    switched(s);
    select(s);
    const FLASHED = bundle(7000, 3);
    s.write(".bootcde", FLASHED);
    expect(select(s)).to.equal("");
    const r = adoptBootcde(s, crc, "0.1.5")!;
    expect(r).to.include({ run: "fw.a", n: 0, fw: "0.1.5" });
    expect(select(s)).to.equal("fw.a");
    expect(s.read("fw.a")).to.equal(FLASHED);
    expect(s.read(".bootcde")).to.equal(undefined);
  });

  it("falls back when the trial's file is missing", () => {
    const s = new SimStorage();
    switched(s);
    s.erase("fw.b");
    expect(select(s)).to.equal("fw.a");
    expect(readRecord(s, crc)!.rb!.why).to.equal("bundle missing");
  });

  it("reads the newer of two records and ignores a torn one", () => {
    const s = new SimStorage();
    const a: BootRecord = { q: 0, run: "fw.a", id: "", fw: "0.1.0", prev: "", pid: "", pfw: "", n: 0, mc: 0 };
    writeRecord(s, crc, null, a);
    writeRecord(s, crc, a, { ...a, run: "fw.b" });
    expect(readRecord(s, crc)).to.include({ q: 2, run: "fw.b" });
    const t = s.read("ota.r0")!;
    s.write("ota.r0", t.substring(0, 20) + "\xff".repeat(t.length - 20)); // what a torn write leaves
    expect(readRecord(s, crc)).to.include({ q: 1, run: "fw.a" });
  });

  it("a flash write cut at any point of adopt, switch, trial boots or confirm leaves a bundle to boot", () => {
    // count the writes of the whole story once, then cut inside each of them
    const story = (c: CutStorage): void => {
      const s = c.s;
      if (!s.read(".bootcde") && !readRecord(s, crc)) s.write(".bootcde", OLD);
      const r = adoptBootcde(s, crc, "0.1.0")!;
      if (readRecord(s, crc)!.run === "fw.a") {
        if (s.read("fw.b") !== NEW) {
          s.erase("fw.b");
          s.write("fw.b", NEW);
        }
        switchTo(s, crc, r, "fw.b", "b".repeat(16), "0.2.0", 1000);
      }
      if (espruinoBoot(s) === "fw.b" && readRecord(s, crc)!.n > 0) confirmBoot(s, crc);
    };
    const clean = new CutStorage();
    clean.s.write(".bootcde", OLD);
    story(clean);
    const total = clean.writes;
    expect(total).to.be.greaterThan(10);
    let cuts = 0;
    for (let i = 2; i <= total; i++) {
      for (const frac of [0, 0.3, 0.999]) {
        const c = new CutStorage();
        c.s.write(".bootcde", OLD);
        c.cutAt = i;
        try {
          story(c);
        } catch (e) {
          if (!c.dead) throw e;
        }
        if (c.dead) cuts++;
        c.revive();
        // boot: what Espruino runs (the selector's pick, or .bootcde) holds a whole bundle
        const file = espruinoBoot(c.s);
        expect([OLD, NEW], `cut in write ${i} at ${frac}: ${file}`).to.include(c.s.read(file));
        story(c); // and the story completes from there
        expect(readRecord(c.s, crc)).to.include({ run: "fw.b", n: 0 });
        expect(c.s.read("fw.b")).to.equal(NEW);
      }
    }
    expect(cuts).to.be.greaterThan(total);
  });
});
