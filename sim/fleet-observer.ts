// The fleet's observer: an MQTT client on the broker that sees what a city back-end would see.
// It decodes every data message, counts each reading once per member (a QoS 1 resend repeats
// one), flags readings stamped with an impossible time, and records them for the report.

import type net from "node:net";
import mqtt from "mqtt";
import type { VirtualClock } from "./clock.js";
import { decodeMessage } from "./senml-decode.js";
import type { IoWatch } from "./fleet-io-watch.js";
import type { FleetMember } from "./fleet-members.js";
import type { TraceReading } from "./fleet-summary.js";

const DAY_MS = 86_400_000;

export interface Observer {
  client: mqtt.MqttClient;
  /** distinct readings received so far, all members */
  readonly received: number;
}

export async function startObserver(a: { brokerUrl: string; seed: number; io: IoWatch; clock: VirtualClock; startMs: number; members: Map<string, FleetMember>; log: (line: string) => void }): Promise<Observer> {
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(a.brokerUrl, { clientId: `casanode-sim-observer-${a.seed}-${process.pid}`, clean: true, reconnectPeriod: 1000, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(`cannot reach the broker ${a.brokerUrl}: ${(err as Error).message}`);
  }
  const observer = { client, received: 0 };
  await client.subscribeAsync("casanode/#", { qos: 1 });
  a.io.ignore((client.stream as net.Socket).localPort);
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
      observer.received++;
      if (!plausibleTime(name, r, a.startMs, a.clock.now())) {
        if (!m.badTimes) a.log(`observer: ${msg.node} sent ${name} stamped ${r.relative ? "relative " + (r.time - Date.now() / 1000).toFixed(0) + " s" : new Date(r.time * 1000).toISOString()}, outside the run`);
        m.badTimes++;
      }
      m.trace.readings.push({ t: Math.round(r.time * 1000), name, unit: r.unit ?? "", value: r.value } satisfies TraceReading);
    }
  });
  return observer;
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
