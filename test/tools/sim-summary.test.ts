import { expect } from "chai";
import { formatSummary } from "../../tools/sim.js";
import type { FleetSummary, NodeSummary } from "../../sim/fleet-summary.js";

const H = 3_600_000;

/** a city-sized fleet's books: totals too wide for the per-node columns */
function citySummary(): FleetSummary {
  const node = (id: string, board: string): NodeSummary => ({
    id, board, power: "battery", readings: 14, published: 14, acked: 0, queued: 14, dropped: 0, untimed: 0, lost: 0, receivedAtBroker: 0, messagesAtBroker: 0, badTimesAtBroker: 0, duplicatesAtBroker: 0,
    wakes: 3, boots: 1, crashes: 0, awakeMs: 4000, radioMs: 0, chargeMah: 0.3, mahPerDay: 6.9, averageMa: 0.3, batteryLifeDays: 790, faults: 0, uploads: 0, uploadFails: 0, flashBytes: 1000, alarms: [],
  });
  return {
    seed: 7, startMs: 0, endMs: H, durationMs: H, fleet: { nodes: 10000, durationMs: H }, peakRssMb: 3462, boards: ["esp32-bin"], broker: "mqtt://127.0.0.1:18832", realtime: false, stoppedEarly: false,
    wallMs: 372_300, nodeDaysPerSecond: 1.12, usableFraction: 0.8,
    totals: { nodes: 10000, readings: 1_844_998, published: 1_785_178, acked: 1_785_178, queued: 59_820, dropped: 0, untimed: 0, lost: 0, receivedAtBroker: 1_785_178, messagesAtBroker: 446_300, badTimesAtBroker: 0, duplicatesAtBroker: 0, wakes: 20004, boots: 10000, crashes: 0, awakeMs: 3389.3 * H, chargeMah: 18_000, mahPerDay: 633_730.9, faults: 0 },
    nodes: [node("a-1", "esp32-bin"), node("bin-sr04-1667", "esp32-bin-sr04")],
    faults: [],
  } as FleetSummary;
}

describe("casanode sim's summary table", () => {
  it("keeps a city's totals in their columns: every figure apart and under its heading", () => {
    const lines = formatSummary(citySummary()).split("\n");
    const header = lines[0];
    const total = lines.find((l) => l.startsWith("10000 nodes"));
    expect(total, lines.join("\n")).to.be.a("string");
    const figures = total!.slice("10000 nodes".length).trim().split(/\s+/);
    expect(figures).to.deep.equal(["1844998", "1785178", "59820", "0", "0", "0", "1785178", "0", "20004", "3389.3", "633730.9"]);
    // right-aligned: each figure ends where its heading ends
    const ends = (line: string, from: number) => [...line.slice(from).matchAll(/\S+/g)].map((m) => from + m.index! + m[0].length);
    const headingEnds = ends(header.replace("at broker", "at_broker").replace("bad time", "bad_time").replace("awake h", "awake_h"), header.indexOf("readings"));
    expect(ends(total!, "10000 nodes".length).slice(0, figures.length)).to.deep.equal(headingEnds.slice(0, figures.length));
    // and the node rows line up with them ("2.2 y" in the battery column is two words)
    for (const l of lines.slice(1, 3)) expect(ends(l, l.indexOf(" ", l.indexOf("esp32"))).slice(0, figures.length)).to.deep.equal(headingEnds.slice(0, figures.length));
  });

  it("says what went through the broker, in data messages and readings a wall second", () => {
    const lines = formatSummary(citySummary()).split("\n");
    // 446,300 messages and 1,785,178 readings over 372.3 s
    expect(lines).to.include("through the broker: 446300 data messages, 1785178 readings (1199 and 4795 a wall second)");
  });
});
