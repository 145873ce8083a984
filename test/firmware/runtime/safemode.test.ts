import { expect } from "chai";
import { Chip, FakeSensor, board, KEY, MINUTE } from "../../support/fake-chip.js";
import { markStable, SAFE_SLEEP_MS } from "../../../firmware/runtime/safemode.js";
import { bootLoop, noteBoot, BOOT_LOOP_BOOTS } from "../../../firmware/runtime/power-on.js";
import { freshState } from "../../../firmware/runtime/store.js";
import { readNodeStats } from "../../../firmware/runtime/stats.js";

const cfg = { site: "t", node: "n1", keyHex: KEY, samplePeriodS: 300, uploadPeriodS: 900 };

describe("safe mode", () => {
  let chip: Chip | undefined;
  afterEach(() => {
    chip?.restore();
    chip = undefined;
  });

  it("counts boots in a row that never got their work done, not deep-sleep wakes", () => {
    const st = freshState(0);
    // an RTC that restarts at 0 after each power cut: the timestamps cannot tell
    for (let i = 0; i < 20; i++) noteBoot(st, "deep-sleep", 350);
    expect(bootLoop(st)).to.equal("");
    for (let i = 0; i < BOOT_LOOP_BOOTS - 1; i++) noteBoot(st, i % 2 ? "watchdog" : "power-on", 350);
    expect(bootLoop(st)).to.equal("");
    markStable(st);
    for (let i = 0; i < BOOT_LOOP_BOOTS - 1; i++) noteBoot(st, "power-on", 350);
    expect(bootLoop(st)).to.equal("");
    noteBoot(st, "watchdog", 350);
    expect(bootLoop(st)).to.equal("boot loop: 5 boots in a row that did not finish a cycle (power-on, watchdog)");
    expect(st.c.boots).to.equal(9);
    expect(st.boots.length).to.equal(8);
  });

  it("battery: five quick reboots boot into safe mode (uplink, no sensors), then back to normal", async () => {
    // switched on by the wake prelude at every boot (as esp32-air's SDS011)
    const pm = () => [new FakeSensor("pm", 15_000, () => [{ name: "pm25", unit: "ug/m3", value: 9 }])];
    chip = new Chip({ board: board("b", "battery", ["pm"]), config: cfg, sensors: pm, poweredBeforeBootMs: { pm: 600 } });
    chip.start();
    // each boot is cut while it is still uploading (joining Wi-Fi), before it could sleep
    for (let i = 0; i < 4; i++) {
      await chip.run(1_500);
      chip.powerCut(20_000);
      await chip.run(20_000);
    }
    await chip.run(1_000);
    expect(chip.boots.map((b) => b[1])).to.deep.equal(["power-on", "power-on", "power-on", "power-on", "power-on"]);
    expect(chip.logText()).to.match(/boot=power-on SAFE MODE: boot loop: 5 boots in a row that did not finish a cycle \(power-on\)/);
    const safeBoot = chip.boots[4][0];
    await chip.run(MINUTE);
    // that boot read no sensor but told the broker why, and switched off the one the prelude
    // had switched on at once, rather than leave it running through the session
    const safePm = chip.sensors[0] as FakeSensor;
    expect(safePm.events.filter((e) => e[1] === "read")).to.deep.equal([]);
    expect(safePm.events.filter((e) => e[1] === "off").map((e) => e[0] - safeBoot)).to.deep.equal([0]);
    const online = chip.topic("status").filter((m) => m.t >= safeBoot && JSON.parse(m.payload).state === "online");
    expect(JSON.parse(online[0].payload).safe).to.match(/^boot loop/);
    expect(JSON.parse(chip.topic("diag").filter((m) => m.t >= safeBoot)[0].payload).safe).to.match(/^boot loop/);
    // it sleeps out the window, then runs normally
    await chip.run(15 * MINUTE);
    const next = chip.boots.find((b) => b[0] > safeBoot)!;
    expect(next[1]).to.equal("deep-sleep");
    expect(next[0] - safeBoot).to.be.at.least(SAFE_SLEEP_MS);
    expect((chip.sensors[0] as FakeSensor).events.some((e) => e[1] === "read")).to.equal(true);
    expect(readNodeStats(chip.storage)).to.include({ safe: "", lost: 0 });
    expect(chip.crashes).to.deep.equal([]);
  });

  it("mains: safe mode keeps the link for commands, then tries a normal boot", async () => {
    chip = new Chip({ board: board("m", "mains", ["pm"]), config: { ...cfg, samplePeriodS: 60, uploadPeriodS: 300 }, sensors: () => [new FakeSensor("pm", 0, () => [{ name: "pm25", unit: "ug/m3", value: 9 }])] });
    chip.start();
    for (let i = 0; i < 4; i++) {
      await chip.run(10_000);
      chip.powerCut(1_000);
    }
    await chip.run(5_000);
    expect(chip.logText()).to.match(/SAFE MODE: boot loop/);
    chip.command("diag", {});
    await chip.run(MINUTE);
    expect(chip.topic("ack").map((m) => JSON.parse(m.payload).ok)).to.deep.equal([true]);
    expect((chip.sensors[0] as FakeSensor).events.filter((e) => e[1] === "read")).to.deep.equal([]);
    await chip.run(30 * MINUTE);
    expect(chip.boots[chip.boots.length - 1][1]).to.equal("reset");
    expect((chip.sensors[0] as FakeSensor).events.some((e) => e[1] === "read")).to.equal(true);
    expect(chip.crashes).to.deep.equal([]);
  });

  it("a broken casanode.json boots to a console that says why, never a crash", async () => {
    const broken = '{"node": "n1", "samplePeriodS": ';
    chip = new Chip({ board: board("m", "mains", ["pm"]), config: broken, sensors: () => [new FakeSensor("pm", 0, () => [])] });
    chip.start();
    await chip.run(MINUTE);
    expect(chip.crashes).to.deep.equal([]);
    const why = `casanode.json is not valid JSON (${broken.length} bytes)`;
    const lines = chip.logs.map((l) => l[1]);
    expect(lines[lines.indexOf("SAFE MODE: casanode.json refused:") + 1]).to.equal("  " + why);
    const c = chip.console!;
    expect(c.diag().configErrors).to.deep.equal([why]);
    expect((chip.sensors[0] as FakeSensor).events).to.deep.equal([]);
    expect(chip.net.attempts).to.equal(0);
  });

  it("an invalid config names the field on the console", async () => {
    chip = new Chip({ board: board("b", "battery", []), config: { node: "n1", uploadPeriodS: -5 } });
    chip.start();
    await chip.run(MINUTE);
    expect(chip.logText()).to.include("uploadPeriodS must be a whole number of seconds between 60 and 86400, got -5");
    expect(chip.console!.status()).to.match(/running|SAFE/);
    // a battery node keeps its console up a while, then sleeps and retries
    await chip.run(15 * MINUTE);
    // an hour's sleep: its first link is the chip's longest
    expect(chip.sleeps.length).to.equal(1);
    expect(chip.sleeps[0][0]).to.equal(chip.boots[0][0] + 10 * MINUTE);
    expect(chip.sleeps[0][1]).to.equal(2147483);
  });
});
