// Shared set-up for tests that boot hand-written bundles in a SimNode.

import { VirtualClock } from "../../sim/clock.js";
import { SimNode, BOOT_MS, type SimNodeOptions, type SimWifiNetwork } from "../../sim/node.js";
import type { BoardProfile, DeviceSpec } from "../../firmware/board.js";
import type { WorldModel } from "../../sim/world/types.js";
import { createRng } from "../../sim/random.js";

export const START_MS = Date.UTC(2026, 0, 15, 8, 0, 0);

export function testBoard(over: Partial<BoardProfile> = {}): BoardProfile {
  return {
    name: "test-esp32",
    description: "test board",
    chip: "esp32",
    power: { source: "battery", batteryMah: 1000 },
    currentMa: { sleep: 0.1, awake: 40, radio: 80 },
    devices: [],
    defaults: {},
    ...over,
  };
}

export const stubWorld: WorldModel = {
  pm: () => ({ pm1: 5, pm25: 10, pm10: 15 }),
  noiseDb: () => 55,
  binDistanceMm: () => 640,
  temperatureC: () => 20,
  lampCurrentA: () => 0.5,
  daylightLux: () => 1000,
};

export interface Harness {
  clock: VirtualClock;
  node: SimNode;
  /** everything printed so far */
  out(): string;
  /** the test access point: set ap.up = false for a Wi-Fi outage */
  ap: { up: boolean };
}

export const AP = { ssid: "street", password: "secret-pass" };

export function bootNode(bundle: string, opts: Partial<SimNodeOptions> & { devices?: DeviceSpec[]; chip?: "esp32" | "linux" } = {}): Harness {
  const clock = opts.clock ?? new VirtualClock(START_MS);
  let printed = "";
  const ap = { up: true };
  const wifi: SimWifiNetwork = { ssid: AP.ssid, password: AP.password, up: () => ap.up };
  const { devices, chip, onConsole, ...rest } = opts;
  const node = new SimNode({
    id: "test-01",
    board: testBoard({ chip: chip ?? "esp32", devices: devices ?? [] }),
    bundle,
    clock,
    world: stubWorld,
    rng: createRng(42),
    wifi,
    // hand-written bundles boot in the fixed part only, so timings stay round
    bootMs: BOOT_MS,
    ...rest,
    onConsole: (t) => {
      printed += t;
      onConsole?.(t);
    },
  });
  return { clock, node, out: () => printed, ap };
}

/** the bundle text of an ES5 function body, wrapped as rollup would (iife) */
export function iife(body: string): string {
  return `(function(){\n${body}\n})();`;
}
