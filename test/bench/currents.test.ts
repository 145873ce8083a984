import { expect } from "chai";
import { currentsTable } from "../../bench/currents.js";
import { defaultBoards, loadProfile } from "../../sim/fleet.js";

describe("bench: the currents table", () => {
  it("names each street board under exactly one module figure (the one its profile draws on)", async () => {
    const profiles = await Promise.all(defaultBoards().map((b) => loadProfile(b)));
    const rows = currentsTable(profiles);
    const modules = rows.filter((r) => r.part === "esp32-cpu" || r.part === "esp32-devkitc" || r.part === "esp32-lowpower");
    for (const p of profiles) {
      const under = modules.filter((r) => r.boards.includes(p.name)).map((r) => r.part);
      expect(under, p.name).to.have.length(1);
    }
    expect(rows.find((r) => r.part === "esp32-lowpower")!.boards).to.include.members(["esp32-bin-lp", "esp32-air"]);
    // the latch's flip-flop: on the rail of the board whose SDS011 stays on through a deep sleep
    expect(rows.find((r) => r.part === "latch-74lvc1g74")!.boards).to.deep.equal(["esp32-air"]);
  });
});
