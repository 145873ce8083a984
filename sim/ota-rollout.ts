// An over-the-air rollout as the back office makes it (docs/ota.md): the bundle cut into
// chunks published once, retained, on per-board topics, and a manifest signed with each
// node's own key, retained on its ota topic; then where each node stands from its retained
// ota-state report. Shared by `casanode ota` (tools/ota.ts) and the simulator's --ota.

import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import mqtt from "mqtt";
import { signManifest, bundleId, chunkCount, parseVersion, DEFAULT_CHUNK_BYTES, MAX_BUNDLE_BYTES, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_MANIFEST_BYTES, type Manifest } from "../firmware/ota/manifest.js";
import { chunkTopic, frameChunk, otaTopic, type OtaReport } from "../firmware/ota/messages.js";
import { idError } from "../firmware/messages/topics.js";

/** bad rollout input: one line for the person, exit code 2 on the command line */
export class RolloutError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = "RolloutError";
  }
}

const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("binary");
const crc = (s: string) => crc32(Buffer.from(s, "latin1"));

export interface RolloutOptions {
  /** the bundle's bytes (latin1: one char per byte) */
  bundle: string;
  board: string;
  site: string;
  /** the nodes, each with its key */
  nodes: { node: string; keyHex: string }[];
  fw: string;
  /** manifest counter (default: Unix time in ms, as commands) */
  ctr?: number;
  cs?: number;
  /** signed as a downgrade */
  down?: boolean;
  /** issue time, Unix s (default now) */
  ts?: number;
}

export interface Publication {
  topic: string;
  payload: string;
}

export interface Rollout {
  id: string;
  fw: string;
  board: string;
  site: string;
  size: number;
  manifest: Omit<Manifest, "ctr" | "ts"> & { ctr: number; ts: number };
  /** retained, once for the whole board */
  chunks: Publication[];
  /** retained, one per node */
  manifests: (Publication & { node: string })[];
}

/** Manifests and chunks for a fleet; throws a RolloutError on bad input. Pure. */
export function planRollout(o: RolloutOptions): Rollout {
  const cs = o.cs ?? DEFAULT_CHUNK_BYTES;
  if (!o.bundle.length || o.bundle.length > MAX_BUNDLE_BYTES) throw new RolloutError(`the bundle is ${o.bundle.length} bytes; a node takes 1..${MAX_BUNDLE_BYTES}`, 2);
  if (!Number.isInteger(cs) || cs < MIN_CHUNK_BYTES || cs > MAX_CHUNK_BYTES) throw new RolloutError(`--chunk must be ${MIN_CHUNK_BYTES}..${MAX_CHUNK_BYTES} bytes (a chunk, its topic and CRC fit in a node's 1024-byte packet)`, 2);
  if (!parseVersion(o.fw)) throw new RolloutError(`--fw must be major.minor.patch, got ${JSON.stringify(o.fw)}`, 2);
  if (!/^[a-z0-9_-]+$/.test(o.board)) throw new RolloutError(`bad board name ${JSON.stringify(o.board)}`, 2);
  if (!o.nodes.length) throw new RolloutError(`no nodes of board ${o.board} at site ${o.site} in the keys given`, 2);
  const m: Manifest = { ctr: o.ctr ?? Date.now(), ts: o.ts ?? Math.floor(Date.now() / 1000), board: o.board, fw: o.fw, size: o.bundle.length, cs, sha: createHash("sha256").update(Buffer.from(o.bundle, "latin1")).digest("hex"), down: o.down ? 1 : 0 };
  const id = bundleId(m);
  const chunks: Publication[] = [];
  for (let k = 0; k < chunkCount(m); k++) chunks.push({ topic: chunkTopic(o.board, id, k), payload: frameChunk(o.bundle.substring(k * cs, (k + 1) * cs), crc) });
  const manifests = o.nodes.map(({ node, keyHex }) => {
    const bad = idError(o.site, node);
    if (bad) throw new RolloutError(bad, 2);
    if (!/^[0-9a-fA-F]{64}$/.test(keyHex)) throw new RolloutError(`the key of ${node} must be 64 hex digits`, 2);
    const payload = signManifest(node, keyHex, m, sha256);
    if (payload.length > MAX_MANIFEST_BYTES) throw new RolloutError(`manifest of ${payload.length} bytes`, 2);
    return { node, topic: otaTopic(o.site, node), payload };
  });
  return { id, fw: o.fw, board: o.board, site: o.site, size: m.size, manifest: m, chunks, manifests };
}

