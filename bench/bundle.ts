// Bundle figures: size (minified, gzip) as `casanode build` reports it (toolchain/bundle.ts), and memory on the real
// interpreter (bench/real-espruino.ts) with the same provisioning the simulator's fleet gives
// its nodes, against an embedded broker so the node gets as far as a real one does.

import { readFileSync } from "node:fs";
import { describeBundle, ensureBundle, type BundleInfo } from "../toolchain/bundle.js";
import { SIM_WIFI, SITE, boardSuffix, loadProfile } from "../sim/fleet.js";
import { startBroker } from "../sim/broker.js";
import { findEspruino, measureOnEspruino, type RealMemory } from "./real-espruino.js";

export interface BundleSize {
  board: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  problems: string[];
}

export async function bundleSizes(boards: string[]): Promise<BundleSize[]> {
  const out: BundleSize[] = [];
  for (const board of boards) {
    const info: BundleInfo = describeBundle(board, await ensureBundle(board));
    out.push({ board, file: info.file, bytes: info.bytes, gzipBytes: info.gzipBytes, problems: info.problems });
  }
  return out;
}

/** the config a fleet node gets (sim/fleet.ts), pointed at `port` */
export function provisioning(board: string, port: number): object {
  return {
    site: SITE,
    node: `${boardSuffix(board)}-01`,
    wifi: { ssid: SIM_WIFI.ssid, password: SIM_WIFI.password },
    broker: { host: "127.0.0.1", port },
    keyHex: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    tzOffsetMin: 60,
  };
}

export interface RealMemorySection {
  bin: string | null;
  /** per board; absent when the interpreter is not there */
  boards: { [board: string]: RealMemory };
  skipped?: string;
}

/** Flash each board's bundle into the real interpreter's Storage and measure it (concurrently: they mostly wait). */
export async function realMemory(boards: string[], opts: { runMs?: number } = {}): Promise<RealMemorySection> {
  const { bin, why } = findEspruino();
  if (!bin) return { bin: null, boards: {}, skipped: why };
  const broker = await startBroker();
  try {
    const results = await Promise.all(
      boards.map(async (board) => {
        const bundle = readFileSync(await ensureBundle(board), "latin1");
        const battery = (await loadProfile(board)).power.source === "battery";
        return [board, await measureOnEspruino(bin, bundle, provisioning(board, broker.port), { ...opts, battery })] as const;
      }),
    );
    return { bin, boards: Object.fromEntries(results) };
  } finally {
    await broker.stop();
  }
}
