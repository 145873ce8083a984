// The BLE console on the REAL bundles in the simulator (issue 14): the console lock guards the
// Bluetooth console device as well as Serial1, and the firmware switches the chip's Bluetooth
// (ESP32.enableBLE, which restarts the chip and erases the saved code) to what the board
// profile says, once per change.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { ensureBundle } from "../../toolchain/bundle.js";
import { VirtualClock } from "../../sim/clock.js";
import { SimNode } from "../../sim/node.js";
import { createWorld } from "../../sim/world/index.js";
import { createRng } from "../../sim/random.js";
import type { BoardProfile } from "../../firmware/board.js";
import { MemBroker } from "../support/mem-broker.js";

const START = Date.UTC(2026, 0, 15, 8, 0, 0);
const PW = "ble-pw-42";

async function node(board: string, bleEnabled: boolean) {
  const file = await ensureBundle(board);
  const { profile } = (await import(`../../boards/profiles/${board}.js`)) as { profile: BoardProfile };
  const clock = new VirtualClock(START);
  const broker = new MemBroker(clock);
  let serial = "";
  const n = new SimNode({
    id: "n1", board: profile, bundle: readFileSync(file, "latin1"),
    config: { site: "t", node: "n1", keyHex: "c3".repeat(32), consolePassword: PW },
    clock, world: createWorld(3), rng: createRng(3),
    wifi: { ssid: "casanode-sim", password: "casanode-sim-ap", up: () => true },
    createNet: broker.createNet, bleEnabled,
    onConsole: (t) => void (serial += t),
  });
  n.start();
  // booted, joined and the clock set by SNTP (the lock's waits are in clock time)
  clock.advance(20000);
  return { n, clock, serial: () => serial };
}

describe("BLE console (bundles in the simulator)", function () {
  this.timeout(60_000);
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it("esp32-pole (bleConsole on): a Bluetooth client of a locked node gets health and nothing else without the password, logs in, and that login leaves Serial1 locked", async () => {
    const { n, clock, serial } = await node("esp32-pole", true);
    stop = () => n.stop();
    expect(n.bleEnabled).to.equal(true);
    let ble = "";
    const c = n.bleConnect((t) => void (ble += t));
    clock.advance(100);
    c.send("require('Storage').readJSON('casanode.json').consolePassword");
    clock.advance(100);
    expect(ble).to.not.contain(PW);
    expect(ble).to.not.match(/^=/m);
    expect(ble).to.match(/Invalid password/);
    c.send("health");
    clock.advance(100);
    const m = /health (\{.*\})/.exec(ble);
    expect(m, ble).to.not.equal(null);
    expect(JSON.parse(m![1]).node).to.equal("n1");
    ble = "";
    clock.advance(1000); // past the wait the wrong guess earned
    c.send(PW);
    clock.advance(100);
    expect(ble).to.contain("Logged in.");
    c.send("1+2");
    clock.advance(100);
    expect(ble).to.match(/=3/);
    // the REPL is on Bluetooth, forced; Serial1 still answers only health/password
    const before = serial().length;
    n.consoleInput("3+4");
    clock.advance(100);
    expect(serial().slice(before)).to.not.match(/=7/);
    // relock: the REPL leaves Bluetooth too
    c.send("casanode.lock()");
    clock.advance(100);
    ble = "";
    c.send("5+6");
    clock.advance(100);
    expect(ble).to.not.match(/=11/);
    expect(ble).to.match(/password>/);
    // a phone that leaves logged in leaves nothing open: the next central meets the lock
    clock.advance(1000); // "5+6" was a wrong guess
    c.send(PW);
    clock.advance(100);
    expect(ble).to.contain("Logged in.");
    c.close();
    clock.advance(100);
    let ble2 = "";
    const c2 = n.bleConnect((t) => void (ble2 += t));
    c2.send("7+8");
    clock.advance(100);
    expect(ble2).to.not.match(/=15/);
    expect(ble2).to.match(/password>/);
    c2.close();
  });

  it("esp32-bin (bleConsole off) on a chip with BLE on: switches Bluetooth off exactly once, keeps its firmware, and has no Bluetooth console", async () => {
    const { n, clock, serial } = await node("esp32-bin", true);
    stop = () => n.stop();
    clock.advance(10 * 60_000);
    expect(n.bleEnabled).to.equal(false);
    expect(serial().match(/Bluetooth off/g)?.length, serial().slice(-2000)).to.equal(1);
    expect(n.stats.softwareResets).to.equal(1);
    // the firmware survived ESP32.enableBLE erasing .bootcde and runs on
    expect(n.storage.read(".bootcde")?.length).to.be.greaterThan(1000);
    const after = serial().slice(serial().indexOf("Erasing saved code."));
    expect(after, serial().slice(0, 3000)).to.match(/CasaNode \S+ esp32-bin n1 boot=power-on/);
    expect(after).to.match(/sleep \d+ s/);
    // the copy and the .boot0 that put it back are gone
    expect(n.storage.read("casanode.fw")).to.equal(undefined);
    expect(n.storage.read(".boot0")).to.equal(undefined);
    expect(() => n.bleConnect(() => undefined)).to.throw(/Bluetooth is off/);
    // a power-on again: no further switch
    const resets = n.stats.softwareResets;
    clock.advance(60 * 60_000);
    expect(n.stats.softwareResets).to.equal(resets);
  });
});
