// MQTT client throughput: the firmware's MqttClient, with the options the node's uplink gives
// it, over the simulator's Espruino net emulation (real loopback TCP), publishing SenML data
// packs with QoS 1 to the embedded aedes broker and to Mosquitto when it is installed.
// Two ways of sending: pipelined (the client's own window of in-flight messages, kept full)
// and one at a time (the next publish only after the PUBACK, as a one-message batch flushes).

import { MqttClient, type MqttClientOptions } from "../firmware/mqtt/client.js";
import { packReadings, senmlBaseName, type TimedReading } from "../firmware/messages/senml.js";
import { nodeTopics, clientIdFor, statusPayload } from "../firmware/messages/topics.js";
import { defaultConfig } from "../firmware/config.js";
import { createEspruinoNet } from "../sim/espruino/net.js";
import { startBroker, startMosquitto, type BrokerHandle } from "../sim/broker.js";
import type { BoardProfile } from "../firmware/board.js";
import { countingNet, newWireCounts, type WireCounts } from "./wire.js";
import { minifiedModule } from "../toolchain/bundle.js";

export interface MqttBenchOptions {
  /** messages per run */
  messages?: number;
  /** also try Mosquitto (when installed) */
  mosquitto?: boolean;
}

export interface MqttRun {
  broker: "aedes (embedded)" | "mosquitto";
  mode: "pipelined" | "one at a time";
  messages: number;
  /** QoS 1 messages acknowledged per wall-clock second */
  messagesPerSecond: number;
  /** payload bytes of one message, and bytes written per message (PUBLISH framing included) */
  payloadBytes: number;
  txBytesPerMessage: number;
  wallMs: number;
}

export interface MqttSection {
  /** the client (client.ts with packet.ts) built alone as the bundles build it: ES5, minified */
  clientBytes: number;
  runs: MqttRun[];
  /** why a broker was left out */
  skipped: string[];
}

const SITE = "bench";
const NODE = "mqtt-01";

/** one data message as the node sends it: a SenML pack of a cycle's readings */
export function samplePayload(): string {
  const t = 1_760_000_000;
  const rs: TimedReading[] = [
    { name: "pm.pm25", unit: "ug/m3", value: 12.4, t },
    { name: "pm.pm10", unit: "ug/m3", value: 20.1, t },
    { name: "noise.laeq", unit: "dB", value: 61.3, t },
    { name: "pm.pm25", unit: "ug/m3", value: 13.2, t: t + 300 },
    { name: "pm.pm10", unit: "ug/m3", value: 21.7, t: t + 300 },
    { name: "noise.laeq", unit: "dB", value: 59.8, t: t + 300 },
  ];
  return packReadings(senmlBaseName(SITE, NODE), rs, 1024)[0];
}

/** the client options firmware/uplink/link.ts uses (battery node: no reconnect) */
function nodeClientOptions(host: string, port: number, id: string): MqttClientOptions {
  const topics = nodeTopics(SITE, id);
  return {
    host,
    port,
    clientId: clientIdFor(SITE, id),
    keepAliveS: defaultConfig({ name: "bench", defaults: {} } as unknown as BoardProfile).keepAliveS,
    cleanSession: false,
    will: { topic: topics.status, payload: statusPayload("offline", { node: id, reason: "lost" }), qos: 1, retain: true },
    connectTimeoutMs: 10000,
    reconnect: false,
  };
}

function connect(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("MQTT connect timed out")), 15000);
    client.onConnect = () => {
      clearTimeout(timer);
      resolve();
    };
    client.onClose = (reason) => {
      clearTimeout(timer);
      reject(new Error("MQTT connection closed: " + reason));
    };
    client.connect();
  });
}

function disconnect(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    client.onClose = null;
    client.disconnect(() => resolve());
    setTimeout(resolve, 2000).unref();
  });
}

/** publish `n` QoS 1 messages, keeping `window` of them handed to the client at once */
function publishAll(client: MqttClient, topic: string, payload: string, n: number, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const next = () => {
      if (sent >= n) return;
      sent++;
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) return reject(new Error("publish failed: " + err));
        if (++acked === n) return resolve();
        next();
      });
    };
    for (let i = 0; i < Math.min(window, n); i++) next();
  });
}

async function runOne(broker: BrokerHandle, name: MqttRun["broker"], mode: MqttRun["mode"], messages: number): Promise<MqttRun> {
  const counts: WireCounts = newWireCounts();
  const net = countingNet(createEspruinoNet(), counts);
  const id = `${NODE}-${mode === "pipelined" ? "p" : "s"}`;
  const client = new MqttClient(net, nodeClientOptions("127.0.0.1", broker.port, id));
  client.onError = () => {};
  await connect(client);
  const payload = samplePayload();
  const topic = nodeTopics(SITE, id).data;
  // the client's own queue holds 32 (maxQueue default): keep it that full when pipelining
  const window = mode === "pipelined" ? 32 : 1;
  // warm up (JIT, broker session) before timing
  await publishAll(client, topic, payload, Math.min(100, Math.ceil(messages / 10)), window);
  const before = counts.txBytes;
  const t0 = performance.now();
  await publishAll(client, topic, payload, messages, window);
  const wallMs = performance.now() - t0;
  const tx = counts.txBytes - before;
  await disconnect(client);
  return {
    broker: name,
    mode,
    messages,
    messagesPerSecond: messages / (wallMs / 1000),
    payloadBytes: payload.length,
    txBytesPerMessage: tx / messages,
    wallMs,
  };
}

export async function benchMqtt(opts: MqttBenchOptions = {}): Promise<MqttSection> {
  const messages = opts.messages ?? 5000;
  const runs: MqttRun[] = [];
  const skipped: string[] = [];
  const aedes = await startBroker();
  try {
    runs.push(await runOne(aedes, "aedes (embedded)", "pipelined", messages));
    runs.push(await runOne(aedes, "aedes (embedded)", "one at a time", Math.max(1, Math.round(messages / 5))));
  } finally {
    await aedes.stop();
  }
  if (opts.mosquitto !== false) {
    const mosq = await startMosquitto().catch((e: Error) => {
      skipped.push("mosquitto: failed to start (" + e.message.split("\n")[0] + ")");
      return null;
    });
    if (mosq) {
      try {
        runs.push(await runOne(mosq, "mosquitto", "pipelined", messages));
        runs.push(await runOne(mosq, "mosquitto", "one at a time", Math.max(1, Math.round(messages / 5))));
      } finally {
        await mosq.stop();
      }
    } else if (!skipped.length) skipped.push("mosquitto: not installed");
  } else skipped.push("mosquitto: not asked for");
  return { clientBytes: (await minifiedModule("firmware/mqtt/client.ts")).length, runs, skipped };
}
