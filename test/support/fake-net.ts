// Test support: an in-memory Espruino `net` whose far end the test plays as the broker, on
// the global (virtual) timers, and an MQTT 3.1.1 codec written independently of
// firmware/mqtt/packet.ts (Buffers, straight from the spec) to check it against.

export const bin = (bytes: number[] | Buffer) => Buffer.from(bytes).toString("latin1");
export const bytesOf = (s: string) => [...Buffer.from(s, "latin1")];

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function utf(s: string): Buffer {
  const b = Buffer.from(s, "latin1");
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
}

function packet(first: number, ...parts: Buffer[]): string {
  const body = Buffer.concat(parts);
  return bin(Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]));
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);

/** server -> client packets */
export const srv = {
  connack: (sessionPresent = false, rc = 0) => packet(0x20, Buffer.from([sessionPresent ? 1 : 0, rc])),
  publish: (topic: string, payload: string, qos = 0, id = 0, dup = false, retain = false) =>
    packet(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), utf(topic), qos ? u16(id) : Buffer.alloc(0), Buffer.from(payload, "latin1")),
  puback: (id: number) => packet(0x40, u16(id)),
  suback: (id: number, codes: number[]) => packet(0x90, u16(id), Buffer.from(codes)),
  unsuback: (id: number) => packet(0xb0, u16(id)),
  pingresp: () => packet(0xd0),
};

export interface ClientPacket {
  type: number;
  flags: number;
  id?: number;
  topic?: string;
  payload?: string;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  connect?: {
    protocol: string;
    level: number;
    flags: number;
    keepAlive: number;
    clientId: string;
    will?: { topic: string; payload: string; qos: number; retain: boolean };
    username?: string;
    password?: string;
    cleanSession: boolean;
  };
  subscriptions?: { topic: string; qos: number }[];
  /** UNSUBSCRIBE's topic filters */
  unsubscribe?: string[];
}

/** Split client -> server bytes into packets (throws on anything incomplete or odd). */
export function parseClient(data: string): ClientPacket[] {
  const b = Buffer.from(data, "latin1");
  const out: ClientPacket[] = [];
  let i = 0;
  while (i < b.length) {
    const first = b[i];
    let len = 0, mul = 1, j = i + 1, byte: number;
    do {
      byte = b[j++];
      len += (byte & 127) * mul;
      mul *= 128;
    } while (byte & 128);
    const body = b.subarray(j, j + len);
    if (body.length !== len) throw new Error("incomplete packet");
    i = j + len;
    const p: ClientPacket = { type: first >> 4, flags: first & 15 };
    let k = 0;
    const str = () => {
      const n = body.readUInt16BE(k);
      const s = body.subarray(k + 2, k + 2 + n).toString("latin1");
      k += 2 + n;
      return s;
    };
    if (p.type === 1) {
      const protocol = str();
      const level = body[k++], flags = body[k++], keepAlive = body.readUInt16BE(k);
      k += 2;
      const c: NonNullable<ClientPacket["connect"]> = { protocol, level, flags, keepAlive, clientId: str(), cleanSession: (flags & 2) !== 0 };
      if (flags & 4) c.will = { topic: str(), payload: str(), qos: (flags >> 3) & 3, retain: (flags & 32) !== 0 };
      if (flags & 128) c.username = str();
      if (flags & 64) c.password = str();
      if (k !== body.length) throw new Error("CONNECT has trailing bytes");
      p.connect = c;
    } else if (p.type === 3) {
      p.qos = (p.flags >> 1) & 3;
      p.dup = (p.flags & 8) !== 0;
      p.retain = (p.flags & 1) !== 0;
      p.topic = str();
      if (p.qos) {
        p.id = body.readUInt16BE(k);
        k += 2;
      }
      p.payload = body.subarray(k).toString("latin1");
    } else if (p.type === 4) {
      p.id = body.readUInt16BE(0);
    } else if (p.type === 8) {
      p.id = body.readUInt16BE(0);
      k = 2;
      p.subscriptions = [];
      while (k < body.length) {
        const topic = str();
        p.subscriptions.push({ topic, qos: body[k++] });
      }
    } else if (p.type === 10) {
      p.id = body.readUInt16BE(0);
      k = 2;
      p.unsubscribe = [];
      while (k < body.length) p.unsubscribe.push(str());
    }
    out.push(p);
  }
  return out;
}

