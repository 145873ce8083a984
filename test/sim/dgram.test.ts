// require("dgram") in a SimNode: a request to port 123 gets the simulated NTP server's reply one
// round trip later, stamped with the true time whatever the node's RTC says; a lost link, a
// name with no DNS, another port, a closed socket or a world without NTP give silence.

import { expect } from "chai";
import { bootNode, iife, AP, START_MS, type Harness } from "../support/node-fixture.js";
import { BOOT_MS, type SimNodeOptions } from "../../sim/node.js";
import { WIFI_JOIN_MAX_MS, WIFI_LINK_CHECK_MS, SNTP_REPLY_MS } from "../../sim/espruino/wifi.js";
import { readNtpTimestamp } from "../../sim/ntp-server.js";
import { SIM_NTP_SERVER_ADDRESS } from "../../sim/espruino/require-dgram.js";

const RTT = 40;
const FIXED = { netLatency: { rttMinMs: RTT, rttMaxMs: RTT, tlsHandshakeMs: 0 } };

/** firmware helpers: an SNTP request (LI 0, VN 4, mode 3, poll 6) with transmit timestamp `tx`, and hex of a binary string */
const HELPERS = `
function req(tx) { var s = "\\x23\\x00\\x06"; while (s.length < 40) s += "\\x00"; return s + tx; }
function hexs(m) { var h = ""; for (var i = 0; i < m.length; i++) h += (256 + m.charCodeAt(i)).toString(16).slice(1); return h; }
var TX = "\\xde\\xad\\xbe\\xef\\x01\\x02\\x03\\x04";
function watch(s, name) {
  s.on("message", function (msg, rinfo) { print(name + " msg " + hexs(msg) + " " + JSON.stringify(rinfo) + " len " + msg.length + " rtt " + (Date.now() - s.t0) + " year " + new Date().getFullYear()); });
  s.on("error", function (e) { print(name + " error " + JSON.stringify(e)); });
  s.on("end", function () { print(name + " end"); });
  s.on("close", function (e) { print(name + " close " + e); });
  return s;
}
function ntp(name, host, port) {
  var s = watch(require("dgram").createSocket("udp4"), name);
  s.t0 = Date.now();
  s.send(req(TX), port || 123, host);
  return s;
}
`;

const JOIN = (then: string) => `
var W = require("Wifi");
W.connect(${JSON.stringify(AP.ssid)}, { password: ${JSON.stringify(AP.password)} }, function (err) {
  print("joined " + err);
  ${then}
});`;

interface Msg {
  name: string;
  bytes: Buffer;
  rinfo: { address: string; port: number; size: number };
  len: number;
  rtt: number;
  year: number;
  /** true virtual time it reached the firmware */
  at: number;
}

function run(body: string, opts: Partial<SimNodeOptions> & { chip?: "esp32" | "linux" } = {}) {
  const msgs: Msg[] = [];
  let h: Harness;
  h = bootNode(iife(HELPERS + body), {
    ...opts,
    onConsole: (t) => {
      for (const line of t.split("\n")) {
        const m = /^(\w+) msg ([0-9a-f]*) (\{.*\}) len (\d+) rtt ([\d.]+|NaN) year (\d+)$/.exec(line);
        if (m) msgs.push({ name: m[1], bytes: Buffer.from(m[2], "hex"), rinfo: JSON.parse(m[3]), len: Number(m[4]), rtt: Number(m[5]), year: Number(m[6]), at: h.clock.now() });
      }
    },
  });
  h.node.start();
  return { h, msgs, lines: (prefix: string) => h.out().split("\n").filter((l) => l.startsWith(prefix)) };
}

