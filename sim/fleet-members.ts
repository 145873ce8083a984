// The fleet's members: which nodes the run has (ids after their boards), where captures are
// replayed, each node's provisioning (config, key, Wi-Fi) and the node itself, and the TCP
// consoles. A member also carries what the observer counted for it and its trace.

import { readFileSync, statSync } from "node:fs";
import type { VirtualClock } from "./clock.js";
import type { NetLatency } from "./espruino/net.js";
import { createWorld, type WorldOptions } from "./world/index.js";
import { createRng, forkSeed, type Rng } from "./random.js";
import type { FaultScheduler, FaultTarget } from "./faults.js";
import { CaptureFormatError, MAX_CAPTURE_FILE_BYTES, parseCapture, splitCapture, REPLAY_MODELS, type ReplaySpec } from "./replay.js";
import { SimOptionError } from "./options.js";
import type { FleetNodeInfo, NodeTrace, SummarisedMember } from "./fleet-summary.js";
import type { BoardProfile, DeviceSpec } from "../firmware/board.js";
import type { SimNodeOptions, SimWifiNetwork } from "./node.js";
import type { SimDevice } from "./devices/types.js";

export const SITE = "sim";
export const SIM_WIFI = { ssid: "casanode-sim", password: "casanode-sim-ap" };

/** What the runner uses of a node: SimNode (sim/node.ts) is the real one; tests may pass another. */
export interface FleetNode {
  readonly devices: { [name: string]: SimDevice };
  readonly storage: StorageModule;
  readonly stats: { boots: number; wakes: number; crashes: number; lastError?: string; awakeMs: number; radioMs: number; chargeMah: number };
  readonly trace: Array<{ t: number; state: string; on: boolean }>;
  start(): void;
  powerCut(offMs: number): void;
  updateEnergy(): void;
  stop(): void;
}

export type FleetNodeFactory = (opts: SimNodeOptions) => FleetNode;

/** a node of the run, with what the observer counted for it */
export interface FleetMember extends SummarisedMember {
  /** place in the whole fleet's node list (not in this shard's) */
  index: number;
  node: FleetNode;
  trace: NodeTrace;
  /** the node's most recent readings, by name@time: the values seen there (a resend repeats one); see fleet-observer.ts */
  recent: Map<string, number[]>;
}

/** a node's place in the run, and the captures its devices play */
export interface PlannedNode {
  id: string;
  board: string;
}

export type ReplayPlan = Map<string, { [device: string]: { spec: ReplaySpec; bytes: Uint8Array } }>;

/** "esp32-air" -> "air", "linux" -> "linux" */
export function boardSuffix(board: string): string {
  return board.replace(/^esp32-/, "").toLowerCase().replace(/[^a-z0-9_-]/g, "-");
}

/**
 * A captured byte log: a regular file of at most MAX_CAPTURE_FILE_BYTES, read as hex text, xxd
 * or hexdump -C output, or (raw) as the bytes themselves: see sim/replay.ts.
 */
