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
  CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP, PINGREQ_PACKET, DISCONNECT_PACKET, MqttWill, PacketReader,
  chr, connackReason, encodeConnect, encodePublish, encodePuback, encodeSubscribe, encodeUnsubscribe, get16, packetReader, payloadAt,
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
   * Reconnect by itself after a drop (absent or false: never). The delay doubles per failure
   * and goes back to minMs only once a link has stayed up healthyMs (default 30000): a CONNACK
   * followed by the same failure at once must not reset it.
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

/** a message to send: its PUBLISH as encoded (DUP clear), its packet id (0: QoS 0) */
interface Outgoing {
  packet: string;
  id: number;
  done: PublishDone | null;
}

interface Subscription {
  topic: string;
  qos: number;
  /** its SUBSCRIBE's packet id while the SUBACK is awaited; 0 once acknowledged; -1 before it is first sent */
  id: number;
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
  /**
   * a connection (or an attempt) ended, and why: "closed", "connect-timeout", "ping-timeout",
   * "disconnect", "destroyed", or "connect-failed:<error>" (no socket), "socket:<error>",
   * "protocol:<what the broker broke>", "refused:<CONNACK code's name>"
   */
  onClose?: ((reason: string) => void) | null;
  onMessage?: ((topic: string, payload: string, qos: number, retain: boolean) => void) | null;
  /** an inbound PUBLISH over maxPacketBytes was read past (and acknowledged): its payload size and first bytes */
  onTooLarge?: ((topic: string, bytes: number, head: string) => void) | null;
  /** "callback:<error>": a callback above threw (the client carries on) */
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
   * Drop these filters (one UNSUBSCRIBE packet, when connected): forgotten at once, so a
   * reconnect never subscribes them again. Nothing waits for the UNSUBACK: TCP keeps order,
   * so the broker has acted on it before it answers anything sent later (roundTrip).
   */
  unsubscribe(topics: string[]): void;
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
  var timeoutMs = o.connectTimeoutMs || 10000;
  var sock: NetSocket | null = null, reader: PacketReader | null = null, state = IDLE, wanted = false;
  /** pipeline: this connection's CONNECT is written, packets may follow it */
  var said = false;
  var attempt = 0, lastId = 0, inflight: Outgoing[] = [], queue: Outgoing[] = [], subs: Subscription[] = [];
  var tConn: any = null, tPing: any = null, tPong: any = null, tRetry: any = null, tPump: any = null;
  /** roundTrip() callbacks waiting for a PINGRESP */
  var pongs: PublishDone[] = [];

  function call(f: any, a?: any, b?: any, c?: any, d?: any): void {
    if (!f) return;
    try {
      f(a, b, c, d);
    } catch (e) {
      if (f !== me.onError) call(me.onError, "callback:" + e);
    }
  }

  function open(): void {
    var s!: NetSocket;
    state = CONNECTING;
    reader = packetReader(o.maxPacketBytes);
    var failed = "";
    try {
      s = net.connect({ host: o.host, port: o.port }, function () {
        if (sock !== s || !send(encodeConnect(o)) || !o.pipeline) return;
        said = true;
        resume(true);
        call(me.onSent);
      });
    } catch (e) {
      // Espruino throws at once when the port is closed or the host is unknown: dropped on the next tick
      failed = "connect-failed:" + ((e && (e as any).message) || e);
    }
    tConn = setTimeout(function () {
      tConn = null;
      drop(failed || "connect-timeout");
    }, failed ? 0 : timeoutMs);
    if (failed) return;
    sock = s;
    s.on("data", function (d: string) {
      if (sock === s) data(d);
    });
    s.on("error", function (e: any) {
      if (sock === s) drop("socket:" + ((e && e.message) || e));
    });
    s.on("close", function () {
      if (sock === s) drop("closed");
    });
  }

  /** the broker broke the protocol: the link dropped */
  function broken(why: string): void {
    drop("protocol:" + why);
  }

  /** Tear the connection down; inflight messages stay for the next connection. */
  function drop(reason: string): void {
    var s = sock, was = state;
    pong(reason);
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
    var r = o.reconnect;
    if (wanted && r && state === IDLE && !tRetry) {
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
      drop("socket:" + e);
      return false;
    }
  }

  function data(d: string): void {
    var r = reader as PacketReader;
    r.push(d, function (first, body, tooLarge) {
      if (reader === r) handle(first, body, tooLarge);
    });
    if (r.error && reader === r) broken(r.error);
  }

