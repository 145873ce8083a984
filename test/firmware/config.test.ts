import { expect } from "chai";
import { defaultConfig, DEV_KEY_HEX } from "../../firmware/config.js";
import { maskConfig } from "../../firmware/runtime/diag-figures.js";
import { validateConfig, patchConfig } from "../../firmware/config-check.js";
import { profile as air } from "../../boards/profiles/esp32-air.js";
import { profile as pole } from "../../boards/profiles/esp32-pole.js";
import { profile as linux } from "../../boards/profiles/linux.js";
import { profile as noise } from "../../boards/profiles/esp32-noise.js";
import { profile as bin } from "../../boards/profiles/esp32-bin.js";
import { readdirSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import { BUNDLE_SLOT_BYTES } from "../../firmware/runtime/store.js";

const key = "ab".repeat(32);
const errorsOf = (raw: any, board = air) => {
  const r = validateConfig(raw, board);
  return r.ok ? [] : r.errors;
};

describe("config", () => {
  it("no file: embedded defaults under the board's own", () => {
    const r = validateConfig(undefined, air);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(air.defaults.samplePeriodS).to.not.equal(undefined);
    expect(r.config).to.include({ site: "sim", node: "esp32-air-00", samplePeriodS: air.defaults.samplePeriodS, uploadPeriodS: air.defaults.uploadPeriodS, keyHex: DEV_KEY_HEX });
    expect(r.config.broker).to.deep.equal({ host: "127.0.0.1", port: 1883 });
    expect(r.config.wifi.ssid).to.equal("casanode-sim");
    const l = validateConfig(undefined, linux);
    expect(l.ok && l.config.node).to.equal("linux-00");
  });

  it("a static address: all of ip/gw/netmask as IPv4, and then the broker by IP (no DNS without DHCP)", () => {
    const base = { node: "n1", site: "s", keyHex: key };
    const wifi = { ssid: "street", password: "secret-pass", ip: "192.168.4.20", gw: "192.168.4.1", netmask: "255.255.255.0" };
    expect(errorsOf({ ...base, wifi, broker: { host: "10.0.0.5", port: 1883 } })).to.deep.equal([]);
    expect(errorsOf({ ...base, wifi, broker: { host: "mqtt.example.org", port: 1883 } })).to.deep.equal(['broker.host must be an IPv4 address with a static wifi.ip (no DNS without DHCP), got "mqtt.example.org"']);
    const errs = errorsOf({ ...base, wifi: { ...wifi, ip: "192.168.4.256", netmask: undefined }, broker: { host: "10.0.0.5", port: 1883 } });
    expect(errs.map((e) => e.split(" ")[0])).to.deep.equal(["wifi.ip", "wifi.netmask"]);
  });

  it("every board's defaults validate", () => {
    for (const b of [air, pole, linux, noise, bin]) expect(errorsOf(undefined, b), b.name).to.deep.equal([]);
  });

  it("the node's file wins over board defaults, nested objects merge field by field", () => {
    const r = validateConfig({ node: "pole-07", site: "casa-anfa", keyHex: key, location: { lat: 34.02 }, thresholds: { pm25: 35 } }, pole);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.config.location).to.deep.equal({ lat: 34.02, lon: -7.6 });
    expect(r.config.thresholds).to.deep.equal({ pm25: 35, binFill: 0.8, binFillStep: 0.1 });
    expect(r.config.samplePeriodS).to.equal(60);
  });

  it("says which field, what rule and what value, for every problem at once", () => {
    expect(errorsOf({ uploadPeriodS: -5 })).to.deep.equal(["uploadPeriodS must be a whole number of seconds between 60 and 86400, got -5"]);
    const e = errorsOf({ node: "Air 01", keyHex: "12", samplePeriodS: 300.5, broker: { port: 70000 }, thresholds: { binFill: 2 }, wifi: { password: "short" }, queueMax: "lots", colour: "red", location: { lat: 95, lng: 3 } });
    expect(e).to.include('node must be 1-24 characters of a-z 0-9 _ -, got "Air 01"');
    // a secret's value never shows: diag, the console and the diag topic carry these messages
    expect(e).to.include("keyHex must be 32 bytes as 64 hex digits, got 2 characters");
    expect(e).to.include("samplePeriodS must be a whole number of seconds between 10 and 86400, got 300.5");
    expect(e).to.include("broker.port must be a whole number between 1 and 65535, got 70000");
    expect(e).to.include("thresholds.binFill must be a fill fraction between 0 and 1, got 2");
    expect(e).to.include("wifi.password must be empty (open network) or 8 to 63 characters (WPA2), got 5 characters");
    expect(e).to.include('queueMax must be a whole number of readings (what 896 KB of Storage holds) between 10 and 12507, got "lots"');
    expect(e).to.include("unknown field colour (a typo?)");
    expect(e).to.include("unknown field location.lng (a typo?)");
    expect(e).to.include("location.lat must be degrees between -90 and 90, got 95");
    expect(errorsOf({ samplePeriodS: 300, uploadPeriodS: 1000 })).to.deep.equal(["uploadPeriodS must be a multiple of samplePeriodS (300), got 1000"]);
    expect(errorsOf([1, 2])[0]).to.equal("config must be a JSON object, got [1,2]");
    expect(errorsOf({ broker: "mqtt://x" })).to.include('broker must be an object with host, port, username, password, tls, got "mqtt://x"');
    expect(errorsOf({ consolePassword: "x".repeat(21) })).to.deep.equal(["consolePassword must be 8 to 20 printable ASCII characters, got 21 characters"]);
    expect(errorsOf({ consolePassword: "hunter2" })).to.deep.equal(["consolePassword must be 8 to 20 printable ASCII characters, got 7 characters"]);
    expect(errorsOf({ consolePassword: "\x10abcdefgh" })).to.have.length(1);
    expect(errorsOf({ consolePassword: "correct-horse" })).to.deep.equal([]);
    const ntpRule = 'ntp must be an NTP server: a host name or IPv4 address, ":port" optional, got ';
    for (const ok of ["pool.ntp.org", "192.168.4.1", "ntp.local:12323"]) expect(errorsOf({ ntp: ok }), ok).to.deep.equal([]);
    expect(errorsOf({ ntp: "" })).to.deep.equal([ntpRule + '""']);
    expect(errorsOf({ ntp: "time server" })).to.deep.equal([ntpRule + '"time server"']);
    expect(errorsOf({ ntp: "pool.ntp.org:0" })).to.deep.equal([ntpRule + '"pool.ntp.org:0"']);
    expect(errorsOf({ ntp: "a:1:2" })).to.deep.equal([ntpRule + '"a:1:2"']);
    expect(errorsOf({ ntp: 123 })).to.deep.equal([ntpRule + "123"]);
    const secrets = errorsOf({ keyHex: "zz-key-secret", wifi: { password: "wifi" }, broker: { host: "b", port: 1, password: 42 }, consolePassword: "pw" }).join("\n");
    for (const s of ["zz-key-secret", '"wifi"', '"pw"']) expect(secrets).to.not.include(s);
  });

  it("refuses a queue bound the board's Storage cannot hold, and says what it holds", () => {
    // (896 KB - 204 KB for two bundle slots, config and boot selector - 8 KB for the state slots) / 56 bytes a value
    expect(errorsOf({ queueMax: 20000 }, noise)).to.deep.equal(["queueMax must be a whole number of readings (what 896 KB of Storage holds) between 10 and 12507, got 20000"]);
    expect(errorsOf({ queueMax: 12507 }, noise)).to.deep.equal([]);
    expect(errorsOf({ queueMax: 12508 }, pole)).to.have.length(1);
    // the Linux build fakes 256 KB (its profile asks for 800 values)
    expect(errorsOf({}, linux)).to.deep.equal([]);
    expect(errorsOf({ queueMax: 804 }, linux)).to.deep.equal([]);
    expect(errorsOf({ queueMax: 805 }, linux)).to.deep.equal(["queueMax must be a whole number of readings (what 256 KB of Storage holds) between 10 and 804, got 805"]);
    // a board may say its own Storage size
    expect(errorsOf({ queueMax: 4000 }, { ...noise, storageBytes: 384 * 1024 })).to.deep.equal(["queueMax must be a whole number of readings (what 384 KB of Storage holds) between 10 and 3145, got 4000"]);
    // a config command is held to it too
    const p = patchConfig({ keyHex: key }, null, { queueMax: 20000 }, noise);
    expect(p.ok ? [] : p.errors).to.have.length(1);
  });

  it("a bundle slot of the Storage kept for code holds every built bundle", function () {
    const dist = path.resolve("dist");
    if (!existsSync(dist)) this.skip();
    const bundles = readdirSync(dist).filter((f) => f.endsWith(".js"));
    expect(bundles).to.not.be.empty;
    for (const f of bundles) expect(statSync(path.join(dist, f)).size, f).to.be.below(BUNDLE_SLOT_BYTES);
  });

  it("a config command layers on earlier ones and is validated whole", () => {
    const file = { node: "n1", keyHex: key };
    const a = patchConfig(file, null, { samplePeriodS: 600, uploadPeriodS: 3600 }, air);
    expect(a.ok).to.equal(true);
    if (!a.ok) return;
    const b = patchConfig(file, a.patch, { thresholds: { pm25: 25 } }, air);
    expect(b.ok && b.config).to.deep.include({ samplePeriodS: 600, uploadPeriodS: 3600, thresholds: { pm25: 25, binFill: 0.8, binFillStep: 0.1 } });
    // the send period stays on the window grid
    const d = patchConfig(file, a.patch, { sendPeriodS: 5400 }, air);
    expect(d.ok ? [] : d.errors).to.deep.equal(["sendPeriodS must be 0 or a multiple of uploadPeriodS (3600), got 5400"]);
    const e = patchConfig(file, a.patch, { sendPeriodS: 21600, thresholds: { binFillStep: 0 } }, air);
    expect(e.ok ? [] : e.errors).to.deep.equal(["thresholds.binFillStep must be a fill fraction between 0.01 and 1, got 0"]);
    const c = patchConfig(file, a.patch, { samplePeriodS: 700 }, air);
    expect(c.ok ? [] : c.errors).to.deep.equal(["uploadPeriodS must be a multiple of samplePeriodS (700), got 3600"]);
  });

  it("masks secrets without touching the config", () => {
    const c = { ...defaultConfig(air), consolePassword: "hunter2", broker: { host: "b", port: 1, password: "pw" } };
    const m = maskConfig(c);
    expect(m.wifi.password).to.equal("***");
    expect(m.broker.password).to.equal("***");
    expect(m.keyHex).to.equal("***");
    expect(m.consolePassword).to.equal("***");
    expect(c.wifi.password).to.equal("casanode-sim-ap");
    expect(m.wifi.ssid).to.equal("casanode-sim");
  });
});
