import { expect } from "chai";
import sinon from "sinon";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { mergeSummaries, MergeError, readSummaryFile, type SummaryPart } from "../../sim/fleet-merge.js";
import { totalsOf, type FleetSummary, type NodeSummary } from "../../sim/fleet-summary.js";
import { registerSim } from "../../tools/sim.js";

const START = Date.UTC(2026, 0, 15);
const DAY = 86_400_000;

function node(id: string, over: Partial<NodeSummary> = {}): NodeSummary {
  return {
    id, board: "esp32-air", power: "battery", readings: 100, published: 100, acked: 96, queued: 4, dropped: 0, untimed: 0, lost: 0, receivedAtBroker: 96, messagesAtBroker: 24, badTimesAtBroker: 0, duplicatesAtBroker: 1,
    wakes: 288, boots: 1, crashes: 0, awakeMs: 1000, radioMs: 500, chargeMah: 5, mahPerDay: 5, averageMa: 0.2, batteryLifeDays: 1000, faults: 0, uploads: 24, uploadFails: 0, flashBytes: 1000, alarms: [], ...over,
  };
}

function shard(index: number, count: number, ids: string[], over: Partial<FleetSummary> = {}): FleetSummary {
  const nodes = ids.map((id) => node(id));
  return {
    seed: 5, startMs: START, endMs: START + DAY, durationMs: DAY, fleet: { nodes: 4, durationMs: DAY }, shard: { index, count }, peakRssMb: 200 + index,
    boards: ["esp32-air"], broker: "mqtt://city:1883", realtime: false, stoppedEarly: false, wallMs: 1000 * index, nodeDaysPerSecond: ids.length / index,
    usableFraction: 0.8, totals: totalsOf(nodes), nodes, faults: [{ kind: "power-cut", node: ids[0], startMs: START + index * 1000, endMs: START + index * 1000 + 5000, text: "power-cut@1h" }], ...over,
  };
}

const part = (from: string, summary: FleetSummary): SummaryPart => ({ from, summary });