// ---- progress ----

export type NodeProgress = "updated" | "trial" | "fetching" | "failed" | "refused" | "rolled-back" | "waiting";

export interface Tally {
  id: string;
  fw: string;
  counts: { [k in NodeProgress]: number };
  /** why nodes failed, refused or rolled back: reason -> nodes */
  why: { [reason: string]: string[] };
  nodes: { node: string; progress: NodeProgress; text: string }[];
}

/**
 * Where each node stands with bundle id, from its last ota-state report (undefined: none
 * yet). A report about another bundle counts as waiting, unless the node already runs this
 * version. Pure: the CLI and the simulator's summary share it.
 */
export function tallyRollout(target: { id: string; fw: string }, nodes: string[], reports: { [node: string]: OtaReport | undefined }): Tally {
  const t: Tally = { id: target.id, fw: target.fw, counts: { updated: 0, trial: 0, fetching: 0, failed: 0, refused: 0, "rolled-back": 0, waiting: 0 }, why: {}, nodes: [] };
  for (const node of [...nodes].sort()) {
    const r = reports[node];
    let p: NodeProgress = "waiting", text = "no report yet";
    if (r && r.id === target.id) {
      if (r.state === "done") p = "updated";
      else if (r.state === "trial") p = "trial";
      else if (r.state === "fetching") p = "fetching";
      else if (r.state === "failed" || r.state === "refused" || r.state === "rolled-back") p = r.state;
      text = r.state + (r.of ? ` ${r.have}/${r.of} chunks` : "") + (r.error ? `: ${r.error}` : "") + (r.detail ? ` (${r.detail})` : "") + `, runs ${r.run}`;
    } else if (r && r.run === target.fw && r.state === "done") {
      p = "updated";
      text = "runs " + r.run;
    } else if (r) text = `last report about another bundle (${r.state} ${r.id ?? ""}), runs ${r.run}`;
    if (p === "failed" || p === "refused" || p === "rolled-back") (t.why[`${p}: ${r!.error ?? ""}${r!.detail ? " (" + r!.detail + ")" : ""}`] ??= []).push(node);
    t.counts[p]++;
    t.nodes.push({ node, progress: p, text });
  }
  return t;
}

export function formatTally(t: Tally, perNode = false): string {
  const c = t.counts, total = t.nodes.length;
  const lines = [`${t.fw} (${t.id}): ${c.updated}/${total} updated, ${c.trial} on trial, ${c.fetching} fetching, ${c.waiting} waiting, ${c.failed} failed, ${c.refused} refused, ${c["rolled-back"]} rolled back`];
  for (const [why, nodes] of Object.entries(t.why)) lines.push(`  ${why}: ${nodes.join(", ")}`);
  if (perNode) for (const n of t.nodes) lines.push(`  ${n.node}: ${n.text}`);
  return lines.join("\n");
}

/** a report payload from the wire, or undefined if it is not one */
export function parseReport(payload: string): OtaReport | undefined {
  try {
    const r = JSON.parse(payload);
    return r && typeof r === "object" && typeof r.state === "string" && typeof r.run === "string" ? r : undefined;
  } catch {
    return undefined;
  }
}

// ---- publishing ----

export async function connectBroker(broker: string): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(broker, { clientId: "casanode-ota-" + Math.random().toString(16).slice(2, 10), connectTimeout: 5000, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", (err) => reject(new RolloutError(`cannot reach the broker ${broker}: ${err.message}`, 1)));
    client.once("close", () => reject(new RolloutError(`cannot reach the broker ${broker}`, 1)));
  });
  return client;
}

/** Chunks first (a node that sees its manifest finds every chunk), then the manifests. */
export async function publishRollout(plan: Rollout, broker: string): Promise<void> {
  const client = await connectBroker(broker);
  try {
    for (const c of plan.chunks) await client.publishAsync(c.topic, Buffer.from(c.payload, "latin1"), { qos: 1, retain: true });
    for (const m of plan.manifests) await client.publishAsync(m.topic, m.payload, { qos: 1, retain: true });
  } finally {
    client.end(true);
  }
}
