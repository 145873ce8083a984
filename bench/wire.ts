// Counts what a node puts on the air: wraps the net module handed to the node (or to a bare
// MqttClient) and tallies the bytes written to and read from its sockets, and the MQTT
// packets in the written stream, by type. Only TCP payload is counted: IP/TCP headers and
// Wi-Fi framing are extra on a real link (about 40 + 34 bytes per segment).

import type { EspruinoNet, EspruinoNetOptions } from "../sim/espruino/net.js";
import { createEspruinoNet } from "../sim/espruino/net.js";

/** MQTT control packet types (fixed header, high nibble) */
export const MQTT_TYPES: { [type: number]: string } = {
  1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 8: "SUBSCRIBE", 9: "SUBACK", 12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT",
};

export interface WireCounts {
  /** TCP connections opened */
  connects: number;
  /** bytes the client wrote / read */
  txBytes: number;
  rxBytes: number;
  /** packets the client wrote, by type name ("PUBLISH", "PUBACK", ...) */
  txPackets: { [type: string]: number };
  /** PUBLISH packets whose topic ends in /data, and their bytes (whole packets) */
  dataPublishes: number;
  dataPublishBytes: number;
  /** told of each TCP connect ("tcp") and each packet the client writes (its type name) */
  onEvent?: (what: string) => void;
}

export function newWireCounts(): WireCounts {
  return { connects: 0, txBytes: 0, rxBytes: 0, txPackets: {}, dataPublishes: 0, dataPublishBytes: 0 };
}

/** Splits a byte stream (binary string) into MQTT packets as they complete. */
export class MqttStreamParser {
  private buf = "";
  constructor(private onPacket: (type: number, packet: string) => void) {}

  push(data: string): void {
    this.buf += data;
    for (;;) {
      if (this.buf.length < 2) return;
      let len = 0;
      let mult = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buf.length) return; // length not complete yet
        const b = this.buf.charCodeAt(i++);
        len += (b & 0x7f) * mult;
        mult *= 128;
        if (!(b & 0x80)) break;
        if (i > 4) throw new Error("malformed MQTT remaining length");
      }
      if (this.buf.length < i + len) return;
      const packet = this.buf.slice(0, i + len);
      this.buf = this.buf.slice(i + len);
      this.onPacket(packet.charCodeAt(0) >> 4, packet);
    }
  }
}

/** topic of a PUBLISH packet (binary string, whole packet) */
export function publishTopic(packet: string): string {
  let i = 1;
  while (packet.charCodeAt(i) & 0x80) i++;
  i++;
  const n = (packet.charCodeAt(i) << 8) | packet.charCodeAt(i + 1);
  return packet.slice(i + 2, i + 2 + n);
}

function tally(counts: WireCounts, type: number, packet: string): void {
  const name = MQTT_TYPES[type] ?? "type" + type;
  counts.onEvent?.(name);
  counts.txPackets[name] = (counts.txPackets[name] ?? 0) + 1;
  if (type === 3 && publishTopic(packet).endsWith("/data")) {
    counts.dataPublishes++;
    counts.dataPublishBytes += packet.length;
  }
}

/** a net module like `inner` whose sockets count into `counts` */
export function countingNet(inner: EspruinoNet, counts: WireCounts): EspruinoNet {
  return {
    connect(options, onConnect) {
      const sock = inner.connect(options, onConnect);
      const on = sock.on.bind(sock) as (event: string, listener: (...args: any[]) => void) => void;
      counts.connects++;
      counts.onEvent?.("tcp");
      const parser = new MqttStreamParser((type, packet) => tally(counts, type, packet));
      let rxCounted = false;
      return {
        write(data: string) {
          counts.txBytes += data.length;
          try {
            parser.push(data);
          } catch {
            // not MQTT: bytes still counted
          }
          return sock.write(data);
        },
        end: () => sock.end(),
        on(event: string, listener: (...args: any[]) => void) {
          // count received bytes once per socket, through its first data listener
          if (event === "data" && !rxCounted) {
            rxCounted = true;
            return on(event, (d: string) => {
              counts.rxBytes += d.length;
              listener(d);
            });
          }
          return on(event, listener);
        },
        removeAllListeners: (event?: string) => sock.removeAllListeners(event),
      } as NetSocket;
    },
    openSockets: () => inner.openSockets(),
    cutAll: () => inner.cutAll(),
    poll: () => inner.poll(),
  };
}

/** a createNet for SimNodeOptions that counts into `counts`, over `inner` (the fleet's, which may reach its broker by pipe) */
export function countingNetFactory(counts: WireCounts, inner: (opts: EspruinoNetOptions) => EspruinoNet = createEspruinoNet): (opts: EspruinoNetOptions) => EspruinoNet {
  return (opts) => countingNet(inner(opts), counts);
}
