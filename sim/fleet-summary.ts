// What a fleet run gives back: the summary (per node and in total, every reading balanced:
// taken = acknowledged + queued + dropped + untimed) and the traces the report plots; and the
// code that makes the summary from the members at the end of the run.

import { USABLE_FRACTION, energyFigures } from "./energy.js";
import { describeRejected, type ReplayDevice, type ReplaySpec, type ReplayStats } from "./replay.js";
import type { AppliedFault } from "./faults.js";
import type { BoardProfile } from "../firmware/board.js";
import { nodeStatsOf } from "./node-books.js";
import type { SimDevice } from "./devices/types.js";
import type { FleetOtaSummary } from "./ota-fleet.js";
import type { ShardSpec } from "./options.js";

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// the result

export interface FleetNodeInfo {
  id: string;
  board: string;
  keyHex: string;
  consolePort?: number;
}

export interface RunnerStats {
  /** clock advances */
  steps: number;
  /** event-loop turns spent letting network traffic settle */
  settleTicks: number;
  /** MQTT replies that reached a node at a later virtual time than its request (should be 0) */
  lateReplies: number;
  /** CPU time (user + system), ms: this process over runFleet; over shards, the parent's over the run plus each worker's whole life */
  cpuMs?: number;
}

export interface FleetResult {
  summary: FleetSummary;
  traces: FleetTraces;
  nodes: FleetNodeInfo[];
  runner: RunnerStats;
}

// ---------------------------------------------------------------------------------------------
// traces (what the report plots)

/** One decoded SenML record as the broker received it. */
export interface TraceReading {
  /** ms since the epoch (virtual) */
  t: number;
  /** record name relative to the node's base name, e.g. "pm.pm25" */
  name: string;
  unit: string;
  value: number;
}

export interface NodeTrace {
  id: string;
  board: string;
  readings: TraceReading[];
  /** power-state changes (SimNode.trace): "awake", "radio", "sensor:<name>" */
  power: Array<{ t: number; state: string; on: boolean }>;
  /** cumulative charge samples [t, mAh] */
  charge: Array<[number, number]>;
  /** queue depth samples [t, readings waiting] */
  queue: Array<[number, number]>;
}

export interface FleetTraces {
  startMs: number;
  endMs: number;
  nodes: NodeTrace[];
}

// ---------------------------------------------------------------------------------------------
// the summary

export interface NodeCounts {
  /** readings taken (queued for upload) since first boot */
  readings: number;
  /** readings sent in data messages (a resend counts again) */
  published: number;
  /** readings the broker acknowledged */
  acked: number;
  /** readings still waiting in the queue at the end */
  queued: number;
  /** readings evicted from a full queue */
  dropped: number;
  /** readings from a clock run that ended before the clock was set: never sent */
  untimed: number;
}

export interface NodeSummary extends NodeCounts {
  id: string;
  board: string;
  power: "battery" | "mains";
  /** readings - acked - queued - dropped - untimed: must be 0 */
  lost: number;
  /** distinct readings the observer received on the node's data topic */
  receivedAtBroker: number;
  /** data messages the observer received on the node's topic (a resend counts again) */
  messagesAtBroker: number;
  /** of those, readings whose time is impossible: relative, or outside the run (must be 0) */
  badTimesAtBroker: number;
  /** readings received more than once (QoS 1 resends after a lost PUBACK) */
  duplicatesAtBroker: number;
  wakes: number;
  boots: number;
  crashes: number;
  lastError?: string;
  awakeMs: number;
  radioMs: number;
  chargeMah: number;
  mahPerDay: number;
  averageMa: number;
  /** null on mains boards */
  batteryLifeDays: number | null;
  /** faults applied to this node, plus replays that decoded nothing */
  faults: number;
  /** connections that flushed the queue / that failed */
  uploads: number;
  uploadFails: number;
  /** bytes written to flash */
  flashBytes: number;
  /** alarms raised and not cleared at the end */
  alarms: string[];
  /** why the node is in safe mode, if it is */
  safeMode?: string;
  /** captures played into the node's devices (--replay), and what became of their frames */
  replays?: ReplaySummary[];
}