  /** one valid packet (packet.ts packetError); its fields are read from the body here */
  function handle(first: number, body: string, tooLarge: number): void {
    var type = first >> 4, id = get16(body, 0), i: number, s: Subscription, sessionPresent: boolean;
    if (state === CONNECTING) {
      if (type !== CONNACK) return broken("no-connack");
      i = body.charCodeAt(1);
      if (i) return drop("refused:" + connackReason(i));
      sessionPresent = body.charCodeAt(0) === 1;
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
      if (!o.pipeline) resume(sessionPresent);
      else if (!sessionPresent) {
        for (i = 0; i < subs.length && state === CONNECTED; i++) if (!subs[i].id) sendSub(subs[i]);
      }
      if (state === CONNECTED) call(me.onConnect, sessionPresent);
      kick();
    } else if (type === PUBLISH) {
      // id: the topic's length here
      var qos = (first >> 1) & 3, topic = body.slice(2, 2 + id), at = payloadAt(first, body, 0), payload = body.slice(at);
      if (qos > 1) return broken("qos2");
      if (qos && !send(encodePuback(get16(body, at - 2)))) return;
      if (tooLarge) call(me.onTooLarge, topic, tooLarge, payload);
      else call(me.onMessage, topic, payload, qos, (first & 1) > 0);
    } else if (type === PUBACK) {
      for (i = 0; i < inflight.length; i++) {
        if (inflight[i].id === id) {
          call(inflight.splice(i, 1)[0].done, null);
          kick();
          break;
        }
      }
    } else if (type === SUBACK) {
      for (i = 0; i < subs.length; i++) {
        s = subs[i];
        if (s.id === id) {
          var g = body.charCodeAt(2);
          if (g === 0x80) subs.splice(i, 1);
          s.id = 0;
          call(s.done, g === 0x80 ? "refused" : null, g);
          s.done = null;
          break;
        }
      }
    } else if (type === PINGRESP) {
      tPong = stop(tPong);
      pong(null);
    } else if (type === CONNACK) broken("unexpected");
    // an UNSUBACK: nothing waits for it (unsubscribe)
  }

  /** a new connection may carry traffic: unacknowledged QoS 1 first, same ids, DUP set (spec 4.4), then subscriptions */
  function resume(sessionPresent: boolean): void {
    var i: number, p: string, s = sock;
    for (i = 0; i < inflight.length && sock === s; i++) {
      p = inflight[i].packet;
      send(chr(p.charCodeAt(0) | 8) + p.slice(1));
    }
    for (i = 0; i < subs.length && sock === s; i++) if (!sessionPresent || subs[i].id) sendSub(subs[i]);
    kick();
  }

  /** packets may go: CONNACK accepted, or (pipeline) the CONNECT written */
  function ready(): boolean {
    return state === CONNECTED || said;
  }

  function sendSub(s: Subscription): void {
    s.id = nextId();
    send(encodeSubscribe(s.id, s.topic, s.qos));
  }

  function nextId(): number {
    var id = lastId, used = true, i: number, all: Array<{ id: number }> = (inflight as Array<{ id: number }>).concat(queue, subs);
    while (used) {
      id = (id % 65535) + 1;
      used = false;
      for (i = 0; i < all.length; i++) if (all[i].id === id) used = true;
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
          drop("ping-timeout");
        }, Math.min(ka, timeoutMs));
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
      if (m.id) inflight.push(m);
      if (send(m.packet) && !m.id) call(m.done, null);
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
      var err = !topic || topic.length > 65535 || /[#+\x00]/.test(topic) ? "bad-topic" : qos !== 0 && qos !== 1 ? "bad-qos"
        : queue.length >= (o.maxQueue || 32) ? "queue-full" : null;
      if (err) return later(done, err);
      // the id is taken now: a resend after a reconnect needs the same one (spec 4.4)
      var id = qos ? nextId() : 0;
      // done never undefined: 2v29 throws reading one through a call's result (inflight.splice(i, 1)[0].done, docs/espruino-dialect.md)
      queue.push({ packet: encodePublish(topic, payload, qos, !!(opts && opts.retain), false, id), id: id, done: done || null });
      kick();
    },
    subscribe: function (topic, qos, done) {
      if (!topic || (qos !== 0 && qos !== 1)) return later(done, "bad-subscription", 0x80);
      var s: Subscription = { topic: topic, qos: qos, id: -1, done: done || null };
      subs.push(s);
      if (ready()) sendSub(s);
    },
    unsubscribe: function (topics) {
      for (var i = subs.length - 1; i >= 0; i--) if (topics.indexOf(subs[i].topic) >= 0) subs.splice(i, 1);
      if (ready() && topics.length) send(encodeUnsubscribe(nextId(), topics));
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
        later(done);
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
      // every callback still waiting (an acknowledged subscription's is null: later() skips it); 0x80 is a subscription's refused code
      var all: Array<{ done: any }> = (inflight as Array<{ done: any }>).concat(queue, subs);
      for (var i = 0; i < all.length; i++) later(all[i].done, "aborted", 0x80);
      inflight = [];
      queue = [];
      subs = [];
    },
  };
  return me;
}

/** `new MqttClient(net, options)`, as when it was a class */
export var MqttClient = mqttClient as unknown as { new (net: NetModule, options: MqttClientOptions): MqttClient };
