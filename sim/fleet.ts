// The fleet runner: N simulated nodes running the flashed bundles on one virtual clock,
// against an embedded (or external) MQTT broker, with a host-side observer that decodes
// what arrives, fault injection, and a summary that balances every reading.
//
// Time: the clock jumps from timer to timer, but nodes talk to the broker through the host's
// event loop: over an in-process pipe to the embedded broker (sim/broker-pipe.ts; brokerLink
// "tcp" for loopback sockets), over real TCP to an external one. So before each jump the
// runner lets that traffic settle: it watches every pipe and every socket this process opens
// (node:diagnostics_channel) and yields to the event loop while a connection is being made,
// bytes written by one end have not been read by the other, or an MQTT request (CONNECT,
// QoS 1 PUBLISH, SUBSCRIBE, PINGREQ) has not been answered. A PUBACK
// reaches the node at the virtual instant of its PUBLISH; RunnerStats.lateReplies counts any
// that did not (0 in every run so far). Nodes integrate their own energy before each event.

import path from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { connect as netConnect } from "node:net";
import type mqtt from "mqtt";
import { VirtualClock } from "./clock.js";
import { createEspruinoNet, type EspruinoNetOptions, type NetLatency } from "./espruino/net.js";
import { brokerPipe, type PipeBroker } from "./broker-pipe.js";
import type { WorldOptions } from "./world/index.js";
import { createRng, forkSeed } from "./random.js";
import { FaultScheduler, randomPowerCuts, FaultSpecError, type FaultSpec, type FaultTarget } from "./faults.js";
import { parseReplaySpec, type ReplaySpec } from "./replay.js";
import { SimOptionError, checkRunOptions, checkShard, parseBrokerUrl, shardRange, type ShardSpec } from "./options.js";
import { IoWatch } from "./fleet-io-watch.js";
import { startObserver, observerCaughtUp } from "./fleet-observer.js";
import { nodeStatsOf } from "./node-books.js";
import { createMembers, planNodes, resolveReplays, serveConsoles, SITE, type FleetMember, type FleetNodeFactory } from "./fleet-members.js";
import { startFleetOta, bundleVersion, type FleetOta } from "./ota-fleet.js";
import { runClockLoop, type FleetProgress } from "./fleet-loop.js";
import { cpuMsSince, summarise, type FleetResult, type RunnerStats } from "./fleet-summary.js";
import type { BoardProfile } from "../firmware/board.js";
import { ensureBundle } from "../toolchain/bundle.js";
import { boardNames, defaultFleetBoards } from "../toolchain/boards.mjs";
import { ROOT } from "../toolchain/root.mjs";

export { ROOT };
const DAY_MS = 86_400_000;
export const DEFAULT_NODES = 6;
export const DEFAULT_DURATION_MS = DAY_MS;

export { SimOptionError, FaultSpecError, parseReplaySpec, type ReplaySpec };
export { SITE, SIM_WIFI, boardSuffix, type FleetNode, type FleetNodeFactory } from "./fleet-members.js";
export type { FleetProgress } from "./fleet-loop.js";
export type { FleetResult, FleetSummary, FleetTotals, FleetNodeInfo, NodeSummary, ReplaySummary, RunnerStats, FleetTraces, NodeTrace } from "./fleet-summary.js";

