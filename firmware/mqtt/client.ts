// A small MQTT 3.1.1 client over Espruino's `net` (binary strings both ways): QoS 0 and 1,
// last will, persistent sessions, keep-alive, reconnect with backoff. Espruino's own MQTT
// modules are QoS 0 only with no will, and the node's data leaves its queue only on PUBACK.
//
// Delivery: publish() queues; up to maxInflight QoS 1 messages wait for PUBACK at once.
// After a reconnect the unacknowledged ones are sent again with DUP set and the same packet
// id, before anything new. QoS 1 `done` fires only on PUBACK; QoS 0 `done` once written.

import {
  CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP, PINGREQ_PACKET, DISCONNECT_PACKET, MqttPacket, MqttWill, PacketReader,
  connackReason, encodeConnect, encodePublish, encodePuback, encodeSubscribe,
} from "./packet.js";

export interface MqttClientOptions {
  host: string;
  port: number;
  clientId: string;
  username?: string;
  password?: string;
  /** 0 turns keep-alive off */
  keepAliveS: number;
  cleanSession: boolean;
  will?: MqttWill;
  /** TCP connect + CONNACK, and the wait for a PINGRESP; default 10000 */
  connectTimeoutMs?: number;
  /**
   * false: never reconnect by itself; default { minMs: 1000, maxMs: 60000 }. The delay doubles
   * per failure and goes back to minMs only once a link has stayed up healthyMs (default
   * 30000): a CONNACK followed by the same failure at once must not reset it.
   */
  reconnect?: { minMs: number; maxMs: number; healthyMs?: number } | false;
  /** jitter source, default Math.random */
  random?: () => number;
  /** QoS 1 messages awaiting PUBACK at once; default 8 */
  maxInflight?: number;
  /** messages waiting for a send slot; beyond it publish fails with "queue-full"; default 32 */
  maxQueue?: number;
  /** longest inbound packet read; a PUBLISH over it is acknowledged and dropped (onTooLarge); default 8192 */
  maxPacketBytes?: number;
}

export type PublishDone = (err: string | null) => void;
export type SubscribeDone = (err: string | null, grantedQos: number) => void;

interface Outgoing {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  id: number;
  done?: PublishDone;
}

interface Subscription {
  topic: string;
  qos: number;
  id: number;
  acked: boolean;
  done?: SubscribeDone;
}

// states
const IDLE = 0;
const CONNECTING = 1;
const CONNECTED = 2;

function later(f: any, a?: any, b?: any): void {
  if (f) setTimeout(function () { f(a, b); }, 0);
}

export class MqttClient {
  /** CONNACK accepted; sessionPresent tells whether the broker kept our session */
  onConnect: ((sessionPresent: boolean) => void) | null;
  /** a connection (or an attempt) ended: "closed", "error", "connect-failed", "connect-timeout",
   *  "ping-timeout", "protocol", "refused", "disconnect", "destroyed" */
  onClose: ((reason: string) => void) | null;
  onMessage: ((topic: string, payload: string, qos: number, retain: boolean) => void) | null;
  /** an inbound PUBLISH over maxPacketBytes was read past (and acknowledged): its payload size and first bytes */
  onTooLarge: ((topic: string, bytes: number, head: string) => void) | null;
  /** "connect:<why>", "socket:<why>", "protocol:<code>", "refused:<reason>", "ping-timeout", "callback:<error>" */
  onError: ((code: string) => void) | null;

  private net: NetModule;
  private o: MqttClientOptions;
  private sock: NetSocket | null;
  private reader: PacketReader | null;
  private state: number;
  private wanted: boolean;
  private attempt: number;
  private lastId: number;
  private inflight: Outgoing[];
  private queue: Outgoing[];
  private subs: Subscription[];
  private tConn: any;
  private tPing: any;
  private tPong: any;
  private tRetry: any;
  private tPump: any;
  /** roundTrip() callbacks waiting for a PINGRESP */
  private pongs: PublishDone[];

