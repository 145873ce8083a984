// Each board profile says whether its BLE console is on; a battery board may have it on only
// when its energy budget covers the radio listening while the node is awake.
import { expect } from "chai";
import { readdirSync } from "node:fs";
import path from "node:path";
import type { BoardProfile } from "../../firmware/board.js";
import { bleConsoleProblem, bleCostMahPerDay } from "../../sim/ble-console.js";
import { CURRENTS } from "../../boards/profiles/currents.js";
import { CURRENT_SOURCES } from "../../sim/current-sources.js";
import { ROOT } from "../../toolchain/root.mjs";

async function profiles(): Promise<BoardProfile[]> {
  const dir = path.join(ROOT, "boards/profiles");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "currents.ts");
  return Promise.all(files.map(async (f) => ((await import(path.join(dir, f))) as { profile: BoardProfile }).profile));
}

describe("BLE console in the board profiles", () => {
  it("is on for mains boards, off for battery boards with no budget, and every profile passes the check", async () => {
    const all = await profiles();
    expect(all.length).to.be.at.least(6);
    for (const p of all) {
      expect(p.bleConsole, p.name).to.not.equal(undefined);
      expect(bleConsoleProblem(p), p.name).to.equal("");
      if (p.chip === "esp32" && p.power.source === "mains") expect(p.bleConsole!.on, p.name).to.equal(true);
      if (p.power.source === "battery" && !p.bleConsole!.budgetMahPerDay) expect(p.bleConsole!.on, p.name).to.equal(false);
    }
  });

  it("prices the radio from the current figures, which have a source", () => {
    expect(CURRENT_SOURCES["esp32-ble"]).to.match(/datasheet/);
    const air = { name: "x", description: "", chip: "esp32", power: { source: "battery" }, currentMa: { sleep: 0, awake: 0, radio: 0 }, devices: [], defaults: {} } as BoardProfile;
    // 96 wakes a day of 25 s: 2400 s of listening
    air.bleConsole = { on: true, awakeSPerDay: 2400, budgetMahPerDay: 40 };
    expect(bleCostMahPerDay(air)).to.be.closeTo((CURRENTS["esp32-ble"].on * 2400) / 3600, 1e-9);
    expect(bleConsoleProblem(air)).to.match(/^the BLE console costs 63\.3 mAh\/day, over the budget of 40 mAh\/day$/);
    air.bleConsole.budgetMahPerDay = 70;
    expect(bleConsoleProblem(air)).to.equal("");
    air.bleConsole = { on: true };
    expect(bleConsoleProblem(air)).to.match(/needs awakeSPerDay and budgetMahPerDay/);
    expect(bleConsoleProblem({ ...air, chip: "linux", power: { source: "mains" }, bleConsole: { on: true } })).to.equal("the Linux build has no Bluetooth");
  });
});
