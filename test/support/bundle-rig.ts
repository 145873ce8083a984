// Shared by the tests that run the REAL bundles (dist/<board>.js) in a SimNode against the
// in-memory broker (mem-broker.ts): one node "n1" at site "t", its console kept by line with
// the virtual time, on a clock that starts at START.
import { readFileSync } from "node:fs";
import { ensureBundle } from "../../toolchain/bundle.js";
import { VirtualClock } from "../../sim/clock.js";
import { SimNode } from "../../sim/node.js";
import { createWorld } from "../../sim/world/index.js";
import { createRng } from "../../sim/random.js";
import type { WorldModel } from "../../sim/world/types.js";
import type { BoardProfile } from "../../firmware/board.js";
import type { NetLatency } from "../../sim/espruino/net.js";
import { MemBroker } from "./mem-broker.js";
import { untokenise } from "../../toolchain/pretokenise.mjs";
import * as acorn from "acorn";

export const START = Date.UTC(2026, 0, 15, 8, 0, 0);
/** the node's command and OTA key */
export const KEY = "c3".repeat(32);

export interface Rig {
  clock: VirtualClock;
  broker: MemBroker;
  node: SimNode;
  lines: Array<[number, string]>;
  run(ms: number): void;
  text(): string;
  seen(re: RegExp): number[];
}

const profiles: { [b: string]: BoardProfile } = {};

export async function rig(board: string, config: object, opts: { world?: (w: WorldModel) => WorldModel; seed?: number; wifiUp?: (t: number) => boolean; storageBytes?: number; netLatency?: NetLatency; rtcSleepFast?: number; ntp?: boolean | ((t: number) => boolean) } = {}): Promise<Rig> {
  const file = await ensureBundle(board);
  const profile = (profiles[board] ??= ((await import(`../../boards/profiles/${board}.js`)) as { profile: BoardProfile }).profile);
  const clock = new VirtualClock(START);
  const broker = new MemBroker(clock);
  const lines: Array<[number, string]> = [];
  let partial = "";
  const base = createWorld(opts.seed ?? 5);
  const world = opts.world ? opts.world(base) : base;
  const node = new SimNode({
    id: "n1", board: profile, bundle: readFileSync(file, "latin1"),
    // these tests follow each window to the broker: send at every window unless told otherwise
    config: { site: "t", node: "n1", keyHex: KEY, sendPeriodS: 0, ...config },
    clock, world, rng: createRng(opts.seed ?? 5), storageBytes: opts.storageBytes,
    // the bundle's default Wi-Fi is the simulator's access point
    wifi: { ssid: "casanode-sim", password: "casanode-sim-ap", up: opts.wifiUp ?? (() => true) },
    createNet: broker.createNet,
    netLatency: opts.netLatency,
    rtcSleepFast: opts.rtcSleepFast,
    ntp: opts.ntp,
    onConsole: (t) => {
      partial += t;
      let i: number;
      while ((i = partial.indexOf("\n")) >= 0) {
        lines.push([clock.now(), partial.slice(0, i)]);
        partial = partial.slice(i + 1);
      }
    },
  });
  node.start();
  return {
    clock, broker, node, lines,
    run: (ms) => clock.runUntil(clock.now() + ms),
    text: () => lines.map((l) => new Date(l[0]).toISOString().slice(11, 23) + " " + l[1]).join("\n"),
    seen: (re) => lines.filter((l) => re.test(l[1])).map((l) => l[0]),
  };
}


/** the strings a flashed bundle evaluates, evalPart(name, "...", shared): its lazy parts (rollup.config.mjs LAZY_PARTS), untokenised */
export function evaluatedStrings(board: string): Array<{ code: string; start: number; literal: [number, number]; text: string }> {
  const text = untokenise(readFileSync(`dist/${board}.js`, "latin1"));
  const out: Array<{ code: string; start: number; literal: [number, number]; text: string }> = [];
  const walk = (n: any): void => {
    if (!n || typeof n.type !== "string") return;
    // each loader: evalPart("__casanodeX", "<image>", shared) (firmware/runtime/parts.ts)
    const [name, image] = n.type === "CallExpression" ? n.arguments : [];
    if (typeof name?.value === "string" && name.value.startsWith("__casanode") && typeof image?.value === "string") out.push({ code: untokenise(image.value), start: n.start, literal: [image.start, image.end], text });
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") walk(v);
    }
  };
  walk(acorn.parse(text, { ecmaVersion: 5 }));
  return out;
}
