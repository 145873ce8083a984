// The simulator's run options, checked in one place: `casanode sim` (tools/sim.ts) turns its
// text into values and calls checkRunOptions; runFleet (sim/fleet.ts) calls it on what a
// program passes. So a bad value gets the same one-line message, named after the CLI option,
// whichever way it came in. Kept free of the fleet runner so the CLI can check options first.
// (Replay specs go through parseReplaySpec in sim/replay.ts, which both callers use too.)

import { formatDuration } from "./duration.js";
import { FaultSpecError, parseFaultSpec, type FaultSpec } from "./faults.js";
import type { NetLatency } from "./espruino/net.js";

/** A bad option: the CLI prints the message on one line and exits 2. */
export class SimOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimOptionError";
  }
}

export const MAX_NODES = 10_000;
export const MAX_DURATION_MS = 366 * 86_400_000;
export const MAX_POWER_CUTS = 100_000;
export const STORAGE_KB_MIN = 16;
export const STORAGE_KB_MAX = 16_384;
export const MAX_RTT_MS = 10_000;
export const MAX_TLS_HANDSHAKE_MS = 60_000;
/** an RTC faster than this in deep sleep is no ESP32 (5 % by its spec) */
export const MAX_RTC_FAST_PCT = 10;
/** config fields the simulator sets per node: --config may not */
export const FLEET_SETS = ["site", "node", "wifi", "broker", "keyHex"];

/** the options both callers give, as values */
export interface RunOptionValues {
  boards?: string[];
  nodes?: number;
  durationMs: number;
  seed: number;
  /** mqtt://host:port of an external broker */
  broker?: string;
  netLatency?: NetLatency;
  /** --fault specs (strings are parsed) */
  faults?: Array<string | FaultSpec>;
  powerCuts?: number;
  consolePort?: number;
  config?: { [field: string]: unknown };
  storageBytes?: number;
  /** how much fast every ESP32's RTC runs in deep sleep, percent (SimNodeOptions.rtcSleepFast) */
  rtcFastPct?: number;
  /** run only shard index (1..count) of the fleet: a contiguous block of its nodes */
  shard?: ShardSpec;
}

/** shard `index` of `count`, counted from 1 (as `--shard 1/4` .. `--shard 4/4`) */
export interface ShardSpec {
  index: number;
  count: number;
}

export const MAX_SHARDS = 1024;

/**
 * below this many node-days one process is faster than forking: a worker takes about 5 s to
 * start (tsx, bundles, nodes) and one process runs 0.5-0.8 node-days/s (24 nodes for 2 h: 3.8 s
 * in one process, 10.4 s over 2 workers)
 */
export const MIN_NODE_DAYS_TO_SHARD = 24;

/** what `--shards` defaults to: one worker per core, one process for a small run */
export function defaultShards(nodes: number, durationMs: number, cores: number): number {
  return (nodes * durationMs) / 86_400_000 < MIN_NODE_DAYS_TO_SHARD ? 1 : Math.max(1, Math.min(cores, nodes));
}

/** "2/4" -> { index: 2, count: 4 }; refuses what is not i/N with 1 <= i <= N */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(String(text));
  if (!m) refuse(`--shard must be i/N, shard i of N counted from 1 (e.g. 1/4 .. 4/4), got "${text}"`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  checkShard(shard);
  return shard;
}

export function checkShard(s: ShardSpec, nodes?: number): void {
  wholeIn("--shard's N", s.count, 1, MAX_SHARDS);
  if (!(Number.isInteger(s.index) && s.index >= 1 && s.index <= s.count)) refuse(`--shard i/N counts from 1: i must be from 1 to ${s.count}, got ${s.index}`);
  if (nodes !== undefined && s.count > nodes) refuse(`--shard: ${nodes} node(s) cannot make ${s.count} shards (at most one shard per node)`);
}

/** the nodes [from, to) of the whole fleet's list that shard `s` runs (contiguous, sizes differ by at most 1) */
export function shardRange(total: number, s: ShardSpec | undefined): { from: number; to: number } {
  if (!s) return { from: 0, to: total };
  return { from: Math.floor(((s.index - 1) * total) / s.count), to: Math.floor((s.index * total) / s.count) };
}

/**
 * Every option value checked, before anything runs: throws SimOptionError (FaultSpecError for
 * a --fault) with one line naming the CLI option. Returns the faults parsed.
 */
