/// <reference lib="dom" />
// The diagnostics page in real headless Chromium: the built page (dist/diag/, served by
// `casanode diag --web`'s server) and the real @espruino-tools library, over stand-ins for
// navigator.bluetooth and navigator.serial (fake-transports.js) bridged to a simulated node's
// console port. What the page shows must match the node's own `casanode diag --json`.

import { expect } from "chai";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { SimNode } from "../../sim/node.js";
import { serveConsole, type ConsoleServer } from "../../sim/espruino/console-server.js";
import { VirtualClock } from "../../sim/clock.js";
import { createWorld } from "../../sim/world/index.js";
import { createRng } from "../../sim/random.js";
import { profile as pole } from "../../boards/profiles/esp32-pole.js";
import { buildDiagPage, DIAG_PAGE_DIR, ensureBundle } from "../../toolchain/bundle.js";
import { serveDiagPage, type DiagWebServer } from "../../tools/diag-web.js";
import { diag, type DiagReport } from "../../tools/diag.js";
import type { Reporter } from "../../tools/reporter.js";
import { CHROME_FLAGS, decodePng, inkAndColours } from "../support/chromium.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const PASSWORD = "crew-pw-2026";

function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, line: (t) => lines.push(t), progress: () => ({ update: () => {}, stop: () => {} }) };
}

