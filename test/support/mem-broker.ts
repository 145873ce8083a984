// Test support: an MQTT 3.1.1 broker played in memory at the packet level, reached through
// an Espruino `net` emulation (SimNode's createNet) whose events all go through the virtual
// clock, so a simulated day runs in one clock.runUntil() with no real I/O.
// Persistent sessions (clean session off keep subscriptions and queue QoS 1 messages for an
// offline client; a QoS 1 message not acknowledged is sent again on reconnect, as real brokers
// do), retained messages (sent on SUBSCRIBE), QoS 0 subscriptions and UNSUBSCRIBE, wills on
// abnormal disconnects, and the MQTT bytes each client sent and received (bytes on the air).

import { srv, parseClient, type ClientPacket } from "./fake-net.js";
import { SocketEvents, type EspruinoNet, type EspruinoNetOptions } from "../../sim/espruino/net.js";
import type { VirtualClock } from "../../sim/clock.js";

export interface BrokerMessage {
  t: number;
  clientId: string;
  topic: string;
  payload: string;
  retain: boolean;
  dup: boolean;
}

interface Session {
  subs: string[];
  /** granted QoS per subscribed filter (exact topics only: the firmware subscribes no wildcards) */
  qos: Map<string, number>;
  queue: Array<{ topic: string; payload: string }>;
  /** sent, awaiting the client's PUBACK, by packet id */
  inflight: Map<number, { topic: string; payload: string }>;
}

class MemSocket extends SocketEvents implements NetSocket {
  closed = false;
  /** end() was called: the chip closes the socket itself */
  private ended = false;
  constructor(private conn: Conn, schedule: (fn: () => void) => void, private blocked: () => boolean, scheduleLocal?: (fn: () => void) => void) {
    super(schedule, scheduleLocal);
  }
  write(data: string): boolean {
    if (this.closed) throw new Error("This socket is closed");
    if (this.blocked()) {
      this.cut();
      return true;
    }
    this.conn.rx += data.length;
    this.conn.fromClient(data);
    return true;
  }
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.closed) this.conn.gone(false);
    // as Espruino: closed once the bytes are handed over, said at once (sim/espruino/net.ts)
    this.closed = true;
    this.closedHere(false);
  }
  feed(data: string): void {
    if (this.closed) return;
    this.conn.tx += data.length;
    this.emit("data", data);
  }
  close(hadError: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.emit("end");
    this.emit("close", hadError);
  }
  cut(): void {
    if (this.closed) return;
    this.emit("error", { code: -10, message: "connection lost" });
    this.conn.gone(true);
    this.close(true);
  }
}

class Conn {
  sock!: MemSocket;
  clientId = "";
  will?: { topic: string; payload: string; retain: boolean };
  open = true;
  /** MQTT bytes from / to the client on this connection */
  rx = 0;
  tx = 0;
  private nextId = 1;
  constructor(private b: MemBroker) {}
  fromClient(data: string): void {
    for (const p of parseClient(data)) this.b.handle(this, p);
  }
  send(topic: string, payload: string, retain = false, dup = false, qos = 1): void {
    if (!qos) return this.sock.feed(srv.publish(topic, payload, 0, 0, false, retain));
    const id = this.nextId++;
    this.b.sessions.get(this.clientId)?.inflight.set(id, { topic, payload });
    this.sock.feed(srv.publish(topic, payload, 1, id, dup, retain));
  }
  gone(abnormal: boolean): void {
    if (!this.open) return;
    this.open = false;
    this.b.closed(this, abnormal);
  }
}

export class MemBroker {
  published: BrokerMessage[] = [];
  retained = new Map<string, string>();
  sessions = new Map<string, Session>();
  /** false: connections are refused and open ones dropped */
  up = true;
  connects = 0;
  private conns = new Set<Conn>();
  private allConns: Conn[] = [];
  private nets: EspruinoNet[] = [];

  constructor(private clock: VirtualClock) {}

  /** a SimNode createNet factory */
  createNet = (opts: EspruinoNetOptions): EspruinoNet => {
    const schedule = opts.schedule ?? ((fn: () => void) => this.clock.setTimeout(fn, 0));
    const scheduleLocal = opts.scheduleLocal ?? schedule;
    const blocked = () => opts.blocked?.() ?? false;
    const open = new Set<MemSocket>();
    const net: EspruinoNet = {
      connect: (_o: { host: string; port: number }, onConnect?: () => void) => {
        if (blocked()) throw new Error("Unable to create socket");
        const conn = new Conn(this);
        const s = new MemSocket(conn, schedule, blocked, scheduleLocal);
        conn.sock = s;
        open.add(s);
        s.on("close", () => open.delete(s));
        if (!this.up) {
          s.emit("error", { code: -11, message: "connection refused" });
          s.close(true);
          conn.open = false;
          return s;
        }
        this.conns.add(conn);
        this.allConns.push(conn);
        s.emit("connect");
        if (onConnect) schedule(onConnect);
        return s;
      },
      openSockets: () => open.size,
      cutAll: () => {
        for (const s of [...open]) s.cut();
      },
      poll: () => {
        if (blocked()) net.cutAll();
      },
    };
    this.nets.push(net);
    return net;
  };