export interface FleetOptions {
  /** board profile names (boards/profiles/<name>.ts); default: every street board */
  boards?: string[];
  /** default: DEFAULT_NODES for the default boards, one per board when boards are named */
  nodes?: number;
  durationMs?: number;
  seed?: number;
  /** mqtt://host:port of an external broker; default: an embedded aedes */
  broker?: string;
  /**
   * how nodes reach an embedded broker: "pipe" (default), in process (sim/broker-pipe.ts), or
   * "tcp", over loopback sockets. Both give the firmware the same bytes at the same virtual
   * times; the pipe costs less. An external broker is always reached over TCP.
   */
  brokerLink?: "pipe" | "tcp";
  /**
   * a sharded run (sim/fleet-shards.ts) without `broker`: each worker's own embedded broker over
   * pipes ("own", default), or one in the parent that every worker reaches over loopback TCP ("parent")
   */
  shardBrokers?: "own" | "parent";
  /** set by a sharding parent (sim/fleet-shards.ts): `broker` is its embedded broker, which the nodes know as port 1883 */
  parentBroker?: boolean;
  /** pace virtual time to the wall clock */
  realtime?: boolean;
  /** network round trips and TLS handshake as the nodes see them [DEFAULT_NET_LATENCY] */
  netLatency?: NetLatency;
  /** provision battery nodes with static addresses on the simulated AP's subnet (wifi.ip) [false] */
  staticIp?: boolean;
  /** --fault specs (strings are parsed) */
  faults?: Array<string | FaultSpec>;
  /** random power cuts on random nodes */
  powerCuts?: number;
  replay?: Array<string | ReplaySpec>;
  /** node i (of the whole fleet) serves its console on TCP port first + i */
  consolePort?: number;
  /**
   * run only this shard of the fleet: a contiguous block of its nodes, each exactly as it is in
   * the whole fleet (id, seed, key, faults, power cuts); the others run elsewhere, against the same broker
   */
  shard?: ShardSpec;
  /** keep every reading received for the report's plots (memory grows with the run) [true] */
  keepReadings?: boolean;
  /** called once the nodes are made and the observer listens, before the clock starts (a sharded run's workers start together) */
  beforeStart?: () => Promise<void>;
  /** fields layered over every node's casanode.json (e.g. { queueMax: 8000 }), validated per board as provisioning does */
  config?: { [field: string]: unknown };
  /** Storage (flash) of every node, bytes (default: the board's, 896 KB on ESP32) */
  storageBytes?: number;
  /** every ESP32's RTC runs this many percent fast in deep sleep (default 0: exact; a real one is 1-3.3 % fast, docs/hardware.md) */
  rtcFastPct?: number;
  /** an over-the-air rollout published during the run (sim/ota-fleet.ts; the CLI's --ota) */
  ota?: FleetOta;
  /** virtual start, ms since the epoch (default: the VirtualClock's) */
  startMs?: number;
  /** queue depth and charge are sampled this often for the report (default: duration / 288) */
  sampleEveryMs?: number;
  world?: WorldOptions;
  onProgress?: (p: FleetProgress) => void;
  /** how often onProgress is called, wall ms */
  progressEveryMs?: number;
  onConsole?: (nodeId: string, text: string) => void;
  /** fault and runner notes */
  log?: (line: string) => void;
  /** stop early (Ctrl-C): the run ends at the current virtual time and still summarises */
  signal?: AbortSignal;
  /** how nodes are made (default: new SimNode(opts)) */
  createNode?: FleetNodeFactory;
  /** the bundle text per board (default: dist/<board>.js, built when stale) */
  loadBundle?: (board: string) => Promise<string>;
}

/** the boards of the board list (boards/boards.json) */
export function listBoardProfiles(): string[] {
  return boardNames();
}

/** the board list's street boards (defaultFleet) */
export function defaultBoards(): string[] {
  return defaultFleetBoards();
}

export async function loadProfile(board: string): Promise<BoardProfile> {
  const file = path.join(ROOT, "boards", "profiles", board + ".ts");
  if (!listBoardProfiles().includes(board) || !existsSync(file)) {
    throw new SimOptionError(`unknown board "${board}"; boards: ${listBoardProfiles().join(", ")}`);
  }
  const mod = await import(pathToFileURL(file).href);
  if (!mod.profile) throw new SimOptionError(`boards/profiles/${board}.ts exports no profile`);
  return mod.profile as BoardProfile;
}

/** dist/<board>.js, built first when missing or older than its sources */
async function bundleFor(board: string): Promise<string> {
  const file = await ensureBundle(board);
  return readFileSync(file, "latin1");
}

// ---------------------------------------------------------------------------------------------
// the run, phase by phase