describe("diagnostics page in headless Chromium", function () {
  this.timeout(120_000);
  let browser: Browser;
  let web: DiagWebServer;
  let bundle: string;
  let clock: VirtualClock;
  let node: SimNode;
  let consoleServer: ConsoleServer;
  let bleServer: ConsoleServer | undefined;
  let pump: ReturnType<typeof setInterval> | undefined;
  let socket: net.Socket | undefined;
  let page: Page;

  before(async function () {
    if (!CHROMIUM) {
      console.log("      (skipped: no chromium; apt-get install -y chromium to run this check)");
      this.skip();
    }
    if (!existsSync(path.join(DIAG_PAGE_DIR, "diag.js"))) await buildDiagPage();
    bundle = readFileSync(await ensureBundle("esp32-pole"), "latin1");
    web = await serveDiagPage(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROME_FLAGS.filter((f) => f !== "--headless") });
  });

  after(async () => {
    await browser?.close();
    await web?.close();
  });

  /** Runs the node's virtual time: `ms` of it, in steps its timers see. */
  function run(ms: number): void {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      node.updateEnergy();
    }
  }

  async function startNode(config?: object): Promise<void> {
    clock = new VirtualClock(Date.UTC(2026, 5, 1, 12));
    node = new SimNode({ id: "pole-01", board: pole, bundle, config, clock, world: createWorld(7), rng: createRng(7), wifi: { ssid: "casanode-sim", password: "casanode-sim", up: () => true } });
    node.start();
    run(130_000); // two sample cycles: every sensor has readings
    consoleServer = await serveConsole(node, 0);
    pump = setInterval(() => run(100), 5);
  }

  /**
   * Wait for `selector` on the page while the node's time runs (the pump), for at most
   * `virtualMs` of that time: a loaded machine pumps slower, which stretches the wall time but
   * must not fail the test (Playwright's own timeouts are wall time).
   */
  async function shownWithin(selector: string, virtualMs: number): Promise<void> {
    const end = clock.now() + virtualMs;
    while (!(await page.locator(selector).count())) {
      if (clock.now() > end) throw new Error(`${selector} not shown within ${virtualMs / 1000} s of the node's time`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** `bluetoothDevice`: the Bluetooth stand-in reaches the node's own Bluetooth console device, not Serial1 */
  async function openPage(bluetoothDevice = false): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    if (bluetoothDevice) bleServer = await serveConsole(node, 0, "127.0.0.1", { bluetooth: true });
    // the bridge: page -> TCP console of the simulated node, and back in order
    let inbound = Promise.resolve();
    await p.exposeFunction("__nodeOpen", () =>
      new Promise<void>((resolve, reject) => {
        socket = net.connect({ host: "127.0.0.1", port: (bleServer ?? consoleServer).port }, () => resolve());
        socket.once("error", reject);
        socket.on("data", (buf) => {
          const text = buf.toString("latin1");
          inbound = inbound.then(() => p.evaluate((t) => (window as unknown as { __nodeData(t: string): void }).__nodeData(t), text)).catch(() => {});
        });
      }),
    );
    await p.exposeFunction("__nodeWrite", (text: string) => new Promise<void>((resolve) => socket!.write(Buffer.from(text, "latin1"), () => resolve())));
    await p.exposeFunction("__nodeClose", () => void socket?.end());
    await p.addInitScript({ path: path.join(import.meta.dirname, "..", "support", "fake-transports.js") });
    if (process.env.DIAG_PAGE_DEBUG) p.on("console", (m) => console.log("      [page]", m.text().slice(0, 200))) && p.on("pageerror", (e) => console.log("      [page error]", e.message));
    await p.goto(web.url);
    return p;
  }

  afterEach(async () => {
    clearInterval(pump);
    await page?.close();
    socket?.destroy();
    node?.stop();
    await consoleServer?.close();
    await bleServer?.close();
    bleServer = undefined;
  });

  /** The node's own report, as `casanode diag --json` prints it. */
  async function diagJson(): Promise<DiagReport> {
    const out = recorder();
    await diag({ port: `tcp://127.0.0.1:${consoleServer.port}`, json: true, reporter: out });
    return JSON.parse(out.lines.join("\n")) as DiagReport;
  }

  const shown = (key: string) => page.locator(`[data-key="${key}"]`).first().textContent();

  async function expectMatches(d: DiagReport): Promise<void> {
    expect(await shown("node")).to.equal(`${d.site}/${d.node}`);
    expect(await shown("board")).to.equal("esp32-pole");
    expect(await shown("fw")).to.equal(d.fw);
    expect(await shown("counters.boots")).to.equal(`${d.counters!.boots} / ${d.counters!.wakes}`);
    expect(await shown("queue.depth")).to.equal(`${d.queue!.depth} of ${d.queue!.max}`);
    expect(await shown("counters.readings")).to.equal(`${d.counters!.readings} / ${d.counters!.published} / ${d.counters!.acked}`);
    expect(await shown("energy.mAh")).to.equal(`${d.energy!.mAh} mAh`);
    expect(await shown("memory.total")).to.match(new RegExp(` of ${d.memory!.total} used `));
    expect(await shown("safe")).to.equal(d.safe ? `SAFE MODE: ${d.safe}` : "normal");
    // a mains node never measures its RTC's rate (it does not sleep)
    expect(await shown("clock.synced")).to.match(/^clock (synced .*|never synced by SNTP); RTC rate not measured yet$/);
    expect(Object.keys(d.devices!)).to.deep.equal(pole.devices.map((s) => s.name));
    for (const [name, dv] of Object.entries(d.devices!)) {
      expect(await shown(`devices.${name}.model`)).to.equal(dv.model);
      expect(await shown(`devices.${name}.now`)).to.equal(dv.now);
      expect(dv.desc, `${name} has a wiring line`).to.be.a("string").and.not.equal("");
      expect(await shown(`devices.${name}.desc`)).to.equal(dv.desc);
      const k = dv.counters;
      expect(await shown(`devices.${name}.counters.framesOk`)).to.equal(k ? String(k.framesOk) : "-");
      expect(await shown(`devices.${name}.counters.checksumErrors`)).to.equal(k ? String(k.checksumErrors) : "-");
      const readings = (dv as { readings?: Array<{ name: string; unit: string; value: number }> }).readings ?? [];
      expect(await shown(`devices.${name}.readings`)).to.equal(readings.map((r) => `${r.name} ${r.value} ${r.unit}`).join(", ") || "-");
    }
  }

  /** Read now with the node's time held, then the node's own report of the same moment. */
  async function readStill(): Promise<DiagReport> {
    clearInterval(pump);
    pump = undefined;
    const before = await page.locator("#status").textContent();
    await page.click("#refresh");
    await page.waitForFunction((b) => document.getElementById("status")!.textContent !== b, before);
    const d = await diagJson();
    pump = setInterval(() => run(100), 5);
    return d;
  }

  it("reads a node over Bluetooth (Nordic UART) and shows what diag --json says, with a chart", async () => {
    await startNode();
    page = await openPage();
    await page.click("#connect-ble");
    await page.waitForSelector('#identity [data-key="board"]', { timeout: 30_000 });
    run(60_000); // another sample: the chart gets a second point
    const d = await readStill();
    await expectMatches(d);
    const sent = (await page.evaluate(() => (window as unknown as { __transportLog: Array<Record<string, unknown>> }).__transportLog)) as Array<Record<string, unknown>>;
    expect(sent[0]).to.include({ bluetooth: "requestDevice" });
    expect(sent.filter((e) => e.bluetooth === "write").length, "GATT writes of 20 bytes or less").to.be.greaterThan(3);

    // every panel, and a drawn line per quantity read twice
    for (const id of ["identity", "health", "sensors", "queue", "uplink", "memory", "energy", "chart"]) expect(await page.locator(`section#${id} h2`).count(), id).to.equal(1);
    expect(await page.locator("#chart polyline.series").count()).to.be.at.least(3);
    expect(await page.locator("#chart figure[data-series='pm.pm25']").count()).to.equal(1);

    const png = await page.screenshot({ fullPage: true });
    if (process.env.DIAG_PAGE_SHOT) writeFileSync(process.env.DIAG_PAGE_SHOT, png); // to look at it
    const { ink, colours } = inkAndColours(decodePng(png));
    expect(ink, "share of non-white pixels").to.be.within(0.03, 0.7);
    expect(colours, "distinct colours (text, panels, chart)").to.be.greaterThan(30);

    await page.click("#disconnect");
    await page.waitForFunction(() => /disconnected/.test(document.getElementById("status")!.textContent!));
  });

  it("reads the same over Web Serial at 115200 baud", async () => {
    await startNode();
    page = await openPage();
    await page.click("#connect-serial");
    await page.waitForSelector('#identity [data-key="board"]', { timeout: 30_000 });
    const d = await readStill();
    await expectMatches(d);
    const log = (await page.evaluate(() => (window as unknown as { __transportLog: unknown[] }).__transportLog)) as Array<Record<string, unknown>>;
    expect(log).to.deep.include({ serial: "open", baudRate: 115200 });
  });

  it("on a locked console, over the node's own Bluetooth console device: reads health without the password, keeps the actions for login, then runs the self-test", async function () {
    // its waits are bounded in the node's time (shownWithin); this only stops a stuck run
    this.timeout(300_000);
    await startNode({ site: "casa", node: "pole-07", wifi: { ssid: "casanode-sim", password: "casanode-sim" }, broker: { host: "127.0.0.1", port: 1883 }, keyHex: "11".repeat(32), consolePassword: PASSWORD });
    page = await openPage(true);
    await page.click("#connect-ble");
    await shownWithin("#login:not([hidden])", 60_000);
    // the firmware's lock answers the fixed "health" request before login: the panels fill, the actions stay hidden
    await shownWithin('#identity [data-key="node"]', 60_000);
    expect(await shown("node")).to.equal("casa/pole-07");
    expect(await page.locator("#actions").isHidden()).to.equal(true);
    await page.fill("#password", PASSWORD);
    await page.click("#login button[type=submit]");
    await shownWithin("#actions:not([hidden])", 60_000);
    // that went over Bluetooth: Serial1 printed no login and stays locked
    expect(node.consoleText).to.not.include("Logged in.");
    await page.click("#selftest");
    await shownWithin("#action-result li", 120_000);
    const checks = await page.locator("#action-result li").allTextContents();
    expect(checks.some((c) => /^ok config: valid$/.test(c)), checks.join("\n")).to.equal(true);
    expect(checks.some((c) => /^(ok|FAIL) device pm: pms5003/.test(c)), checks.join("\n")).to.equal(true);
  });
});
