// global.casanode holds stubs (runtime/console-lazy.ts) that evaluate the console's part at the
// first call: a command the part has and the stubs lack would be missing on the node.
import { expect } from "chai";
import { Chip, tearDown, board, KEY } from "../../support/fake-chip.js";
import { makeConsole } from "../../../firmware/runtime/console-api.js";
import type { Runtime } from "../../../firmware/runtime/state.js";

describe("maintenance console (firmware)", () => {
  let chip: Chip | undefined;
  afterEach(() => {
    tearDown(chip);
    chip = undefined;
  });

  it("global.casanode offers every command of the console's part, each calling through to it", async () => {
    chip = new Chip({ board: board("m", "mains"), config: { site: "t", node: "n1", keyHex: KEY } });
    chip.start();
    await chip.run(5000);
    const stubs = chip.console as unknown as Record<string, unknown>;
    // the part builds its commands without touching the runtime: only their names are read here
    const real = makeConsole({} as Runtime) as unknown as Record<string, unknown>;
    expect(Object.keys(stubs).sort()).to.deep.equal(Object.keys(real).sort());
    expect(Object.values(stubs).every((f) => typeof f === "function")).to.equal(true);
    const before = chip.logText().length;
    (stubs.status as () => unknown)();
    expect(chip.logText().slice(before)).to.match(/\S/);
  });
});
