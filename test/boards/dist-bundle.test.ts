// The real bundles (what `npm run build` flashes) booted in the simulator for a few
// simulated minutes: they must print their boot line and run without uncaught errors.

import { expect } from "chai";
import { readFileSync } from "node:fs";
import { ensureBundle } from "../../toolchain/bundle.js";
import { VirtualClock } from "../../sim/clock.js";
import { SimNode } from "../../sim/node.js";
import { createWorld } from "../../sim/world/index.js";
import { createRng } from "../../sim/random.js";
import type { BoardProfile } from "../../firmware/board.js";
import { START_MS } from "../support/node-fixture.js";

/** run for `minutes` of simulated time, or less once `done` says so */
async function run(board: string, minutes: number, done: (node: SimNode) => boolean = () => false) {
  const file = await ensureBundle(board);
  const { profile } = (await import(`../../boards/profiles/${board}.js`)) as { profile: BoardProfile };
  const clock = new VirtualClock(START_MS);
  let out = "";
  const node = new SimNode({
    id: "dist-01",
    board: profile,
    bundle: readFileSync(file, "latin1"),
    // nothing listens on port 9: the uplink fails and must cope
    config: { site: "test", node: "dist-01", wifi: { ssid: "street", password: "secret-pass" }, broker: { host: "127.0.0.1", port: 9 }, keyHex: "ab".repeat(32) },
    clock,
    world: createWorld(7),
    rng: createRng(7),
    wifi: { ssid: "street", password: "secret-pass", up: () => true },
    onConsole: (t) => (out += t),
  });
  node.start();
  for (let s = 0; s < minutes * 60 && !done(node); s++) {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r)); // real socket errors arrive
    clock.runUntil(clock.now());
  }
  node.stop();
  return { node, out };
}

describe("dist bundles in the simulator", function () {
  this.timeout(120_000);

  it("dist/linux.js boots, prints its boot line and runs without uncaught errors", async () => {
    const { node, out } = await run("linux", 3);
    expect(out).to.match(/CasaNode \S+ linux dist-01 boot=power-on/);
    expect(out).to.not.include("Uncaught");
    expect(node.stats.crashes).to.equal(0);
    expect(node.stats.memoryUsage).to.be.greaterThan(0);
  });

  it("dist/esp32-air.js boots, deep-sleeps and wakes without uncaught errors", async () => {
    // the air node sleeps up to its sampling period (15 min) before the first wake, which is
    // the prelude's warm-up wake: the bundle runs at the second
    const { node, out } = await run("esp32-air", 60, (n) => n.stats.wakes >= 2 && n.powerState === "asleep");
    expect(out).to.match(/CasaNode \S+ esp32-air dist-01 boot=power-on/);
    expect(out).to.match(/boot=deep-sleep/);
    expect(out).to.not.include("Uncaught");
    expect(node.stats.crashes).to.equal(0);
    expect(node.stats.wakes).to.be.at.least(2);
    expect(node.stats.memoryUsage).to.be.below(16383);
  });
});
