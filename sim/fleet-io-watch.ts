// Watches every TCP socket this process opens or accepts, and the in-process pipes to the
// embedded broker (sim/broker-pipe.ts), so the fleet runner knows when broker traffic has
// settled before it moves the virtual clock (see the note at the top of sim/fleet.ts).

import dc from "node:diagnostics_channel";
import type net from "node:net";
import type { VirtualClock } from "./clock.js";

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

/** an in-process connection as the runner sees it (sim/broker-pipe.ts) */
export interface PipeView {
  /** the connection is still being made */
  readonly connecting: boolean;
  /** both ends are gone: nothing more will move */
  readonly gone: boolean;
  /** bytes one end wrote that the other end has not taken yet */
  inFlight(): boolean;
}

/** what an in-process connection tells the watch, as a socket's hooks do for TCP */
export interface PipeTap {
  /** bytes the node's end wrote toward the broker (its MQTT requests are counted) */
  sent(bytes: Uint8Array): void;
  /** bytes handed to the node's end (the broker's answers are counted) */
  received(bytes: Uint8Array): void;
  /** something else happened (connected, ended, closed): look at the pipe again */
  touch(): void;
}

interface WatchedPipe {
  view: PipeView;
  mqtt: NonNullable<Watched["mqtt"]>;
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
export class IoWatch {
  private sockets = new Set<Watched>();
  /**
   * client ends that may be busy: any that connected, wrote, read or whose server end wrote
   * since busy() last found them quiet. busy() looks at these only, so a settle costs what is
   * in flight, not the thousands of idle connections a large shard holds.
   */
  private active = new Set<Watched>();
  /** server-side ends by the client's port */
  private servers = new Map<number, Watched>();
  /** client ends by their local port */
  private clients = new Map<number, Watched>();
  /** in-process connections that may be busy (as `active`, for pipes) */
  private activePipes = new Set<WatchedPipe>();
  /** set by any write or read; cleared when the runner has seen the traffic settle */
  dirty = false;
  /** replies that arrived after virtual time had moved on from their request (should stay 0) */
  lateReplies = 0;
  /** the last busy() was held by a socket only (no pipe): what it waits for comes as I/O */
  socketBusy = false;
  private wake: (() => void) | undefined;
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
    // traffic on either end: the client end is to be looked at again
    const touch = () => {
      if (!server) this.active.add(w);
      else {
        const c = socket.remotePort !== undefined ? this.clients.get(socket.remotePort) : undefined;
        if (c) this.active.add(c);
      }
    };
    touch();
    // the ports as registered: a closed socket no longer knows them, and an entry left behind
    // would hold the socket and, through its listeners, the node's dead Espruino context
    let clientPort: number | undefined;
    const registerClient = () => {
      if (!server && socket.localPort !== undefined) this.clients.set((clientPort = socket.localPort), w);
    };
    registerClient();
    if (!server) socket.once("connect", registerClient);
    // small MQTT packets must not wait for Nagle and delayed ACKs (tens of ms each on loopback)
    socket.setNoDelay(true);
    this.dirty = true;
    const serverPort = server ? socket.remotePort : undefined;
    if (serverPort) this.servers.set(serverPort, w);
    const mqttOf = (): Watched["mqtt"] => {
      if (server || w.mqtt || socket.remotePort === undefined) return w.mqtt;
      if (!this.isBrokerClient(socket)) return undefined;
      return (w.mqtt = this.mqttCounters(() => w.ignored));
    };
    // every way bytes enter a socket: write() and cork() mark traffic at once (mqtt-packet corks
    // then writes), _write/_writev see each byte exactly once
    for (const method of ["write", "cork"] as const) {
      const original = (socket as any)[method];
      (socket as any)[method] = (...args: any[]) => {
        if (!w.ignored) this.dirty = true;
        touch();
        return original.apply(socket, args);
      };
    }
    const write1 = (socket as any)._write;
    (socket as any)._write = (chunk: unknown, encoding: unknown, cb: unknown) => {
      if (!w.ignored) this.dirty = true;
      touch();
      mqttOf()?.out.feed(chunkBytes(chunk, encoding));
      return write1.call(socket, chunk, encoding, cb);
    };
    const writev = (socket as any)._writev;
    if (typeof writev === "function") {
      (socket as any)._writev = (chunks: Array<{ chunk: unknown; encoding: unknown }>, cb: unknown) => {
        if (!w.ignored) this.dirty = true;
        touch();
        const m = mqttOf();
        if (m) for (const c of chunks) m.out.feed(chunkBytes(c.chunk, c.encoding));
        return writev.call(socket, chunks, cb);
      };
    }
    socket.on("data", (buf: Buffer) => {
      if (!w.ignored) this.dirty = true;
      touch();
      mqttOf()?.in.feed(buf);
      this.woken();
    });
    if (!server) socket.once("connect", () => this.woken());
    socket.once("close", () => {
      this.woken();
      this.sockets.delete(w);
      this.active.delete(w);
      if (clientPort !== undefined && this.clients.get(clientPort) === w) this.clients.delete(clientPort);
      if (serverPort !== undefined && this.servers.get(serverPort) === w) this.servers.delete(serverPort);
    });
  }

