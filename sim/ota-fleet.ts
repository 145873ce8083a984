// `casanode sim --ota <bundle>@<time>`: an over-the-air rollout to the simulated fleet. At
// <time> the back office's rollout (ota-rollout.ts: chunks retained per board, a manifest
// signed with each node's key) is published on the run's broker, as `casanode ota` would;
// the nodes' retained ota-state reports are read as it reads them, and the summary says per
// node the version it ends on (its boot record) and where its update stands.

import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import mqtt from "mqtt";
import type { VirtualClock } from "./clock.js";
import { crc32 } from "./espruino/crc32.js";
import { formatDuration, parseDuration, DurationError } from "./duration.js";
import { SimOptionError } from "./options.js";
import { planRollout, tallyRollout, parseReport, RolloutError, type Rollout, type Tally } from "./ota-rollout.js";
import { readRecord } from "../firmware/ota/boot.js";
import { otaStateTopic, parseOtaStateTopic, type OtaReport } from "../firmware/ota/messages.js";
import { untokenise } from "../toolchain/pretokenise.mjs";

/** an update to roll out during a run */
export interface FleetOta {
  /** the bundle's bytes (latin1) */
  bundle: string;
  /** when, ms after the start of the run */
  atMs: number;
  /** the board whose nodes get it */
  board: string;
  /** the version it reports */
  fw: string;
  /** where it came from (for the summary) */
  file?: string;
  /** sign it as a downgrade */
  down?: boolean;
}

export interface FleetOtaSummary {
  id: string;
  fw: string;
  board: string;
  file?: string;
  atMs: number;
  /** published (false: the run ended before <time>) */
  published: boolean;
  counts: Tally["counts"];
  why: Tally["why"];
  /** every node of the run: the version it ends on (from its boot record) and its update's last word */
  nodes: Array<{ id: string; board: string; fw: string; progress: string; text: string }>;
}

/** the version a bundle reports: its one "x.y.z" literal (config.ts FIRMWARE_VERSION), or undefined */
export function bundleVersion(image: string): string | undefined {
  const found = new Set(Array.from(untokenise(image).matchAll(/"(\d+\.\d+\.\d+)"/g), (m) => m[1]));
  return found.size === 1 ? [...found][0] : undefined;
}

/**
 * --ota <bundle>@<time> (with --ota-board, --ota-fw) to a FleetOta; throws SimOptionError.
 * The board defaults to the file's name (dist/esp32-bin.js) or the run's only board, the
 * version to the one literal in the bundle.
 */
