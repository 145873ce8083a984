// A small MQTT 3.1.1 client over Espruino's `net` (binary strings both ways): QoS 0 and 1,
// last will, persistent sessions, keep-alive, reconnect with backoff. Espruino's own MQTT
// modules are QoS 0 only with no will, and the node's data leaves its queue only on PUBACK.
//
// Delivery: publish() queues; up to maxInflight QoS 1 messages wait for PUBACK at once.
// After a reconnect the unacknowledged ones are sent again with DUP set and the same packet
// id, before anything new. QoS 1 `done` fires only on PUBACK; QoS 0 `done` once written.
//
// Closure-style (a factory, state in closure variables): the minifier renames locals but not
// property names, so this is about a third smaller in the bundle than the class it replaced.
// `new MqttClient(net, options)` still works (a constructor returning an object returns it).

import {
  CONNACK, PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP, PINGREQ_PACKET, DISCONNECT_PACKET, MqttPacket, MqttWill, PacketReader,
  connackReason, encodeConnect, encodePublish, encodePuback, encodeSubscribe, encodeUnsubscribe,
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
  /**
   * send subscriptions and publishes right behind the CONNECT, not after the CONNACK (MQTT
   * 3.1.1 section 3.1.4 allows it; a broker that refuses processes none of them, and QoS 1
   * ones stay unacknowledged): a round trip less per connection
   */
  pipeline?: boolean;
}

export type PublishDone = (err: string | null) => void;
export type SubscribeDone = (err: string | null, grantedQos: number) => void;

interface Outgoing {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  id: number;
  done: PublishDone | null;
}

interface Subscription {
  topic: string;
  qos: number;
  id: number;
  acked: boolean;
  done: SubscribeDone | null;
}

const IDLE = 0;
const CONNECTING = 1;
const CONNECTED = 2;

function later(f: any, a?: any, b?: any): void {
  if (f) setTimeout(function () { f(a, b); }, 0);
}

/** clear a timer if set; returns null to store back */
function stop(t: any): null {
  if (t) clearTimeout(t);
  return null;
}

export interface MqttClient {
  /** CONNACK accepted; sessionPresent tells whether the broker kept our session */
  onConnect?: ((sessionPresent: boolean) => void) | null;
  /** pipeline: the CONNECT is written, what is published now goes behind it */
  onSent?: (() => void) | null;
  /** a connection (or an attempt) ended: "closed", "error", "connect-failed", "connect-timeout",
   *  "ping-timeout", "protocol", "refused", "disconnect", "destroyed" */
  onClose?: ((reason: string) => void) | null;
  onMessage?: ((topic: string, payload: string, qos: number, retain: boolean) => void) | null;
  /** an inbound PUBLISH over maxPacketBytes was read past (and acknowledged): its payload size and first bytes */
  onTooLarge?: ((topic: string, bytes: number, head: string) => void) | null;
  /** "connect:<why>", "socket:<why>", "protocol:<code>", "refused:<reason>", "ping-timeout", "callback:<error>" */
  onError?: ((code: string) => void) | null;
  /** Start connecting (and keep reconnecting, unless reconnect is false). */
  connect(): void;
  /** CONNACK accepted; with `pipeline`, from the CONNECT written (until the link drops or the CONNACK refuses) */
  isConnected(): boolean;
  /** messages published and not finished yet: queued, or QoS 1 awaiting PUBACK */
  inflightCount(): number;
  publish(topic: string, payload: string, opts?: { qos?: number; retain?: boolean }, done?: PublishDone): void;
  /** Subscribe to one filter; kept and sent again whenever the broker has no session for us. */
  subscribe(topic: string, qos: number, done?: SubscribeDone): void;
  /**
   * Drop these filters (one UNSUBSCRIBE packet): forgotten at once, so a reconnect never
   * subscribes them again; `done` on the UNSUBACK, or "down"/"aborted" when it cannot come.
   */
  unsubscribe(topics: string[], done?: PublishDone): void;
  /**
   * One PINGREQ: cb(null) on its PINGRESP. TCP keeps order, so everything the broker sent
   * before answering (a persistent session's queued messages) has been handled by then.
   * cb(reason) if the connection ends first.
   */
  roundTrip(cb: PublishDone): void;
  /** Send DISCONNECT (the broker then drops the will) and close; `done` once the socket closed. */
  disconnect(done?: () => void): void;
  /** Close at once, for good: pending publish/subscribe callbacks get "aborted". */
  destroy(): void;
}