  /** the request/answer counters of one broker client, fed its outgoing and incoming bytes */
  private mqttCounters(ignored: () => boolean): NonNullable<Watched["mqtt"]> {
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
        if (!ignored() && this.clock.now() > m.askedAtV) this.lateReplies++;
        if (m.answers < m.requests) m.askedAtV = this.clock.now();
      }),
    };
    return m;
  }

  /**
   * Watch an in-process connection to the broker (sim/broker-pipe.ts) as a loopback socket is
   * watched: busy() holds virtual time while it is being made, while bytes are between its
   * ends, and while an MQTT request on it is unanswered.
   */
  watchPipe(view: PipeView): PipeTap {
    const p: WatchedPipe = { view, mqtt: this.mqttCounters(() => false) };
    const touch = () => {
      this.dirty = true;
      this.activePipes.add(p);
    };
    touch();
    return {
      sent: (bytes) => {
        touch();
        p.mqtt.out.feed(bytes);
      },
      received: (bytes) => {
        touch();
        p.mqtt.in.feed(bytes);
      },
      touch,
    };
  }

  private woken(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /**
   * Wait for the next socket event (data, connect, close) or maxMs of wall time, whichever
   * comes first: a worker waiting on a broker in another process blocks in the host's poll
   * instead of spinning the event loop (and taking the CPU that broker needs).
   */
  waitIo(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.woken(), maxMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
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
    this.socketBusy = false;
    for (const p of this.activePipes) {
      const v = p.view;
      if (!v.gone) {
        if (v.connecting) return true;
        const m = p.mqtt;
        if (m.requests > m.answers && now - m.askedAtWall < REPLY_WAIT_MS) return true;
        if (v.inFlight()) return true;
      }
      this.activePipes.delete(p);
    }
    // pipes first: a pipe's traffic moves in this process, a socket's only as I/O
    for (const w of this.active) {
      if (w.ignored && !all) continue; // an ignored one stays in the set for busy(true)
      const c = w.socket;
      if (!c.destroyed && (c.pending || c.connecting)) return (this.socketBusy = true);
      if (!c.destroyed && c.readyState === "open") {
        const m = w.mqtt;
        if (m && m.requests > m.answers && now - m.askedAtWall < REPLY_WAIT_MS) return (this.socketBusy = true);
        const s = c.localPort !== undefined ? this.servers.get(c.localPort) : undefined;
        if (s && !s.socket.destroyed && (c.bytesWritten > s.socket.bytesRead || s.socket.bytesWritten > c.bytesRead)) return (this.socketBusy = true);
      }
      // quiet (or half-closed: nothing more will be answered): looked at again on its next traffic
      this.active.delete(w);
    }
    return false;
  }

  /** how many sockets and port entries are held (a closed connection must leave none) */
  watched(): { sockets: number; clients: number; servers: number } {
    return { sockets: this.sockets.size, clients: this.clients.size, servers: this.servers.size };
  }

  close(): void {
    dc.unsubscribe("net.client.socket", this.onClient);
    dc.unsubscribe("net.server.socket", this.onServer);
  }
}