describe("require('dgram') and the simulated NTP server", () => {
  it("ESP32 on DHCP: the reply to pool.ntp.org arrives one round trip later with the TRUE time, though the RTC says 1970", () => {
    const { h, msgs } = run(JOIN(`ntp("a", "pool.ntp.org");`), { rtc: "power-on-zero" });
    h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 1000);
    expect(msgs).to.have.length(1);
    const m = msgs[0];
    expect(m.len).to.equal(48);
    expect(m.rinfo).to.deep.equal({ address: SIM_NTP_SERVER_ADDRESS, port: 123, size: 48 });
    expect(m.rtt).to.be.within(20, 60); // DEFAULT_NET_LATENCY
    expect(m.year).to.equal(1970);
    const b = m.bytes;
    expect(b[0]).to.equal(0x24); // LI 0, VN 4 (copied), mode 4
    expect(b[1]).to.equal(2);
    expect(b[2]).to.equal(6);
    expect(b.subarray(24, 32).toString("hex")).to.equal("deadbeef01020304");
    // stamped at the true time, half way through the round trip
    const mid = m.at - m.rtt / 2;
    expect(readNtpTimestamp(b, 32)).to.be.closeTo(mid, 0.01);
    expect(readNtpTimestamp(b, 40)).to.be.closeTo(mid, 0.01);
    expect(new Date(readNtpTimestamp(b, 40)).getUTCFullYear()).to.equal(2026);
    expect(m.at).to.be.above(START_MS + BOOT_MS);
    h.node.stop();
  });

  it("Linux build: no Wi-Fi needed; the createSocket callback is the 'connect' listener; a fixed round trip puts the stamps at send + RTT/2", () => {
    const { h, msgs, lines } = run(
      `var s = watch(require("dgram").createSocket("udp4", function (x) { print("connect same " + (x === s) + " at " + (Date.now() - s.t0)); }), "l");
       s.t0 = Date.now();
       print("send returns " + s.send(req(TX), 123, "127.0.0.1"));
       print("sent at " + s.t0);`,
      { chip: "linux", ...FIXED },
    );
    h.clock.advance(BOOT_MS + 1000);
    const sentAt = Number(lines("sent at")[0].slice(8)); // the Linux build's clock is the true time
    expect(sentAt).to.be.within(START_MS, START_MS + BOOT_MS + 10);
    expect(lines("send returns")).to.deep.equal(["send returns undefined"]);
    expect(lines("connect")).to.deep.equal(["connect same true at 0"]);
    expect(msgs).to.have.length(1);
    expect(msgs[0].rinfo).to.deep.equal({ address: "127.0.0.1", port: 123, size: 48 });
    expect(msgs[0].at - sentAt).to.equal(RTT);
    expect(readNtpTimestamp(msgs[0].bytes, 40)).to.be.closeTo(sentAt + RTT / 2, 1e-3);
    h.node.stop();
  });

  it("the link down: no exception, no 'error', no reply (never joined; link dropped while the reply is on its way)", () => {
    const { h, msgs } = run(
      `ntp("nojoin", "192.168.4.1");
       print("no throw");
       ${JOIN(`
         ntp("ok", "192.168.4.1");
         setTimeout(function () { ntp("flight", "192.168.4.1"); W.disconnect(); }, 5000);
       `)}`,
      FIXED,
    );
    h.clock.advance(BOOT_MS + 10);
    expect(h.out()).to.include("no throw\n");
    h.clock.advance(WIFI_JOIN_MAX_MS + 10_000);
    expect(msgs.map((m) => m.name)).to.deep.equal(["ok"]); // the control: the same send, joined
    expect(msgs[0].rinfo.address).to.equal("192.168.4.1");
    expect(h.out()).to.not.match(/error|Uncaught/);
    h.node.stop();
    // sent before the join, its reply due after it: still nothing (the datagram never left)
    const slow = run(`ntp("early", "192.168.4.1"); ${JOIN("")}`, { netLatency: { rttMinMs: 10_000, rttMaxMs: 10_000, tlsHandshakeMs: 0 } });
    slow.h.clock.advance(BOOT_MS + 12_000);
    expect(slow.lines("joined")).to.deep.equal(["joined null"]);
    expect(slow.msgs).to.deep.equal([]);
    slow.h.node.stop();
  });

  it("the access point gone: once the station has noticed, a send goes nowhere", () => {
    const { h, msgs, lines } = run(
      JOIN(`W.on("disconnected", function (d) { print("lost " + d.msg); ntp("gone", "192.168.4.1"); ntp("gone2", "pool.ntp.org"); });`),
      FIXED,
    );
    h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 100);
    expect(lines("joined")).to.deep.equal(["joined null"]);
    h.ap.up = false;
    h.clock.advance(2 * WIFI_LINK_CHECK_MS + 1000);
    expect(lines("lost")).to.deep.equal(["lost BEACON_TIMEOUT"]);
    expect(msgs).to.deep.equal([]);
    expect(h.out()).to.not.match(/error|Uncaught/);
    h.node.stop();
  });

  it("a static address (no DNS): a name gets no reply, a dotted address does", () => {
    const { h, msgs } = run(
      `require("Wifi").setIP({ ip: "192.168.4.77", gw: "192.168.4.1", netmask: "255.255.255.0" }, function () {});
       ${JOIN(`ntp("name", "pool.ntp.org"); ntp("ip", "192.168.4.1");`)}`,
      FIXED,
    );
    h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 1000);
    expect(h.out()).to.include("joined null\n");
    expect(msgs.map((m) => [m.name, m.rinfo.address])).to.deep.equal([["ip", "192.168.4.1"]]);
    expect(h.out()).to.not.match(/error|Uncaught/);
    h.node.stop();
  });

  it("send's forms: (msg, offset, length, port, address) sends the slice; another port, a short packet or a Uint8Array (sent as \"35,0,6,...\") get nothing", () => {
    const { h, msgs } = run(
      JOIN(`
        var s = watch(require("dgram").createSocket("udp4"), "slice"); s.t0 = Date.now();
        s.send("xx" + req(TX) + "yyy", 2, 48, 123, "pool.ntp.org");
        ntp("port", "pool.ntp.org", 12323);
        var t = watch(require("dgram").createSocket("udp4"), "short"); t.send(req(TX).slice(0, 47), 123, "pool.ntp.org");
        var u = watch(require("dgram").createSocket("udp4"), "u8"); var a = new Uint8Array(48); a[0] = 0x23; u.send(a, 123, "pool.ntp.org");
        var v = watch(require("dgram").createSocket("udp4"), "three"); v.t0 = Date.now(); v.send(req(TX), "123", "pool.ntp.org");
      `),
      FIXED,
    );
    h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 1000);
    expect(msgs.map((m) => m.name)).to.deep.equal(["slice", "three"]);
    expect(msgs[0].bytes.subarray(24, 32).toString("hex")).to.equal("deadbeef01020304");
    expect(msgs[0].rtt).to.equal(RTT);
    h.node.stop();
  });

  it("bind(port, cb): returns the socket, cb gets it; replies to later sends arrive, those to sends before bind() are lost (Espruino reads the new socket)", () => {
    const { h, msgs, lines } = run(
      `var s = watch(require("dgram").createSocket("udp4"), "b");
       print("bind returns socket " + (s.bind(5000, function (x) {
         print("bound " + (x === s));
         s.t0 = Date.now();
         s.send(req("\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02"), 123, "127.0.0.1");
       }) === s));
       var t = watch(require("dgram").createSocket("udp4"), "pre");
       t.t0 = Date.now();
       t.send(req(TX), 123, "127.0.0.1");
       t.bind(5001);`,
      { chip: "linux", ...FIXED },
    );
    h.clock.advance(BOOT_MS + 1000);
    expect(lines("bind returns")).to.deep.equal(["bind returns socket true"]);
    expect(lines("bound")).to.deep.equal(["bound true"]);
    expect(msgs.map((m) => [m.name, m.bytes.subarray(24, 32).toString("hex")])).to.deep.equal([["b", "0000000000000002"]]);
    h.node.stop();
  });

  it("close(): 'end' then 'close' false, the reply on its way is dropped, a later send throws 'This socket is closed', a second close does not", () => {
    const { h, msgs, lines } = run(
      JOIN(`
        var s = ntp("c", "pool.ntp.org");
        s.close();
        try { s.send(req(TX), 123, "pool.ntp.org"); } catch (e) { print("threw " + e.message); }
        s.close();
        print("closed twice");
        ntp("open", "pool.ntp.org");
      `),
      FIXED,
    );
    h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 1000);
    expect(lines("threw")).to.deep.equal(["threw This socket is closed"]);
    expect(lines("c ")).to.deep.equal(["c end", "c close false"]);
    expect(h.out()).to.include("closed twice\n");
    expect(msgs.map((m) => m.name)).to.deep.equal(["open"]);
    h.node.stop();
  });

  it("a world without an NTP server (ntp: false): no reply, and Wifi.setSNTP sets no time", () => {
    const body = JOIN(`ntp("n", "pool.ntp.org"); W.setSNTP("pool.ntp.org", "UTC0"); setTimeout(function () { print("year " + new Date().getFullYear()); }, ${SNTP_REPLY_MS + 500});`);
    const without = run(body, { ...FIXED, ntp: false, rtc: "power-on-zero" });
    without.h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + SNTP_REPLY_MS + 1000);
    expect(without.h.out()).to.include("joined null\n");
    expect(without.msgs).to.deep.equal([]);
    expect(without.lines("year")).to.deep.equal(["year 1970"]);
    without.h.node.stop();
    // the control: the same node with a server
    const withNtp = run(body, { ...FIXED, rtc: "power-on-zero" });
    withNtp.h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + SNTP_REPLY_MS + 1000);
    expect(withNtp.msgs.map((m) => m.name)).to.deep.equal(["n"]);
    expect(withNtp.lines("year")).to.deep.equal(["year 2026"]);
    withNtp.h.node.stop();
    // down at first, then up: the server answers by the true time the request reaches it
    const later = run(JOIN(`ntp("early", "pool.ntp.org"); setTimeout(function () { ntp("late", "pool.ntp.org"); }, 60000);`), { ...FIXED, ntp: (t) => t > START_MS + 30_000 });
    later.h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 61_000);
    expect(later.msgs.map((m) => m.name)).to.deep.equal(["late"]);
    later.h.node.stop();
  });

  it("the boot ends (deep sleep) with a reply on its way: the next boot never sees it", () => {
    const { h, msgs } = run(
      `if (ESP32.getWakeupCause() === 4) { print("woke"); return; }
       ${JOIN(`ntp("z", "pool.ntp.org"); ESP32.deepSleep(1e6);`)}`,
      FIXED,
    );
    h.clock.advance(BOOT_MS + WIFI_JOIN_MAX_MS + 1000 + BOOT_MS + 1000);
    expect(h.out()).to.include("woke\n");
    expect(msgs).to.deep.equal([]);
    expect(h.out()).to.not.include("Uncaught");
    h.node.stop();
  });
});
