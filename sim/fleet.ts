// The fleet runner: N simulated nodes running the flashed bundles on one virtual clock,
// against an embedded (or external) MQTT broker, with a host-side observer that decodes
// what arrives, fault injection, and a summary that balances every reading.
//
// Time: the clock jumps from timer to timer, but nodes talk to the broker over real loopback
// TCP. So before each jump the runner lets socket traffic settle: it watches every socket
// this process opens (node:diagnostics_channel) and yields to the event loop while a
// connection is being made, bytes written by one end have not been read by the other, or an
// MQTT request (CONNECT, QoS 1 PUBLISH, SUBSCRIBE, PINGREQ) has not been answered. A PUBACK
// reaches the node at the virtual instant of its PUBLISH; RunnerStats.lateReplies counts any
// that did not (0 in every run so far). Nodes integrate their own energy before each event.

import dc from "node:diagnostics_channel";
import net from "node:net";
import path from "node:path";
import { existsSync, readFileSync, statSync } from "node:fs";
import { pathToFileURL } from "node:url";
import mqtt from "mqtt";
import { VirtualClock } from "./clock.js";
import type { NetLatency } from "./espruino/net.js";
import { createWorld, type WorldOptions } from "./world/index.js";
import { createRng, forkSeed, type Rng } from "./random.js";
import { FaultScheduler, parseFaultSpec, randomPowerCuts, FaultSpecError, type AppliedFault, type FaultSpec, type FaultTarget } from "./faults.js";
import { USABLE_FRACTION, energyFigures } from "./energy.js";
import { formatDuration } from "./duration.js";
import { decodeMessage } from "./senml-decode.js";
import { CaptureFormatError, MAX_CAPTURE_FILE_BYTES, parseCapture, parseReplaySpec, describeRejected, splitCapture, REPLAY_MODELS, ReplayDevice, type ReplaySpec, type ReplayStats } from "./replay.js";
import { SimOptionError } from "./options.js";
import type { FleetTraces, NodeTrace, TraceReading } from "./report.js";
import type { BoardProfile, DeviceSpec } from "../firmware/board.js";
import { readNodeStats } from "../firmware/runtime/stats.js";
import type { SimNodeOptions, SimWifiNetwork } from "./node.js";
import type { SimDevice } from "./devices/types.js";
import { ensureBundle } from "../toolchain/bundle.js";
import { boardNames, defaultFleetBoards } from "../toolchain/boards.mjs";
import { ROOT } from "../toolchain/root.mjs";

export { ROOT };
const DAY_MS = 86_400_000;
export const DEFAULT_NODES = 6;
export const DEFAULT_DURATION_MS = DAY_MS;
export const SITE = "sim";
export const SIM_WIFI = { ssid: "casanode-sim", password: "casanode-sim-ap" };
/** config fields the fleet sets per node (--config may not) */
const FLEET_SETS = ["site", "node", "wifi", "broker", "keyHex"];

export { SimOptionError };

// ---------------------------------------------------------------------------------------------
// summary

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
  durationMs: number;
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
}

// ---------------------------------------------------------------------------------------------
// options