describe("casanode sim merge (sim/fleet-merge.ts)", () => {
  it("joins the shards of one fleet in shard order: nodes, totals, faults, the slowest shard's wall time", () => {
    const m = mergeSummaries([part("b.json", shard(2, 2, ["air-03", "air-04"])), part("a.json", shard(1, 2, ["air-01", "air-02"]))]);
    expect(m.nodes.map((n) => n.id)).to.deep.equal(["air-01", "air-02", "air-03", "air-04"]);
    expect(m.totals).to.deep.include({ nodes: 4, readings: 400, acked: 384, queued: 16, lost: 0, duplicatesAtBroker: 4 });
    expect(m.wallMs).to.equal(2000);
    expect(m.nodeDaysPerSecond).to.equal(2); // 4 node-days in 2 s
    expect(m.peakRssMb).to.equal(202);
    expect(m.shard).to.equal(undefined);
    expect(m.shards!.map((s) => [s.shard.index, s.nodes, s.peakRssMb])).to.deep.equal([[1, 2, 201], [2, 2, 202]]);
    expect(m.faults.map((f) => f.node)).to.deep.equal(["air-01", "air-03"]);
  });

  it("refuses shards of different fleets, a shard twice or missing, a node in two shards: a line for each", () => {
    const refusal = (parts: SummaryPart[]) => {
      try {
        mergeSummaries(parts);
      } catch (err) {
        expect(err).to.be.instanceOf(MergeError);
        return (err as MergeError).problems;
      }
      return expect.fail("should have refused");
    };
    expect(refusal([part("a", shard(1, 2, ["air-01", "air-02"])), part("b", shard(2, 2, ["air-03", "air-04"], { seed: 6 }))])).to.deep.equal(["the seed differs: 5 in a, 6 in b (shards of one fleet share it)"]);
    expect(refusal([part("a", shard(1, 2, ["air-01", "air-02"])), part("b", shard(2, 2, ["air-03", "air-04"], { fleet: { nodes: 4, durationMs: 2 * DAY } }))])[0]).to.include("the duration differs");
    expect(refusal([part("a", shard(1, 2, ["air-01", "air-02"])), part("b", shard(2, 2, ["air-03", "air-04"], { fleet: { nodes: 5, durationMs: DAY } }))])[0]).to.include("the fleet size differs: 4 nodes in a, 5 nodes in b");
    expect(refusal([part("a", shard(1, 2, ["air-01", "air-02"])), part("b", shard(1, 2, ["air-01", "air-02"]))])).to.deep.equal(["shard 1/2 given twice (a, b)", "shard 2/2 is missing", "nodes air-01, air-02 are in a and b"]);
    const five = ["air-01", "air-02", "air-03", "air-04", "air-05"];
    expect(refusal([part("a", shard(1, 2, five)), part("a", shard(1, 2, five))])).to.include("nodes air-01, air-02, air-03, ... (5 nodes) are in a and a");
    expect(refusal([part("a", shard(1, 3, ["air-01", "air-02"]))])).to.deep.equal(["shard 2/3 is missing", "shard 3/3 is missing"]);
    expect(refusal([part("a", shard(1, 2, ["air-01", "air-02"])), part("b", shard(2, 2, ["air-03"]))])).to.deep.equal(["the shards hold 3 nodes, the fleet has 4"]);
  });

  describe("from the command line", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-merge-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, content: unknown) => {
      const f = path.join(dir, name);
      writeFileSync(f, typeof content === "string" ? content : JSON.stringify(content));
      return f;
    };
    async function merge(args: string[]): Promise<{ code: number; out: string; err: string[] }> {
      const log = sinon.stub(console, "log");
      const error = sinon.stub(console, "error");
      try {
        const p = new Command("casanode").enablePositionalOptions().exitOverride();
        registerSim(p);
        await p.parseAsync(["sim", "merge", ...args], { from: "user" });
        return { code: 0, out: log.args.map((a) => a.join(" ")).join("\n"), err: error.args.map((a) => String(a[0])) };
      } catch (e) {
        expect(e).to.be.instanceOf(CommanderError);
        return { code: (e as CommanderError).exitCode, out: log.args.map((a) => a.join(" ")).join("\n"), err: error.args.map((a) => String(a[0])) };
      } finally {
        log.restore();
        error.restore();
      }
    }

    it("prints the fleet's table and writes the merged summary", async () => {
      const out = path.join(dir, "fleet.json");
      const r = await merge([file("s1.json", shard(1, 2, ["air-01", "air-02"])), file("s2.json", shard(2, 2, ["air-03", "air-04"])), "--summary", out]);
      expect(r.code).to.equal(0);
      expect(r.out).to.match(/4 nodes\s+400\s+384/);
      expect(r.out).to.include("2 shard(s): 1/2 2 nodes 1.0 s 201 MB; 2/2 2 nodes 2.0 s 202 MB");
      expect(JSON.parse(readFileSync(out, "utf8")).totals.nodes).to.equal(4);
      expect(readSummaryFile(out).summary.nodes).to.have.length(4);
    });

    it("exits 2 with a line per unreadable, garbage or foreign file", async () => {
      const r = await merge([path.join(dir, "none.json"), file("junk.json", "{not json"), file("other.json", { seed: 1 }), file("old.json", { ...shard(1, 1, ["a"]), fleet: undefined })]);
      expect(r.code).to.equal(2);
      expect(r.err).to.have.length(4);
      expect(r.err[0]).to.match(/^casanode sim merge: .*none\.json: cannot read \(ENOENT\)$/);
      expect(r.err[1]).to.match(/junk\.json: not JSON/);
      expect(r.err[2]).to.match(/other\.json: not a casanode sim summary \(no startMs\)/);
      expect(r.err[3]).to.match(/old\.json: not a casanode sim summary \(no fleet size and duration/);
    });

    it("exits 1, as a run does, when the merged books show a loss", async () => {
      const lossy = shard(2, 2, ["air-03", "air-04"]);
      lossy.nodes[1] = node("air-04", { lost: 2, acked: 94 });
      const r = await merge([file("l1.json", shard(1, 2, ["air-01", "air-02"])), file("l2.json", lossy)]);
      expect(r.code).to.equal(1);
      expect(r.out).to.include("LOST 2 reading(s)");
    });
  });
});