type Listener = (...args: any[]) => void;

/** The test's end of one connection. */
export class FakeSocket implements NetSocket {
  written = "";
  ended = false;
  closed = false;
  private listeners: Record<string, Listener[]> = {};
  private parsedUpTo = 0;

  write(data: string): boolean {
    if (this.closed) throw new Error("This socket is closed");
    this.written += data;
    return true;
  }
  end(): void {
    this.ended = true;
    this.close(false);
  }
  on(event: string, l: Listener): void {
    (this.listeners[event] ??= []).push(l);
  }
  removeAllListeners(event?: string): void {
    if (event) delete this.listeners[event];
    else this.listeners = {};
  }
  private emit(event: string, ...args: any[]) {
    setTimeout(() => {
      for (const l of this.listeners[event] ?? []) l(...args);
    }, 0);
  }

  // ---- the broker side ----
  connected = false;
  /** complete the TCP connection (the onConnect callback and "connect" event) */
  accept(onConnect?: () => void) {
    this.connected = true;
    if (onConnect) setTimeout(onConnect, 0);
    this.emit("connect");
  }
  /** bytes from the broker */
  feed(data: string) {
    if (!this.closed) this.emit("data", data);
  }
  /** Espruino's order on a failure: error, end, close(true) */
  fail(message = "connection reset") {
    if (this.closed) return;
    this.emit("error", { code: -10, message });
    this.close(true);
  }
  /** the broker closed the connection */
  close(hadError = false) {
    if (this.closed) return;
    this.closed = true;
    this.emit("end");
    this.emit("close", hadError);
  }
  /** every client packet written so far */
  packets(): ClientPacket[] {
    return parseClient(this.written);
  }
  /** client packets written since the last call */
  newPackets(): ClientPacket[] {
    const p = parseClient(this.written.substring(this.parsedUpTo));
    this.parsedUpTo = this.written.length;
    return p;
  }
}

export class FakeNet implements NetModule {
  sockets: FakeSocket[] = [];
  attempts = 0;
  /** what the next connect() does: accept (default), throw synchronously (Espruino, port closed), or refuse (error + close) */
  mode: "accept" | "throw" | "refuse" | "silent" = "accept";
  /** called on each accepted socket: play the broker */
  onSocket: ((s: FakeSocket) => void) | null = null;

  connect(_options: { host: string; port: number }, onConnect?: () => void): NetSocket {
    this.attempts++;
    if (this.mode === "throw") throw new Error("Unable to create socket");
    const s = new FakeSocket();
    this.sockets.push(s);
    if (this.mode === "refuse") s.fail("connection refused");
    else if (this.mode === "accept") {
      s.accept(onConnect);
      this.onSocket?.(s);
    }
    return s;
  }

  get last(): FakeSocket {
    return this.sockets[this.sockets.length - 1];
  }
}

/** A broker that answers CONNECT with CONNACK, SUBSCRIBE with SUBACK, PUBLISH qos1 with PUBACK, PINGREQ with PINGRESP. */
export function autoBroker(net: FakeNet, opts: { sessionPresent?: boolean; pubackDelayMs?: number; answerPings?: boolean; grant?: number } = {}) {
  net.onSocket = (s) => {
    const origWrite = s.write.bind(s);
    s.write = (data: string) => {
      const r = origWrite(data);
      for (const p of s.newPackets()) {
        if (p.type === 1) s.feed(srv.connack(opts.sessionPresent ?? false));
        else if (p.type === 8) s.feed(srv.suback(p.id!, p.subscriptions!.map((x) => opts.grant ?? x.qos)));
        else if (p.type === 10) s.feed(srv.unsuback(p.id!));
        else if (p.type === 3 && p.qos === 1) {
          const id = p.id!;
          setTimeout(() => s.feed(srv.puback(id)), opts.pubackDelayMs ?? 0);
        } else if (p.type === 12 && opts.answerPings !== false) s.feed(srv.pingresp());
      }
      return r;
    };
  };
}
