// casanode sim --ota: a rollout published on the run's (embedded aedes) broker at its time, the
// real bundles updating themselves, and per node the version it ends on in the summary.
import { expect } from "chai";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runFleet } from "../../sim/fleet.js";
import { SimOptionError } from "../../sim/options.js";
import { parseOtaOption, bundleVersion, formatOtaSummary } from "../../sim/ota-fleet.js";
import { ensureBundle, withFirmwareVersion } from "../../toolchain/bundle.js";

const H = 3_600_000;

describe("casanode sim --ota (fleet rollout)", function () {
  this.timeout(120_000);
  let dir = "";
  let bin2 = "", noise2 = "";
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "sim-ota-"));
    const bin = readFileSync(await ensureBundle("esp32-bin"), "latin1");
    const noise = readFileSync(await ensureBundle("esp32-noise"), "latin1");
    expect(bundleVersion(bin)).to.equal("0.1.0");
    writeFileSync((bin2 = path.join(dir, "esp32-bin.js")), withFirmwareVersion(bin, "0.1.0", "0.2.0"), "latin1");
    writeFileSync((noise2 = path.join(dir, "noise-next.js")), withFirmwareVersion(noise, "0.1.0", "0.3.1"), "latin1");
  });

  it("reads <bundle>@<time>: the board from the file name or the run's only board, the version from the bundle; bad ones refused in one line", () => {
    const o = parseOtaOption(bin2 + "@2h", { boards: ["esp32-bin", "esp32-air"], durationMs: 6 * H });
    expect(o).to.include({ atMs: 2 * H, board: "esp32-bin", fw: "0.2.0" });
    expect(parseOtaOption(noise2 + "@30m", { boards: ["esp32-noise"], durationMs: H })).to.include({ board: "esp32-noise", fw: "0.3.1" });
    const bad = (spec: string, o: Partial<Parameters<typeof parseOtaOption>[1]>, re: RegExp) =>
      expect(() => parseOtaOption(spec, { boards: ["esp32-noise", "esp32-bin"], durationMs: 6 * H, ...o })).to.throw(SimOptionError, re);
    bad(bin2, {}, /--ota must be <bundle>@<time>/);
    bad(bin2 + "@soon", {}, /--ota: /);
    bad(bin2 + "@7h", {}, /after the run ends/);
    bad(noise2 + "@1h", {}, /which board is .* for\? Name it with --ota-board/);
    bad(noise2 + "@1h", { board: "esp32-air" }, /--ota-board esp32-air: no node of the run has that board/);
    bad(path.join(dir, "none.js") + "@1h", {}, /cannot read the bundle .*ENOENT/);
    bad(bin2 + "@1h", { fw: "2" }, /--fw must be major.minor.patch/);
  });

  it("a mixed fleet: the board's nodes update (mains at once, battery over its wakes), the others are untouched; the summary says who ends on what", async () => {
    const ota = parseOtaOption(noise2 + "@20m", { boards: ["esp32-noise", "esp32-bin"], board: "esp32-noise", durationMs: 2 * H });
    const { summary, runner } = await runFleet({ boards: ["esp32-noise", "esp32-bin"], nodes: 3, durationMs: 2 * H, seed: 4, ota });
    expect(runner.lateReplies).to.equal(0);
    const o = summary.ota!;
    expect(o).to.include({ fw: "0.3.1", board: "esp32-noise", published: true });
    expect(o.counts.updated).to.equal(2);
    expect(o.nodes.map((n) => [n.id, n.fw, n.progress])).to.deep.equal([
      ["noise-01", "0.3.1", "updated"],
      ["bin-01", "0.1.0", "not a target"],
      ["noise-02", "0.3.1", "updated"],
    ]);
    for (const n of summary.nodes) expect(n.crashes, n.id).to.equal(0);
    expect(summary.totals.lost).to.equal(0);
    expect(formatOtaSummary(o).join("\n")).to.match(/2\/2 updated[\s\S]*noise-01: ends on 0\.3\.1; done, runs 0\.3\.1/);
  });

  it("battery nodes under power cuts and a broker outage mid-transfer still end on the new bundle", async () => {
    const ota = parseOtaOption(bin2 + "@30m", { boards: ["esp32-bin"], durationMs: 14 * H });
    const { summary } = await runFleet({
      boards: ["esp32-bin"], nodes: 3, durationMs: 14 * H, seed: 9, ota, powerCuts: 4,
      // every window goes out: the manifest arrives within the hour
      config: { sendPeriodS: 0 },
      faults: ["broker-down@1h50m+1h"],
    });
    expect(summary.faults.length).to.be.at.least(5);
    expect(summary.ota!.nodes.map((n) => n.fw)).to.deep.equal(["0.2.0", "0.2.0", "0.2.0"]);
    expect(summary.ota!.counts.updated).to.equal(3);
    expect(summary.totals.lost).to.equal(0);
  });
});