export interface ReplaySummary extends ReplayStats {
  device: string;
  model: string;
  file: string;
  /** set when the replay gave the firmware nothing to decode: counted in the node's faults */
  fault?: string;
}

export interface FleetTotals extends NodeCounts {
  nodes: number;
  lost: number;
  receivedAtBroker: number;
  messagesAtBroker: number;
  badTimesAtBroker: number;
  duplicatesAtBroker: number;
  wakes: number;
  boots: number;
  crashes: number;
  awakeMs: number;
  chargeMah: number;
  mahPerDay: number;
  faults: number;
}

export interface FleetSummary {
  seed: number;
  startMs: number;
  endMs: number;
  /** simulated: endMs - startMs (less than fleet.durationMs if stopped early) */
  durationMs: number;
  /** the whole fleet this run is (part of): what shards must agree on to be merged */
  fleet: { nodes: number; durationMs: number };
  /** the shard this summary covers; absent for a whole fleet in one process */
  shard?: ShardSpec;
  /** per shard (a merged summary): its nodes, wall time and peak memory */
  shards?: ShardFigures[];
  /** peak resident memory of the process that ran it, MB (a merged summary: the largest shard's) */
  peakRssMb: number;
  boards: string[];
  broker: string;
  realtime: boolean;
  /** the run was stopped (Ctrl-C) before its duration */
  stoppedEarly: boolean;
  wallMs: number;
  /** simulated node-days per wall-clock second */
  nodeDaysPerSecond: number;
  /** share of battery capacity counted on in batteryLifeDays */
  usableFraction: number;
  totals: FleetTotals;
  nodes: NodeSummary[];
  faults: AppliedFault[];
  /** the over-the-air rollout of the run (--ota), per node the version it ends on */
  ota?: FleetOtaSummary;
}

export interface ShardFigures {
  shard: ShardSpec;
  nodes: number;
  wallMs: number;
  peakRssMb: number;
  nodeDaysPerSecond: number;
}

/** what the summary reads of a fleet member at the end of the run */
export interface SummarisedMember {
  info: FleetNodeInfo;
  profile: BoardProfile;
  node: {
    readonly devices: { [name: string]: SimDevice };
    readonly storage: StorageModule;
    readonly stats: { boots: number; wakes: number; crashes: number; lastError?: string; awakeMs: number; radioMs: number; chargeMah: number };
  };
  received: number;
  /** data messages on its topic */
  messages: number;
  duplicates: number;
  badTimes: number;
  /** captures played into this node's devices */
  replays: { [device: string]: { spec: ReplaySpec } };
}

export interface SummaryInput {
  seed: number;
  startMs: number;
  endMs: number;
  plannedDurationMs: number;
  fleetNodes: number;
  shard?: ShardSpec;
  boards: string[];
  broker: string;
  realtime: boolean;
  stoppedEarly: boolean;
  wallMs: number;
  members: SummarisedMember[];
  applied: AppliedFault[];
}

function replaySummaries(m: SummarisedMember): ReplaySummary[] {
  const out: ReplaySummary[] = [];
  for (const name of Object.keys(m.replays)) {
    // by shape, not instanceof: a test runner may load sim/replay.ts twice (ESM and CJS)
    const dev = m.node.devices[name] as Partial<ReplayDevice> & SimDevice;
    if (typeof dev?.replayStats !== "function") continue;
    const st = dev.replayStats();
    const r: ReplaySummary = { device: name, model: dev.model, file: m.replays[name].spec.file, ...st };
    if (!st.decoded) {
      r.fault = !st.frames
        ? `the capture holds no ${dev.model} frame that decodes (a capture of another sensor?)`
        : st.consumed
          ? `none of the ${st.consumed} unit(s) handed out decoded (${describeRejected(st)})`
          : "the firmware asked for no frame";
    }
    out.push(r);
  }
  return out;
}

