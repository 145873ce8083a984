// The field tools against a simulated node: the real bundle in the Espruino emulation, its
// console served over TCP as `casanode sim --console-port` does. Virtual time is pumped in small
// steps while a tool runs, so the node can reboot (load()) and print its boot line.

import { expect } from "chai";
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SimNode } from "../../sim/node.js";
import { serveConsole, type ConsoleServer } from "../../sim/espruino/console-server.js";
import { VirtualClock } from "../../sim/clock.js";
import { createWorld } from "../../sim/world/index.js";
import { createRng } from "../../sim/random.js";
import { profile as pole } from "../../boards/profiles/esp32-pole.js";
import { CONFIG_FILE } from "../../firmware/config.js";
import { validateConfig } from "../../firmware/config-check.js";
import { ensureBundle } from "../../toolchain/bundle.js";
import { flash } from "../../tools/flash.js";
import { provision } from "../../tools/provision.js";
import { diag } from "../../tools/diag.js";
import { openLink, type ConsoleLink } from "../../tools/console-link.js";
import { Repl } from "../../tools/repl.js";
import type { Reporter } from "../../tools/reporter.js";

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

describe("field tools: against a simulated node", function () {
  this.timeout(60000);
  const dir = mkdtempSync(path.join(tmpdir(), "casanode-simtools-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let bundlePath: string;
  let bundle: string;
  let clock: VirtualClock;
  let node: SimNode;
  let server: ConsoleServer;
  let pump: ReturnType<typeof setInterval>;
  let port: string;

  before(async () => {
    bundlePath = await ensureBundle("esp32-pole");
    bundle = readFileSync(bundlePath, "latin1");
  });

  async function startNode(firstBundle: string, config?: object): Promise<void> {
    clock = new VirtualClock(Date.UTC(2026, 5, 1, 12));
    node = new SimNode({
      id: "pole-01",
      board: pole,
      bundle: firstBundle,
      config,
      clock,
      world: createWorld(7),
      rng: createRng(7),
      wifi: { ssid: "casanode-sim", password: "casanode-sim", up: () => true },
    });
    node.start();
    clock.advance(3000); // past the boot (its time grows with the bundle: sim/boot-time.ts)
    server = await serveConsole(node, 0);
    port = `tcp://127.0.0.1:${server.port}`;
    // 20 ms of node time per 2 ms of ours: reboots take a few real ms
    pump = setInterval(() => {
      clock.advance(20);
      node.updateEnergy();
    }, 2);
  }

  afterEach(async () => {
    clearInterval(pump);
    node?.stop();
    await server?.close();
  });

  it("flashes the bundle in verified chunks and the node boots it", async () => {
    await startNode('print("an old firmware")');
    const out = recorder();
    const r = await flash({ port, board: "esp32-pole", bundleFile: bundlePath, reporter: out });
    expect(node.storage.read(".bootcde")).to.equal(bundle);
    expect(r.written).to.equal(true);
    expect(r.bootLine).to.match(/^CasaNode \S+ esp32-pole esp32-pole-00 boot=/);
    expect(node.stats.softwareResets).to.equal(1);
    expect(out.lines.join("\n")).to.match(/verified: \d+ bytes, CRC-32 0x[0-9a-f]{8} on the node/);
  });

  it("refuses an invalid config with the validator's messages, then writes a valid one the node boots with", async () => {
    await startNode(bundle);
    const bad = { site: "Casa Centre", node: "pole-07", wifi: { ssid: "", password: "x" }, broker: { host: "127.0.0.1", port: 99999 } };
    const badFile = path.join(dir, "bad.json");
    writeFileSync(badFile, JSON.stringify(bad));
    const err = await rejection(provision({ port, config: badFile, reporter: recorder() }));
    const expected = validateConfig({ ...bad, keyHex: "00".repeat(32) }, pole);
    expect(expected.ok).to.equal(false);
    for (const e of (expected as { errors: string[] }).errors) expect(err.message).to.include("\n  " + e);
    expect(node.storage.read(CONFIG_FILE)).to.equal(undefined);

    const good = { site: "casa-centre", wifi: { ssid: "casanode-sim", password: "casanode-sim" }, broker: { host: "127.0.0.1", port: 1883 }, consolePassword: "pole-pw-1" };
    const goodFile = path.join(dir, "good.json");
    writeFileSync(goodFile, JSON.stringify(good));
    const out = recorder();
    const r = await provision({ port, config: goodFile, node: "pole-07", reporter: out });
    expect(JSON.parse(node.storage.read(CONFIG_FILE)!)).to.deep.equal({ ...good, node: "pole-07", keyHex: r.keyHex });
    expect(r.bootLine).to.match(/^CasaNode \S+ esp32-pole pole-07 boot=/);
    expect(out.lines[out.lines.length - 1]).to.equal("the node runs as casa-centre/pole-07 with the new config");
  });

  it("reads the node's diagnostics: one row per fitted device, with its counters", async () => {
    await startNode(bundle);
    const out = recorder();
    const d = await diag({ port, reporter: out });
    expect(d.board).to.equal("esp32-pole");
    expect(Object.keys(d.devices ?? {})).to.deep.equal(pole.devices.map((s) => s.name));
    const text = out.lines.join("\n");
    for (const s of pole.devices) expect(text).to.match(new RegExp(`\\n  ${s.name}\\s+${s.model}\\s`));
    expect(text).to.match(/memory \d+ of 16383 vars used/);
  });

  describe("console lock", () => {
    const PW = "pole-secret-77";
    const CONFIG = { site: "casa", node: "pole-07", keyHex: "5a".repeat(32), wifi: { ssid: "casanode-sim", password: "wifi-secret-9" }, broker: { host: "127.0.0.1", port: 1883 }, consolePassword: PW };
    let link: ConsoleLink | undefined;
    afterEach(async () => {
      await link?.close();
      link = undefined;
    });

    /** What a passer-by gets with no password: a line typed on a fresh connection, and what came back. */
    async function tryToRead(): Promise<string> {
      link = await openLink(port);
      await new Promise((r) => setTimeout(r, 50));
      link.drain();
      await link.write('require("Storage").readJSON("casanode.json").wifi.password\n');
      await new Promise((r) => setTimeout(r, 300));
      const got = link.drain();
      await link.close();
      link = undefined;
      return got;
    }

    it("diag --password leaves the console locked: the next connection without it reads no secret", async () => {
      await startNode(bundle, CONFIG);
      const d = await diag({ port, password: PW, reporter: recorder() });
      expect(d.node).to.equal("pole-07");
      const got = await tryToRead();
      expect(got).to.match(/password>/);
      expect(got).to.not.include("wifi-secret-9");
    });

    it("flash --password leaves the console of the new firmware locked", async () => {
      await startNode(bundle, CONFIG);
      const r = await flash({ port, board: "esp32-pole", bundleFile: bundlePath, password: PW, reporter: recorder() });
      expect(r.bootLine).to.match(/pole-07/);
      expect(await tryToRead()).to.not.include("wifi-secret-9");
    });

    it("provision generates a console password, the node locks with it, and the tool leaves it locked", async () => {
      await startNode(bundle);
      const file = path.join(dir, "lockme.json");
      const { consolePassword: _pw, keyHex: _key, ...config } = CONFIG;
      writeFileSync(file, JSON.stringify(config));
      const keys = path.join(dir, "lock-keys.jsonl");
      const r = await provision({ port, config: file, keysOut: keys, reporter: recorder() });
      expect(JSON.parse(readFileSync(keys, "utf8")).consolePassword).to.equal(r.consolePassword);
      expect(JSON.parse(node.storage.read(CONFIG_FILE)!).consolePassword).to.equal(r.consolePassword);
      const got = await tryToRead();
      expect(got).to.match(/password>/);
      expect(got).to.not.include("wifi-secret-9");
    });

    it("a crew reads health without the password; the report carries no secret and the console stays locked", async () => {
      await startNode(bundle, CONFIG);
      const out = recorder();
      const d = await diag({ port, reporter: out });
      expect(d).to.include({ node: "pole-07", site: "casa", board: "esp32-pole" });
      expect(Object.keys(d.devices ?? {})).to.deep.equal(pole.devices.map((s) => s.name));
      const text = out.lines.join("\n");
      expect(text).to.match(/^\(console locked: the health report it gives without a password\)\nCasaNode casa\/pole-07/);
      for (const secret of [PW, "wifi-secret-9", CONFIG.keyHex]) expect(text + JSON.stringify(d)).to.not.include(secret);
      expect(await tryToRead()).to.not.include("wifi-secret-9");
    });

    it("diag --watch without the password reads health every period", async () => {
      await startNode(bundle, CONFIG);
      const out = recorder();
      // a node second between reports, whatever the pump managed on a loaded machine
      const print = out.line;
      out.line = (t) => {
        print(t);
        clock.advance(1000);
      };
      const d = await diag({ port, watchS: 0.05, maxReports: 3, json: true, reporter: out });
      const reports = out.lines.map((l) => JSON.parse(l));
      expect(reports).to.have.length(3);
      expect(reports[2].uptimeS).to.be.greaterThan(reports[0].uptimeS);
      expect(d.node).to.equal("pole-07");
    });

    it("slows down after wrong passwords: a doubling wait, and the right one is refused during it", async () => {
      await startNode(bundle, CONFIG);
      link = await openLink(port);
      const waits: number[] = [];
      for (let i = 0; i < 3; i++) {
        await link.write("guess-" + i + "\n");
        waits.push(Number((await link.expect(/Invalid password\r\n  Wait (\d+) s/, 2000))[1]));
        if (i < 2) await new Promise((r) => setTimeout(r, waits[i] * 100 + 100)); // node time runs 10x ours
      }
      expect(waits).to.deep.equal([1, 2, 4]);
      const err = await rejection(new Repl(link, { password: PW, promptTimeoutMs: 1000 }).attach());
      expect(err.message).to.match(/takes no password for \d s after wrong ones: wait and try again/);
      await new Promise((r) => setTimeout(r, 600)); // 6 s of node time: the wait is over
      await new Repl(link, { password: PW, promptTimeoutMs: 1000 }).attach();
    });

    it("a refused config keeps the console locked with its password", async () => {
      await startNode(bundle, { ...CONFIG, samplePeriodS: 7 });
      const got = await tryToRead();
      expect(got).to.match(/password>/);
      expect(got).to.not.include("wifi-secret-9");
      const d = await diag({ port, password: PW, reporter: recorder() });
      expect(d.configErrors!.join()).to.match(/samplePeriodS/);
    });
  });

  it("reports a node that sleeps or is off as not answering", async () => {
    await startNode(bundle);
    // no torn write: a tear waits for the firmware's next write, awake, and the clock is stopped here
    node.powerCut(3_600_000, { tear: false });
    clearInterval(pump); // stays off
    const err = await rejection(diag({ port, reporter: recorder(), promptTimeoutMs: 150 }));
    // the console server greets with the node's power state; the REPL itself stays silent
    expect(err.message).to.match(/^the node on tcp:\S+ did not answer REPL commands within 0\.15 s; it printed "pole-01 console \(off\)\\n"/);
  });
});
