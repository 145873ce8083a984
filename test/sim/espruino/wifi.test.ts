// require("Wifi") and require("net") in a SimNode: joining takes realistic time, an outage
// gives no callback, the radio is priced while on, and sockets live only as long as the boot.

import { expect } from "chai";
import net from "node:net";
import { bootNode, iife, AP, START_MS } from "../../support/node-fixture.js";
import { BOOT_MS } from "../../../sim/node.js";
import { WIFI_JOIN_MAX_MS, WIFI_STATIC_JOIN_MIN_MS, WIFI_STATIC_JOIN_MAX_MS, WIFI_JOIN_MIN_MS, WIFI_LINK_CHECK_MS } from "../../../sim/espruino/wifi.js";
import { NO_NET_LATENCY } from "../../../sim/espruino/net.js";

const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix));

const join = (password = AP.password, extra = "") =>
  iife(`
  var W = require("Wifi"), t0 = Date.now();
  W.on("connected", function (d) { print("event connected " + d.ip); });
  W.on("disconnected", function (d) { print("event disconnected " + d.msg); });
  setTimeout(function () { print("firmware timeout"); }, 60000);
  W.connect(${JSON.stringify(AP.ssid)}, { password: ${JSON.stringify(password)} }, function (err) {
    print("cb " + err + " after " + (Date.now() - t0) + " ip " + W.getIP().ip + " rssi " + typeof W.getDetails().rssi);
  });
  ${extra}`);

