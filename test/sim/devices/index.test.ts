// Every board profile's devices have a simulated twin, wired by the node per DeviceSpec.bus.

import { expect } from "chai";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEVICE_FACTORIES, UnknownDeviceError, createDevice } from "../../../sim/devices/index.js";
import type { BoardProfile } from "../../../firmware/board.js";
import { bootNode, iife, stubWorld } from "../../support/node-fixture.js";
import { VirtualClock } from "../../../sim/clock.js";
import { PinBank } from "../../../sim/hw/pins.js";

const profilesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../boards/profiles");
const boardFiles = readdirSync(profilesDir).filter((f) => f.endsWith(".ts") && f !== "currents.ts");

describe("simulated device registry", () => {
  for (const file of boardFiles) {
    it(`builds the twins of ${file.replace(/\.ts$/, "")} on the right buses`, async () => {
      const { profile } = (await import(path.join(profilesDir, file))) as { profile: BoardProfile };
      const h = bootNode(iife(`setInterval(function () {}, 1000);`), { board: profile });
      expect(Object.keys(h.node.devices)).to.deep.equal(profile.devices.map((d) => d.name));
      for (const spec of profile.devices) {
        expect(Object.keys(DEVICE_FACTORIES)).to.include(spec.model);
        const dev = h.node.devices[spec.name];
        expect(Number.isFinite(dev.currentMa()), spec.name).to.equal(true);
        expect(dev.faults.unplugged).to.equal(false);
      }
      h.node.start();
      h.clock.advance(2000);
      h.node.updateEnergy();
      expect(h.node.stats.awakeMs).to.equal(2000);
      if (profile.currentMa.awake > 0) expect(h.node.stats.chargeMah).to.be.greaterThan(0);
      h.node.stop();
    });
  }

  it("refuses a model it has no twin for", () => {
    const clock = new VirtualClock(0);
    const spec = { name: "x", model: "bme280", bus: { kind: "pins" as const, pins: {} }, currentMa: { on: 1, off: 0 } };
    expect(() => createDevice({ clock, pins: new PinBank(clock), spec, world: stubWorld, rng: () => 0.5 })).to.throw(UnknownDeviceError, /bme280/);
  });
});
