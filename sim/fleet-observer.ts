// The fleet's observer: an MQTT client on the broker that sees what a city back-end would see
// of this process's nodes (their data topics only, so shards on one broker do not each decode
// the whole city). It decodes every data message and streams its checks: each reading counted
// once per member (a QoS 1 resend repeats one), readings stamped with an impossible time
// flagged. It keeps every reading only when asked (the report plots them).
//
// Duplicates, in bounded memory: a node sends its queue oldest first, one batch at a time, and
// the next batch only once the broker has acknowledged every message of this one
// (firmware/uplink/link.ts). A QoS 1 resend (the PUBACK was lost, or a power cut came before
// the ack was saved) therefore repeats the head of the queue: readings of the last batch or
// two the broker received from that node, however long the node was away in between. A batch
// is at most about 800 characters of queue files (a few dozen readings), so remembering each
// node's last RECENT_READINGS distinct readings cannot miss a resend; it costs a bounded
// about 25 KB per node instead of every reading of the run.

import type net from "node:net";
import mqtt from "mqtt";
import type { VirtualClock } from "./clock.js";
import { decodeMessage } from "./senml-decode.js";
import type { IoWatch } from "./fleet-io-watch.js";
import { SITE, type FleetMember } from "./fleet-members.js";
import type { TraceReading } from "./fleet-summary.js";
import { topicFor } from "../firmware/messages/topics.js";
import { clientPipe, type PipeBroker } from "./broker-pipe.js";

const DAY_MS = 86_400_000;
/** distinct readings remembered per node for duplicate detection: several batches' worth (see above) */
export const RECENT_READINGS = 256;
/** node topics per SUBSCRIBE packet */
const TOPICS_PER_SUBSCRIBE = 500;

export interface Observer {
  client: mqtt.MqttClient;
  /** distinct readings received so far, all members */
  readonly received: number;
}

export interface ObserverOptions {
  brokerUrl: string;
  /** the embedded broker in this process: reached over an in-process pipe instead of loopback TCP */
  pipe?: PipeBroker;
  /** unique among the processes on the broker (a second client with the same id would push this one off) */
  clientId: string;
  io: IoWatch;
  clock: VirtualClock;
  startMs: number;
  members: Map<string, FleetMember>;
  /** keep every reading in the member's trace (for the report) */
  keepReadings: boolean;
  log: (line: string) => void;
}

export async function startObserver(a: ObserverOptions): Promise<Observer> {
  let client: mqtt.MqttClient;
  const options = { clientId: a.clientId, clean: true, reconnectPeriod: 1000, connectTimeout: 5000 };
  try {
    client = a.pipe ? await connectPiped(a.pipe, options) : await mqtt.connectAsync(a.brokerUrl, options);
  } catch (err) {
    throw new Error(`cannot reach the broker ${a.brokerUrl}: ${(err as Error).message}`);
  }
  const observer = { client, received: 0 };
  const topics = [...a.members.keys()].map((id) => topicFor(SITE, id, "data"));
  for (let i = 0; i < topics.length; i += TOPICS_PER_SUBSCRIBE) await client.subscribeAsync(topics.slice(i, i + TOPICS_PER_SUBSCRIBE), { qos: 1 });
  if (!a.pipe) a.io.ignore((client.stream as net.Socket).localPort);
  client.on("message", (topic, payload) => {
    let msg;
    try {
      msg = decodeMessage(topic, payload);
    } catch (err) {
      a.log(`observer: undecodable message on ${topic}: ${(err as Error).message}`);
      return;
    }
    const m = a.members.get(msg.node);
    if (!m || msg.kind !== "data") return;
    m.messages++;
    const base = `casanode/${msg.site}/${msg.node}/`;
    for (const r of msg.pack.records) {
      if (r.value === undefined) continue;
      const name = r.name.slice(base.length);
      if (!countReading(m, name + "@" + r.time, r.value)) continue;
      observer.received++;
      if (!plausibleTime(name, r, a.startMs, a.clock.now())) {
        if (!m.badTimes) a.log(`observer: ${msg.node} sent ${name} stamped ${r.relative ? "relative " + (r.time - Date.now() / 1000).toFixed(0) + " s" : new Date(r.time * 1000).toISOString()}, outside the run`);
        m.badTimes++;
      }
      if (a.keepReadings) m.trace.readings.push({ t: Math.round(r.time * 1000), name, unit: r.unit ?? "", value: r.value } satisfies TraceReading);
    }
  });
  return observer;
}

/** an mqtt.js client on the embedded broker's pipe, once its CONNACK is in */
function connectPiped(broker: PipeBroker, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = new mqtt.MqttClient(() => clientPipe(broker), options);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/**
 * Count one received reading (key name@time) of a member: a value already among its recent
 * readings at that key is a resend (a duplicate); another value at the same key is another
 * reading. Returns whether it was new. The member remembers its last RECENT_READINGS keys.
 */
export function countReading(m: Pick<FleetMember, "recent" | "received" | "duplicates">, key: string, value: number, limit = RECENT_READINGS): boolean {
  const values = m.recent.get(key);
  if (values?.includes(value)) {
    m.duplicates++;
    return false;
  }
  if (values) values.push(value);
  else {
    m.recent.set(key, [value]);
    // a Map iterates in insertion order: the first key is the oldest
    if (m.recent.size > limit) m.recent.delete(m.recent.keys().next().value!);
  }
  m.received++;
  return true;
}

/** names of values that summarise a span stamped with its start: a window (at most a day), a day */
const SUMMARY_RE = /\.(mean|min|max|L10|L50|L90|Lday|Levening|Lnight|Lden)$/;

/** how far ahead of its arrival a reading may be stamped: a synced clock is right to tens of ms
 *  (SNTP) plus its drift since the last answer, and a stamp is whole seconds */
export const CLOCK_TOLERANCE_MS = 1000;

/**
 * A reading's time is possible if it was taken during the run: a sample's within it (and not
 * after it arrived, to within CLOCK_TOLERANCE_MS), a summary's span (stamped with its start,
 * at most a day) overlapping it. Relative SenML times (below 2^28) are never CasaNode's: a node
 * sent time since its boot.
 */
export function plausibleTime(name: string, r: { time: number; relative?: boolean }, startMs: number, endMs: number): boolean {
  if (r.relative) return false;
  const ms = r.time * 1000;
  // bt is whole seconds
  return ms <= endMs + CLOCK_TOLERANCE_MS && ms >= startMs - 1000 - (SUMMARY_RE.test(name) ? DAY_MS : 0);
}

/**
 * After the clock loop: wait until the observer holds every reading the nodes have had
 * acknowledged. The broker has each one by its PUBACK, but its copy to the observer travels on
 * another socket, which a loaded machine can leave behind the end of the run (a sharded run's
 * books then missed a node's upload). Gives up after `quietMs` of wall time with nothing new,
 * so a reading the observer counts differently cannot hold the run.
 */
export async function observerCaughtUp(members: FleetMember[], acked: (m: FleetMember) => number, quietMs = 2000): Promise<void> {
  const want = members.map(acked);
  let seen = -1, since = performance.now();
  for (;;) {
    const behind = members.filter((m, i) => m.received < want[i]);
    if (!behind.length) return;
    const now = behind.reduce((s, m) => s + m.received, 0);
    if (now !== seen) [seen, since] = [now, performance.now()];
    else if (performance.now() - since > quietMs) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