  setUp(up: boolean): void {
    this.up = up;
    if (!up) for (const c of [...this.conns]) c.sock.cut();
  }

  handle(c: Conn, p: ClientPacket): void {
    if (!this.up) return c.sock.cut();
    if (p.type === 1) {
      const k = p.connect!;
      this.connects++;
      for (const o of this.conns) if (o !== c && o.clientId === k.clientId) o.sock.close(false);
      c.clientId = k.clientId;
      c.will = k.will;
      let present = false;
      if (k.cleanSession) this.sessions.delete(k.clientId);
      else present = this.sessions.has(k.clientId);
      if (!this.sessions.has(k.clientId)) this.sessions.set(k.clientId, { subs: [], qos: new Map(), queue: [], inflight: new Map() });
      c.sock.feed(srv.connack(present));
      const s = this.sessions.get(k.clientId)!;
      const again = [...s.inflight.values()];
      s.inflight.clear();
      for (const m of again) c.send(m.topic, m.payload, false, true);
      const q = s.queue.splice(0);
      for (const m of q) c.send(m.topic, m.payload);
    } else if (p.type === 8) {
      const s = this.sessions.get(c.clientId)!;
      for (const x of p.subscriptions!) {
        if (!s.subs.includes(x.topic)) s.subs.push(x.topic);
        s.qos.set(x.topic, Math.min(1, x.qos));
      }
      c.sock.feed(srv.suback(p.id!, p.subscriptions!.map((x) => Math.min(1, x.qos))));
      // a new subscription gets the topic's retained message (MQTT-3.3.1-6)
      for (const x of p.subscriptions!) {
        const r = this.retained.get(x.topic);
        if (r !== undefined) c.send(x.topic, r, true, false, Math.min(1, x.qos));
      }
    } else if (p.type === 10) {
      const s = this.sessions.get(c.clientId)!;
      s.subs = s.subs.filter((t) => !p.unsubscribe!.includes(t));
      for (const t of p.unsubscribe!) s.qos.delete(t);
      c.sock.feed(srv.unsuback(p.id!));
    } else if (p.type === 3) {
      this.publish(c.clientId, p.topic!, p.payload!, !!p.retain, !!p.dup);
      if (p.qos === 1) c.sock.feed(srv.puback(p.id!));
    } else if (p.type === 4) this.sessions.get(c.clientId)?.inflight.delete(p.id!);
    else if (p.type === 12) c.sock.feed(srv.pingresp());
    else if (p.type === 14) {
      c.will = undefined;
      c.gone(false);
      c.sock.close(false);
    }
  }

  closed(c: Conn, abnormal: boolean): void {
    this.conns.delete(c);
    if (abnormal && c.will) this.publish(c.clientId, c.will.topic, c.will.payload, c.will.retain, false);
  }

  private publish(clientId: string, topic: string, payload: string, retain: boolean, dup: boolean): void {
    this.published.push({ t: this.clock.now(), clientId, topic, payload, retain, dup });
    if (retain) {
      if (payload === "") this.retained.delete(topic);
      else this.retained.set(topic, payload);
    }
  }

  /** publish to a topic from outside (QoS 1): live subscribers get it now, sleeping persistent sessions later (QoS 1 subscriptions only) */
  send(topic: string, payload: string): void {
    for (const [id, s] of this.sessions) {
      if (!s.subs.includes(topic)) continue;
      const qos = s.qos.get(topic) ?? 1;
      const live = [...this.conns].find((c) => c.clientId === id && c.open);
      if (live) live.send(topic, payload, false, false, qos);
      else if (qos) s.queue.push({ topic, payload });
    }
  }

  /** publish retained from outside (the back office): kept for later subscribers, sent to the present ones */
  retain(topic: string, payload: string): void {
    this.retained.set(topic, payload);
    this.send(topic, payload);
  }

  /** MQTT bytes a client sent and received over all its connections */
  traffic(clientId: string): { rx: number; tx: number } {
    let rx = 0, tx = 0;
    for (const c of this.allConns) if (c.clientId === clientId) (rx += c.rx), (tx += c.tx);
    return { rx, tx };
  }

  topic(kind: string): BrokerMessage[] {
    return this.published.filter((m) => m.topic.endsWith("/" + kind));
  }

  /** data values by "name@t" (resends collapse) */
  dataValues(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.topic("data")) {
      let bt = 0;
      for (const r of JSON.parse(m.payload)) {
        if (r.bt !== undefined) bt = r.bt;
        out.set(r.n + "@" + (bt + (r.t ?? 0)), r.v);
      }
    }
    return out;
  }
}
