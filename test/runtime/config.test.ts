import { expect } from "chai";
import { validateConfig, defaultConfig, maskConfig, patchConfig, DEV_KEY_HEX } from "../../firmware/config.js";
import { profile as air } from "../../boards/profiles/esp32-air.js";
import { profile as pole } from "../../boards/profiles/esp32-pole.js";
import { profile as linux } from "../../boards/profiles/linux.js";

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
    for (const b of [air, pole, linux]) expect(errorsOf(undefined, b), b.name).to.deep.equal([]);
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
    expect(e).to.include('keyHex must be 32 bytes as 64 hex digits, got "12"');
    expect(e).to.include("samplePeriodS must be a whole number of seconds between 10 and 86400, got 300.5");
    expect(e).to.include("broker.port must be a whole number between 1 and 65535, got 70000");
    expect(e).to.include("thresholds.binFill must be a fill fraction between 0 and 1, got 2");
    expect(e).to.include('wifi.password must be empty (open network) or 8 to 63 characters (WPA2), got "short"');
    expect(e).to.include('queueMax must be a whole number of readings between 10 and 20000, got "lots"');
    expect(e).to.include("unknown field colour (a typo?)");
    expect(e).to.include("unknown field location.lng (a typo?)");
    expect(e).to.include("location.lat must be degrees between -90 and 90, got 95");
    expect(errorsOf({ samplePeriodS: 300, uploadPeriodS: 1000 })).to.deep.equal(["uploadPeriodS must be a multiple of samplePeriodS (300), got 1000"]);
    expect(errorsOf([1, 2])[0]).to.equal("config must be a JSON object, got [1,2]");
    expect(errorsOf({ broker: "mqtt://x" })).to.include('broker must be an object with host, port, username, password, tls, got "mqtt://x"');
    expect(errorsOf({ consolePassword: "x".repeat(21) })[0]).to.match(/^consolePassword must be a string of 1 to 20 characters/);
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
