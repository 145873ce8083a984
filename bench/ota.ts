// Over-the-air update cost: a fleet of one board runs twice with the same seed, once with a
// rollout of the next version at `atMs` (sim/ota-fleet.ts, as `casanode sim --ota`) and once
// without. Per node: the bytes it put on the air and read (bench/wire.ts, TCP payload) and
// the charge it drew (the simulator's energy model), the difference being the update's; and
// how long from the publication until every node had confirmed the new bundle.
// Not in the charge: CPU time for staging and the SHA-256 (the simulator does not price code
// run time; docs/ota.md estimates ~95 s at 40 mA on an ESP32: ~1.1 mAh).

import { readFileSync } from "node:fs";
import { runFleet } from "../sim/fleet.js";
import { SimNode } from "../sim/node.js";
import { bundleVersion, type FleetOta } from "../sim/ota-fleet.js";
import { ensureBundle, withFirmwareVersion } from "../toolchain/bundle.js";
import { countingNetFactory, newWireCounts, type WireCounts } from "./wire.js";

export interface OtaBenchOptions {
  board?: string;
  nodes?: number;
  durationMs?: number;
  atMs?: number;
  seed?: number;
  /** config over each node's (e.g. { sendPeriodS: 0 }) */
  config?: { [field: string]: unknown };
  onProgress?: (doneMs: number, durationMs: number) => void;
}

export interface OtaFigures {
  board: string;
  power: "battery" | "mains";
  nodes: number;
  bundleBytes: number;
  chunks: number;
  durationMs: number;
  atMs: number;
  /** nodes that confirmed the new bundle by the end */
  updated: number;
  /** per node, mean of (with update - without): TCP payload bytes sent + received, and mAh */
  extraBytesPerNode: number;
  extraTxBytesPerNode: number;
  extraRxBytesPerNode: number;
  extraMahPerNode: number;
  /** bytes on the air per byte of bundle */
  airPerBundleByte: number;
  /** ms from the publication to each node's confirmation: median and the last one (the fleet done) */
  medianDoneMs: number | null;
  fleetDoneMs: number | null;
  wallMs: number;
}

interface Probe {
  wire: WireCounts;
  text: string;
  confirmedAt?: number;
}

async function run(o: OtaBenchOptions & { ota?: FleetOta }, board: string, nodes: number, durationMs: number): Promise<{ probes: Map<string, Probe>; mah: Map<string, number>; wallMs: number; startMs: number }> {
  const probes = new Map<string, Probe>();
  const r = await runFleet({
    boards: [board], nodes, durationMs, seed: o.seed ?? 1, config: o.config, ota: o.ota,
    onProgress: o.onProgress ? (p) => o.onProgress!(p.doneMs, p.durationMs) : undefined,
    progressEveryMs: 500,
    createNode: (opts) => {
      const p: Probe = { wire: newWireCounts(), text: "" };
      probes.set(opts.id, p);
      return new SimNode({
        ...opts,
        createNet: countingNetFactory(p.wire, opts.createNet),
        onConsole: (t) => {
          opts.onConsole?.(t);
          if (p.confirmedAt !== undefined) return;
          p.text = (p.text + t).slice(-200);
          if (/ota: \S+ confirmed/.test(p.text)) p.confirmedAt = opts.clock.now();
        },
      });
    },
  });
  return { probes, mah: new Map(r.summary.nodes.map((n) => [n.id, n.chargeMah])), wallMs: r.summary.wallMs, startMs: r.summary.startMs };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export async function benchOta(o: OtaBenchOptions = {}): Promise<OtaFigures> {
  const board = o.board ?? "esp32-bin";
  const nodes = o.nodes ?? 100;
  const durationMs = o.durationMs ?? 12 * 3_600_000;
  const atMs = o.atMs ?? 3_600_000;
  const base = readFileSync(await ensureBundle(board)).toString("latin1");
  const fw = bundleVersion(base);
  if (!fw) throw new Error(`dist/${board}.js: no single version literal to bump`);
  const [maj, min, patch] = fw.split(".").map(Number);
  const next = `${maj}.${min}.${patch + 1}`;
  const bundle = withFirmwareVersion(base, fw, next);
  const profile = (await import(`../boards/profiles/${board}.js`)).profile;
  const withOta = await run({ ...o, ota: { bundle, atMs, board, fw: next } }, board, nodes, durationMs);
  const without = await run(o, board, nodes, durationMs);
  const ids = [...withOta.probes.keys()];
  const bytes = (p: Probe | undefined) => (p ? p.wire.txBytes + p.wire.rxBytes : 0);
  const tx = ids.map((id) => withOta.probes.get(id)!.wire.txBytes - (without.probes.get(id)?.wire.txBytes ?? 0));
  const rx = ids.map((id) => withOta.probes.get(id)!.wire.rxBytes - (without.probes.get(id)?.wire.rxBytes ?? 0));
  const all = ids.map((id) => bytes(withOta.probes.get(id)) - bytes(without.probes.get(id)));
  const mah = ids.map((id) => (withOta.mah.get(id) ?? 0) - (without.mah.get(id) ?? 0));
  const after = ids
    .map((id) => withOta.probes.get(id)!.confirmedAt)
    .filter((t): t is number => t !== undefined)
    .map((t) => t - withOta.startMs - atMs)
    .sort((a, b) => a - b);
  return {
    board, power: profile.power.source, nodes, bundleBytes: bundle.length, chunks: Math.ceil(bundle.length / 768), durationMs, atMs,
    updated: after.length,
    extraBytesPerNode: mean(all), extraTxBytesPerNode: mean(tx), extraRxBytesPerNode: mean(rx), extraMahPerNode: mean(mah),
    airPerBundleByte: mean(all) / bundle.length,
    medianDoneMs: after.length ? after[Math.floor(after.length / 2)] : null,
    fleetDoneMs: after.length === nodes ? after[after.length - 1] : null,
    wallMs: withOta.wallMs + without.wallMs,
  };
}
