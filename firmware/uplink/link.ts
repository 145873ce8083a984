// The uplink: the node's link to the broker. Wi-Fi join with its own timeout, the MQTT client,
// retained status with a last will, the diag report, flushing the store's queue (values leave
// it only on PUBACK), and incoming command payloads handed on (runtime/commands.ts acts on them).
// Firmware code: ES5, Espruino subset.

import { MqttClient } from "../mqtt/client.js";
import { nodeTopics, clientIdFor, statusPayload } from "../messages/topics.js";
import type { NodeTopics } from "../messages/topics.js";
import { packReadings, senmlBaseName } from "../messages/senml.js";
import type { TimedReading } from "../messages/senml.js";
import type { Runtime } from "../runtime/state.js";
import { CLOCK_VALID_MS, type Batch } from "../runtime/store.js";
import { NTP_DEFAULT } from "../config.js";
import { consoleApi } from "../runtime/console-lazy.js";
import { staticWanted, type EarlyJoin } from "./early-join.js";

/** one data message at most (SenML JSON) */
export const MAX_DATA_BYTES = 1024;
/**
 * queue files read per batch, in JSON chars: about four messages, so a battery node's upload
 * of a few hours' values waits for one PUBACK round trip, not one per message (~60 values)
 */
const BATCH_CHARS = 4000;
/** longest inbound packet buffered: a command (MAX_COMMAND_BYTES) with its topic; bigger ones are dropped unread */
const MAX_INBOUND_BYTES = 1024;
/** TCP connect + CONNACK */
const MQTT_CONNECT_TIMEOUT_MS = 10000;
/** before DISCONNECT, give publishes still awaiting PUBACK (acks, status) at most this long */
const DRAIN_MS = 3000;
/** Wi-Fi rejoin backoff on mains nodes */
const WIFI_RETRY_MIN_MS = 5000;
const WIFI_RETRY_MAX_MS = 300000;

export type Done = (err: string | null) => void;

export class Uplink {
  rt: Runtime;
  topics: NodeTopics;
  client: MqttClient | null;
  /** mains: keep Wi-Fi and MQTT up, reconnecting; battery: one session at a time */
  persistent: boolean;
  /** incoming command payloads */
  onCommand: ((payload: string) => void) | null;
  /** a command over MAX_INBOUND_BYTES, dropped unread: its size and first bytes */
  onTooLarge: ((bytes: number, head: string) => void) | null;
  /** (re)connected to the broker */
  onUp: (() => void) | null;
  /** subscribed with the persistent session besides cmd (the ota topic); messages on any topic but cmd go to onOther */
  otherTopic: string;
  onOther: ((topic: string, payload: string) => void) | null;
  private _flushing: Done[] | null;
  private _wifiUp: boolean;
  private _wifiTimer: any;
  private _wifiRetryMs: number;
  /** QoS 1 publishes awaiting PUBACK, and who waits for none to be left */
  private _pending: number;
  private _idle: Array<() => void>;
  /** this join used the static address */
  private _usedStatic: boolean;
  /** a join begun before this session (the wake prelude's or startJoin's, handed over by the scheduler), taken over by joinWifi */
  early: EarlyJoin | null;
  /** a PUBACK came on this connection: the broker has sent us what it queued before it (settle) */
  private _acked: boolean;

  constructor(rt: Runtime, persistent: boolean) {
    this.rt = rt;
    this.persistent = persistent;
    this.topics = nodeTopics(rt.config.site, rt.config.node);
    this.client = null;
    this.onCommand = null;
    this.onTooLarge = null;
    this.onUp = null;
    this.otherTopic = "";
    this.onOther = null;
    this._flushing = null;
    this._wifiUp = false;
    this._wifiTimer = null;
    this._wifiRetryMs = WIFI_RETRY_MIN_MS;
    this._pending = 0;
    this._idle = [];
    this._usedStatic = false;
    this._acked = false;
    this.early = null;
  }

  isUp(): boolean {
    return !!this.client && this.client.isConnected();
  }

  /** battery wake from deep sleep with a static address wanted (staticWanted) */
  private _staticWanted(): boolean {
    return !this.persistent && this.rt.bootCause === "deep-sleep" && staticWanted(this.rt, Date.now());
  }