export async function runFleet(options: FleetOptions = {}): Promise<FleetResult> {
  const cpuStart = process.cpuUsage();
  const log = options.log ?? (() => {});
  // options, the boards' profiles and bundles, the plan of nodes
  const run = await checkFleetOptions(options);
  const { seed, durationMs, boards, profiles } = run;
  const plan = planNodes(boards, run.count);
  const { from, to } = shardRange(plan.length, options.shard);
  const replays = resolveReplays(run.replays, plan, profiles);
  const bundles = new Map<string, string>();
  for (const b of profiles.keys()) bundles.set(b, await (options.loadBundle ?? bundleFor)(b));
  let createNode = options.createNode;
  if (!createNode) {
    const { SimNode } = await import("./node.js");
    createNode = (opts) => new SimNode(opts);
  }

  const clock = new VirtualClock(options.startMs);
  const startMs = clock.now();
  const endMs = startMs + durationMs;
  const wallStart = performance.now();

  // the broker, and the watch on every socket to it (virtual time waits for its traffic)
  const broker = await startFleetBroker(options.broker);
  const io = new IoWatch(clock, broker.address);
  const runner: RunnerStats = { steps: 0, settleTicks: 0, lateReplies: 0 };
  const members: FleetMember[] = [];
  const byId = new Map<string, FleetMember>();
  let observer: mqtt.MqttClient | undefined;
  let ota: Awaited<ReturnType<typeof startFleetOta>> | undefined;
  const consoleServers: Array<{ close(): unknown }> = [];
  try {
    // the observer: what a city back-end would see
    // the members, each a fault target as it is made; then the faults and the consoles
    const targets: FaultTarget[] = [];
    const fleetNames = plan.map((n) => ({ id: n.id, board: n.board, devices: profiles.get(n.board)!.devices }));
    const faults = new FaultScheduler(clock, startMs, endMs, targets, log, fleetNames);
    const { staticIp, config, world, storageBytes, netLatency, rtcFastPct, onConsole } = options;
    // the embedded broker in process: the nodes' sockets to it are pipes the runner watches as it does sockets
    const aedes = broker.aedes;
    // the nodes are told a fixed port for the embedded broker (this process's over the pipe, or
    // a sharding parent's over TCP), not the one it listens on: the config's checksum in their
    // state, and so their flash writes, are the same in every run and every shard
    const piped = !!aedes && options.brokerLink !== "tcp";
    const toldPort = piped || options.parentBroker ? EMBEDDED_BROKER_PORT : undefined;
    const nodesBroker = toldPort !== undefined ? { host: broker.address.host, port: toldPort } : broker.address;
    const told = (o: { host: string; port: number }) => o.host === nodesBroker.host && o.port === nodesBroker.port;
    const connectRaw = piped
      ? brokerPipe({ broker: aedes!, address: nodesBroker, watch: (view) => io.watchPipe(view) })
      : toldPort !== undefined
        ? (o: { host: string; port: number }) => netConnect(told(o) ? broker.address : o)
        : undefined;
    const createNet = connectRaw ? (o: EspruinoNetOptions) => createEspruinoNet({ ...o, connectRaw }) : undefined;
    createMembers({ seed, plan, from, to, profiles, bundles, replays, clock, broker: nodesBroker, faults, createNode, staticIp, config, world, storageBytes, netLatency, rtcFastPct, onConsole, createNet }, targets, members);
    for (const m of members) byId.set(m.info.id, m);
    const specs = run.faults;
    // drawn over the whole fleet, so a node gets the same cuts whatever shard runs it (the scheduler applies this shard's)
    if (options.powerCuts) specs.push(...randomPowerCuts(options.powerCuts, createRng(forkSeed(seed, "power-cuts")), plan.map((n) => n.id), durationMs));
    faults.schedule(specs);
    if (options.consolePort !== undefined) await serveConsoles(members, plan.length, options.consolePort, log, consoleServers);
    if (options.ota) ota = await startFleetOta({ brokerUrl: broker.url, clock, site: SITE, ota: options.ota, members, baseFw: (b) => bundleVersion(bundles.get(b) ?? "") ?? "?", log });

    // the observer: what a city back-end would see of this shard's nodes
    const shardTag = options.shard ? `${options.shard.index}of${options.shard.count}` : "all";
    const watching = await startObserver({ brokerUrl: broker.url, pipe: piped ? aedes : undefined, clientId: `casanode-sim-observer-${seed}-${shardTag}-${process.pid}`, io, clock, startMs, members: byId, keepReadings: options.keepReadings ?? true, log });
    observer = watching.client;
    await options.beforeStart?.();

    // the clock loop
    for (const m of members) m.node.start();
    const { finalMs, aborted } = await runClockLoop({
      clock, io, members, runner, startMs, endMs, wallStart, log,
      received: () => watching.received,
      realtime: options.realtime, sampleEveryMs: options.sampleEveryMs, onProgress: options.onProgress, progressEveryMs: options.progressEveryMs, signal: options.signal,
    });

    await observerCaughtUp(members, (m) => nodeStatsOf(m.node.storage).acked);

    // the summary
    const wallMs = performance.now() - wallStart;
    runner.lateReplies = io.lateReplies;
    runner.cpuMs = cpuMsSince(cpuStart);
    const summary = summarise({ seed, startMs, endMs: finalMs, plannedDurationMs: durationMs, fleetNodes: plan.length, shard: options.shard, boards: [...profiles.keys()], broker: options.broker ?? "embedded", realtime: !!options.realtime, stoppedEarly: aborted, wallMs, members, applied: faults.applied });
    if (ota) summary.ota = ota.summary();
    for (const m of members) m.trace.power = m.node.trace.slice();
    return { summary, traces: { startMs, endMs: finalMs, nodes: members.map((m) => m.trace) }, nodes: members.map((m) => m.info), runner };
  } finally {
    for (const m of members) {
      try {
        m.node.stop();
      } catch (err) {
        log(`${m.info.id}: stop failed: ${(err as Error).message}`);
      }
    }
    for (const s of consoleServers) await Promise.resolve(s.close()).catch(() => {});
    if (observer) await observer.endAsync(true).catch(() => {});
    if (ota) await ota.stop();
    io.close();
    await broker.stop();
  }
}

