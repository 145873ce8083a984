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

/** largest remaining length the 4-byte form can carry (spec 2.2.3) */
export const MAX_REMAINING_LENGTH = 268435455;
/** payload bytes kept of a PUBLISH over the limit (enough for a command's leading "id") */
export const TOO_LARGE_HEAD = 64;

// built at run time: a minifier may print "\xc0" as a raw char, which a UTF-8 file turns into 2 bytes
export const PINGREQ_PACKET = String.fromCharCode(0xc0, 0);
export const DISCONNECT_PACKET = String.fromCharCode(0xe0, 0);

/** A decoded server-to-client packet; which fields are set depends on `type`. */
export interface MqttPacket {
  type: number;
  /** packet identifier (PUBLISH qos>0, PUBACK, SUBACK, UNSUBACK) */
  id?: number;
  sessionPresent?: boolean;
  /** CONNACK return code, 0 = accepted */
  returnCode?: number;
  topic?: string;
  payload?: string;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  /** SUBACK return codes: granted QoS 0..2, or 0x80 = refused */
  granted?: number[];
  /** PUBLISH over the reader's limit: its payload size; `payload` then holds only its first TOO_LARGE_HEAD bytes */
  tooLarge?: number;
}

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

const REFUSALS = ["", "unacceptable protocol version", "identifier rejected", "server unavailable", "bad user name or password", "not authorized"];

/** CONNACK return code as text (spec 3.2.2.3); "" for 0 = accepted */
export function connackReason(code: number): string {
  return REFUSALS[code] !== undefined ? REFUSALS[code] : "refused " + code;
}

/** Remaining length in 1-4 bytes, 7 bits each, high bit = more (spec 2.2.3). */
export function encodeLength(n: number): string {
  if (n < 0 || n > MAX_REMAINING_LENGTH || n !== Math.floor(n)) throw new Error("bad length " + n);
  var s = "";
  do {
    var b = n % 128;
    n = Math.floor(n / 128);
    s += String.fromCharCode(n > 0 ? b | 128 : b);
  } while (n > 0);
  return s;
}

function u16(n: number): string {
  return String.fromCharCode((n >> 8) & 255, n & 255);
}

/** length-prefixed string field (spec 1.5.3); throws past 65535 bytes */
function field(s: string): string {
  if (s.length > 65535) throw new Error("field too long");
  return u16(s.length) + s;
}

function frame(first: number, body: string): string {
  return String.fromCharCode(first) + encodeLength(body.length) + body;
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
  return frame(0x10, "\x00\x04MQTT\x04" + String.fromCharCode(flags) + u16(c.keepAliveS) + payload);
}

export function encodePublish(topic: string, payload: string, qos: number, retain: boolean, dup: boolean, id: number): string {
  return frame(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), field(topic) + (qos ? u16(id) : "") + payload);
}

export function encodePuback(id: number): string {
  return "\x40\x02" + u16(id);
}

/** SUBSCRIBE with one topic filter (flags 0010 are mandatory, spec 3.8.1) */
export function encodeSubscribe(id: number, topic: string, qos: number): string {
  return frame(0x82, u16(id) + field(topic) + String.fromCharCode(qos));
}

/** UNSUBSCRIBE of several topic filters in one packet (flags 0010 mandatory, spec 3.10.1) */
export function encodeUnsubscribe(id: number, topics: string[]): string {
  var b = u16(id);
  for (var i = 0; i < topics.length; i++) b += field(topics[i]);
  return frame(0xa2, b);
}

function get16(s: string, i: number): number {
  return (s.charCodeAt(i) << 8) | s.charCodeAt(i + 1);
}

