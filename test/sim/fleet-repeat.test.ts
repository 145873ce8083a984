// `--seed`: the same seed and options give the same run, with faults too (README "Simulator").
import { expect } from "chai";
import { runFleet } from "../../sim/fleet.js";
import type { FleetSummary } from "../../sim/fleet-summary.js";

const H = 3_600_000;

/** the summary without what the host's speed decides */
function runOf(s: FleetSummary): unknown {
  return JSON.parse(JSON.stringify(s, (k, v) => (["wallMs", "nodeDaysPerSecond", "peakRssMb", "runner", "shards"].includes(k) ? undefined : v)));
}

describe("fleet: a seed repeats its run", function () {
  this.timeout(180_000);

  it("mains nodes through a broker outage (the MQTT client's reconnect jitter draws Math.random) and a power cut, twice: the same summary", async () => {
    const run = async () => runOf((await runFleet({ boards: ["esp32-pole", "esp32-noise"], nodes: 2, durationMs: 4 * H, seed: 5, faults: ["broker-down@1h+40m", "wifi-down@2h+20m", "power-cut:pole-01@3h+10s"], keepReadings: false })).summary);
    const first = await run();
    expect(await run()).to.deep.equal(first);
  });
});