export function checkRunOptions(o: RunOptionValues): { faults: FaultSpec[] } {
  for (const b of o.boards ?? []) if (!/^[A-Za-z0-9._-]+$/.test(b)) refuse(`--board: bad board name "${b}"`);
  wholeIn("--nodes", o.nodes, 1, MAX_NODES);
  if (!(o.durationMs > 0)) refuse("--duration must be more than 0, e.g. 90m, 6h, 2d");
  if (o.durationMs > MAX_DURATION_MS) refuse("--duration is limited to a year");
  if (!Number.isInteger(o.seed)) refuse(`--seed must be an integer, got ${o.seed}`);
  if (!Number.isSafeInteger(o.seed)) refuse(`--seed is too large: ${o.seed}`);
  if (o.broker !== undefined) parseBrokerUrl(o.broker);
  const l = o.netLatency;
  if (l) {
    if (!(l.rttMinMs >= 0 && l.rttMaxMs >= l.rttMinMs && l.rttMaxMs <= MAX_RTT_MS)) refuse(`--rtt must be ms per round trip from 0 to ${MAX_RTT_MS}, the least first, got ${l.rttMinMs}-${l.rttMaxMs}`);
    wholeIn("--tls-handshake", l.tlsHandshakeMs, 0, MAX_TLS_HANDSHAKE_MS);
  }
  wholeIn("--power-cuts", o.powerCuts, 0, MAX_POWER_CUTS);
  if (o.rtcFastPct !== undefined && !(o.rtcFastPct >= 0 && o.rtcFastPct <= MAX_RTC_FAST_PCT)) refuse(`--rtc-fast must be a percent from 0 to ${MAX_RTC_FAST_PCT}, got ${o.rtcFastPct}`);
  wholeIn("--console-port", o.consolePort, 1, 65_535);
  if (o.shard) checkShard(o.shard, o.nodes);
  if (o.storageBytes !== undefined) {
    const kb = o.storageBytes / 1024;
    if (!Number.isInteger(o.storageBytes)) refuse(`--storage-kb must be a whole number of bytes, got ${kb} KB`);
    if (!(kb >= STORAGE_KB_MIN && kb <= STORAGE_KB_MAX)) refuse(`--storage-kb must be from ${STORAGE_KB_MIN} to ${STORAGE_KB_MAX}, got ${kb}`);
  }
  if (o.config !== undefined) {
    if (o.config === null || typeof o.config !== "object" || Array.isArray(o.config)) refuse("--config must be an object of config fields");
    const own = Object.keys(o.config).filter((k) => FLEET_SETS.includes(k));
    if (own.length) refuse(`--config may not set ${own.join(", ")}: the simulator sets ${FLEET_SETS.join(", ")} per node`);
  }
  const faults: FaultSpec[] = [];
  for (const f of o.faults ?? []) {
    let spec = f;
    if (typeof spec === "string") {
      try {
        spec = parseFaultSpec(spec);
      } catch (err) {
        if (err instanceof FaultSpecError) throw new FaultSpecError("--fault: " + err.message);
        throw err;
      }
    }
    if (spec.startMs >= o.durationMs) throw new FaultSpecError(`--fault: "${spec.text}" starts at ${formatDuration(spec.startMs)}, after the run ends (${formatDuration(o.durationMs)}): it would never happen`);
    faults.push(spec);
  }
  return { faults };
}

/** mqtt://host[:port] -> host and port (1883 when not given) */
export function parseBrokerUrl(url: string): { host: string; port: number } {
  const m = /^mqtt:\/\/([^/:\s]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) refuse(`--broker must look like mqtt://host:port, got "${url}"`);
  const port = m[2] ? Number(m[2]) : 1883;
  if (!(port > 0 && port < 65536)) refuse(`--broker port must be from 1 to 65535, got "${url}"`);
  return { host: m[1], port };
}

function wholeIn(name: string, n: number | undefined, min: number, max: number): void {
  if (n === undefined) return;
  if (!Number.isInteger(n)) refuse(`${name} must be a whole number, got ${n}`);
  if (n < min || n > max) refuse(`${name} must be from ${min} to ${max}, got ${n}`);
}

function refuse(message: string): never {
  throw new SimOptionError(message);
}