  constructor(net: NetModule, options: MqttClientOptions) {
    this.net = net;
    this.o = options;
    this.onConnect = null;
    this.onClose = null;
    this.onMessage = null;
    this.onTooLarge = null;
    this.onError = null;
    this.sock = null;
    this.reader = null;
    this.state = IDLE;
    this.wanted = false;
    this.attempt = 0;
    this.lastId = 0;
    this.inflight = [];
    this.queue = [];
    this.subs = [];
    this.tConn = this.tPing = this.tPong = this.tRetry = this.tPump = null;
    this.pongs = [];
  }

  /** Start connecting (and keep reconnecting, unless reconnect is false). */
  connect(): void {
    this.wanted = true;
    if (this.state === IDLE && !this.tRetry) this.open();
  }

  isConnected(): boolean {
    return this.state === CONNECTED;
  }

  /** messages published and not finished yet: queued, or QoS 1 awaiting PUBACK */
  inflightCount(): number {
    return this.inflight.length + this.queue.length;
  }

  publish(topic: string, payload: string, opts?: { qos?: number; retain?: boolean }, done?: PublishDone): void {
    var qos = (opts && opts.qos) || 0;
    var err = !topic || /[#+\x00]/.test(topic) ? "bad-topic" : qos !== 0 && qos !== 1 ? "bad-qos"
      : this.queue.length >= (this.o.maxQueue || 32) ? "queue-full" : null;
    if (err) return later(done, err);
    this.queue.push({ topic: topic, payload: payload, qos: qos, retain: !!(opts && opts.retain), id: 0, done: done });
    this.kick();
  }

  /** Subscribe to one filter; kept and sent again whenever the broker has no session for us. */
  subscribe(topic: string, qos: number, done?: SubscribeDone): void {
    if (!topic || (qos !== 0 && qos !== 1)) return later(done, "bad-subscription", 0x80);
    var s: Subscription = { topic: topic, qos: qos, id: 0, acked: false, done: done };
    this.subs.push(s);
    if (this.state === CONNECTED) this.sendSub(s);
  }

  /**
   * One PINGREQ: cb(null) on its PINGRESP. TCP keeps order, so everything the broker sent
   * before answering (a persistent session's queued messages) has been handled by then.
   * cb(reason) if the connection ends first.
   */
  roundTrip(cb: PublishDone): void {
    if (this.state !== CONNECTED) return later(cb, "down");
    this.pongs.push(cb);
    this.send(PINGREQ_PACKET);
  }

  /** Send DISCONNECT (the broker then drops the will) and close; `done` once the socket closed. */
  disconnect(done?: () => void): void {
    var s = this.sock, t: any = null;
    var fin = function () {
      if (t) clearTimeout(t);
      t = null;
      if (done) later(done);
      done = undefined;
    };
    this.wanted = false;
    this.stop("tRetry");
    if (this.state === CONNECTED) this.send(DISCONNECT_PACKET);
    if (s) {
      // end() sends what is buffered first; give it 2 s
      s.on("close", fin);
      t = setTimeout(fin, 2000);
    } else fin();
    this.drop("disconnect");
  }

  /** Close at once, for good: pending publish/subscribe callbacks get "aborted". */
  destroy(): void {
    this.wanted = false;
    this.stop("tRetry");
    this.stop("tPump");
    this.drop("destroyed");
    var all = this.inflight.concat(this.queue), i: number;
    for (i = 0; i < all.length; i++) later(all[i].done, "aborted");
    for (i = 0; i < this.subs.length; i++) if (!this.subs[i].acked) later(this.subs[i].done, "aborted", 0x80);
    this.inflight = [];
    this.queue = [];
    this.subs = [];
  }

  // ---- internals ----

  private stop(name: "tConn" | "tPing" | "tPong" | "tRetry" | "tPump"): void {
    if (this[name]) clearTimeout(this[name]);
    this[name] = null;
  }

  private call(f: any, a?: any, b?: any, c?: any, d?: any): void {
    if (!f) return;
    try {
      f(a, b, c, d);
    } catch (e) {
      if (f !== this.onError) this.call(this.onError, "callback:" + e);
    }
  }

  private open(): void {
    var self = this, o = this.o, sock: NetSocket;
    this.state = CONNECTING;
    this.reader = new PacketReader(o.maxPacketBytes);
    this.tConn = setTimeout(function () {
      self.tConn = null;
      self.fail("connect-timeout", "connect:timeout");
    }, o.connectTimeoutMs || 10000);
    try {
      sock = this.net.connect({ host: o.host, port: o.port }, function () {
        if (self.sock === sock) self.send(encodeConnect(o));
      });
    } catch (e) {
      // Espruino throws at once when the port is closed or the host is unknown
      this.stop("tConn");
      this.tConn = setTimeout(function () {
        self.tConn = null;
        self.fail("connect-failed", "connect:" + ((e && (e as any).message) || e));
      }, 0);
      return;
    }
    this.sock = sock;
    sock.on("data", function (d: string) {
      if (self.sock === sock) self.data(d);
    });
    sock.on("error", function (e: any) {
      if (self.sock === sock) self.fail("error", "socket:" + ((e && e.message) || e));
    });
    sock.on("close", function () {
      if (self.sock === sock) self.drop("closed");
    });
  }

  private fail(reason: string, code: string): void {
    this.call(this.onError, code);
    this.drop(reason);
  }

  /** Tear the connection down; inflight messages stay for the next connection. */
  private drop(reason: string): void {
    var s = this.sock, was = this.state;
    this.pong(reason);
    this.stop("tConn");
    this.stop("tPing");
    this.stop("tPong");
    this.sock = null;
    this.reader = null;
    this.state = IDLE;
    if (s) {
      try {
        s.end();
      } catch (e) {
        // already closed
      }
    }
    if (was !== IDLE) this.call(this.onClose, reason);
    if (this.wanted && this.o.reconnect !== false && this.state === IDLE && !this.tRetry) {
      var r = this.o.reconnect || { minMs: 1000, maxMs: 60000 }, self = this;
      var delay = Math.min(r.maxMs, r.minMs * Math.pow(2, Math.min(this.attempt++, 16)));
      // "equal jitter": half fixed, half random, so a fleet does not reconnect in step
      delay = delay / 2 + (this.o.random || Math.random)() * (delay / 2);
      this.tRetry = setTimeout(function () {
        self.tRetry = null;
        if (self.wanted && self.state === IDLE) self.open();
      }, delay);
    }
  }

  private send(s: string): boolean {
    var sock = this.sock;
    if (!sock) return false;
    try {
      sock.write(s);
      return true;
    } catch (e) {
      this.fail("error", "socket:" + e);
      return false;
    }
  }

  private data(d: string): void {
    var reader = this.reader as PacketReader, ps = reader.push(d), sock = this.sock;
    for (var i = 0; i < ps.length && this.sock === sock; i++) this.handle(ps[i]);
    if (reader.error && this.sock === sock) this.fail("protocol", "protocol:" + reader.error);
  }

  private handle(p: MqttPacket): void {
    var i: number, m: Outgoing | undefined, s: Subscription;
    if (this.state === CONNECTING) {
      if (p.type !== CONNACK) return this.fail("protocol", "protocol:no-connack");
      if (p.returnCode) return this.fail("refused", "refused:" + connackReason(p.returnCode));
      this.stop("tConn");
      this.state = CONNECTED;
      // tConn now times the link's health: backoff resets only if it stays up
      var self = this, r = this.o.reconnect;
      this.tConn = setTimeout(function () {
        self.tConn = null;
        self.attempt = 0;
      }, (r && r.healthyMs) || 30000);
      this.ping();
      // unacknowledged QoS 1 first, same ids, DUP set (spec 4.4)
      for (i = 0; i < this.inflight.length && this.state === CONNECTED; i++) {
        m = this.inflight[i];
        this.send(encodePublish(m.topic, m.payload, 1, m.retain, true, m.id));
      }
      for (i = 0; i < this.subs.length && this.state === CONNECTED; i++) {
        s = this.subs[i];
        if (!p.sessionPresent || !s.acked) this.sendSub(s);
      }
      if (this.state === CONNECTED) this.call(this.onConnect, !!p.sessionPresent);
      this.kick();
    } else if (p.type === PUBLISH) {
      if (p.qos === 2) return this.fail("protocol", "protocol:qos2");
      if (p.qos === 1 && !this.send(encodePuback(p.id as number))) return;
      if (p.tooLarge) this.call(this.onTooLarge, p.topic, p.tooLarge, p.payload);
      else this.call(this.onMessage, p.topic, p.payload, p.qos, p.retain);
    } else if (p.type === PUBACK) {
      for (i = 0; i < this.inflight.length; i++) {
        if (this.inflight[i].id === p.id) {
          m = this.inflight.splice(i, 1)[0];
          this.call(m.done, null);
          this.kick();
          break;
        }
      }
    } else if (p.type === SUBACK) {
      for (i = 0; i < this.subs.length; i++) {
        s = this.subs[i];
        if (s.id === p.id && !s.acked) {
          var g = (p.granted as number[])[0];
          if (g === 0x80) this.subs.splice(i, 1);
          s.acked = true;
          this.call(s.done, g === 0x80 ? "refused" : null, g);
          s.done = undefined;
          break;
        }
      }
    } else if (p.type === PINGRESP) {
      this.stop("tPong");
      this.pong(null);
    } else this.fail("protocol", "protocol:unexpected");
  }

  private sendSub(s: Subscription): void {
    s.id = this.nextId();
    s.acked = false;
    this.send(encodeSubscribe(s.id, s.topic, s.qos));
  }

  private nextId(): number {
    var id = this.lastId, used = true, i: number;
    while (used) {
      id = (id % 65535) + 1;
      used = false;
      for (i = 0; i < this.inflight.length; i++) if (this.inflight[i].id === id) used = true;
      for (i = 0; i < this.subs.length; i++) if (this.subs[i].id === id && !this.subs[i].acked) used = true;
    }
    return (this.lastId = id);
  }

  private ping(): void {
    var self = this, ka = this.o.keepAliveS * 1000;
    if (!ka) return;
    this.tPing = setTimeout(function () {
      self.tPing = null;
      if (!self.tPong) {
        self.tPong = setTimeout(function () {
          self.tPong = null;
          self.fail("ping-timeout", "ping-timeout");
        }, Math.min(ka, self.o.connectTimeoutMs || 10000));
      }
      if (self.send(PINGREQ_PACKET)) self.ping();
    }, ka);
  }

  private pong(err: string | null): void {
    var cbs = this.pongs;
    this.pongs = [];
    for (var i = 0; i < cbs.length; i++) this.call(cbs[i], err);
  }

  /** Move queued messages out, on a fresh tick so callbacks never run inside publish(). */
  private kick(): void {
    var self = this;
    if (this.tPump || this.state !== CONNECTED) return;
    this.tPump = setTimeout(function () {
      self.tPump = null;
      var max = self.o.maxInflight || 8, m: Outgoing;
      while (self.state === CONNECTED && self.queue.length && self.inflight.length < max) {
        m = self.queue.shift() as Outgoing;
        if (m.qos) {
          m.id = self.nextId();
          self.inflight.push(m);
        }
        if (self.send(encodePublish(m.topic, m.payload, m.qos, m.retain, false, m.id)) && !m.qos) self.call(m.done, null);
      }
    }, 0);
  }
}
