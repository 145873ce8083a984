// Espruino's require("net") over real Node sockets, as measured on Espruino 2v29 (and read
// in Espruino's libs/network/socketserver.c): data arrives as binary strings (one char per byte),
// write() takes binary strings, end() closes once the send buffer is flushed, and a socket
// that fails emits "error" ({code, message}), then "end", then "close" (hadError).
// A refused connection errors asynchronously here, while the Linux build throws at once;
// blocked() makes connect() throw the way Espruino does when it cannot make a socket.

import net from "node:net";

export interface EspruinoNetOptions {
  /** true while the simulated Wi-Fi is down: connect() throws, and open sockets are cut */
  blocked?: () => boolean;
  /** how event callbacks reach the firmware (e.g. through a virtual clock); default process.nextTick */
  schedule?: (fn: () => void) => void;
  /**
   * how an event the chip makes itself reaches the firmware: the close after end(), which
   * Espruino fires once the last bytes are handed to the stack (libs/network/socketserver.c:
   * no data left to send and "cls" set -> the socket is killed and "end", "close" queued), with
   * no network round trip. Default: schedule.
   */
  scheduleLocal?: (fn: () => void) => void;
  /** split received data into chunks of at most this many bytes (Espruino reads 536 at a time) */
  chunkSize?: number;
  /**
   * how the host side of a socket is made (default: net.connect, real TCP). The fleet's
   * in-process link to its embedded broker (sim/broker-pipe.ts) plugs in here: the Espruino
   * semantics above it stay the same.
   */
  connectRaw?: (options: { host: string; port: number }) => RawSocket;
}

/** what EspruinoSocket uses of a host socket: a net.Socket, or an in-process stand-in */
export interface RawSocket {
  on(event: "data", listener: (buf: Buffer) => void): unknown;
  on(event: "error", listener: (e: NodeJS.ErrnoException) => void): unknown;
  on(event: "connect" | "drain" | "close", listener: () => void): unknown;
  write(buf: Buffer): unknown;
  end(callback: () => void): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed: boolean;
  setNoDelay?(noDelay: boolean): unknown;
}

export interface EspruinoNet extends NetModule {
  /** open sockets now */
  openSockets(): number;
  /** cut every open socket, as a lost link would (errors then closes them) */
  cutAll(): void;
  /** check blocked() now and cut sockets if it says so (call after changing what blocked() returns) */
  poll(): void;
}

/**
 * The network path's timing, which loopback TCP does not have. Every socket event reaches the
 * firmware one round trip after the virtual instant it happened on the host (the host answers
 * at once while virtual time stands still), so a request's reply arrives one RTT later.
 */
export interface NetLatency {
  /** round trip, ms: each event draws uniformly from [min, max] (never overtaking an earlier one) */
  rttMinMs: number;
  rttMaxMs: number;
  /** a TLS connection's handshake on top of the TCP connect: its extra round trips and the chip's crypto, ms */
  tlsHandshakeMs: number;
}

/**
 * Default: a node on street Wi-Fi talking to a broker in a nearby data centre: 20-60 ms per
 * round trip (typical Wi-Fi hop 2-10 ms plus a metro/regional WAN path; an estimate, not a
 * measurement). TLS 1.2: 2 extra round trips + ~1 s of ECDHE/RSA on a 160-240 MHz MCU
 * (mbedTLS on Cortex-M4 120 MHz with HW AES/ECC: 0.8-1.5 s, applied-ee.github.io "TLS & DTLS
 * on Constrained Devices"; STM32F746 216 MHz: 1.2 s RSA, 4.9 s ECDHE-RSA, blog.stratifylabs.dev
 * 2019-05-22): an estimate. The stock ESP32 Espruino build has no tls module at all.
 */
export const DEFAULT_NET_LATENCY: NetLatency = { rttMinMs: 20, rttMaxMs: 60, tlsHandshakeMs: 1100 };
export const NO_NET_LATENCY: NetLatency = { rttMinMs: 0, rttMaxMs: 0, tlsHandshakeMs: 0 };

/** "40" or "20-60" (ms per round trip) -> [min, max], or null if malformed */
export function parseRtt(text: string): [number, number] | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  if (!m) return null;
  const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
  return b >= a && b <= 10_000 ? [a, b] : null;
}

type Listener = (...args: any[]) => void;

/** Espruino's SOCKET_ERR_* codes */
const ERR_CLOSED = -10;
const ERR_NO_CONNECTION = -11;

