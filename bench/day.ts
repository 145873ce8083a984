// One instrumented simulated day per board: the fleet runner (sim/fleet.ts) with one node per
// board at its default config, against the embedded broker. Each node is a real SimNode
// running dist/<board>.js; the bench only watches it:
// - its net module counts the bytes and MQTT packets the node writes (bench/wire.ts);
// - its power trace is tapped, so each awake period (boot to deep sleep) gets the charge the
//   energy model integrated over it, and whether the radio came on (an upload cycle);
// - its memory (the emulation's process.memory() estimate) is read after each boot and at
//   each radio/sensor switch while awake;
// - Storage compactions are tapped to tell the bytes the firmware wrote from the copies.

import type { BoardProfile } from "../firmware/board.js";
import { runFleet, type FleetSummary, type NodeSummary } from "../sim/fleet.js";
import { SimNode, type SimNodeOptions } from "../sim/node.js";
import { unseal, type Counters } from "../firmware/runtime/store.js";
import { countingNetFactory, newWireCounts, type WireCounts } from "./wire.js";

export interface AwakePeriod {
  /** virtual ms at wake (reset), and its length including the boot */
  t: number;
  ms: number;
  mah: number;
  /** the radio came on: an upload cycle */
  radio: boolean;
}

export interface NodeProbe {
  id: string;
  board: string;
  profile: BoardProfile;
  wire: WireCounts;
  /** awake periods that ended in deep sleep (the one that began at power-on is marked first) */
  periods: AwakePeriod[];
  /** process.memory().usage at the end of each boot's synchronous run: first and largest */
  memoryFirstBoot?: number;
  memoryBootMax: number;
  /** largest usage seen while running (after boot, at radio and sensor switches) */
  memoryMax: number;
  memoryTotal?: number;
  /** flash bytes the firmware wrote, and bytes Storage compaction copied */
  flashBytes: number;
  compactionBytes: number;
  compactions: number;
  pagesErased: number;
  storageBytes: number;
  /** bytes of live files at the end (the bundle, config, state, queue) */
  liveBytes: number;
  /** the firmware's own counters from its persisted state */
  counters?: Counters;
}

export interface DayRun {
  durationMs: number;
  wallMs: number;
  summary: FleetSummary;
  probes: NodeProbe[];
  nodes: NodeSummary[];
}

export interface DayRunOptions {
  boards: string[];
  durationMs: number;
  seed?: number;
  onProgress?: (doneMs: number, durationMs: number) => void;
}

/** the node's counters from its newest intact state slot (cn.s0 / cn.s1) */
export function readCounters(storage: StorageModule): Counters | undefined {
  const slots = [unseal(storage.read("cn.s0")), unseal(storage.read("cn.s1"))].filter((s) => s && s.c);
  if (!slots.length) return undefined;
  return slots.reduce((a, b) => (b.sq > a.sq ? b : a)).c as Counters;
}

function instrument(opts: SimNodeOptions, probes: NodeProbe[]): SimNode {
  const wire = newWireCounts();
  const node = new SimNode({ ...opts, createNet: countingNetFactory(wire) });
  const probe: NodeProbe = {
    id: opts.id,
    board: opts.board.name,
    profile: opts.board,
    wire,
    periods: [],
    memoryBootMax: 0,
    memoryMax: 0,
    flashBytes: 0,
    compactionBytes: 0,
    compactions: 0,
    pagesErased: 0,
    storageBytes: node.storage.totalBytes,
    liveBytes: 0,
  };
  probes.push(probe);

  const sampleMemory = () => {
    const m = node.memory();
    if (!m) return;
    probe.memoryMax = Math.max(probe.memoryMax, m.usage);
    probe.memoryTotal = m.total;
  };
  let open: { t: number; q: number; radio: boolean } | undefined;
  let bootsSeen = 0;
  const trace = node.trace;
  // SimNode brings its charge up to date before each power-state change it records
  trace.push = function (...entries) {
    for (const e of entries) {
      if (e.state === "awake") {
        if (e.on) open = { t: e.t, q: node.stats.chargeMah, radio: false };
        else if (open) {
          probe.periods.push({ t: open.t, ms: e.t - open.t, mah: node.stats.chargeMah - open.q, radio: open.radio });
          open = undefined;
        }
      } else if (e.state === "radio") {
        if (e.on && open) open.radio = true;
        sampleMemory();
      } else if (e.state.startsWith("sensor:")) sampleMemory();
    }
    const boots = node.stats.boots + node.stats.wakes;
    if (boots !== bootsSeen && node.stats.memoryUsage !== undefined) {
      bootsSeen = boots;
      probe.memoryFirstBoot ??= node.stats.memoryUsage;
      probe.memoryBootMax = Math.max(probe.memoryBootMax, node.stats.memoryUsage);
      probe.memoryMax = Math.max(probe.memoryMax, node.stats.memoryUsage);
    }
    return Array.prototype.push.apply(this, entries);
  };

  const storage = node.storage;
  const compact = storage.compact.bind(storage);
  storage.compact = () => {
    const before = storage.bytesWritten;
    compact();
    probe.compactionBytes += storage.bytesWritten - before;
  };

  const stop = node.stop.bind(node);
  node.stop = () => {
    stop();
    probe.flashBytes = storage.bytesWritten - probe.compactionBytes;
    probe.compactions = storage.compactions;
    probe.pagesErased = storage.pagesErased;
    probe.liveBytes = storage.getStats().fileBytes;
    probe.counters = readCounters(storage);
    if (node.stats.memoryUsage !== undefined) probe.memoryFirstBoot ??= node.stats.memoryUsage;
  };
  return node;
}

/** one node per board for durationMs of virtual time, instrumented */
export async function runDay(opts: DayRunOptions): Promise<DayRun> {
  const probes: NodeProbe[] = [];
  const t0 = performance.now();
  const result = await runFleet({
    boards: opts.boards,
    nodes: opts.boards.length,
    durationMs: opts.durationMs,
    seed: opts.seed ?? 1,
    createNode: (o) => instrument(o, probes),
    onProgress: opts.onProgress ? (p) => opts.onProgress!(p.doneMs, p.durationMs) : undefined,
    progressEveryMs: 500,
  });
  return { durationMs: opts.durationMs, wallMs: performance.now() - t0, summary: result.summary, probes, nodes: result.summary.nodes };
}