/** Decode one packet body; returns the packet or an error code. */
export function decodePacket(first: number, body: string): MqttPacket | string {
  var type = first >> 4, flags = first & 15, n = body.length, id: number, i: number;
  if (type === CONNACK) {
    // only bit 0 (session present) may be set in the acknowledge flags
    if (flags || n !== 2 || body.charCodeAt(0) > 1) return "malformed";
    return { type: type, sessionPresent: body.charCodeAt(0) === 1, returnCode: body.charCodeAt(1) };
  }
  if (type === PUBLISH) {
    var qos = (flags >> 1) & 3;
    // qos 3 is malformed; DUP must be 0 for qos 0 (MQTT-3.3.1-2)
    if (qos === 3 || (!qos && flags & 8) || n < 2) return "malformed";
    var tl = get16(body, 0);
    i = 2 + tl;
    var topic = body.substring(2, i);
    // topic names carry no wildcards and no NUL (MQTT-3.3.2-2, MQTT-4.7.3-1)
    if (!tl || i > n || /[#+\x00]/.test(topic)) return "malformed";
    id = 0;
    if (qos) {
      if (i + 2 > n) return "malformed";
      id = get16(body, i);
      if (!id) return "malformed";
      i += 2;
    }
    return { type: type, topic: topic, payload: body.substring(i), qos: qos, dup: (flags & 8) > 0, retain: (flags & 1) > 0, id: id };
  }
  if (flags) return "malformed";
  if (type === PUBACK || type === UNSUBACK) {
    if (n !== 2 || !(id = get16(body, 0))) return "malformed";
    return { type: type, id: id };
  }
  if (type === SUBACK) {
    if (n < 3 || !(id = get16(body, 0))) return "malformed";
    var granted: number[] = [];
    for (i = 2; i < n; i++) {
      var rc = body.charCodeAt(i);
      if (rc > 2 && rc !== 0x80) return "malformed";
      granted.push(rc);
    }
    return { type: type, id: id, granted: granted };
  }
  if (type === PINGRESP) return n ? "malformed" : { type: type };
  return "bad-type";
}

/**
 * Splits a TCP byte stream into packets, whatever the chunking. A PUBLISH over `maxLength`
 * is not buffered: its header and first TOO_LARGE_HEAD payload bytes come out as a packet
 * with `tooLarge` set, the rest is discarded as it arrives, and reading goes on after it (so
 * a QoS 1 one can still be acknowledged and the broker stops redelivering it). After the
 * first malformed packet it sets `error` ("bad-length", "too-large", "malformed",
 * "bad-type") and returns nothing more: the stream cannot be resynchronised.
 */
export class PacketReader {
  buf: string;
  error: string | null;
  private _maxLength: number;
  /** bytes of an oversized PUBLISH still to discard */
  private _skip: number;

  constructor(maxLength?: number) {
    this.buf = "";
    this.error = null;
    this._maxLength = maxLength || 8192;
    this._skip = 0;
  }

  push(data: string): MqttPacket[] {
    var out: MqttPacket[] = [];
    if (this.error) return out;
    var buf = this.buf + data, p: MqttPacket | string;
    while (buf.length) {
      if (this._skip) {
        var n = Math.min(this._skip, buf.length);
        this._skip -= n;
        buf = buf.substring(n);
        continue;
      }
      if (buf.length < 2) break;
      var len = 0, mul = 1, i = 1, b = 128, first = buf.charCodeAt(0);
      while (b & 128) {
        if (i > 4) return this._fail("bad-length", out);
        if (i >= buf.length) {
          this.buf = buf;
          return out;
        }
        b = buf.charCodeAt(i++);
        len += (b & 127) * mul;
        mul *= 128;
      }
      if (len > this._maxLength) {
        // only a PUBLISH may be big; its topic (and id) must fit in the limit
        if (first >> 4 !== PUBLISH) return this._fail("too-large", out);
        var hl = buf.length >= i + 2 ? 2 + get16(buf, i) + ((first >> 1) & 3 ? 2 : 0) : 4;
        if (hl + TOO_LARGE_HEAD > this._maxLength) return this._fail("too-large", out);
        if (buf.length < i + hl + TOO_LARGE_HEAD) break;
        p = decodePacket(first, buf.substring(i, i + hl + TOO_LARGE_HEAD));
        if (typeof p === "string") return this._fail(p, out);
        p.tooLarge = len - hl;
        out.push(p);
        this._skip = len - hl - TOO_LARGE_HEAD;
        buf = buf.substring(i + hl + TOO_LARGE_HEAD);
        continue;
      }
      if (buf.length < i + len) break;
      p = decodePacket(first, buf.substring(i, i + len));
      if (typeof p === "string") return this._fail(p, out);
      out.push(p);
      buf = buf.substring(i + len);
    }
    this.buf = buf;
    return out;
  }

  private _fail(code: string, out: MqttPacket[]): MqttPacket[] {
    this.error = code;
    this.buf = "";
    return out;
  }
}
