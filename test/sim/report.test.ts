import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { CHROME_FLAGS, decodePng, findChromium, inkAndColours } from "../support/chromium.js";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { renderReport, writeReport } from "../../sim/report.js";
import type { FleetSummary, FleetTraces, NodeSummary, NodeTrace } from "../../sim/fleet-summary.js";
import { createWorld } from "../../sim/world/index.js";

const START = Date.UTC(2026, 0, 15);
const END = START + 86_400_000;

/** a plausible two-node run, built from the world models */
function fixture(): { summary: FleetSummary; traces: FleetTraces } {
  const w = createWorld(3);
  const air: NodeTrace = { id: "air-01", board: "esp32-air", readings: [], power: [], charge: [], queue: [] };
  const pole: NodeTrace = { id: "pole-<01>", board: "esp32-pole", readings: [], power: [], charge: [], queue: [] };
  let charge = 0;
  for (let t = START; t < END; t += 300_000) {
    const pm = w.pm(t);
    air.readings.push({ t, name: "pm.pm25", unit: "ug/m3", value: pm.pm25 }, { t, name: "pm.pm10", unit: "ug/m3", value: pm.pm10 }, { t, name: "noise.LAeq", unit: "dB", value: w.noiseDb(t) });
    air.power.push({ t, state: "awake", on: true }, { t: t + 3000, state: "sensor:pm", on: true }, { t: t + 18_000, state: "sensor:pm", on: false }, { t: t + 20_000, state: "awake", on: false });
    if ((t - START) % 1_800_000 === 0) air.power.push({ t: t + 20_000, state: "radio", on: true }, { t: t + 24_000, state: "radio", on: false });
    charge += 0.9;
    air.charge.push([t, charge]);
    air.queue.push([t, ((t - START) / 300_000) % 6]);
    pole.readings.push({ t, name: "lamp.current", unit: "A", value: w.lampCurrentA(t) }, { t, name: "lux", unit: "lx", value: w.daylightLux(t) });
    pole.charge.push([t, ((t - START) / 3_600_000) * 120]);
    pole.queue.push([t, 0]);
  }
  pole.power.push({ t: START, state: "awake", on: true }, { t: START, state: "radio", on: true });
  const node = (id: string, board: string, over: Partial<NodeSummary>): NodeSummary => ({
    id, board, power: "battery", readings: 864, published: 864, acked: 860, queued: 4, dropped: 0, untimed: 0, lost: 0, receivedAtBroker: 860, messagesAtBroker: 215, badTimesAtBroker: 0, duplicatesAtBroker: 0,
    wakes: 288, boots: 1, crashes: 0, awakeMs: 288 * 20_000, radioMs: 48 * 4000, chargeMah: 259, mahPerDay: 259, averageMa: 10.8, batteryLifeDays: 21, faults: 1, uploads: 48, uploadFails: 0, flashBytes: 120_000, alarms: [], ...over,
  });
  const nodes = [node("air-01", "esp32-air", {}), node("pole-<01>", "esp32-pole", { power: "mains", batteryLifeDays: null, mahPerDay: 2880, chargeMah: 2880, lost: 0 })];
  const summary: FleetSummary = {
    seed: 7, startMs: START, endMs: END, durationMs: END - START, fleet: { nodes: 2, durationMs: END - START }, peakRssMb: 300, boards: ["esp32-air", "esp32-pole"], broker: "embedded", realtime: false, stoppedEarly: false,
    wallMs: 4200, nodeDaysPerSecond: 0.48, usableFraction: 0.8,
    totals: { nodes: 2, readings: 1728, published: 1728, acked: 1720, queued: 8, dropped: 0, untimed: 0, lost: 0, receivedAtBroker: 1720, messagesAtBroker: 430, badTimesAtBroker: 0, duplicatesAtBroker: 0, wakes: 576, boots: 2, crashes: 0, awakeMs: 2 * 288 * 20_000, chargeMah: 3139, mahPerDay: 3139, faults: 1 },
    nodes,
    faults: [{ kind: "unplug", node: "air-01", device: "pm", startMs: START + 6 * 3_600_000, endMs: START + 7 * 3_600_000, text: "unplug:pm@6h+1h" }],
  };
  return { summary, traces: { startMs: START, endMs: END, nodes: [air, pole] } };
}

