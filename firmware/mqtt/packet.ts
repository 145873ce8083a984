// MQTT 3.1.1 packets (OASIS mqtt-v3.1.1-os) as binary strings, one char per byte, as
// Espruino's net sockets deliver them. Only what a QoS 0/1 client needs: it encodes
// CONNECT, PUBLISH, PUBACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT and decodes what a broker sends.
// Topics and payloads are byte strings: the firmware keeps them ASCII (no UTF-8 on ESP32).

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** payload bytes kept of a PUBLISH over the limit (enough for a command's leading "id") */
export const TOO_LARGE_HEAD = 64;

/** bytes from char codes (a short name: the encoders and the client call it often) */
export var chr = String.fromCharCode;

// built at run time: a minifier may print "\xc0" as a raw char, which a UTF-8 file turns into 2 bytes
export const PINGREQ_PACKET = chr(0xc0, 0);
export const DISCONNECT_PACKET = chr(0xe0, 0);

export interface MqttWill {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface ConnectFields {
  clientId: string;
  username?: string;
  password?: string;
  keepAliveS: number;
  cleanSession: boolean;
  will?: MqttWill;
}

const REFUSALS = ["unacceptable protocol version", "identifier rejected", "server unavailable", "bad user name or password", "not authorized"];

/** a refusing CONNACK's return code (1..255) as text (spec 3.2.2.3) */
export function connackReason(code: number): string {
  return REFUSALS[code - 1] || "code " + code;
}

/**
 * Remaining length in 1-4 bytes, 7 bits each, high bit = more (spec 2.2.3). No range check:
 * nothing a node holds comes near the 4-byte form's 256 MB.
 */
export function encodeLength(n: number): string {
  var s = "";
  do {
    var b = n % 128;
    n = Math.floor(n / 128);
    s += chr(n > 0 ? b | 128 : b);
  } while (n > 0);
  return s;
}

function u16(n: number): string {
  return chr((n >> 8) & 255, n & 255);
}

/**
 * length-prefixed string field (spec 1.5.3), up to 65535 bytes: publish() refuses a longer
 * topic, the config check bounds the credentials, and the node's own topics are short
 */
function field(s: string): string {
  return u16(s.length) + s;
}

function frame(first: number, body: string): string {
  return chr(first) + encodeLength(body.length) + body;
}

export function encodeConnect(c: ConnectFields): string {
  var flags = c.cleanSession ? 2 : 0;
  var payload = field(c.clientId);
  var w = c.will;
  if (w) {
    flags |= 4 | (w.qos << 3) | (w.retain ? 32 : 0);
    payload += field(w.topic) + field(w.payload);
  }
  // a password needs the user name flag (spec 3.1.2.9, MQTT-3.1.2-22)
  if (c.username != null || c.password != null) {
    flags |= 128;
    payload += field(c.username || "");
  }
  if (c.password != null) {
    flags |= 64;
    payload += field(c.password);
  }
  return frame(0x10, "\x00\x04MQTT\x04" + chr(flags) + u16(c.keepAliveS) + payload);
}

export function encodePublish(topic: string, payload: string, qos: number, retain: boolean, dup: boolean, id: number): string {
  return frame(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), field(topic) + (qos ? u16(id) : "") + payload);
}

export function encodePuback(id: number): string {
  return "\x40\x02" + u16(id);
}

/** SUBSCRIBE with one topic filter (flags 0010 are mandatory, spec 3.8.1) */
export function encodeSubscribe(id: number, topic: string, qos: number): string {
  return frame(0x82, u16(id) + field(topic) + chr(qos));
}

/** UNSUBSCRIBE of several topic filters in one packet (flags 0010 mandatory, spec 3.10.1) */
export function encodeUnsubscribe(id: number, topics: string[]): string {
  var b = u16(id);
  for (var i = 0; i < topics.length; i++) b += field(topics[i]);
  return frame(0xa2, b);
}

export function get16(s: string, i: number): number {
  return (s.charCodeAt(i) << 8) | s.charCodeAt(i + 1);
}

/** where the payload of a PUBLISH whose body starts at `at` in `s` begins: after its topic and, above QoS 0, its packet id */
export function payloadAt(first: number, s: string, at: number): number {
  return at + 2 + get16(s, at) + ((first >> 1) & 3 ? 2 : 0);
}

/**
 * What is wrong with one server-to-client packet (its first byte and body), as an error code,
 * or "" when a QoS 0/1 client may act on it. The client reads the fields from the body itself:
 * a decoded object would carry its field names into the bundle (they survive minifying).
 */
export function packetError(first: number, body: string): string {
  var type = first >> 4, flags = first & 15, n = body.length, id = get16(body, 0), ok: any = !flags, i: number, c: number;
  if (type === PUBLISH) {
    var qos = (flags >> 1) & 3;
    i = payloadAt(first, body, 0);
    // qos 3 is malformed; DUP must be 0 for qos 0 (MQTT-3.3.1-2); topic names carry no
    // wildcards and no NUL (MQTT-3.3.2-2, MQTT-4.7.3-1); a qos 1 one has a nonzero id
    ok = n > 1 && qos < 3 && (qos || !(flags & 8)) && id > 0 && i <= n && !/[#+\x00]/.test(body.slice(2, 2 + id)) && (!qos || get16(body, i - 2) > 0);
  } else if (type === CONNACK) {
    // only bit 0 (session present) may be set in the acknowledge flags
    ok = ok && n === 2 && body.charCodeAt(0) < 2;
  } else if (type === PUBACK || type === UNSUBACK) {
    ok = ok && n === 2 && id > 0;
  } else if (type === SUBACK) {
    for (i = 2; i < n; i++) {
      c = body.charCodeAt(i);
      if (c > 2 && c !== 0x80) ok = false;
    }
    ok = ok && n > 2 && id > 0;
  } else if (type === PINGRESP) ok = ok && !n;
  else return flags ? "malformed" : "bad-type";
  return ok ? "" : "malformed";
}

/** one valid packet read: its first byte, its body (for a PUBLISH over the limit, the start of it) and, then, the payload's size */
export type PacketSink = (first: number, body: string, tooLarge: number) => void;

/**
 * Splits a TCP byte stream into packets, whatever the chunking, and hands each valid one to
 * `sink`. A PUBLISH over `maxLength` is not buffered: its header and first TOO_LARGE_HEAD
 * payload bytes come out with `tooLarge` = its payload size, the rest is discarded as it
 * arrives, and reading goes on after it (so a QoS 1 one can still be acknowledged and the
 * broker stops redelivering it). After the first bad packet it sets `error` ("bad-length",
 * "too-large", packetError's codes) and hands out nothing more: the stream cannot be
 * resynchronised. Closure-style, as the client (client.ts says why).
 */
export interface PacketReader {
  /** bytes read and not yet handed out */
  buf: string;
  error: string | null;
  push(data: string, sink: PacketSink): void;
}

export function packetReader(maxLength?: number): PacketReader {
  var max = maxLength || 8192, skip = 0;
  var me: PacketReader = {
    buf: "",
    error: null,
    push: function (data, sink) {
      var fail = function (code: string) {
        me.error = code;
        me.buf = "";
      };
      if (me.error) return;
      var buf = me.buf + data, e: string;
      while (buf.length) {
        if (skip) {
          var n = Math.min(skip, buf.length);
          skip -= n;
          buf = buf.slice(n);
          continue;
        }
        if (buf.length < 2) break;
        var len = 0, mul = 1, i = 1, b = 128, first = buf.charCodeAt(0), take: number;
        while (b & 128) {
          if (i > 4) return fail("bad-length");
          if (i >= buf.length) return void (me.buf = buf);
          b = buf.charCodeAt(i++);
          len += (b & 127) * mul;
          mul *= 128;
        }
        // only a PUBLISH may be big; its topic (and id) must fit in the limit
        var hl = len > max ? (first >> 4 !== PUBLISH ? max : buf.length >= i + 2 ? payloadAt(first, buf, i) - i : 4) : 0;
        if (hl + TOO_LARGE_HEAD > max) return fail("too-large");
        take = hl ? hl + TOO_LARGE_HEAD : len;
        if (buf.length < i + take) break;
        var body = buf.slice(i, i + take);
        if ((e = packetError(first, body))) return fail(e);
        buf = buf.slice(i + take);
        if (hl) skip = len - take;
        sink(first, body, hl ? len - hl : 0);
      }
      me.buf = buf;
    },
  };
  return me;
}