/** options phase: the values (sim/options.ts, as the CLI checks them), then the boards and the config each board's validator accepts */
async function checkFleetOptions(options: FleetOptions): Promise<{ seed: number; durationMs: number; boards: string[]; count: number; profiles: Map<string, BoardProfile>; faults: FaultSpec[]; replays: ReplaySpec[] }> {
  const seed = options.seed ?? 1;
  const durationMs = options.durationMs ?? DEFAULT_DURATION_MS;
  const { faults } = checkRunOptions({ ...options, seed, durationMs });
  const named = !!(options.boards && options.boards.length);
  const boards = named ? options.boards! : defaultBoards();
  if (!boards.length) throw new SimOptionError("no board profiles found in boards/profiles/");
  const count = options.nodes ?? (named ? boards.length : DEFAULT_NODES);
  if (options.shard) checkShard(options.shard, count);
  const replays = (options.replay ?? []).map((r) => (typeof r === "string" ? parseReplaySpec(r) : r));
  const profiles = new Map<string, BoardProfile>();
  for (const b of new Set(boards)) profiles.set(b, await loadProfile(b));
  // the node's own validator, as provisioning runs it: a config it refuses is refused here
  const { validateConfig } = await import("../firmware/config-check.js");
  for (const [b, p] of profiles) {
    const v = validateConfig(options.config ?? {}, p);
    if (!v.ok) throw new SimOptionError(`--config for ${b}: ${v.errors.join("; ")}`);
  }
  return { seed, durationMs, boards, count, profiles, faults, replays };
}

/** the embedded broker's port as the nodes know it (MQTT's own), whatever port it listens on */
const EMBEDDED_BROKER_PORT = 1883;

/** the broker the nodes use: the one named, or an embedded aedes for this run (`aedes`: the pipe's end of it) */
async function startFleetBroker(url: string | undefined): Promise<{ url: string; address: { host: string; port: number }; aedes?: PipeBroker; stop(): Promise<void> }> {
  if (url) return { url, address: parseBrokerUrl(url), stop: async () => {} };
  const { startBroker } = await import("./broker.js");
  const b = await startBroker({ port: 0 });
  return { url: b.url, address: parseBrokerUrl(b.url), aedes: b.broker, stop: () => b.stop() };
}