  /** the static address let us down: DHCP for the next day */
  private _staticFailed(why: string): void {
    if (!this._usedStatic) return;
    this._usedStatic = false;
    this.rt.store.state.ipFail = Date.now();
    this.rt.log("wifi: static address failed (" + why + "): DHCP for a day");
  }

  /** names resolve: joined by DHCP, which set a DNS server (a static address has none) */
  dns(): boolean {
    return !this._usedStatic;
  }

  /** Join Wi-Fi (no-op without a Wifi module); cb(null) once joined, cb(err) on timeout. */
  joinWifi(cb: Done): void {
    var self = this, rt = this.rt, w = rt.platform.wifi, c = rt.config, done = false, t: any = null;
    var finish = function (err: string | null) {
      if (done) return;
      done = true;
      if (t) clearTimeout(t);
      self._wifiUp = !err;
      try {
        // the ESP32 build wants a POSIX TZ string; the node keeps UTC. A battery node with the
        // time set corrects it by its own SNTP exchange (session.ts): lwIP's would move the
        // clock unseen, by an amount the node never learns
        if (err) (w as WifiModule).disconnect();
        else if ((w as WifiModule).setSNTP && (self.persistent || Date.now() < CLOCK_VALID_MS)) (w as any).setSNTP((c.ntp || NTP_DEFAULT).split(":")[0], "UTC0");
      } catch (e) {
        // not connected / time stays as it is
      }
      cb(err);
    };
    if (!w) return cb(null);
    t = setTimeout(function () {
      finish("wifi-timeout");
    }, c.wifiTimeoutMs);
    var early = this.early;
    this.early = null;
    if (early) {
      // the wake prelude or the scheduler began this join (early-join.ts): its radio time counts, its answer ends it
      rt.energy.add("radio", Date.now() - early.t0);
      this._usedStatic = early.ip;
      if (early.ip && early.ipOk === false) this._staticFailed("setIP");
      var answer = function (e: string | null | undefined) {
        finish(e ? "wifi:" + e : null);
      };
      if (early.e === undefined) early.cb = answer;
      else {
        var e0 = early.e;
        setTimeout(function () {
          answer(e0);
        }, 0);
      }
      return;
    }
    var join = function () {
      try {
        (w as WifiModule).connect(c.wifi.ssid, { password: c.wifi.password }, function (err: any) {
          finish(err ? "wifi:" + err : null);
        });
      } catch (e) {
        finish("wifi:" + e);
      }
    };
    this._usedStatic = this._staticWanted();
    if (!this._usedStatic) return join();
    try {
      (w.setIP as any)({ ip: c.wifi.ip, gw: c.wifi.gw, netmask: c.wifi.netmask }, function (r: string | null) {
        // inverted: null means it failed
        if (r === null) self._staticFailed("setIP");
        join();
      });
    } catch (e) {
      self._staticFailed("setIP: " + e);
      join();
    }
  }