describe("SimNode: Wifi and net", () => {
  it("a join begun while the image is still lexed (a wake prelude) answers only once the whole image has run, as Espruino's event queue does", () => {
    const prelude = `require("Wifi").setIP({ ip: "192.168.4.50", gw: "192.168.4.1", netmask: "255.255.255.0" }, function (r) { print("setIP " + r); });` +
      `require("Wifi").connect(${JSON.stringify(AP.ssid)}, { password: ${JSON.stringify(AP.password)} }, function (e) { print("joined " + e); });\n`;
    // ~150 KB to lex: seconds on an ESP32, longer than any static join
    const bundle = iife(`print("bundle runs"); var pad = 0;\n` + "pad = pad + 1;\n".repeat(10_000));
    const h = bootNode(prelude + bundle, { bootMs: undefined });
    h.node.start();
    expect(h.node.bootMs).to.be.above(BOOT_MS + WIFI_STATIC_JOIN_MAX_MS + 500);
    h.clock.advance(h.node.bootMs + 100);
    expect(h.out().split("\n").filter((l) => /^(bundle|setIP|joined)/.test(l))).to.deep.equal(["bundle runs", "setIP Failure", "joined null"]);
    // the radio went on as the prelude ran
    const on = h.node.trace.find((t) => t.state === "radio" && t.on)!;
    expect(on.t - START_MS).to.be.below(BOOT_MS + 50);
    h.node.stop();
  });

  it("joins in 1.5-4 s of virtual time: cb(null) and a 'connected' event; the radio is on until disconnect", () => {
    const h = bootNode(join(AP.password, `setTimeout(function () { W.disconnect(function () { print("off"); }); }, 10000);`));
    h.node.start();
    h.clock.advance(BOOT_MS + 5000);
    const cb = lines(h.out(), "cb ")[0];
    expect(cb).to.match(/^cb null after \d+(\.\d+)? ip 192\.168\.4\.\d+ rssi number$/);
    const took = Number(/after ([\d.]+)/.exec(cb)![1]);
    expect(took).to.be.within(WIFI_JOIN_MIN_MS, WIFI_JOIN_MAX_MS);
    expect(h.out()).to.match(/event connected 192\.168\.4\.\d+\n/);
    expect(h.node.radio).to.equal(true);
    h.clock.advance(10_000);
    expect(h.out()).to.include("off\n");
    expect(h.node.radio).to.equal(false);
    h.node.updateEnergy();
    expect(h.node.stats.radioMs).to.be.closeTo(10_000, 1);
    const radio = h.node.trace.filter((t) => t.state === "radio");
    expect(radio.map((t) => t.on)).to.deep.equal([true, false]);
    expect(radio[1].t - radio[0].t).to.be.closeTo(10_000, 1);
    h.node.stop();
  });

  it("setIP: throws on a bad field, calls back inverted ('Failure' = done), joins faster with no DHCP; no DNS for SNTP by name", () => {
    const h = bootNode(
      iife(`var W = require("Wifi");
      try { W.setIP({ ip: "192.168.4.300", gw: "192.168.4.1", netmask: "255.255.255.0" }, function () {}); } catch (e) { print("threw " + e.message); }
      W.setIP({ ip: "192.168.4.77", gw: "192.168.4.1", netmask: "255.255.255.0" }, function (r) {
        print("setIP " + r);
        var t0 = Date.now();
        W.setSNTP("pool.ntp.org", "UTC0");
        W.connect(${JSON.stringify(AP.ssid)}, { password: ${JSON.stringify(AP.password)} }, function (err) {
          print("cb " + err + " after " + (Date.now() - t0) + " ip " + W.getIP().ip);
          setTimeout(function () { print("year " + new Date().getFullYear()); }, 3000);
        });
      });`),
      { rtc: "power-on-zero" },
    );
    h.node.start();
    h.clock.advance(BOOT_MS + 6000);
    expect(h.out()).to.include("threw Not a valid IP address\n");
    expect(h.out()).to.include("setIP Failure\n");
    const took = Number(/cb null after ([\d.]+) ip 192\.168\.4\.77\n/.exec(h.out())![1]);
    expect(took).to.be.within(WIFI_STATIC_JOIN_MIN_MS, WIFI_STATIC_JOIN_MAX_MS);
    // SNTP by name: no DNS server without DHCP, the clock stays at 1970
    expect(h.out()).to.include("year 1970\n");
    h.node.stop();
  });

  it("answers a wrong password with 'Bad password'", () => {
    const h = bootNode(join("wrong-password"));
    h.node.start();
    h.clock.advance(BOOT_MS + 5000);
    expect(lines(h.out(), "cb ")[0]).to.match(/^cb Bad password after/);
    h.node.stop();
  });

  it("gives no callback at all while the access point is down, and joins once it is back", () => {
    const h = bootNode(join());
    h.ap.up = false;
    h.node.start();
    h.clock.advance(BOOT_MS + 60_000);
    expect(h.out()).to.include("firmware timeout\n");
    expect(lines(h.out(), "cb ")).to.deep.equal([]);
    expect(h.node.radio).to.equal(true); // still scanning
    h.ap.up = true;
    h.clock.advance(WIFI_JOIN_MAX_MS + 1);
    expect(lines(h.out(), "cb ")[0]).to.match(/^cb null after 6\d{4}/);
    h.node.stop();
  });

  it("reports a lost access point with a 'disconnected' event within a few seconds", () => {
    const h = bootNode(join());
    h.node.start();
    h.clock.advance(BOOT_MS + 5000);
    h.ap.up = false;
    h.clock.advance(WIFI_LINK_CHECK_MS + 1);
    expect(h.out()).to.include("event disconnected BEACON_TIMEOUT\n");
    h.node.stop();
  });

  it("gives up with the reason after 3 scans when wifiReportsFailure is set (2v29's ESP32 source)", () => {
    const h = bootNode(join(), { wifiReportsFailure: true });
    h.ap.up = false;
    h.node.start();
    h.clock.advance(BOOT_MS + 3 * WIFI_JOIN_MAX_MS + 1);
    expect(lines(h.out(), "cb ")[0]).to.match(/^cb NO_AP_FOUND/);
    h.node.stop();
  });

  it("refuses setSNTP with a numeric zone as the ESP32 build does; with a string zone it sets the clock", () => {
    const h = bootNode(
      join(
        AP.password,
        `try { W.setSNTP("pool.ntp.org", 0); } catch (e) { print("sntp " + e.message); }
         W.setSNTP("pool.ntp.org", "UTC0");
         setTimeout(function () { print("year " + new Date().getFullYear() + " " + Date.now()); }, 8000);`,
      ),
    );
    h.node.start();
    h.clock.advance(BOOT_MS + 9000);
    expect(h.out()).to.include("sntp Zone is not a string\n");
    expect(h.out()).to.include(`year 2026 ${START_MS + BOOT_MS + 8000}\n`);
    h.node.stop();
  });

  it("has seeded RSSI: the same seed gives the same figures", () => {
    const run = () => {
      const h = bootNode(join(AP.password, `setTimeout(function () { print("rssi " + W.getDetails().rssi + " " + W.getDetails().rssi); }, 6000);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 7000);
      h.node.stop();
      return lines(h.out(), "rssi ")[0];
    };
    const a = run();
    expect(a).to.match(/^rssi -\d+ -\d+$/);
    expect(run()).to.equal(a);
  });

  it("blocks net while Wi-Fi is not connected, as Espruino fails to make a socket", () => {
    const h = bootNode(iife(`try { require("net").connect({ host: "127.0.0.1", port: 9 }); } catch (e) { print("net " + e.message); }`));
    h.node.start();
    h.clock.advance(BOOT_MS + 1);
    expect(h.out()).to.include("net Unable to create socket\n");
    h.node.stop();
  });

  describe("over real sockets", () => {
    let server: net.Server;
    let port = 0;
    const closed: string[] = [];
    before(async () => {
      server = net.createServer((s) => {
        s.on("data", (d) => s.write(d)); // echo
        s.on("close", () => closed.push("closed"));
        s.on("error", () => {});
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      port = (server.address() as net.AddressInfo).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    /** let real I/O happen and deliver it at the current virtual time */
    async function pump(h: ReturnType<typeof bootNode>, until: () => boolean, wallMs = 2000): Promise<void> {
      const end = Date.now() + wallMs;
      while (!until() && Date.now() < end) {
        await new Promise((r) => setImmediate(r));
        h.clock.runUntil(h.clock.now());
      }
    }

    it("talks to a server once connected; deep sleep destroys the socket and drops its callbacks", async () => {
      const h = bootNode(
        iife(`
        if (ESP32.getWakeupCause() === 4) { print("woke"); return; }
        var W = require("Wifi");
        W.connect(${JSON.stringify(AP.ssid)}, { password: ${JSON.stringify(AP.password)} }, function (err) {
          var s = require("net").connect({ host: "127.0.0.1", port: ${port} }, function () {
            print("connected");
            s.write("ping\\xff");
          });
          s.on("data", function (d) {
            print("echo " + d.slice(0, 4) + " " + d.charCodeAt(4));
            global.sock = s;
            ESP32.deepSleep(5e6);
          });
          s.on("close", function () { print("close callback ran"); });
        });`),
        // socket semantics here; pump() delivers at the current virtual time
        { netLatency: NO_NET_LATENCY },
      );
      h.node.start();
      h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 1);
      await pump(h, () => h.out().includes("echo "));
      expect(h.out()).to.include("connected\necho ping 255\n");
      expect(h.node.powerState).to.equal("asleep");
      await pump(h, () => closed.length > 0);
      expect(closed).to.deep.equal(["closed"]);
      h.clock.advance(5000 + BOOT_MS + 1);
      await pump(h, () => false, 50);
      expect(h.out()).to.include("woke\n");
      expect(h.out()).to.not.include("close callback ran");
      h.node.stop();
    });
  });
});
