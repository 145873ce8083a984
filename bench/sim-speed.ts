// Simulator speed: a mixed fleet (every street board, in turn) running the flashed bundles
// against the embedded broker, in simulated node-days per wall-clock second.

import { runFleet, defaultBoards } from "../sim/fleet.js";

export interface SpeedOptions {
  nodes?: number;
  durationMs?: number;
  seed?: number;
  onProgress?: (doneMs: number, durationMs: number) => void;
}

export interface SpeedFigures {
  nodes: number;
  boards: string[];
  durationMs: number;
  wallMs: number;
  nodeDaysPerSecond: number;
  /** CPU time of this process over the run (the broker and the observer run in it too), and node-days per CPU second: steadier than wall time on a shared machine */
  cpuMs: number;
  nodeDaysPerCpuSecond: number;
  /** simulated seconds per wall second, for the whole fleet's clock */
  speedup: number;
  readingsAtBroker: number;
  /** readings neither acked, queued nor dropped (must be 0) and node crashes */
  lost: number;
  crashes: number;
}

export async function benchSimSpeed(opts: SpeedOptions = {}): Promise<SpeedFigures> {
  const nodes = opts.nodes ?? 100;
  const durationMs = opts.durationMs ?? 86_400_000;
  const boards = defaultBoards();
  const cpu0 = process.cpuUsage();
  const r = await runFleet({
    boards,
    nodes,
    durationMs,
    seed: opts.seed ?? 1,
    onProgress: opts.onProgress ? (p) => opts.onProgress!(p.doneMs, p.durationMs) : undefined,
    progressEveryMs: 500,
  });
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const s = r.summary;
  return {
    nodes,
    boards,
    durationMs: s.durationMs,
    wallMs: s.wallMs,
    nodeDaysPerSecond: s.nodeDaysPerSecond,
    cpuMs,
    nodeDaysPerCpuSecond: cpuMs > 0 ? (nodes * s.durationMs) / 86_400_000 / (cpuMs / 1000) : 0,
    speedup: s.durationMs / Math.max(1, s.wallMs),
    readingsAtBroker: s.totals.receivedAtBroker,
    lost: s.totals.lost,
    crashes: s.totals.crashes,
  };
}
