// A city's fleet for an hour against Mosquitto (issue 15): the mixed street boards over one
// worker process per core, every node a TCP client of one broker, as `casanode sim --shards N
// --broker` runs it. Wall time, each shard's peak memory, data messages and readings a second
// through the broker, and the books (readings = acked + queued + dropped + untimed; lost,
// duplicates and bad times 0).

import os from "node:os";
import { execFileSync } from "node:child_process";
import { startMosquitto } from "../sim/broker.js";
import { defaultBoards } from "../sim/fleet.js";
import { runShardedFleet } from "../sim/fleet-shards.js";
import type { FleetTotals } from "../sim/fleet-summary.js";

export interface CityOptions {
  nodes?: number;
  durationMs?: number;
  seed?: number;
  /** worker processes (default: one per core) */
  shards?: number;
  onProgress?: (doneMs: number, durationMs: number) => void;
  /** the open-file limit Mosquitto inherits (default: what `ulimit -n` says in a child shell) */
  fileLimit?: number | "unlimited" | null;
}

export interface CityFigures {
  nodes: number;
  durationMs: number;
  shards: number;
  /** the parent's wall time: forking, the workers' start-up and making the nodes included */
  wallMs: number;
  /** each shard's own wall time and peak resident memory, MB */
  shardWallMs: number[];
  peakRssMb: number[];
  /** data messages and readings the observers received, per wall second of the run */
  messagesPerSecond: number;
  readingsPerSecond: number;
  totals: FleetTotals;
}

/** descriptors the broker needs besides one per node: its listener, its log, each shard's observer */
const BROKER_SPARE_FILES = 64;

/**
 * Why Mosquitto could not take every node's connection (at power-on they all connect at once),
 * or null: past its open-file limit it refuses them, and the run would measure queues, not a city.
 */
export function fileLimitProblem(nodes: number, shards: number, limit: number | "unlimited" | null): string | null {
  if (limit === null || limit === "unlimited") return null;
  const need = nodes + shards + BROKER_SPARE_FILES;
  if (limit >= need) return null;
  const fits = Math.max(0, limit - shards - BROKER_SPARE_FILES);
  return `Mosquitto would inherit a limit of ${limit} open files, below the ${need} that ${nodes} nodes need: raise the hard limit (ulimit -Hn; systemd: LimitNOFILE)${fits > 0 ? ` or run --city-nodes ${fits}` : ""}`;
}

/** the open-file limit a child process gets: Node raises its own soft limit to the hard one, and children inherit it */
function childFileLimit(): number | "unlimited" | null {
  try {
    const text = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
    return text === "unlimited" ? text : /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null; // no shell to ask: Mosquitto's own refusals will show in the books
  }
}

/** The run, or why it could not be made: Mosquitto missing or refusing to start, or too few open files for it. */
export async function benchCity(opts: CityOptions = {}): Promise<CityFigures | { skipped: string }> {
  const nodes = opts.nodes ?? 10_000;
  const durationMs = opts.durationMs ?? 3_600_000;
  const shards = Math.min(nodes, opts.shards ?? os.availableParallelism());
  const problem = fileLimitProblem(nodes, shards, opts.fileLimit === undefined ? childFileLimit() : opts.fileLimit);
  if (problem) return { skipped: problem };
  let broker;
  try {
    // each shard's observer takes every data message: keep its backlog through a burst
    broker = await startMosquitto({ conf: ["max_connections -1", "max_queued_messages 10000"] });
  } catch (e) {
    return { skipped: "Mosquitto failed to start (" + (e as Error).message.split("\n")[0] + ")" };
  }
  if (!broker) return { skipped: "Mosquitto is not installed (Debian: apt-get install mosquitto)" };
  try {
    const r = await runShardedFleet(
      {
        boards: defaultBoards(),
        nodes,
        durationMs,
        seed: opts.seed ?? 7,
        broker: broker.url,
        keepReadings: false,
        onProgress: opts.onProgress ? (p) => opts.onProgress!(p.doneMs, p.durationMs) : undefined,
        progressEveryMs: 2000,
      },
      shards,
    );
    const s = r.summary;
    const per = s.shards ?? [{ wallMs: s.wallMs, peakRssMb: s.peakRssMb }];
    const perWallSecond = (n: number) => n / Math.max(0.001, s.wallMs / 1000);
    return {
      nodes,
      durationMs: s.durationMs,
      shards,
      wallMs: s.wallMs,
      shardWallMs: per.map((x) => x.wallMs),
      peakRssMb: per.map((x) => x.peakRssMb),
      messagesPerSecond: perWallSecond(s.totals.messagesAtBroker),
      readingsPerSecond: perWallSecond(s.totals.receivedAtBroker),
      totals: s.totals,
    };
  } finally {
    await broker.stop();
  }
}