  /**
   * Bring the link up. Battery: cb once connected to the broker or failed (no retries past
   * Wi-Fi timeout + MQTT connect timeout). Mains: keeps trying for ever; cb on the first connect.
   */
  open(cb: Done): void {
    var self = this, rt = this.rt, c = rt.config, called = false;
    var once = function (err: string | null) {
      if (called) return;
      called = true;
      cb(err);
    };
    rt.energy.set("radio", true);
    if (this.persistent && rt.platform.wifi) {
      rt.platform.wifi.on("disconnected", function () {
        self._wifiUp = false;
        self._rejoin();
      });
    }
    this.joinWifi(function (err) {
      if (err) {
        rt.log("uplink: " + err);
        self._staticFailed(err);
        if (!self.persistent) return once(err);
        self._rejoin();
      }
      var transport = c.broker.tls ? rt.platform.tls : rt.platform.net;
      if (!transport) {
        rt.log("uplink: broker.tls is set but this Espruino build has no tls module");
        return once("no-tls");
      }
      var m = (self.client = new MqttClient(transport, {
        host: c.broker.host, port: c.broker.port, clientId: clientIdFor(c.site, c.node),
        username: c.broker.username, password: c.broker.password, keepAliveS: c.keepAliveS,
        // persistent session: commands sent while the node slept are kept for it (QoS 1)
        cleanSession: false,
        will: { topic: self.topics.status, payload: statusPayload("offline", { node: c.node, reason: "lost" }), qos: 1, retain: true },
        connectTimeoutMs: MQTT_CONNECT_TIMEOUT_MS,
        reconnect: self.persistent ? { minMs: 2000, maxMs: 120000 } : false,
        maxPacketBytes: MAX_INBOUND_BYTES,
        // battery: status and data go behind the CONNECT, a round trip less awake
        pipeline: !self.persistent,
      }));
      m.onMessage = function (topic, payload) {
        if (topic === self.topics.cmd) {
          if (self.onCommand) self.onCommand(payload);
        } else if (self.onOther) self.onOther(topic, payload);
      };
      // acknowledged to the broker but never buffered: say so on the ack topic
      m.onTooLarge = function (topic, bytes, head) {
        if (topic === self.topics.cmd && self.onTooLarge) self.onTooLarge(bytes, head);
      };
      // the session starts: at each CONNACK (mains), or (battery, pipelined) once the CONNECT is written
      var up = function () {
        self._acked = false;
        self.status("online");
        if (self.onUp) self.onUp();
        once(null);
      };
      m.onConnect = function () {
        rt.log("uplink: connected to " + c.broker.host + ":" + c.broker.port + (self._usedStatic ? " (static " + c.wifi.ip + ")" : ""));
        if (!self._usedStatic && rt.platform.wifi) rt.store.state.dhcpAt = Date.now();
        if (self.persistent) up();
      };
      if (!self.persistent) m.onSent = up;
      m.onClose = function (reason) {
        if (!called) {
          rt.log("uplink: " + reason);
          // joined but the broker is out of reach: the address may be wrong
          if (/^(connect|socket)/.test(reason)) self._staticFailed("mqtt " + reason);
        }
        // nothing more will be acked on this connection
        if (!self.persistent) self._countDone(self._pending);
        if (!self.persistent) once("mqtt:" + reason);
        self._endFlush("mqtt:" + reason);
      };
      // a callback here threw (the reasons a link ends come to onClose)
      m.onError = function (code) {
        rt.log("mqtt: " + code);
      };
      m.subscribe(self.topics.cmd, 1);
      if (self.otherTopic) m.subscribe(self.otherTopic, 1);
      m.connect();
    });
  }

  /** mains: join again later, with backoff */
  private _rejoin(): void {
    var self = this;
    if (this._wifiTimer) return;
    this._wifiTimer = setTimeout(function () {
      self._wifiTimer = null;
      self.joinWifi(function (err) {
        if (err) {
          self._wifiRetryMs = Math.min(WIFI_RETRY_MAX_MS, self._wifiRetryMs * 2);
          self._rejoin();
        } else self._wifiRetryMs = WIFI_RETRY_MIN_MS;
      });
    }, this._wifiRetryMs);
  }

  publish(kind: "status" | "diag" | "ack", payload: string, retain: boolean, done?: Done): void {
    this.publishTo(this.topics[kind], payload, retain, done);
  }

  /** QoS 1 to a topic of the node's own (the ota-state report), counted like the others */
  publishTo(topic: string, payload: string, retain: boolean, done?: Done): void {
    if (!this.client) {
      if (done) done("down");
      return;
    }
    this._pub(topic, payload, retain, done);
  }

  /** every QoS 1 publish goes here, so close() knows, by PUBACK, when none is left */
  private _pub(topic: string, payload: string, retain: boolean, done?: Done): void {
    var self = this, counted = true;
    this._pending++;
    (this.client as MqttClient).publish(topic, payload, { qos: 1, retain: retain }, function (err) {
      if (!err) self._acked = true;
      if (counted) self._countDone(1);
      counted = false;
      if (done) done(err);
    });
  }

  private _countDone(n: number): void {
    this._pending = Math.max(0, this._pending - n);
    if (this._pending) return;
    var w = this._idle;
    this._idle = [];
    for (var i = 0; i < w.length; i++) w[i]();
  }

  /** cb once no publish awaits its PUBACK (at once if none does) */
  private _whenIdle(cb: () => void): void {
    if (!this._pending || !this.isUp()) return cb();
    this._idle.push(cb);
  }