function mqttClient(net: NetModule, o: MqttClientOptions): MqttClient {
  var sock: NetSocket | null = null, reader: PacketReader | null = null, state = IDLE, wanted = false;
  /** this connection's CONNECT is written */
  var said = false;
  var attempt = 0, lastId = 0, inflight: Outgoing[] = [], queue: Outgoing[] = [], subs: Subscription[] = [];
  var tConn: any = null, tPing: any = null, tPong: any = null, tRetry: any = null, tPump: any = null;
  /** roundTrip() callbacks waiting for a PINGRESP */
  var pongs: PublishDone[] = [];
  /** UNSUBSCRIBEs awaiting their UNSUBACK */
  var unsubs: Array<{ id: number; done: PublishDone | null }> = [];

  function call(f: any, a?: any, b?: any, c?: any, d?: any): void {
    if (!f) return;
    try {
      f(a, b, c, d);
    } catch (e) {
      if (f !== me.onError) call(me.onError, "callback:" + e);
    }
  }

  function open(): void {
    var s: NetSocket;
    state = CONNECTING;
    reader = new PacketReader(o.maxPacketBytes);
    tConn = setTimeout(function () {
      tConn = null;
      fail("connect-timeout", "connect:timeout");
    }, o.connectTimeoutMs || 10000);
    try {
      s = net.connect({ host: o.host, port: o.port }, function () {
        if (sock !== s || !send(encodeConnect(o))) return;
        said = true;
        if (!o.pipeline) return;
        resume(true);
        call(me.onSent);
      });
    } catch (e) {
      // Espruino throws at once when the port is closed or the host is unknown
      tConn = stop(tConn);
      tConn = setTimeout(function () {
        tConn = null;
        fail("connect-failed", "connect:" + ((e && (e as any).message) || e));
      }, 0);
      return;
    }
    sock = s;
    s.on("data", function (d: string) {
      if (sock === s) data(d);
    });
    s.on("error", function (e: any) {
      if (sock === s) fail("error", "socket:" + ((e && e.message) || e));
    });
    s.on("close", function () {
      if (sock === s) drop("closed");
    });
  }

  function fail(reason: string, code: string): void {
    call(me.onError, code);
    drop(reason);
  }

  /** the broker broke the protocol: onError "protocol:<why>", the link dropped */
  function broken(why: string): void {
    fail("protocol", "protocol:" + why);
  }

  /** Tear the connection down; inflight messages stay for the next connection. */
  function drop(reason: string): void {
    var s = sock, was = state, us = unsubs;
    pong(reason);
    unsubs = [];
    for (var i = 0; i < us.length; i++) call(us[i].done, reason);
    tConn = stop(tConn);
    tPing = stop(tPing);
    tPong = stop(tPong);
    sock = null;
    reader = null;
    state = IDLE;
    said = false;
    if (s) {
      try {
        s.end();
      } catch (e) {
        // already closed
      }
    }
    if (was !== IDLE) call(me.onClose, reason);
    if (wanted && o.reconnect !== false && state === IDLE && !tRetry) {
      var r = o.reconnect || { minMs: 1000, maxMs: 60000 };
      var delay = Math.min(r.maxMs, r.minMs * Math.pow(2, Math.min(attempt++, 16)));
      // "equal jitter": half fixed, half random, so a fleet does not reconnect in step
      delay = delay / 2 + (o.random || Math.random)() * (delay / 2);
      tRetry = setTimeout(function () {
        tRetry = null;
        if (wanted && state === IDLE) open();
      }, delay);
    }
  }

  function send(d: string): boolean {
    var s = sock;
    if (!s) return false;
    try {
      s.write(d);
      return true;
    } catch (e) {
      fail("error", "socket:" + e);
      return false;
    }
  }

  function data(d: string): void {
    var r = reader as PacketReader, ps = r.push(d), s = sock;
    for (var i = 0; i < ps.length && sock === s; i++) handle(ps[i]);
    if (r.error && sock === s) broken(r.error);
  }

  function handle(p: MqttPacket): void {
    var i: number, m: Outgoing | undefined, s: Subscription;
    if (state === CONNECTING) {
      if (p.type !== CONNACK) return broken("no-connack");
      if (p.returnCode) return fail("refused", "refused:" + connackReason(p.returnCode));
      tConn = stop(tConn);
      state = CONNECTED;
      // tConn now times the link's health: backoff resets only if it stays up
      var r = o.reconnect;
      tConn = setTimeout(function () {
        tConn = null;
        attempt = 0;
      }, (r && r.healthyMs) || 30000);
      ping();
      // pipelined: all went behind the CONNECT but subscriptions a broker without our session lacks
      if (!o.pipeline) resume(!!p.sessionPresent);
      else if (!p.sessionPresent) {
        for (i = 0; i < subs.length && state === CONNECTED; i++) if (subs[i].acked) sendSub(subs[i]);
      }
      if (state === CONNECTED) call(me.onConnect, !!p.sessionPresent);
      kick();
    } else if (p.type === PUBLISH) {
      if (p.qos === 2) return broken("qos2");
      if (p.qos === 1 && !send(encodePuback(p.id as number))) return;
      if (p.tooLarge) call(me.onTooLarge, p.topic, p.tooLarge, p.payload);
      else call(me.onMessage, p.topic, p.payload, p.qos, p.retain);
    } else if (p.type === PUBACK) {
      for (i = 0; i < inflight.length; i++) {
        if (inflight[i].id === p.id) {
          m = inflight.splice(i, 1)[0];
          call(m.done, null);
          kick();
          break;
        }
      }
    } else if (p.type === SUBACK) {
      for (i = 0; i < subs.length; i++) {
        s = subs[i];
        if (s.id === p.id && !s.acked) {
          var g = (p.granted as number[])[0];
          if (g === 0x80) subs.splice(i, 1);
          s.acked = true;
          call(s.done, g === 0x80 ? "refused" : null, g);
          s.done = null;
          break;
        }
      }
    } else if (p.type === UNSUBACK) {
      for (i = 0; i < unsubs.length; i++) {
        if (unsubs[i].id === p.id) {
          call(unsubs.splice(i, 1)[0].done, null);
          break;
        }
      }
    } else if (p.type === PINGRESP) {
      tPong = stop(tPong);
      pong(null);
    } else broken("unexpected");
  }

  /** a new connection may carry traffic: unacknowledged QoS 1 first, same ids, DUP set (spec 4.4), then subscriptions */
  function resume(sessionPresent: boolean): void {
    var i: number, m: Outgoing, s = sock;
    for (i = 0; i < inflight.length && sock === s; i++) {
      m = inflight[i];
      send(encodePublish(m.topic, m.payload, 1, m.retain, true, m.id));
    }
    for (i = 0; i < subs.length && sock === s; i++) if (!sessionPresent || !subs[i].acked) sendSub(subs[i]);
    kick();
  }

  /** packets may go: CONNACK accepted, or (pipeline) the CONNECT written */
  function ready(): boolean {
    return state === CONNECTED || (said && !!o.pipeline);
  }

  function sendSub(s: Subscription): void {
    s.id = nextId();
    s.acked = false;
    send(encodeSubscribe(s.id, s.topic, s.qos));
  }

  function nextId(): number {
    var id = lastId, used = true, i: number;
    while (used) {
      id = (id % 65535) + 1;
      used = false;
      for (i = 0; i < inflight.length; i++) if (inflight[i].id === id) used = true;
      for (i = 0; i < subs.length; i++) if (subs[i].id === id && !subs[i].acked) used = true;
    }
    return (lastId = id);
  }

  function ping(): void {
    var ka = o.keepAliveS * 1000;
    if (!ka) return;
    tPing = setTimeout(function () {
      tPing = null;
      if (!tPong) {
        tPong = setTimeout(function () {
          tPong = null;
          fail("ping-timeout", "ping-timeout");
        }, Math.min(ka, o.connectTimeoutMs || 10000));
      }
      if (send(PINGREQ_PACKET)) ping();
    }, ka);
  }

  function pong(err: string | null): void {
    var cbs = pongs;
    pongs = [];
    for (var i = 0; i < cbs.length; i++) call(cbs[i], err);
  }

  /** Move queued messages out, on a fresh tick so callbacks never run inside publish(). */
  function kick(): void {
    if (tPump || !ready()) return;
    tPump = setTimeout(pump, 0);
  }

  function pump(): void {
    tPump = stop(tPump);
    var max = o.maxInflight || 8, m: Outgoing;
    while (ready() && queue.length && inflight.length < max) {
      m = queue.shift() as Outgoing;
      if (m.qos) {
        m.id = nextId();
        inflight.push(m);
      }
      if (send(encodePublish(m.topic, m.payload, m.qos, m.retain, false, m.id)) && !m.qos) call(m.done, null);
    }
  }

  var me: MqttClient = {
    connect: function () {
      wanted = true;
      if (state === IDLE && !tRetry) open();
    },
    isConnected: ready,
    inflightCount: function () {
      return inflight.length + queue.length;
    },
    publish: function (topic, payload, opts, done) {
      var qos = (opts && opts.qos) || 0;
      var err = !topic || /[#+\x00]/.test(topic) ? "bad-topic" : qos !== 0 && qos !== 1 ? "bad-qos"
        : queue.length >= (o.maxQueue || 32) ? "queue-full" : null;
      if (err) return later(done, err);
      queue.push({ topic: topic, payload: payload, qos: qos, retain: !!(opts && opts.retain), id: 0, done: done || null });
      kick();
    },
    subscribe: function (topic, qos, done) {
      if (!topic || (qos !== 0 && qos !== 1)) return later(done, "bad-subscription", 0x80);
      var s: Subscription = { topic: topic, qos: qos, id: 0, acked: false, done: done || null };
      subs.push(s);
      if (ready()) sendSub(s);
    },
    unsubscribe: function (topics, done) {
      for (var i = subs.length - 1; i >= 0; i--) if (topics.indexOf(subs[i].topic) >= 0) subs.splice(i, 1);
      if (!ready() || !topics.length) return later(done, ready() ? null : "down");
      // never an undefined property (here and in each queued message and subscription): 2v29
      // throws ReferenceError reading one through a call's result (unsubs.splice(i, 1)[0].done,
      // docs/espruino-dialect.md)
      var u = { id: nextId(), done: done || null };
      unsubs.push(u);
      send(encodeUnsubscribe(u.id, topics));
    },
    roundTrip: function (cb) {
      if (!ready()) return later(cb, "down");
      pongs.push(cb);
      send(PINGREQ_PACKET);
    },
    disconnect: function (done) {
      var s = sock, t: any = null;
      var fin = function () {
        t = stop(t);
        if (done) later(done);
        done = undefined;
      };
      wanted = false;
      tRetry = stop(tRetry);
      // what was published before goes out before the DISCONNECT (a last status needs no PUBACK wait)
      pump();
      if (ready()) send(DISCONNECT_PACKET);
      if (s) {
        // end() sends what is buffered first; give it 2 s
        s.on("close", fin);
        t = setTimeout(fin, 2000);
      } else fin();
      drop("disconnect");
    },
    destroy: function () {
      wanted = false;
      tRetry = stop(tRetry);
      tPump = stop(tPump);
      drop("destroyed");
      var all = inflight.concat(queue), i: number;
      for (i = 0; i < all.length; i++) later(all[i].done, "aborted");
      for (i = 0; i < subs.length; i++) if (!subs[i].acked) later(subs[i].done, "aborted", 0x80);
      inflight = [];
      queue = [];
      subs = [];
    },
  };
  return me;
}

/** `new MqttClient(net, options)`, as when it was a class */
export var MqttClient = mqttClient as unknown as { new (net: NetModule, options: MqttClientOptions): MqttClient };