describe("report", () => {
  it("is one self-contained HTML file with charts for the fleet and every node", () => {
    const { summary, traces } = fixture();
    const html = renderReport(summary, traces);
    expect(html.startsWith("<!DOCTYPE html>")).to.equal(true);
    // no scripts, no external assets: the only URL is the SVG namespace
    expect(html).to.not.match(/<script|<link|<img|@import|url\((?!#)/i); // url(#id): in-document clip paths only
    expect(html.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, "")).to.not.match(/https?:\/\//);
    // node ids are escaped
    expect(html).to.include("pole-&lt;01&gt;");
    expect(html).to.not.include("pole-<01>");
    // per node: readings by quantity, power lanes, charge, queue; plus fleet charts
    const titles = [...html.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]);
    for (const t of ["pm", "noise", "lamp", "lux", "Power states", "Cumulative charge", "Queue depth", "Energy per node", "Battery life (battery nodes)"]) expect(titles, t).to.include(t);
    expect(titles.filter((t) => t === "Power states")).to.have.length(2);
    // units on the axes, and the lost-readings line
    expect(html).to.include(">ug/m3<");
    expect(html).to.include(">mAh<");
    expect(html).to.include(">time (UTC)<");
    expect(html).to.match(/Lost readings[^<]*<span class="ok">0</);
  });

  it("keeps a day of 5-minute data small (thinned to the pixel columns)", () => {
    const { summary, traces } = fixture();
    const dense = traces.nodes[0];
    for (let t = START; t < END; t += 1000) dense.readings.push({ t, name: "noise.fast", unit: "dB", value: 50 + (t % 7) });
    const html = renderReport(summary, traces);
    expect(html.length).to.be.below(2_000_000);
  });

  it("renders in headless Chromium", function () {
    this.timeout(60_000);
    const chromium = findChromium();
    if (!chromium) {
      console.log("      (skipped: no chromium on PATH; apt-get install -y chromium to run this check)");
      this.skip();
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-report-"));
    try {
      const { summary, traces } = fixture();
      const file = writeReport(summary, traces, path.join(dir, "report.html"));
      const profile = mkdtempSync(path.join(os.tmpdir(), "casanode-chromium-"));
      const png = path.join(dir, "out.png");
      const shot = spawnSync(chromium!, [...CHROME_FLAGS, `--user-data-dir=${profile}`, `--screenshot=${png}`, "--window-size=1400,2000", "file://" + file], { encoding: "utf8", timeout: 45_000 });
      expect(existsSync(png), "screenshot written: " + shot.stderr).to.equal(true);
      const img = decodePng(readFileSync(png));
      expect(img.width).to.equal(1400);
      const { ink, colours } = inkAndColours(img);
      expect(ink, "share of non-white pixels").to.be.within(0.01, 0.6);
      expect(colours, "distinct colours (charts are drawn)").to.be.greaterThan(50);
      const dom = spawnSync(chromium!, [...CHROME_FLAGS, `--user-data-dir=${profile}`, "--dump-dom", "file://" + file], { encoding: "utf8", timeout: 45_000, maxBuffer: 64 * 1024 * 1024 });
      const svgs = dom.stdout.match(/<svg\b/g) ?? [];
      expect(svgs.length).to.be.at.least(12);
      expect(dom.stdout.match(/<path class="series"/g)?.length ?? 0).to.be.at.least(8);
      expect(dom.stdout).to.include("<h1>CasaNode simulation report</h1>");
      rmSync(profile, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
