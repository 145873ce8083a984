// The driver contract (drivers/types.ts) across every driver: one constructor shape that only
// stores, describe() for the crew's diag, readings in the quantity table's units.
import { expect } from "chai";
import { reading, openI2c, type Sensor } from "../../drivers/types.js";
import { QUANTITIES } from "../../drivers/quantities.js";
import { A02yyuw } from "../../drivers/a02yyuw.js";
import { Dnms } from "../../drivers/dnms.js";
import { HcSr04 } from "../../drivers/hcsr04.js";
import { PcbSpl } from "../../drivers/pcb-spl.js";
import { Pms5003 } from "../../drivers/pms5003.js";
import { Relay } from "../../drivers/relay.js";
import { Sds011 } from "../../drivers/sds011.js";
import { Sen0232 } from "../../drivers/sen0232.js";
import { Sps30 } from "../../drivers/sps30.js";

/** A bus or gpio that fails the test if anything reads or calls it: a constructor must only store. */
function untouchable(what: string[]): any {
  return new Proxy(
    {},
    {
      get: (_t, key) => {
        what.push(String(key));
        throw new Error(`touched ${String(key)}`);
      },
    },
  );
}

const HIGH = { pin: "D25", activeHigh: true };
const LOW = { pin: "D27", activeHigh: false };

/** each driver built as a board builds it, and the line it must give */
function drivers(touched: string[]): Array<[Sensor, string]> {
  const gpio = untouchable(touched);
  const serial = (port = "Serial2") => ({ port, serial: untouchable(touched), rx: "D16", tx: "D17" });
  const i2c = (address?: number) => ({ port: "I2C1", i2c: untouchable(touched), scl: "D22", sda: "D21", address });
  return [
    [new Pms5003({ name: "pm", bus: serial(), gpio, power: HIGH }), "pms5003 on Serial2 rx=D16 tx=D17, power D25 active-high, warm-up 30 s, passive"],
    [new Pms5003({ name: "pm", bus: serial("Serial3"), gpio, options: { setPin: "D4", mode: "active", warmupMs: 8000 } }), "pms5003 on Serial3 rx=D16 tx=D17, warm-up 8 s, active, set=D4"],
    [new Sds011({ name: "pm", bus: serial(), gpio, power: HIGH }), "sds011 on Serial2 rx=D16 tx=D17, power D25 active-high, warm-up 15 s"],
    [new Sds011({ name: "pm", bus: serial(), gpio, power: { pin: "D25", activeHigh: true, offPin: "D26" } }), "sds011 on Serial2 rx=D16 tx=D17, power D25 latched, off D26, warm-up 15 s"],
    [new Sps30({ name: "pm", bus: i2c(), gpio }), "sps30 on I2C1 0x69 scl=D22 sda=D21, warm-up 30 s, off=sleep"],
    [new Sps30({ name: "pm", bus: i2c(0x6a), gpio, options: { sleep: false } }), "sps30 on I2C1 0x6a scl=D22 sda=D21, warm-up 30 s, off=idle"],
    [new Sps30({ name: "pm", bus: i2c(), gpio, power: LOW }), "sps30 on I2C1 0x69 scl=D22 sda=D21, power D27 active-low, warm-up 30 s"],
    [new Dnms({ name: "noise", bus: i2c() }), "dnms on I2C1 0x55 scl=D22 sda=D21, warm-up 5 s"],
    [new Dnms({ name: "noise", bus: i2c(0x56), gpio, power: HIGH, options: { microphone: "IM72D128", offsetDb: -1.5 } }), "dnms on I2C1 0x56 scl=D22 sda=D21, power D25 active-high, warm-up 5 s, mic IM72D128, offset -1.5 dB"],
    [new PcbSpl({ name: "noise", bus: i2c(), options: { averagingMs: 125, offsetDb: 2 } }), "pcb-spl on I2C1 0x48 scl=D22 sda=D21, warm-up 1 s, Tavg 125 ms, offset +2 dB"],
    [new Sen0232({ name: "noise", gpio, pins: { out: "D35" }, power: { pin: "D27", activeHigh: true }, options: { samples: 40 } }), "sen0232 out=D35, power D27 active-high, warm-up 1 s, 40x125 ms"],
    [new Sen0232({ name: "noise", gpio, pins: { out: "D35" }, options: { gain: 2, offsetDb: 1 } }), "sen0232 out=D35, warm-up 1 s, 8x125 ms, gain 2, offset +1 dB"],
    [new A02yyuw({ name: "bin", bus: serial(), gpio, power: HIGH, options: { pings: 5, emptyDepthMm: 1100, fullDepthMm: 200 } }), "a02yyuw on Serial2 rx=D16 tx=D17, power D25 active-high, 5 pings, bin 1100-200 mm"],
    [new A02yyuw({ name: "bin", bus: { port: "Serial2", serial: untouchable(touched) } }), "a02yyuw on Serial2, 5 pings"],
    [new HcSr04({ name: "bin", gpio, pins: { trigger: "D13", echo: "D14" }, power: HIGH, options: { model: "jsn-sr04t", pings: 3, emptyDepthMm: 1100, fullDepthMm: 300 } }), "jsn-sr04t trigger=D13 echo=D14, power D25 active-high, 3 pings, bin 1100-300 mm"],
    [new Relay({ name: "lamp", gpio, pins: { relay: "D26", sense: "D34" }, options: { activeLow: true, sensitivityVPerA: 0.1, dividerRatio: 2 / 3 } }), "relay relay=D26 sense=D34, active-low, 0.1 V/A, divider 0.67"],
    [new Relay({ name: "lamp", gpio, pins: { relay: "D26" } }), "relay relay=D26, active-high"],
  ];
}

describe("driver contract (drivers/types.ts)", () => {
  it("every driver takes one config object and its constructor touches neither bus nor pins", () => {
    const touched: string[] = [];
    const all = drivers(touched);
    expect(all.map(([d]) => d.name)).to.include.members(["pm", "noise", "bin", "lamp"]);
    expect(touched).to.deep.equal([]);
  });

  it("describe(): model, bus and pins, power switch, warm-up and key options on one short ASCII line, without touching the device", () => {
    const touched: string[] = [];
    for (const [driver, line] of drivers(touched)) {
      expect(driver.describe()).to.equal(line);
      expect(line).to.match(/^[\x20-\x7e]{1,100}$/);
    }
    expect(touched).to.deep.equal([]);
  });

  it("reading() takes the unit from the quantity table", () => {
    for (const name of Object.keys(QUANTITIES)) expect(reading(name, 1.5)).to.deep.equal({ name, unit: QUANTITIES[name].unit, value: 1.5 });
    // a quantity missing from the table gets no unit rather than a throw inside read()
    expect(reading("nope", 2)).to.deep.equal({ name: "nope", unit: "", value: 2 });
  });

  it("openI2c() sets the bus up only when the config gives both pins", () => {
    const setups: unknown[] = [];
    const i2c = { writeTo() {}, readFrom: () => new Uint8Array(0), setup: (o: unknown) => void setups.push(o) };
    openI2c({ port: "I2C1", i2c, scl: "D22", sda: "D21" });
    openI2c({ port: "I2C1", i2c, scl: "D22" });
    openI2c({ port: "I2C1", i2c: { writeTo() {}, readFrom: () => new Uint8Array(0) }, scl: "D22", sda: "D21" });
    expect(setups).to.deep.equal([{ scl: "D22", sda: "D21" }]);
  });
});
