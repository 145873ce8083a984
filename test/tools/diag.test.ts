import { expect } from "chai";
import { diag, formatDiag, formatDuration, rssiQuality, type DiagReport, type DiagOptions } from "../../tools/diag.js";
import type { Reporter } from "../../tools/reporter.js";
import { FakeEspruino, type FakeEspruinoOptions } from "../support/fake-espruino.js";

const T = 1767225600; // node clock, s: 2026-01-01T00:00:00Z

/** The shape firmware/runtime/console.ts diagReport() returns. */
const REPORT: DiagReport = {
  node: "air-07",
  site: "casa-centre",
  board: "esp32-air",
  fw: "0.1.0",
  t: T,
  uptimeS: 7384,
  boot: "deep-sleep",
  boots: [
    [(T - 86400) * 1000, "power-on"],
    [(T - 3600) * 1000, "watchdog"],
  ],
  safe: "",
  configErrors: [],
  counters: { readings: 1200, published: 1150, acked: 1140, dropped: 3, lostFiles: 0, wakes: 288, boots: 2, cycles: 290, uploads: 24, uploadFails: 1, cmds: 2, cmdErrors: 1, bytes: 50000 },
  queue: { depth: 57, max: 2000, next: 12, done: 9 },
  alarms: ["pm25"],
  devices: {
    pm: {
      model: "sds011",
      fitted: true,
      reads: 280,
      faults: 4,
      lastFault: "checksum",
      now: "ok",
      desc: "sds011 on Serial2 rx=D16 tx=D17, power D25 active-high, warm-up 15 s",
      counters: { framesOk: 2790, checksumErrors: 4, timeouts: 1, rangeErrors: 0, lastGoodMs: (T - 95) * 1000 },
    },
    noise: { model: "sen0232", fitted: true, reads: 290, faults: 0, lastFault: "", now: "timeout: no frame", counters: { framesOk: 0, checksumErrors: 0, timeouts: 7, rangeErrors: 0, lastGoodMs: 0 } },
  },
  memory: { free: 11200, usage: 5183, total: 16383 },
  wifi: { rssi: -71 },
  energy: { ms: { awake: 3600000, radio: 600000, "sensor:pm": 900000 }, mAh: 412.5 },
  flash: { bytesPerDay: 5120, lifeYears: 41.3, error: "" },
  upload: { last: T - 600, ok: true, fails: 0, connected: true },
  relay: null,
};

/** Stand-in firmware whose console's diag() returns REPORT with a counter that moves per call. */
function firmware(report: unknown, failOnCall = 0): string {
  return (
    `var calls=0,FIX=${JSON.stringify(JSON.stringify(report))};` +
    `var casanode={diag:function(){calls++;if(calls===${failOnCall})throw new Error("store busy");` +
    `var d=JSON.parse(FIX);if(d&&d.counters)d.counters.readings+=calls;print("CasaNode "+d.fw+" "+d.board+" (diag lines)");return d;}};` +
    'print("CasaNode 0.1.0 esp32-air air-07 boot=power-on");'
  );
}

