// Simulator speed: a mixed fleet (every street board, in turn) running the flashed bundles
// against the embedded broker, in simulated node-days per wall-clock second.

import { runFleet, defaultBoards } from "../sim/fleet.js";
import { runShardedFleet } from "../sim/fleet-shards.js";
import { nodeDaysPerSecond } from "../sim/fleet-summary.js";

export interface SpeedOptions {
  nodes?: number;
  durationMs?: number;
  seed?: number;
  /** worker processes (casanode sim --shards); 1: the fleet in this process */
  shards?: number;
  onProgress?: (doneMs: number, durationMs: number) => void;
}

export interface SpeedFigures {
  nodes: number;
  boards: string[];
  durationMs: number;
  shards: number;
  wallMs: number;
  nodeDaysPerSecond: number;
  /** CPU time of the run (the broker and the observer included; over shards, the parent's plus each worker's whole life), and node-days per CPU second: steadier than wall time on a shared machine */
  cpuMs: number | null;
  nodeDaysPerCpuSecond: number | null;
  /** peak resident memory of each process that ran nodes, MB */
  peakRssMb: number[];
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
  const shards = opts.shards ?? 1;
  const options = {
    boards,
    nodes,
    durationMs,
    seed: opts.seed ?? 1,
    keepReadings: false,
    onProgress: opts.onProgress ? (p: { doneMs: number; durationMs: number }) => opts.onProgress!(p.doneMs, p.durationMs) : undefined,
    progressEveryMs: 500,
  };
  const r = shards > 1 ? await runShardedFleet(options, shards) : await runFleet(options);
  const cpuMs = r.runner.cpuMs ?? null;
  const s = r.summary;
  return {
    nodes,
    boards,
    durationMs: s.durationMs,
    shards,
    wallMs: s.wallMs,
    nodeDaysPerSecond: s.nodeDaysPerSecond,
    cpuMs,
    nodeDaysPerCpuSecond: cpuMs ? nodeDaysPerSecond(nodes, s.durationMs, cpuMs) : null,
    peakRssMb: s.shards ? s.shards.map((x) => x.peakRssMb) : [s.peakRssMb],
    speedup: s.durationMs / Math.max(1, s.wallMs),
    readingsAtBroker: s.totals.receivedAtBroker,
    lost: s.totals.lost,
    crashes: s.totals.crashes,
  };
}

export interface BoardCost {
  board: string;
  nodes: number;
  durationMs: number;
  /** CPU time of the run in this process (the embedded broker and the observer included) */
  cpuMs: number;
  cpuSecondsPerNodeDay: number;
  readingsAtBroker: number;
  lost: number;
}

/**
 * What a node-day of each street board costs in CPU: `nodes` of one board at a time, in this
 * process. The mix's speed is set by the dearest boards; a speed goal in node-days per second
 * on C cores leaves C / goal CPU seconds a node-day.
 */
export async function benchBoardCosts(opts: { nodes?: number; durationMs?: number; seed?: number } = {}): Promise<BoardCost[]> {
  const nodes = opts.nodes ?? 5;
  const durationMs = opts.durationMs ?? 86_400_000;
  const costs: BoardCost[] = [];
  for (const board of defaultBoards()) {
    const r = await runFleet({ boards: [board], nodes, durationMs, seed: opts.seed ?? 1, keepReadings: false });
    const cpuMs = r.runner.cpuMs ?? NaN;
    costs.push({ board, nodes, durationMs: r.summary.durationMs, cpuMs, cpuSecondsPerNodeDay: 1 / nodeDaysPerSecond(nodes, r.summary.durationMs, cpuMs), readingsAtBroker: r.summary.totals.receivedAtBroker, lost: r.summary.totals.lost });
  }
  return costs;
}