/**
 * A simulated Espruino socket's listeners and how its events reach them: through `schedule`
 * (the network), or, for the close the chip makes itself after end(), through `scheduleLocal`
 * (closedHere). Once "close" is delivered nothing more is: events still on their way are
 * dropped, as Espruino has killed the socket. Also the test broker's sockets.
 */
export class SocketEvents {
  private listeners: { [event: string]: Listener[] } = {};
  private endSaid = false;
  private finished = false;

  constructor(
    private readonly schedule: (fn: () => void) => void,
    private readonly scheduleLocal: (fn: () => void) => void = schedule,
  ) {}

  on(event: string, listener: Listener): void {
    (this.listeners[event] ??= []).push(listener);
  }

  removeAllListeners(event?: string): void {
    if (event) delete this.listeners[event];
    else this.listeners = {};
  }

  emit(event: string, ...args: any[]): void {
    this.schedule(() => this.deliver(event, args));
  }

  /** end() on the chip: "end" and "close" at once, whatever the peer does */
  protected closedHere(hadError: boolean): void {
    this.scheduleLocal(() => {
      this.deliver("end", []);
      this.deliver("close", [hadError]);
    });
  }

  private deliver(event: string, args: any[]): void {
    if (this.finished || (event === "end" && this.endSaid)) return;
    if (event === "end") this.endSaid = true;
    if (event === "close") this.finished = true;
    for (const l of (this.listeners[event] ?? []).slice()) l(...args);
  }
}

class EspruinoSocket extends SocketEvents implements NetSocket {
  private closed = false;
  private errored = false;
  /** end() was called: the chip closes the socket itself */
  private ended = false;

  constructor(
    readonly raw: RawSocket,
    schedule: (fn: () => void) => void,
    chunkSize: number,
    private readonly blocked: () => boolean,
    private readonly onGone: () => void,
    scheduleLocal?: (fn: () => void) => void,
  ) {
    super(schedule, scheduleLocal);
    raw.on("data", (buf: Buffer) => {
      if (this.blocked()) return this.cut();
      for (let i = 0; i < buf.length; i += chunkSize) {
        const s = buf.subarray(i, i + chunkSize).toString("latin1");
        this.emit("data", s);
      }
    });
    raw.on("error", (e: NodeJS.ErrnoException) => {
      this.errored = true;
      this.emit("error", { code: e.code === "ECONNREFUSED" ? ERR_NO_CONNECTION : ERR_CLOSED, message: e.message });
    });
    raw.on("drain", () => this.emit("drain"));
    raw.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      onGone();
      this.emit("end");
      this.emit("close", this.errored);
    });
  }

  write(data: string): boolean {
    if (this.closed || this.raw.destroyed) throw new Error("This socket is closed");
    // bytes written into a dead link are lost, and the link error shows up
    if (this.blocked()) {
      this.cut();
      return true;
    }
    this.raw.write(Buffer.from(data, "latin1"));
    return true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    // Espruino closes (not half-closes) once what was written has gone out, and says so at
    // once, even when the peer's close is still on its way
    if (!this.closed) {
      this.closed = true;
      this.raw.end(() => this.raw.destroy());
      this.onGone();
    }
    this.closedHere(this.errored);
  }

  /** the link went away under the socket */
  cut(): void {
    if (this.closed) return;
    this.raw.destroy(Object.assign(new Error("connection lost"), { code: "ECONNRESET" }));
  }
}

export function createEspruinoNet(opts: EspruinoNetOptions = {}): EspruinoNet {
  const schedule = opts.schedule ?? ((fn: () => void) => process.nextTick(fn));
  const chunkSize = opts.chunkSize ?? 536;
  const open = new Set<EspruinoSocket>();
  const blocked = () => opts.blocked?.() ?? false;

  const api: EspruinoNet = {
    connect(options: { host: string; port: number }, onConnect?: () => void): NetSocket {
      if (blocked()) throw new Error("Unable to create socket");
      const raw: RawSocket = opts.connectRaw ? opts.connectRaw({ host: options.host, port: options.port }) : net.connect({ host: options.host, port: options.port });
      raw.setNoDelay?.(true);
      const sock: EspruinoSocket = new EspruinoSocket(raw, schedule, chunkSize, blocked, () => open.delete(sock), opts.scheduleLocal);
      open.add(sock);
      raw.on("connect", () => {
        if (blocked()) return sock.cut();
        sock.emit("connect");
        if (onConnect) schedule(onConnect);
      });
      return sock;
    },
    openSockets: () => open.size,
    cutAll() {
      for (const s of [...open]) s.cut();
    },
    poll() {
      if (blocked()) api.cutAll();
    },
  };
  return api;
}