export { parseReplaySpec, type ReplaySpec };

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
function planNodes(boards: string[], count: number): Array<{ id: string; board: string }> {
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
function resolveReplays(replays: ReplaySpec[], plan: Array<{ id: string; board: string }>, profiles: Map<string, BoardProfile>): Map<string, { [device: string]: { spec: ReplaySpec; bytes: Uint8Array } }> {
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

export interface FleetProgress {
  /** virtual ms simulated so far and in all */
  doneMs: number;
  durationMs: number;
  wallMs: number;
  receivedAtBroker: number;
}

export interface FleetOptions {
  /** board profile names (boards/profiles/<name>.ts); default: every street board */
  boards?: string[];
  /** default: DEFAULT_NODES for the default boards, one per board when boards are named */
  nodes?: number;
  durationMs?: number;
  seed?: number;
  /** mqtt://host:port of an external broker; default: an embedded aedes */
  broker?: string;
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
  /** node i serves its console on TCP port first + i */
  consolePort?: number;
  /** fields layered over every node's casanode.json (e.g. { queueMax: 8000 }), validated per board as provisioning does */
  config?: { [field: string]: unknown };
  /** Storage (flash) of every node, bytes (default: the board's, 896 KB on ESP32) */
  storageBytes?: number;
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
}

export interface FleetResult {
  summary: FleetSummary;
  traces: FleetTraces;
  nodes: FleetNodeInfo[];
  runner: RunnerStats;
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
  if (!/^[A-Za-z0-9._-]+$/.test(board) || !existsSync(file)) {
    throw new SimOptionError(`unknown board "${board}"; boards: ${listBoardProfiles().join(", ")}`);
  }
  const mod = await import(pathToFileURL(file).href);
  if (!mod.profile) throw new SimOptionError(`boards/profiles/${board}.ts exports no profile`);
  return mod.profile as BoardProfile;
}

/** "esp32-air" -> "air", "linux" -> "linux" */
export function boardSuffix(board: string): string {
  return board.replace(/^esp32-/, "").toLowerCase().replace(/[^a-z0-9_-]/g, "-");
}

/** dist/<board>.js, built first when missing or older than its sources */
async function bundleFor(board: string): Promise<string> {
  const file = await ensureBundle(board);
  return readFileSync(file, "utf8");
}

function keyFor(seed: number, id: string): string {
  const rng = createRng(forkSeed(seed, "key:" + id));
  let hex = "";
  for (let i = 0; i < 32; i++) hex += Math.floor(rng() * 256).toString(16).padStart(2, "0");
  return hex;
}

function parseBrokerUrl(url: string): { host: string; port: number } {
  const m = /^mqtt:\/\/([^/:]+)(?::(\d+))?\/?$/.exec(url);
  if (!m) throw new SimOptionError(`bad --broker "${url}": use mqtt://host:port`);
  const port = m[2] ? Number(m[2]) : 1883;
  if (!(port > 0 && port < 65536)) throw new SimOptionError(`bad --broker port in "${url}"`);
  return { host: m[1], port };
}

// ---------------------------------------------------------------------------------------------
// socket traffic watch

/** MQTT packet types a client sends that the broker answers, and the answers */
const MQTT_ANSWERED: { [type: number]: boolean } = { 1: true, 6: true, 8: true, 10: true, 12: true }; // CONNECT PUBREL SUBSCRIBE UNSUBSCRIBE PINGREQ
const MQTT_ANSWERS: { [type: number]: boolean } = { 2: true, 4: true, 5: true, 7: true, 9: true, 11: true, 13: true }; // CONNACK PUBACK PUBREC PUBCOMP SUBACK UNSUBACK PINGRESP
const PUBLISH = 3;

/** Splits a byte stream into MQTT packets (fixed header + remaining length) and reports each type. */
class MqttFramer {
  private state = 0; // 0: fixed header, 1: remaining length, 2: body
  private type = 0;
  private flags = 0;
  private len = 0;
  private mul = 1;
  private left = 0;

  constructor(private onPacket: (type: number, flags: number) => void) {}

  feed(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; ) {
      if (this.state === 0) {
        const b = buf[i++];
        this.type = b >> 4;
        this.flags = b & 15;
        this.len = 0;
        this.mul = 1;
        this.state = 1;
      } else if (this.state === 1) {
        const b = buf[i++];
        this.len += (b & 127) * this.mul;
        this.mul *= 128;
        if (b & 128 && this.mul <= 128 ** 3) continue;
        this.onPacket(this.type, this.flags);
        this.left = this.len;
        this.state = this.left ? 2 : 0;
      } else {
        const n = Math.min(this.left, buf.length - i);
        i += n;
        this.left -= n;
        if (!this.left) this.state = 0;
      }
    }
  }
}

function chunkBytes(chunk: unknown, encoding?: unknown): Uint8Array {
  if (typeof chunk === "string") return Buffer.from(chunk, (typeof encoding === "string" && Buffer.isEncoding(encoding) ? encoding : "utf8") as BufferEncoding);
  return chunk instanceof Uint8Array ? chunk : new Uint8Array(0);
}

interface Watched {
  socket: net.Socket;
  server: boolean;
  /** the host-side observer's connection: when it receives does not bear on virtual time */
  ignored: boolean;
  /** a client of the broker: its MQTT requests are counted until answered */
  mqtt?: { requests: number; answers: number; out: MqttFramer; in: MqttFramer; askedAtV: number; askedAtWall: number };
}

/** an MQTT request the broker has not answered after this much wall time no longer holds virtual time */
const REPLY_WAIT_MS = 5000;

/**
 * Watches every TCP socket this process opens or accepts (node:diagnostics_channel), to tell
 * when broker traffic is still in flight: a connection being made, bytes written by one end
 * and not yet read by the other (both ends are here with the embedded broker), or an MQTT
 * request (CONNECT, QoS 1 PUBLISH, SUBSCRIBE, PINGREQ...) not yet answered. Counts replies
 * that reached a node at a later virtual time than its request: the runner's self-check.
 */
class IoWatch {
  private sockets = new Set<Watched>();
  /** server-side ends by the client's port */
  private servers = new Map<number, Watched>();
  /** set by any write or read; cleared when the runner has seen the traffic settle */
  dirty = false;
  /** replies that arrived after virtual time had moved on from their request (should stay 0) */
  lateReplies = 0;
  private onClient = (msg: unknown) => this.add((msg as { socket: net.Socket }).socket, false);
  private onServer = (msg: unknown) => this.add((msg as { socket: net.Socket }).socket, true);

  constructor(private clock: VirtualClock, private broker: { host: string; port: number }) {
    dc.subscribe("net.client.socket", this.onClient);
    dc.subscribe("net.server.socket", this.onServer);
  }

  private isBrokerClient(socket: net.Socket): boolean {
    return socket.remotePort === this.broker.port;
  }

  private add(socket: net.Socket, server: boolean): void {
    const w: Watched = { socket, server, ignored: false };
    this.sockets.add(w);
    // small MQTT packets must not wait for Nagle and delayed ACKs (tens of ms each on loopback)
    socket.setNoDelay(true);
    this.dirty = true;
    if (server && socket.remotePort) this.servers.set(socket.remotePort, w);
    const mqttOf = (): Watched["mqtt"] => {
      if (server || w.mqtt || socket.remotePort === undefined) return w.mqtt;
      if (!this.isBrokerClient(socket)) return undefined;
      const m: NonNullable<Watched["mqtt"]> = {
        requests: 0, answers: 0, askedAtV: 0, askedAtWall: 0,
        out: new MqttFramer((type, flags) => {
          if (MQTT_ANSWERED[type] || (type === PUBLISH && (flags >> 1) & 3)) {
            if (m.requests === m.answers) {
              m.askedAtV = this.clock.now();
              m.askedAtWall = performance.now();
            }
            m.requests++;
          }
        }),
        in: new MqttFramer((type) => {
          if (!MQTT_ANSWERS[type] || m.answers >= m.requests) return;
          m.answers++;
          if (!w.ignored && this.clock.now() > m.askedAtV) this.lateReplies++;
          if (m.answers < m.requests) m.askedAtV = this.clock.now();
        }),
      };
      w.mqtt = m;
      return m;
    };
    // every way bytes enter a socket: write() and cork() mark traffic at once (mqtt-packet corks
    // then writes), _write/_writev see each byte exactly once
    for (const method of ["write", "cork"] as const) {
      const original = (socket as any)[method];
      (socket as any)[method] = (...args: any[]) => {
        if (!w.ignored) this.dirty = true;
        return original.apply(socket, args);
      };
    }
    const write1 = (socket as any)._write;
    (socket as any)._write = (chunk: unknown, encoding: unknown, cb: unknown) => {
      if (!w.ignored) this.dirty = true;
      mqttOf()?.out.feed(chunkBytes(chunk, encoding));
      return write1.call(socket, chunk, encoding, cb);
    };
    const writev = (socket as any)._writev;
    if (typeof writev === "function") {
      (socket as any)._writev = (chunks: Array<{ chunk: unknown; encoding: unknown }>, cb: unknown) => {
        if (!w.ignored) this.dirty = true;
        const m = mqttOf();
        if (m) for (const c of chunks) m.out.feed(chunkBytes(c.chunk, c.encoding));
        return writev.call(socket, chunks, cb);
      };
    }
    socket.on("data", (buf: Buffer) => {
      if (!w.ignored) this.dirty = true;
      mqttOf()?.in.feed(buf);
    });
    socket.once("close", () => {
      this.sockets.delete(w);
      if (server && this.servers.get(socket.remotePort!) === w) this.servers.delete(socket.remotePort!);
    });
  }

  /** leave the connection with this local port out of busy() (both of its ends) */
  ignore(localPort: number | undefined): void {
    for (const w of this.sockets) {
      if ((!w.server && w.socket.localPort === localPort) || (w.server && w.socket.remotePort === localPort)) w.ignored = true;
    }
  }

  /** true while traffic is in flight or a connection is being made (`all`: ignored ones too) */
  busy(all = false): boolean {
    const now = performance.now();
    for (const w of this.sockets) {
      if (w.server || (w.ignored && !all)) continue;
      const c = w.socket;
      if (c.destroyed) continue;
      if (c.pending || c.connecting) return true;
      if (c.readyState !== "open") continue; // half-closed: nothing more will be answered
      const m = w.mqtt;
      if (m && m.requests > m.answers && now - m.askedAtWall < REPLY_WAIT_MS) return true;
      const s = c.localPort !== undefined ? this.servers.get(c.localPort) : undefined;
      if (s && !s.socket.destroyed && (c.bytesWritten > s.socket.bytesRead || s.socket.bytesWritten > c.bytesRead)) return true;
    }
    return false;
  }

  close(): void {
    dc.unsubscribe("net.client.socket", this.onClient);
    dc.unsubscribe("net.server.socket", this.onServer);
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// the run

interface Member {
  info: FleetNodeInfo;
  profile: BoardProfile;
  node: FleetNode;
  trace: NodeTrace;
  /** readings received, by name@time: the values seen there (a resend repeats one) */
  seen: Map<string, number[]>;
  received: number;
  duplicates: number;
  /** captures played into this node's devices */
  replays: { [device: string]: { spec: ReplaySpec } };
  badTimes: number;
}

export async function runFleet(options: FleetOptions = {}): Promise<FleetResult> {
  const log = options.log ?? (() => {});
  const seed = options.seed ?? 1;
  if (!Number.isFinite(seed)) throw new SimOptionError("--seed must be a number");
  const durationMs = options.durationMs ?? DEFAULT_DURATION_MS;
  if (!(durationMs > 0)) throw new SimOptionError("--duration must be more than 0");
  const boards = options.boards && options.boards.length ? options.boards : defaultBoards();
  if (!boards.length) throw new SimOptionError("no board profiles found in boards/profiles/");
  const count = options.nodes ?? (options.boards && options.boards.length ? boards.length : DEFAULT_NODES);
  if (!(Number.isInteger(count) && count >= 1 && count <= 10_000)) throw new SimOptionError("--nodes must be a whole number from 1 to 10000");
  const specs = (options.faults ?? []).map((f) => (typeof f === "string" ? parseFaultSpec(f) : f));
  for (const f of specs) {
    if (f.startMs >= durationMs) throw new FaultSpecError(`--fault: "${f.text}" starts at ${formatDuration(f.startMs)}, after the run ends (${formatDuration(durationMs)}): it would never happen`);
  }
  const replays = (options.replay ?? []).map((r) => (typeof r === "string" ? parseReplaySpec(r) : r));
  if (options.broker !== undefined) parseBrokerUrl(options.broker);
  if (options.powerCuts !== undefined && !(Number.isInteger(options.powerCuts) && options.powerCuts >= 0)) throw new SimOptionError("--power-cuts must be a whole number");

  if (options.storageBytes !== undefined && !(Number.isInteger(options.storageBytes) && options.storageBytes >= 16 * 1024)) throw new SimOptionError("--storage-kb must be a whole number of KB, at least 16");
  const profiles = new Map<string, BoardProfile>();
  for (const b of new Set(boards)) profiles.set(b, await loadProfile(b));
  // the node's own validator, as provisioning runs it: a config it refuses is refused here
  const { validateConfig } = await import("../firmware/config.js");
  const own = Object.keys(options.config ?? {}).filter((k) => FLEET_SETS.includes(k));
  if (own.length) throw new SimOptionError(`--config may not set ${own.join(", ")}: the simulator sets ${FLEET_SETS.join(", ")} per node`);
  for (const [b, p] of profiles) {
    const v = validateConfig(options.config ?? {}, p);
    if (!v.ok) throw new SimOptionError(`--config for ${b}: ${v.errors.join("; ")}`);
  }
  const plan = planNodes(boards, count);
  const replayPlan = resolveReplays(replays, plan, profiles);
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

  // broker
  let brokerUrl: string;
  let stopBroker: (() => Promise<void>) | undefined;
  if (options.broker) {
    brokerUrl = options.broker;
  } else {
    const { startBroker } = await import("./broker.js");
    const b = await startBroker({ port: 0 });
    brokerUrl = b.url;
    stopBroker = () => b.stop();
  }
  const brokerAddr = parseBrokerUrl(brokerUrl);
  const io = new IoWatch(clock, brokerAddr);
  const runner: RunnerStats = { steps: 0, settleTicks: 0, lateReplies: 0 };

  const members: Member[] = [];
  const byId = new Map<string, Member>();
  let received = 0;
  let observer: mqtt.MqttClient | undefined;
  const consoleServers: Array<{ close(): unknown }> = [];
  try {
    // the observer: what a city back-end would see
    try {
      observer = await mqtt.connectAsync(brokerUrl, { clientId: `casanode-sim-observer-${seed}-${process.pid}`, clean: true, reconnectPeriod: 1000, connectTimeout: 5000 });
    } catch (err) {
      throw new Error(`cannot reach the broker ${brokerUrl}: ${(err as Error).message}`);
    }
    await observer.subscribeAsync("casanode/#", { qos: 1 });
    io.ignore((observer.stream as net.Socket).localPort);
    observer.on("message", (topic, payload) => {
      let msg;
      try {
        msg = decodeMessage(topic, payload);
      } catch (err) {
        log(`observer: undecodable message on ${topic}: ${(err as Error).message}`);
        return;
      }
      const m = byId.get(msg.node);
      if (!m || msg.kind !== "data") return;
      const base = `casanode/${msg.site}/${msg.node}/`;
      for (const r of msg.pack.records) {
        if (r.value === undefined) continue;
        const name = r.name.slice(base.length);
        const key = name + "@" + r.time;
        // a QoS 1 resend repeats a value; another value at the same name and time is another reading
        const values = m.seen.get(key) ?? [];
        if (values.includes(r.value)) {
          m.duplicates++;
          continue;
        }
        m.seen.set(key, [...values, r.value]);
        m.received++;
        received++;
        if (!plausibleTime(name, r, startMs, clock.now())) {
          if (!m.badTimes) log(`observer: ${msg.node} sent ${name} stamped ${r.relative ? "relative " + (r.time - Date.now() / 1000).toFixed(0) + " s" : new Date(r.time * 1000).toISOString()}, outside the run`);
          m.badTimes++;
        }
        m.trace.readings.push({ t: Math.round(r.time * 1000), name, unit: r.unit ?? "", value: r.value } satisfies TraceReading);
      }
    });

    // faults: the scheduler gets the nodes as they are made
    const targets: FaultTarget[] = [];
    const faults = new FaultScheduler(clock, startMs, endMs, targets, log);

    // the fleet
    const wifiFor = (id: string): SimWifiNetwork => ({ ssid: SIM_WIFI.ssid, password: SIM_WIFI.password, up: (t) => faults.wifiUp(id, t) });
    const sharedSeed = forkSeed(seed, "city");
    let hostNo = 100;
    for (const { id, board } of plan) {
      const profile = profiles.get(board)!;
      const keyHex = keyFor(seed, id);
      const replayed = replayPlan.get(id) ?? {};
      const replay: { [device: string]: Uint8Array } = {};
      for (const name of Object.keys(replayed)) replay[name] = replayed[name].bytes;
      const config = {
        site: SITE,
        node: id,
        wifi: options.staticIp && profile.power.source === "battery" && hostNo < 255
          ? { ssid: SIM_WIFI.ssid, password: SIM_WIFI.password, ip: `192.168.4.${hostNo++}`, gw: "192.168.4.1", netmask: "255.255.255.0" }
          : { ssid: SIM_WIFI.ssid, password: SIM_WIFI.password },
        broker: { host: brokerAddr.host, port: brokerAddr.port },
        keyHex,
        tzOffsetMin: 60, // Casablanca keeps UTC+1, as the world models do
        ...options.config,
      };
      const rng: Rng = createRng(forkSeed(seed, "node:" + id));
      const node = createNode({
        id,
        board: profile,
        bundle: bundles.get(board)!,
        config,
        clock,
        world: createWorld(forkSeed(seed, "world:" + id), { sharedSeed, ...options.world }),
        rng,
        wifi: wifiFor(id),
        brokerReachable: (t) => faults.brokerReachable(id, t),
        replay: Object.keys(replay).length ? replay : undefined,
        onConsole: options.onConsole ? (text) => options.onConsole!(id, text) : undefined,
        storageBytes: options.storageBytes,
        netLatency: options.netLatency,
      });
      const info: FleetNodeInfo = { id, board, keyHex };
      const m: Member = { info, profile, node, trace: { id, board, readings: [], power: [], charge: [], queue: [] }, seen: new Map(), received: 0, duplicates: 0, badTimes: 0, replays: replayed };
      members.push(m);
      byId.set(id, m);
      targets.push({ id, board, devices: node.devices, powerCut: (ms: number) => node.powerCut(ms) });
    }
    if (options.powerCuts) specs.push(...randomPowerCuts(options.powerCuts, createRng(forkSeed(seed, "power-cuts")), members.map((m) => m.info.id), durationMs));
    faults.schedule(specs);

    // consoles
    if (options.consolePort !== undefined) {
      const first = options.consolePort;
      if (!(Number.isInteger(first) && first > 0 && first + members.length - 1 < 65536)) throw new SimOptionError("--console-port must leave room for one port per node below 65536");
      const mod = await importOptional("./espruino/console-server.js");
      if (!mod?.serveConsole) throw new SimOptionError("--console-port: the console server (sim/espruino/console-server.ts) is not available");
      for (let i = 0; i < members.length; i++) {
        const port = first + i;
        members[i].info.consolePort = port;
        try {
          consoleServers.push(await mod.serveConsole(members[i].node, port));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const why = code === "EADDRINUSE" ? "is in use (another sim or program?)" : code === "EACCES" ? "needs privileges (use a port above 1023)" : `cannot be opened (${code ?? (err as Error).message})`;
          throw new SimOptionError(`--console-port: port ${port} (${members[i].info.id}'s console) ${why}; node i serves on <port>+i, so the ${members.length} ports from the first must be free`);
        }
        log(`${members[i].info.id}: console on telnet://127.0.0.1:${port}`);
      }
    }

    for (const m of members) m.node.start();

    // the clock loop
    const sampleEvery = options.sampleEveryMs ?? Math.max(60_000, Math.round(durationMs / 288));
    // two samples per grid point, 1 ms before it and at it: firmware often flushes on the same
    // round grid, so this shows the queue both just before and just after an upload
    let nextGrid = startMs;
    let nextSample = startMs;
    const advanceSample = () => {
      if (nextSample === nextGrid) {
        nextGrid += sampleEvery;
        nextSample = nextGrid - 1;
      } else nextSample = nextGrid;
    };
    const progressEvery = options.progressEveryMs ?? 200;
    let lastProgress = -Infinity;
    let lastYield = performance.now();
    const sample = (t: number) => {
      for (const m of members) {
        m.node.updateEnergy();
        m.trace.charge.push([t, m.node.stats.chargeMah]);
        m.trace.queue.push([t, readNodeStats(m.node.storage).queued]);
      }
    };
    const settle = async () => {
      const began = performance.now();

      let quietRounds = 0;
      // only writes (and new sockets) put bytes in flight: no write since the last settle, nothing to wait for
      while (io.dirty) {
        await tick();
        runner.settleTicks++;
        clock.runUntil(clock.now()); // socket events the emulation put on the clock
        if (io.busy()) quietRounds = 0;
        else if (++quietRounds >= 2) io.dirty = false; // two quiet turns: what the broker does after reading is done too
        if (performance.now() - began > 10_000) {
          log("runner: network traffic did not settle within 10 s of wall time; moving on");
          io.dirty = false;
          break;
        }
      }
      if (performance.now() - lastYield > 20) {
        await tick(); // let the observer, console servers and timers of the host run
        lastYield = performance.now();
      }
    };

    let aborted = false;
    for (;;) {
      await settle();
      if (options.signal?.aborted) {
        aborted = true;
        break;
      }
      const next = clock.nextAt();
      if (clock.now() >= endMs && (next === undefined || next > endMs)) break;
      const target = Math.min(next ?? endMs, endMs, nextSample);
      if (options.realtime) await pace(clock, target, startMs, wallStart);
      clock.runUntil(target);
      runner.steps++;
      if (clock.now() >= nextSample && nextSample <= endMs) {
        await settle();
        sample(nextSample);
        advanceSample();
      }
      const wall = performance.now();
      if (options.onProgress && wall - lastProgress >= progressEvery) {
        lastProgress = wall;
        options.onProgress({ doneMs: clock.now() - startMs, durationMs, wallMs: wall - wallStart, receivedAtBroker: received });
      }
    }
    const finalMs = clock.now();
    for (const m of members) m.node.updateEnergy();
    if (members.length && members[0].trace.charge.at(-1)?.[0] !== finalMs) sample(finalMs);
    // let the last messages reach the observer
    await settle();
    const drainStart = performance.now();
    let quiet = 0;
    while (quiet < 5 && performance.now() - drainStart < 5000) {
      await tick();
      quiet = io.busy(true) ? 0 : quiet + 1;
    }
    options.onProgress?.({ doneMs: finalMs - startMs, durationMs, wallMs: performance.now() - wallStart, receivedAtBroker: received });

    const wallMs = performance.now() - wallStart;
    runner.lateReplies = io.lateReplies;
    const summary = summarise({ seed, startMs, endMs: finalMs, boards: [...profiles.keys()], broker: options.broker ?? "embedded", realtime: !!options.realtime, stoppedEarly: aborted, wallMs, members, applied: faults.applied });
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
    io.close();
    if (stopBroker) await stopBroker();
  }
}

/** wait until the wall clock has caught up with virtual time `target` (realtime mode) */
async function pace(clock: VirtualClock, target: number, startMs: number, wallStart: number): Promise<void> {
  for (;;) {
    const wallNow = startMs + (performance.now() - wallStart);
    if (wallNow >= target) return;
    // move time with the wall clock in small steps, so consoles see it pass
    if (wallNow > clock.now()) clock.runUntil(wallNow);
    await new Promise((r) => setTimeout(r, Math.min(50, target - wallNow)));
  }
}

/** names of values that summarise a span stamped with its start: a window (at most a day), a day */
const SUMMARY_RE = /\.(mean|min|max|L10|L50|L90|Lday|Levening|Lnight|Lden)$/;

/**
 * A reading's time is possible if it was taken during the run: a sample's within it, a
 * summary's span (stamped with its start, at most a day) overlapping it. Relative SenML
 * times (below 2^28) are never CasaNode's: a node sent time since its boot.
 */
export function plausibleTime(name: string, r: { time: number; relative?: boolean }, startMs: number, endMs: number): boolean {
  if (r.relative) return false;
  const ms = r.time * 1000;
  // bt is whole seconds
  return ms <= endMs && ms >= startMs - 1000 - (SUMMARY_RE.test(name) ? DAY_MS : 0);
}

async function importOptional(spec: string): Promise<any> {
  try {
    return await import(spec);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw err;
  }
}

function replaySummaries(m: Member): ReplaySummary[] {
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

function summarise(a: { seed: number; startMs: number; endMs: number; boards: string[]; broker: string; realtime: boolean; stoppedEarly: boolean; wallMs: number; members: Member[]; applied: AppliedFault[] }): FleetSummary {
  const durationMs = a.endMs - a.startMs;
  const nodes: NodeSummary[] = a.members.map((m) => {
    const st = readNodeStats(m.node.storage);
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
  const sum = (k: keyof NodeSummary) => nodes.reduce((s, n) => s + ((n[k] as number) || 0), 0);
  const totals: FleetTotals = {
    nodes: nodes.length,
    readings: sum("readings"),
    published: sum("published"),
    acked: sum("acked"),
    queued: sum("queued"),
    dropped: sum("dropped"),
    untimed: sum("untimed"),
    lost: sum("lost"),
    receivedAtBroker: sum("receivedAtBroker"),
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
  return {
    seed: a.seed,
    startMs: a.startMs,
    endMs: a.endMs,
    durationMs,
    boards: a.boards,
    broker: a.broker,
    realtime: a.realtime,
    stoppedEarly: a.stoppedEarly,
    wallMs: Math.round(a.wallMs),
    nodeDaysPerSecond: a.wallMs > 0 ? (nodes.length * durationMs) / DAY_MS / (a.wallMs / 1000) : 0,
    usableFraction: USABLE_FRACTION,
    totals,
    nodes,
    faults: a.applied,
  };
}

export { FaultSpecError };