export function summarise(a: SummaryInput): FleetSummary {
  const durationMs = a.endMs - a.startMs;
  const nodes: NodeSummary[] = a.members.map((m) => {
    // kept from the end-of-run wait when the flash has not changed since (node-books.ts)
    const st = nodeStatsOf(m.node.storage);
    const ns = m.node.stats;
    const e = energyFigures(m.profile, ns.chargeMah, durationMs);
    const flash = (m.node.storage as { bytesWritten?: number }).bytesWritten;
    const out: NodeSummary = {
      id: m.info.id,
      board: m.info.board,
      power: m.profile.power.source,
      readings: st.readings,
      published: st.published,
      acked: st.acked,
      queued: st.queued,
      dropped: st.dropped,
      untimed: st.untimed,
      lost: st.readings - st.acked - st.queued - st.dropped - st.untimed,
      receivedAtBroker: m.received,
      messagesAtBroker: m.messages,
      badTimesAtBroker: m.badTimes,
      duplicatesAtBroker: m.duplicates,
      wakes: ns.wakes,
      boots: ns.boots,
      crashes: ns.crashes,
      awakeMs: ns.awakeMs,
      radioMs: ns.radioMs,
      chargeMah: ns.chargeMah,
      mahPerDay: e.mahPerDay,
      averageMa: e.averageMa,
      batteryLifeDays: e.batteryLifeDays === undefined || !Number.isFinite(e.batteryLifeDays) ? null : e.batteryLifeDays,
      faults: a.applied.filter((f) => f.node === m.info.id).length,
      uploads: st.uploads,
      uploadFails: st.uploadFails,
      flashBytes: typeof flash === "number" ? flash : st.bytesWritten,
      alarms: st.alarms.slice(),
    };
    const replays = replaySummaries(m);
    if (replays.length) {
      out.replays = replays;
      out.faults += replays.filter((r) => r.fault).length;
    }
    if (ns.lastError) out.lastError = ns.lastError;
    if (st.safe) out.safeMode = st.safe;
    return out;
  });
  const out: FleetSummary = {
    seed: a.seed,
    startMs: a.startMs,
    endMs: a.endMs,
    durationMs,
    fleet: { nodes: a.fleetNodes, durationMs: a.plannedDurationMs },
    peakRssMb: peakRssMb(),
    boards: a.boards,
    broker: a.broker,
    realtime: a.realtime,
    stoppedEarly: a.stoppedEarly,
    wallMs: Math.round(a.wallMs),
    nodeDaysPerSecond: nodeDaysPerSecond(nodes.length, durationMs, a.wallMs),
    usableFraction: USABLE_FRACTION,
    totals: totalsOf(nodes),
    nodes,
    faults: a.applied,
  };
  if (a.shard) out.shard = { index: a.shard.index, count: a.shard.count };
  return out;
}

/** this process's CPU time (user and system) since `since` (process.cpuUsage()), or since it started, ms */
export function cpuMsSince(since?: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return (cpu.user + cpu.system) / 1000;
}

/** this process's peak resident memory so far, MB */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function nodeDaysPerSecond(nodes: number, durationMs: number, wallMs: number): number {
  return wallMs > 0 ? (nodes * durationMs) / DAY_MS / (wallMs / 1000) : 0;
}

/** the fleet's totals: sums over its nodes */
export function totalsOf(nodes: NodeSummary[]): FleetTotals {
  const sum = (k: keyof NodeSummary) => nodes.reduce((s, n) => s + ((n[k] as number) || 0), 0);
  return {
    nodes: nodes.length,
    readings: sum("readings"),
    published: sum("published"),
    acked: sum("acked"),
    queued: sum("queued"),
    dropped: sum("dropped"),
    untimed: sum("untimed"),
    lost: sum("lost"),
    receivedAtBroker: sum("receivedAtBroker"),
    messagesAtBroker: sum("messagesAtBroker"),
    badTimesAtBroker: sum("badTimesAtBroker"),
    duplicatesAtBroker: sum("duplicatesAtBroker"),
    wakes: sum("wakes"),
    boots: sum("boots"),
    crashes: sum("crashes"),
    awakeMs: sum("awakeMs"),
    chargeMah: sum("chargeMah"),
    mahPerDay: sum("mahPerDay"),
    faults: sum("faults"),
  };
}