function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, line: (t) => lines.push(t), progress: () => ({ update: () => {}, stop: () => {} }) };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("field tools: diag", () => {
  let node: FakeEspruino;
  afterEach(() => node?.close());

  async function run(bundle: string | undefined, options: Partial<DiagOptions> = {}, fake: FakeEspruinoOptions = {}) {
    node = new FakeEspruino({ files: bundle ? { ".bootcde": bundle } : {}, boot: true, ...fake });
    const port = await node.listen();
    const out = recorder();
    const result = diag({ port, reporter: out, promptTimeoutMs: 2000, ...options });
    return { result, out };
  }

  it("shows a crew what the node reports, through its log noise", async () => {
    const { result, out } = await run(firmware(REPORT), {}, { noise: true, fragment: true });
    const d = await result;
    expect(d.counters!.readings).to.equal(REPORT.counters!.readings + 1);
    const text = out.lines.join("\n");
    expect(text).to.include("CasaNode casa-centre/air-07  board esp32-air  firmware 0.1.0");
    expect(text).to.include("mode: normal");
    expect(text).to.include("alarms: pm25");
    expect(text).to.include("up 2 h 03 min since deep-sleep; 2 boots, 288 wakes; last boots: power-on 2025-12-31T00:00:00Z, watchdog 2025-12-31T23:00:00Z");
    expect(text).to.include("Wi-Fi -71 dBm (fair)");
    expect(text).to.include("broker connected; last upload 2025-12-31T23:50:00Z (10 min 0 s ago) ok; 24 uploads ok, 1 failed");
    expect(text).to.include("57 readings waiting (max 2000), 3 dropped");
    expect(text).to.match(/pm\s+sds011\s+2790\s+4\s+1\s+0\s+1 min 35 s ago\s+ok; 4 faults of 284 reads, last checksum/);
    expect(text).to.match(/noise\s+sen0232\s+0\s+0\s+7\s+0\s+never\s+timeout: no frame/);
    expect(text).to.include("memory 5183 of 16383 vars used (32 %)");
    expect(text).to.include("energy 412.5 mAh since first boot (awake 1 h 00 min, radio 10 min 0 s, sensor:pm 15 min 0 s)");
    expect(text).to.include("wear-out in ~41.3 years");
  });

  it("shows each device's wiring line (the driver's describe()) below the table; older firmware has none", () => {
    const lines = formatDiag(REPORT).split("\n");
    const table = lines.findIndex((l) => /^\s+noise\s+sen0232/.test(l));
    expect(lines[table + 1]).to.equal("  pm: sds011 on Serial2 rx=D16 tx=D17, power D25 active-high, warm-up 15 s");
    // the noise sensor's report carries no desc: no line for it
    expect(lines.filter((l) => l.startsWith("  noise:"))).to.deep.equal([]);
  });

  it("puts safe mode and a refused config first", () => {
    const text = formatDiag({ ...REPORT, safe: "boot loop: 3 crashes", configErrors: ["wifi.ssid must be a string of 1 to 32 characters, got nothing"], wifi: { rssi: null } });
    const lines = text.split("\n");
    expect(lines[1]).to.equal("  SAFE MODE: boot loop: 3 crashes");
    expect(lines[2]).to.equal("  config refused: wifi.ssid must be a string of 1 to 32 characters, got nothing");
    expect(text).to.include("Wi-Fi not joined now");
  });

  it("says when SNTP last set a battery node's clock, how fast its RTC runs asleep, and an ask left unanswered", () => {
    const at = REPORT.t! - 3600;
    expect(formatDiag({ ...REPORT, clock: { synced: at, rtcFastPct: 2.013, ntpFail: 0 } })).to.include("  clock synced 2025-12-31T23:00:00Z (1 h 00 min ago); RTC 2.013 % fast in deep sleep");
    expect(formatDiag({ ...REPORT, clock: { synced: at, rtcFastPct: null, ntpFail: at + 600 } })).to.include("RTC rate not measured yet; NO SNTP ANSWER since 2025-12-31T23:10:00Z");
    expect(formatDiag({ ...REPORT, clock: { synced: 0, rtcFastPct: -0.5, ntpFail: 0 } })).to.include("  clock never synced by SNTP; RTC 0.5 % slow in deep sleep");
    expect(formatDiag(REPORT)).not.to.include("clock synced");
  });

  it("says when the node's clock was never set", () => {
    expect(formatDiag({ ...REPORT, t: 4 })).to.match(/node clock 1970-01-01T00:00:04Z \(not set yet: no time from the network\)/);
    expect(formatDiag(REPORT)).not.to.include("not set yet");
  });

  it("copes with a report from older firmware that lacks fields", () => {
    const text = formatDiag({ node: "x" });
    expect(text).to.include("CasaNode ?/x");
    expect(text).to.include("memory: not reported");
  });

  it("locks the console again after reading it with --password", async () => {
    const { result } = await run(firmware(REPORT) + 'E.setPassword("crew-secret");E.lockConsole();', { password: "crew-secret" }, { password: "crew-secret" });
    expect((await result).node).to.equal("air-07");
    expect(node.received).to.include("crew-secret\n");
    expect(node.isLocked).to.equal(true);
  });

  it("says when a locked console gives no health report and no password was given", async () => {
    const { result } = await run(firmware(REPORT) + 'E.setPassword("crew-secret");E.lockConsole();', {}, { password: "crew-secret" });
    expect((await rejection(result)).message).to.match(/gave no health report \(firmware older than the console lock\?\): give its password with --password/);
  });

  it("prints the raw report with --json", async () => {
    const { result, out } = await run(firmware(REPORT), { json: true });
    await result;
    const parsed = JSON.parse(out.lines.join("\n"));
    expect(parsed).to.deep.equal({ ...REPORT, counters: { ...REPORT.counters, readings: REPORT.counters!.readings + 1 } });
  });

  it("watches: a report every period, and keeps going when one read fails", async () => {
    const { result, out } = await run(firmware(REPORT, 2), { json: true, watchS: 0.01, maxReports: 4 });
    await result;
    const reports = out.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as DiagReport);
    expect(reports.map((r) => r.counters!.readings - REPORT.counters!.readings)).to.deep.equal([1, 3, 4]);
    expect(out.lines.filter((l) => /no report \(the node failed on .*: Error: store busy\); retrying/.test(l))).to.have.length(1);
  });

  it("says so when no CasaNode firmware runs", async () => {
    const { result } = await run(undefined);
    expect((await rejection(result)).message).to.match(/runs no CasaNode firmware \(no casanode\.diag\(\)\): flash it first/);
  });

  it("refuses a reply that is not a report", async () => {
    const { result } = await run(firmware("oops"));
    expect((await rejection(result)).message).to.match(/garbled diag reply from the node on tcp:.*"oops"/);
  });

  it("says a silent node may be off, asleep or at the wrong baud rate", async () => {
    const { result } = await run(firmware(REPORT), { promptTimeoutMs: 200 }, { silent: true });
    expect((await rejection(result)).message).to.match(/no answer from the node .* is it powered\? is the baud rate 115200\?/);
  });

  it("formats durations and RSSI for people", () => {
    expect(formatDuration(42)).to.equal("42 s");
    expect(formatDuration(95)).to.equal("1 min 35 s");
    expect(formatDuration(7384)).to.equal("2 h 03 min");
    expect(formatDuration(3 * 86400 + 7200)).to.equal("3 d 2 h");
    expect(formatDuration(-1)).to.equal("?");
    expect([-50, -60, -61, -75, -76].map(rssiQuality)).to.deep.equal(["good", "good", "fair", "fair", "weak"]);
  });
});
