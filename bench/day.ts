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
import { unseal } from "../firmware/runtime/store.js";
import type { Counters } from "../firmware/runtime/state.js";
import { countingNetFactory, newWireCounts, type WireCounts } from "./wire.js";

export interface AwakePeriod {
  /** virtual ms at wake (reset), and its length including the boot */
  t: number;
  ms: number;
  /** charge from the wake to the deep sleep; with a warm-up wake, from that wake's start (its sleep's sensor current included) */
  mah: number;
  /**
   * a warm-up wake came first (firmware/runtime/warm-asleep.ts): its awake ms (also in `ms`)
   * and the deep sleep after it, while the sensor warmed up
   */
  warmUp?: { awakeMs: number; asleepMs: number };
  /** the radio came on: an upload cycle */
  radio: boolean;
  /** ms per phase (PHASES), those seen in this wake */
  phases: { [phase: string]: number };
  /** why it uploaded, as the node said it ("window": on its send grid, so planned; "alarm", "change"...) */
  why?: string;
  /** it joined with its static address (not the daily DHCP) */
  staticIp?: boolean;
}

/**
 * Phases of a wake, from what the node prints and writes: boot (reset to the bundle's first
 * line), sensors (to the cycle's line: readings folded and saved; or to the radio going on
 * where that comes first, as a power-on's SNTP session), join (to the TCP connect: what is
 * left of the join once the cycle is done; a planned upload wake starts it in the boot, from
 * the wake prelude), mqtt (to DISCONNECT: CONNECT, SUBSCRIBE, status, data, commands and the
 * PUBACKs awaited), sleep (to deep sleep: the socket's close, Wi-Fi off, state saved); where a
 * warm-up wake came first (esp32-air), warmUp (that wake) and warmAsleep (its deep sleep).
 */
export const PHASES = ["boot", "sensors", "join", "mqtt", "sleep", "warmUp", "warmAsleep"];

/** phases of one awake period from its marks (virtual ms); missing marks leave phases out */
export function phasesOf(start: number, end: number, m: { [mark: string]: number }): { [phase: string]: number } {
  const out: { [phase: string]: number } = {};
  // the cycle's line ends the sensors' phase; where the node connects before it (power-on's
  // SNTP session), the radio going on after the boot does
  const sensorsEnd = m.cycle !== undefined && (m.tcp === undefined || m.cycle <= m.tcp) ? m.cycle : m.radio !== undefined && m.radio >= (m.boot ?? start) ? m.radio : m.cycle;
  const seq: Array<[string, number | undefined]> = [
    ["boot", m.boot], ["sensors", sensorsEnd], ["join", m.tcp], ["mqtt", m.DISCONNECT], ["sleep", end],
  ];
  let t = start;
  for (const [name, at] of seq) {
    if (at === undefined || at < t) continue;
    out[name] = at - t;
    t = at;
  }
  return out;
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
  let marks: { [mark: string]: number } = {};
  let why: string | undefined, staticIp = false;
  const mark = (what: string) => {
    if (marks[what] === undefined) marks[what] = opts.clock.now();
  };
  wire.onEvent = mark;
  let line = "";
  const onConsole = (text: string) => {
    line += text;
    let i: number;
    while ((i = line.indexOf("\n")) >= 0) {
      const l = line.slice(0, i);
      line = line.slice(i + 1);
      if (l.startsWith("CasaNode ")) mark("boot");
      else if (l.startsWith("cycle: ")) mark("cycle");
      else if (l.startsWith("upload: ")) why ??= l.slice(8).split(" ")[0];
      else if (l.startsWith("uplink: connected") && l.includes("(static ")) staticIp = true;
    }
    opts.onConsole?.(text);
  };
  const node = new SimNode({ ...opts, onConsole, createNet: countingNetFactory(wire, opts.createNet) });
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
  let open: { t: number; q: number; radio: boolean; warmUp?: { awakeMs: number; asleepMs: number }; warmQ?: number } | undefined;
  // an awake period that ended before the bundle said its first line: the prelude's warm-up wake
  let warming: { t: number; q: number; awakeMs: number; end: number } | undefined;
  let bootsSeen = 0;
  const trace = node.trace;
  // SimNode brings its charge up to date before each power-state change it records
  trace.push = function (...entries) {
    for (const e of entries) {
      if (e.state === "awake") {
        if (e.on) {
          open = { t: e.t, q: node.stats.chargeMah, radio: false };
          if (warming) {
            open.warmUp = { awakeMs: warming.awakeMs, asleepMs: e.t - warming.end };
            open.warmQ = warming.q;
          }
          warming = undefined;
          marks = {};
          why = undefined;
          staticIp = false;
        } else if (open && marks.boot === undefined && node.powerState === "asleep") {
          warming = { t: open.t, q: open.q, awakeMs: e.t - open.t, end: e.t };
          open = undefined;
        } else if (open) {
          const warm = open.warmUp;
          probe.periods.push({ t: open.t, ms: e.t - open.t + (warm ? warm.awakeMs : 0), mah: node.stats.chargeMah - (open.warmQ ?? open.q), radio: open.radio, phases: { ...phasesOf(open.t, e.t, marks), ...(warm ? { warmUp: warm.awakeMs, warmAsleep: warm.asleepMs } : {}) }, why, staticIp, ...(warm ? { warmUp: warm } : {}) });
          open = undefined;
        }
      } else if (e.state === "radio") {
        if (e.on && open) {
          open.radio = true;
          marks.radio ??= e.t;
        }
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
    // battery nodes as deployed for battery life: a static address, broker by IP (README)
    staticIp: true,
    onProgress: opts.onProgress ? (p) => opts.onProgress!(p.doneMs, p.durationMs) : undefined,
    progressEveryMs: 500,
  });
  return { durationMs: opts.durationMs, wallMs: performance.now() - t0, summary: result.summary, probes, nodes: result.summary.nodes };
}