export function parseOtaOption(spec: string, o: { board?: string; fw?: string; boards: string[]; durationMs: number }): FleetOta {
  const at = spec.lastIndexOf("@");
  if (at <= 0 || at === spec.length - 1) throw new SimOptionError(`--ota must be <bundle>@<time>, e.g. dist/esp32-bin.js@2h, got "${spec}"`);
  const file = spec.slice(0, at);
  let atMs: number;
  try {
    atMs = parseDuration(spec.slice(at + 1));
  } catch (err) {
    if (err instanceof DurationError) throw new SimOptionError(`--ota: ${err.message}`);
    throw err;
  }
  if (atMs >= o.durationMs) throw new SimOptionError(`--ota: at ${formatDuration(atMs)}, after the run ends (${formatDuration(o.durationMs)}): it would never be published`);
  let bundle: string;
  try {
    if (!statSync(file).isFile()) throw new Error("not a regular file");
    bundle = readFileSync(file).toString("latin1");
  } catch (err) {
    throw new SimOptionError(`--ota: cannot read the bundle ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const named = path.basename(file).replace(/\.js$/, "");
  const board = o.board ?? (o.boards.includes(named) ? named : o.boards.length === 1 ? o.boards[0] : undefined);
  if (!board) throw new SimOptionError(`--ota: which board is ${file} for? Name it with --ota-board (the run has ${o.boards.join(", ")})`);
  if (!o.boards.includes(board)) throw new SimOptionError(`--ota-board ${board}: no node of the run has that board (${o.boards.join(", ")})`);
  const fw = o.fw ?? bundleVersion(bundle);
  if (!fw) throw new SimOptionError(`--ota: cannot tell the version of ${file} (no single "x.y.z" in it): give it with --ota-fw`);
  try {
    planRollout({ bundle, board, site: "sim", nodes: [{ node: "check", keyHex: "00".repeat(32) }], fw });
  } catch (err) {
    if (err instanceof RolloutError) throw new SimOptionError(`--ota: ${err.message}`);
    throw err;
  }
  return { bundle, atMs, board, fw, file };
}

interface Member {
  info: { id: string; board: string; keyHex: string };
  node: { readonly storage: StorageModule };
}

/**
 * Connect the back office to the run's broker (a watched connection: the clock waits for its
 * publishes), publish the rollout at its time, and keep the nodes' reports. `baseFw`: the
 * version each board's flashed bundle reports (a node without a boot record runs it).
 */
export async function startFleetOta(a: { brokerUrl: string; clock: VirtualClock; site: string; ota: FleetOta; members: Member[]; baseFw: (board: string) => string; log: (line: string) => void }): Promise<{ summary(): FleetOtaSummary; stop(): Promise<void> }> {
  const targets = a.members.filter((m) => m.info.board === a.ota.board);
  const startMs = a.clock.now();
  const plan: Rollout = planRollout({
    bundle: a.ota.bundle, board: a.ota.board, site: a.site, fw: a.ota.fw, down: a.ota.down,
    nodes: targets.map((m) => ({ node: m.info.id, keyHex: m.info.keyHex })),
    ctr: startMs + a.ota.atMs, ts: Math.floor((startMs + a.ota.atMs) / 1000),
  });
  const reports: { [node: string]: OtaReport } = {};
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(a.brokerUrl, { clientId: `casanode-sim-ota-${process.pid}`, clean: true, reconnectPeriod: 1000, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(`cannot reach the broker ${a.brokerUrl}: ${(err as Error).message}`);
  }
  client.on("message", (topic, payload) => {
    const where = parseOtaStateTopic(topic), r = where && parseReport(payload.toString("latin1"));
    if (where && r) reports[where.node] = r;
  });
  await client.subscribeAsync(otaStateTopic(a.site, "+"), { qos: 1 });
  let published = false;
  a.clock.setTimeout(() => {
    published = true;
    a.log(`ota: publishing ${plan.fw} (${plan.id}, ${plan.size} bytes in ${plan.chunks.length} chunks) for ${targets.length} ${plan.board} node(s)`);
    // chunks first: a node that sees its manifest finds every chunk
    for (const c of plan.chunks) client.publish(c.topic, Buffer.from(c.payload, "latin1"), { qos: 1, retain: true });
    for (const m of plan.manifests) client.publish(m.topic, m.payload, { qos: 1, retain: true });
  }, a.ota.atMs);
  return {
    summary: () => {
      const t = tallyRollout(plan, targets.map((m) => m.info.id), reports);
      const byId = new Map(t.nodes.map((n) => [n.node, n]));
      const nodes = a.members.map((m) => {
        const rec = readRecord(m.node.storage, crc32), n = byId.get(m.info.id);
        return { id: m.info.id, board: m.info.board, fw: rec ? rec.fw : a.baseFw(m.info.board), progress: n ? n.progress : "not a target", text: n ? n.text : "another board" };
      });
      return { id: plan.id, fw: plan.fw, board: plan.board, file: a.ota.file, atMs: a.ota.atMs, published, counts: t.counts, why: t.why, nodes };
    },
    stop: async () => {
      await client.endAsync(true).catch(() => {});
    },
  };
}

/** the summary's lines about the rollout */
export function formatOtaSummary(o: FleetOtaSummary): string[] {
  const c = o.counts, n = o.nodes.filter((x) => x.board === o.board).length;
  const lines = [
    `ota ${o.fw} (${o.id}${o.file ? ", " + o.file : ""}) for ${o.board} at ${formatDuration(o.atMs)}` + (o.published ? "" : ": never published (the run ended first)"),
    `  ${c.updated}/${n} updated, ${c.trial} on trial, ${c.fetching} fetching, ${c.waiting} waiting, ${c.failed} failed, ${c.refused} refused, ${c["rolled-back"]} rolled back`,
  ];
  for (const [why, nodes] of Object.entries(o.why)) lines.push(`  ${why}: ${nodes.join(", ")}`);
  for (const x of o.nodes) lines.push(`  ${x.id}: ends on ${x.fw}; ${x.text}`);
  return lines;
}