  /**
   * Battery, after the flush: a round trip proves the broker has sent every command queued for
   * us while we slept (it sends them right after CONNACK, before it answers anything sent
   * later): the PUBACK of the online status or the data already did, else one PINGREQ does.
   * Then wait for the PUBACKs of what the commands made us publish (acks). cb(null) then, or
   * cb(why) if it took longer than `maxMs` or the link went down.
   */
  settle(maxMs: number, cb: Done): void {
    var self = this, m = this.client, done = false, t: any = null;
    var fin = function (err: string | null) {
      if (done) return;
      done = true;
      if (t) clearTimeout(t);
      cb(err);
    };
    if (!m || !this.isUp()) return fin("down");
    t = setTimeout(function () {
      fin("settle-timeout");
    }, maxMs);
    var idle = function () {
      self._whenIdle(function () {
        fin(self.isUp() ? null : "down");
      });
    };
    this._whenIdle(function () {
      if (self._acked) return idle();
      (m as MqttClient).roundTrip(function (err) {
        if (err) fin(err);
        else idle();
      });
    });
  }

  /**
   * retained status: online (with what a crew wants at a glance) or offline (asleep until...).
   * The offline one is the session's last word: close() sends it with the DISCONNECT and waits
   * for no PUBACK (if neither arrives, the will says offline).
   */
  status(state: "online" | "offline", extra?: { [field: string]: unknown }): void {
    var rt = this.rt, o: { [field: string]: unknown } = { node: rt.config.node, board: rt.board.name, fw: rt.fw, boot: rt.bootCause };
    if (rt.safe) o.safe = rt.safe;
    o.alarms = rt.store.state.alarms;
    o.queued = rt.store.queued();
    if (rt.lamp) o.lamp = rt.lamp.status();
    if (extra) for (var k in extra) o[k] = extra[k];
    if (state === "offline" && this.client) this.client.publish(this.topics.status, statusPayload(state, o), { qos: 1, retain: true });
    else this.publish("status", statusPayload(state, o), true);
  }

  /** the diagnostics report (console.ts diagReport) on the diag topic */
  diag(): void {
    this.publish("diag", JSON.stringify(consoleApi().diagReport(this.rt)), false);
  }

  /**
   * Send the queue, oldest first, one batch at a time; each batch leaves the store on the
   * PUBACK of all its messages (then the state is saved). cb(null) once the queue is empty.
   */
  flush(cb: Done): void {
    if (this._flushing) {
      this._flushing.push(cb);
      return;
    }
    this._flushing = [cb];
    this._next();
  }

  private _endFlush(err: string | null): void {
    var cbs = this._flushing;
    this._flushing = null;
    if (cbs) for (var i = 0; i < cbs.length; i++) cbs[i](err);
  }

  private _next(): void {
    var self = this, rt = this.rt, store = rt.store, c = rt.config;
    if (!this._flushing) return;
    if (!this.isUp()) return this._endFlush("down");
    var b: Batch | null = store.peek(BATCH_CHARS);
    if (!b) return this._endFlush(null);
    var rs: TimedReading[] = [];
    for (var i = 0; i < b.entries.length; i++) {
      var e = b.entries[i];
      rs.push({ name: e[0], unit: e[1], value: e[2], t: e[3] });
    }
    var msgs = packReadings(senmlBaseName(c.site, c.node), rs, MAX_DATA_BYTES);
    var left = msgs.length, failed: string | null = null, batch = b;
    var acked = function () {
      store.ack(batch);
      // acks the flash cannot record would be sent again after a reboot: stop here
      if (!store.save()) return self._endFlush("flash: " + store.failed);
      self._next();
    };
    if (!left) return acked();
    store.state.c.published += b.entries.length;
    for (var j = 0; j < msgs.length; j++) {
      this._pub(this.topics.data, msgs[j], false, function (err) {
        if (err) failed = err;
        if (--left) return;
        if (failed) self._endFlush("publish:" + failed);
        else acked();
      });
    }
  }

  /** wait (at most DRAIN_MS) for the PUBACKs still due, then DISCONNECT and drop Wi-Fi */
  close(cb: () => void): void {
    var self = this, rt = this.rt, m = this.client, t: any = null, gone = false;
    var end = function () {
      self.client = null;
      if (rt.platform.wifi && self._wifiUp) {
        try {
          rt.platform.wifi.disconnect();
        } catch (e) {
          // already down
        }
      }
      self._wifiUp = false;
      rt.energy.set("radio", false);
      cb();
    };
    var go = function () {
      if (gone) return;
      gone = true;
      if (t) clearTimeout(t);
      if (m && m.isConnected()) m.disconnect(end);
      else {
        if (m) m.destroy();
        end();
      }
    };
    t = setTimeout(go, DRAIN_MS);
    this._whenIdle(go);
  }
}
