// The node checks its config only when it changed since it last passed (node.ts checkedConfig):
// the check is in the commands' part of a bundle, ~0.2 s of lexing on an ESP32 at every wake.
import { expect } from "chai";
import sinon from "sinon";
import { Chip, FakeSensor, board, KEY, MINUTE } from "../support/fake-chip.js";
import { commandsApi } from "../../firmware/runtime/commands-lazy.js";

const cfg = { site: "t", node: "n1", keyHex: KEY, samplePeriodS: 300, uploadPeriodS: 900 };

describe("config check at boot", () => {
  let chip: Chip | undefined;
  afterEach(() => {
    sinon.restore();
    chip?.restore();
    chip = undefined;
  });

  it("a wake with the config that passed skips the check; a changed casanode.json is checked, refused if invalid, and a fixed one runs", async () => {
    const check = sinon.spy(commandsApi(), "validateConfig");
    const bin = () => [new FakeSensor("bin", 0, () => [{ name: "fill", unit: "%", value: 40 }])];
    chip = new Chip({ board: board("b", "battery", ["bin"]), config: cfg, sensors: bin });
    chip.start();
    await chip.run(MINUTE);
    expect(check.callCount, "power-on boot").to.equal(1);
    await chip.run(20 * MINUTE);
    const wakes = chip.boots.filter(([, c]) => c === "deep-sleep").length;
    expect(wakes).to.be.at.least(3);
    expect(check.callCount, "wakes with the same config").to.equal(1);

    chip.storage.write("casanode.json", JSON.stringify({ ...cfg, uploadPeriodS: -5 }));
    await chip.run(10 * MINUTE);
    expect(check.callCount).to.be.at.least(2);
    expect(chip.logText()).to.include("uploadPeriodS must be a whole number of seconds between 60 and 86400, got -5");

    chip.storage.write("casanode.json", JSON.stringify({ ...cfg, samplePeriodS: 600, uploadPeriodS: 1200 }));
    // a refused config keeps the node on defaults (safe mode) for an hour, then it boots again:
    // the fixed file is checked (once more if a boot that sleeps on at once saves no state)
    await chip.run(120 * MINUTE);
    const calls = check.callCount, boots = chip.boots.length;
    expect(calls).to.be.within(3, 4);
    await chip.run(60 * MINUTE);
    expect(chip.boots.length - boots).to.be.at.least(5);
    expect(check.callCount, "wakes with the fixed file").to.equal(calls);
    // and runs on it: the 600 s period
    expect(chip.logText().slice(-1000)).to.include("sleep 600 s");
  });

  it("a config that passed is checked again under other rules: a changed board profile of the same name and version", async () => {
    const check = sinon.spy(commandsApi(), "validateConfig");
    const b = { ...board("b", "battery", ["bin"]), storageBytes: 4 * 1024 * 1024 };
    const bin = () => [new FakeSensor("bin", 0, () => [{ name: "fill", unit: "%", value: 40 }])];
    chip = new Chip({ board: b, config: { ...cfg, queueMax: 20000 }, sensors: bin });
    chip.start();
    await chip.run(20 * MINUTE);
    expect(check.callCount).to.equal(1);
    expect(chip.logText()).to.not.include("SAFE MODE");
    // reflashed with a build whose profile gives the queue less flash: 20000 readings no longer fit
    b.storageBytes = 256 * 1024;
    chip.powerCut(1000);
    await chip.run(MINUTE);
    expect(check.callCount).to.equal(2);
    expect(chip.logText()).to.match(/queueMax must be a whole number of readings .* got 20000/);
  });
});