export function readReplayFile(file: string, raw = false): Uint8Array {
  const opt = raw ? "--replay-raw" : "--replay";
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SimOptionError(code === "ENOENT" ? `${opt}: no file ${file}` : `${opt}: cannot read ${file} (${code ?? (err as Error).message})`);
  }
  if (st.isDirectory()) throw new SimOptionError(`${opt}: ${file} is a directory, not a capture file`);
  if (!st.isFile()) throw new SimOptionError(`${opt}: ${file} is not a regular file (a device or pipe?): save the capture to a file first`);
  if (st.size > MAX_CAPTURE_FILE_BYTES) throw new SimOptionError(`${opt}: ${file} is ${st.size} bytes, more than the ${MAX_CAPTURE_FILE_BYTES} a capture may have`);
  let data: Uint8Array;
  try {
    data = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new SimOptionError(`${opt}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseCapture(data, { raw });
  } catch (err) {
    if (err instanceof CaptureFormatError) throw new SimOptionError(`${opt}: ${file}: ${err.message}`);
    throw err;
  }
}

/** nodes the fleet will have, in order: id and board (ids are <board suffix>-<nn>) */
export function planNodes(boards: string[], count: number): PlannedNode[] {
  const perBoard = new Map<string, number>();
  const out: Array<{ id: string; board: string }> = [];
  for (let i = 0; i < count; i++) {
    const board = boards[i % boards.length];
    const n = (perBoard.get(board) ?? 0) + 1;
    perBoard.set(board, n);
    out.push({ id: `${boardSuffix(board)}-${String(n).padStart(2, "0")}`, board });
  }
  return out;
}

/** where a replay plays: node id -> device name -> capture; refuses targets that are unclear */
export function resolveReplays(replays: ReplaySpec[], plan: PlannedNode[], profiles: Map<string, BoardProfile>): ReplayPlan {
  const out = new Map<string, { [device: string]: { spec: ReplaySpec; bytes: Uint8Array } }>();
  const captures = new Map<string, Uint8Array>();
  for (const r of replays) {
    const opt = r.raw ? "--replay-raw" : "--replay";
    const what = `${r.node ? r.node + "/" : ""}${r.device}=${r.file}`;
    const hits: Array<{ id: string; board: string; device: DeviceSpec }> = [];
    for (const n of plan) {
      if (r.node !== undefined && r.node !== n.id && r.node !== n.board) continue;
      for (const d of profiles.get(n.board)!.devices) if (d.name === r.device || d.model === r.device) hits.push({ id: n.id, board: n.board, device: d });
    }
    if (!hits.length) throw new SimOptionError(`${opt}: no node has a device "${r.device}"${r.node ? ` on ${r.node}` : ""}`);
    const models = [...new Set(hits.map((h) => h.device.model))];
    const key = (r.raw ? "raw:" : "text:") + r.file;
    const bytes = () => {
      if (!captures.has(key)) captures.set(key, readReplayFile(r.file, r.raw));
      return captures.get(key)!;
    };
    if (models.length > 1) {
      const where = models.map((m) => `${m} on ${[...new Set(hits.filter((h) => h.device.model === m).map((h) => h.board))].join(", ")}`).join("; ");
      // suggest the model whose framing finds the most frames in the capture
      const frames = (m: string) => (REPLAY_MODELS.includes(m) ? splitCapture(m, bytes()).filter((u) => u.kind === "frame").length : -1);
      const best = models.map((m) => [m, frames(m)] as const).sort((a, b) => b[1] - a[1])[0][0];
      const name = hits.find((h) => h.device.model === best)!;
      throw new SimOptionError(`${opt}: "${r.device}" is more than one sensor model (${where}): one capture fits one model; name the model (${best}=${r.file}) or the board (${name.board}/${name.device.name}=${r.file})`);
    }
    if (!REPLAY_MODELS.includes(models[0])) throw new SimOptionError(`${opt}: ${what}: "${r.device}" is a ${models[0]}; captures play into UART sensors (${REPLAY_MODELS.join(", ")})`);
    bytes();
    for (const h of hits) {
      const devs = out.get(h.id) ?? {};
      devs[h.device.name] = { spec: r, bytes: captures.get(key)! };
      out.set(h.id, devs);
    }
  }
  return out;
}

function keyFor(seed: number, id: string): string {
  const rng = createRng(forkSeed(seed, "key:" + id));
  let hex = "";
  for (let i = 0; i < 32; i++) hex += Math.floor(rng() * 256).toString(16).padStart(2, "0");
  return hex;
}

export interface MemberOptions {
  seed: number;
  /** the whole fleet's nodes */
  plan: PlannedNode[];
  /** the nodes of plan this process runs: [from, to) */
  from: number;
  to: number;
  profiles: Map<string, BoardProfile>;
  bundles: Map<string, string>;
  replays: ReplayPlan;
  clock: VirtualClock;
  broker: { host: string; port: number };
  faults: FaultScheduler;
  createNode: FleetNodeFactory;
  /** battery nodes get static addresses on the AP's subnet */
  staticIp?: boolean;
  config?: { [field: string]: unknown };
  world?: WorldOptions;
  storageBytes?: number;
  netLatency?: NetLatency;
  rtcFastPct?: number;
  onConsole?: (nodeId: string, text: string) => void;
  /** how the nodes' sockets are made (default: real TCP; the fleet's pipe to its embedded broker) */
  createNet?: SimNodeOptions["createNet"];
}

/** the static address of each battery node of the whole fleet (by its place in the plan), while the AP's /24 has room */
function staticAddresses(plan: PlannedNode[], profiles: Map<string, BoardProfile>): Map<number, string> {
  const out = new Map<number, string>();
  let hostNo = 100;
  for (let i = 0; i < plan.length && hostNo < 255; i++) {
    if (profiles.get(plan[i].board)!.power.source === "battery") out.set(i, `192.168.4.${hostNo++}`);
  }
  return out;
}

/**
 * Provision and make the planned nodes [from, to) into `members` (stopped at the end even if a
 * later one fails); each becomes a fault target as it is made. Everything about a node comes
 * from its id or its place in the whole plan, never from its place in this shard.
 */
export function createMembers(o: MemberOptions, targets: FaultTarget[], members: FleetMember[]): void {
  const wifiFor = (id: string): SimWifiNetwork => ({ ssid: SIM_WIFI.ssid, password: SIM_WIFI.password, up: (t) => o.faults.wifiUp(id, t) });
  const sharedSeed = forkSeed(o.seed, "city");
  const addresses = o.staticIp ? staticAddresses(o.plan, o.profiles) : new Map<number, string>();
  for (let index = o.from; index < o.to; index++) {
    const { id, board } = o.plan[index];
    const profile = o.profiles.get(board)!;
    const ip = addresses.get(index);
    const keyHex = keyFor(o.seed, id);
    const replayed = o.replays.get(id) ?? {};
    const replay: { [device: string]: Uint8Array } = {};
    for (const name of Object.keys(replayed)) replay[name] = replayed[name].bytes;
    const config = {
      site: SITE,
      node: id,
      wifi: ip
        ? { ssid: SIM_WIFI.ssid, password: SIM_WIFI.password, ip, gw: "192.168.4.1", netmask: "255.255.255.0" }
        : { ssid: SIM_WIFI.ssid, password: SIM_WIFI.password },
      broker: { host: o.broker.host, port: o.broker.port },
      keyHex,
      tzOffsetMin: 60, // Casablanca keeps UTC+1, as the world models do
      ...o.config,
    };
    const rng: Rng = createRng(forkSeed(o.seed, "node:" + id));
    const node = o.createNode({
      id,
      board: profile,
      bundle: o.bundles.get(board)!,
      config,
      clock: o.clock,
      world: createWorld(forkSeed(o.seed, "world:" + id), { sharedSeed, ...o.world }),
      rng,
      wifi: wifiFor(id),
      brokerReachable: (t) => o.faults.brokerReachable(id, t),
      replay: Object.keys(replay).length ? replay : undefined,
      onConsole: o.onConsole ? (text) => o.onConsole!(id, text) : undefined,
      storageBytes: o.storageBytes,
      netLatency: o.netLatency,
      rtcSleepFast: o.rtcFastPct ? o.rtcFastPct / 100 : undefined,
      ...(o.createNet ? { createNet: o.createNet } : {}),
    });
    const info: FleetNodeInfo = { id, board, keyHex };
    members.push({ index, info, profile, node, trace: { id, board, readings: [], power: [], charge: [], queue: [] }, recent: new Map(), received: 0, messages: 0, duplicates: 0, badTimes: 0, replays: replayed });
    targets.push({ id, board, devices: node.devices, powerCut: (ms: number) => node.powerCut(ms) });
  }
}

/** node i of the whole fleet serves its console on TCP port first + i (sim/espruino/console-server.ts); the servers, to close at the end */
export async function serveConsoles(members: FleetMember[], fleetSize: number, first: number, log: (line: string) => void, servers: Array<{ close(): unknown }>): Promise<void> {
  if (!(Number.isInteger(first) && first > 0 && first + fleetSize - 1 < 65536)) throw new SimOptionError("--console-port must leave room for one port per node below 65536");
  const mod = await importOptional("./espruino/console-server.js");
  if (!mod?.serveConsole) throw new SimOptionError("--console-port: the console server (sim/espruino/console-server.ts) is not available");
  for (let i = 0; i < members.length; i++) {
    const port = first + members[i].index;
    members[i].info.consolePort = port;
    try {
      servers.push(await mod.serveConsole(members[i].node, port));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "EADDRINUSE" ? "is in use (another sim or program?)" : code === "EACCES" ? "needs privileges (use a port above 1023)" : `cannot be opened (${code ?? (err as Error).message})`;
      throw new SimOptionError(`--console-port: port ${port} (${members[i].info.id}'s console) ${why}; node i serves on <port>+i, so the ${fleetSize} ports from the first must be free`);
    }
    log(`${members[i].info.id}: console on telnet://127.0.0.1:${port}`);
  }
}

async function importOptional(spec: string): Promise<any> {
  try {
    return await import(spec);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw err;
  }
}
