// The nodes' link to the fleet's embedded broker without loopback TCP: an in-process pipe
// between a node's emulated socket (sim/espruino/net.ts, through its connectRaw hook) and a
// Duplex stream handed to aedes (broker.handle), as a TCP connection is. Real sockets add
// nothing there but syscalls, kernel buffers and their bookkeeping.
//
// What the firmware sees does not change: the Espruino semantics (events through the virtual
// clock one round trip later, one draw per virtual instant, 536-byte chunks, cuts, end()) stay
// in net.ts and require-net.ts, and the runner holds virtual time while a pipe has bytes in
// flight, is being made, or has an MQTT request unanswered (IoWatch.watchPipe), as it does for
// a socket. The pipe also cuts the byte stream as loopback TCP does: what one end writes before
// the next poll phase of the host's event loop reaches the other in one read in that poll phase
// (a MessagePort's message, polled with the sockets), as a socket's bytes are read; the connect
// completes the same way. Connections to any other address use real TCP.

import net from "node:net";
import { Duplex } from "node:stream";
import type { RawSocket } from "./espruino/net.js";
import type { PipeTap, PipeView } from "./fleet-io-watch.js";

/** what the pipe needs of the broker: aedes's handle(stream) */
export interface PipeBroker {
  handle(conn: Duplex): unknown;
}

export interface BrokerPipeOptions {
  broker: PipeBroker;
  /** the broker's address as the nodes are told it: connections to it take the pipe */
  address: { host: string; port: number };
  /** tell the runner about a new pipe (IoWatch.watchPipe) */
  watch?: (view: PipeView) => PipeTap;
}

const NO_TAP: PipeTap = { sent() {}, received() {}, touch() {} };

/**
 * Run `fn` in the poll phase of the host's event loop that follows, where a socket's reads
 * (and a connect's completion) are handled: a MessagePort's message comes through libuv's
 * async handle, polled with the sockets. What is queued before that poll runs in it, in order;
 * what is queued while it runs waits for the next one, as bytes written after a read do.
 */
const pollQueue: Array<() => void> = [];
let pollChannel: MessageChannel | undefined;
let pollPosted = false;
function inNextPoll(fn: () => void): void {
  pollQueue.push(fn);
  if (pollPosted) return;
  if (!pollChannel) {
    pollChannel = new MessageChannel();
    pollChannel.port2.onmessage = runPoll;
    // the pipe does not keep the process alive on its own: its sockets' owners do
    (pollChannel.port1 as any).unref?.();
    (pollChannel.port2 as any).unref?.();
  }
  pollPosted = true;
  pollChannel.port1.postMessage(0);
}
function runPoll(): void {
  pollPosted = false;
  const due = pollQueue.splice(0, pollQueue.length);
  for (const fn of due) fn();
}

function join(chunks: Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/**
 * The node's end of a pipe: the net.Socket surface EspruinoSocket uses (connect, data, error,
 * drain, close events; write, end, destroy, destroyed).
 */
class PipeSocket implements RawSocket, PipeView {
  connecting = true;
  destroyed = false;
  private listeners: { [event: string]: Array<(...args: any[]) => void> } = {};
  /** the broker's end, once connected */
  private server: Duplex | undefined;
  /** bytes written toward the broker, not yet handed over */
  private out: Buffer[] = [];
  /** bytes the broker wrote, not yet read here */
  private in: Buffer[] = [];
  private outScheduled = false;
  private inScheduled = false;
  /** end(): the broker gets EOF once `out` is handed over */
  private ending = false;
  private onEnded: (() => void) | undefined;
  /** the broker's end finished or went away: this end closes once `in` is read */
  private serverDone = false;
  private tap: PipeTap = NO_TAP;

  constructor(private broker: PipeBroker, watch?: (view: PipeView) => PipeTap) {
    if (watch) this.tap = watch(this);
    inNextPoll(() => this.connected());
  }

  get gone(): boolean {
    return this.destroyed;
  }

  inFlight(): boolean {
    return this.out.length > 0 || this.in.length > 0 || (this.server !== undefined && this.server.readableLength > 0);
  }

  on(event: string, listener: (...args: any[]) => void): this {
    (this.listeners[event] ??= []).push(listener);
    return this;
  }

  private emit(event: string, ...args: any[]): void {
    const ls = this.listeners[event];
    if (ls) for (const l of ls.slice()) l(...args);
  }

  setNoDelay(): this {
    return this;
  }

  private connected(): void {
    if (this.destroyed) return;
    this.connecting = false;
    const self = this;
    const server = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, cb) {
        self.fromServer(chunk);
        cb();
      },
      final(cb) {
        self.serverFinished();
        cb();
      },
      destroy(err, cb) {
        self.serverFinished();
        cb(err);
      },
    });
    this.server = server;
    this.broker.handle(server);
    this.tap.touch();
    this.emit("connect");
    this.flushOut();
  }

  write(buf: Buffer): boolean {
    if (this.destroyed || this.ending) return false;
    this.out.push(buf);
    this.tap.sent(buf);
    if (!this.connecting) this.scheduleOut();
    return true;
  }

  end(callback: () => void): this {
    if (this.destroyed || this.ending) return this;
    this.ending = true;
    this.onEnded = callback;
    this.tap.touch();
    if (!this.connecting) this.scheduleOut();
    return this;
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    // what was written has been sent (the socket writes at once, TCP_NODELAY); what came in unread is lost
    if (!this.connecting) this.flushOut(true);
    this.destroyed = true;
    this.in = [];
    this.tap.touch();
    if (this.server && !this.server.destroyed) this.server.push(null);
    process.nextTick(() => {
      if (error) this.emit("error", error);
      this.emit("close", !!error);
    });
    return this;
  }

  private scheduleOut(): void {
    if (this.outScheduled) return;
    this.outScheduled = true;
    inNextPoll(() => this.flushOut());
  }

  /** hand what was written to the broker's end in one read; then EOF if end() was called */
  private flushOut(now = false): void {
    this.outScheduled = false;
    if (this.destroyed || !this.server) return;
    const server = this.server;
    if (this.out.length && !server.destroyed) {
      const bytes = join(this.out);
      this.out = [];
      server.push(bytes);
    }
    this.out = [];
    if (this.ending && !now) {
      if (!server.destroyed) server.push(null);
      const cb = this.onEnded;
      this.onEnded = undefined;
      if (cb) process.nextTick(cb);
    }
  }

  private fromServer(chunk: Buffer): void {
    if (this.destroyed) return;
    this.in.push(Buffer.from(chunk));
    this.tap.touch();
    if (!this.inScheduled) {
      this.inScheduled = true;
      inNextPoll(() => this.flushIn());
    }
  }

  private serverFinished(): void {
    if (this.serverDone) return;
    this.serverDone = true;
    if (this.destroyed) return;
    this.tap.touch();
    if (!this.inScheduled) {
      this.inScheduled = true;
      inNextPoll(() => this.flushIn());
    }
  }

  /** deliver what the broker wrote as one read; after its end, close this end too */
  private flushIn(): void {
    this.inScheduled = false;
    if (this.destroyed) return;
    if (this.in.length) {
      const bytes = join(this.in);
      this.in = [];
      this.tap.received(bytes);
      this.emit("data", bytes);
    }
    if (this.serverDone && !this.destroyed) {
      this.destroyed = true;
      this.out = [];
      this.tap.touch();
      process.nextTick(() => this.emit("close", false));
    }
  }
}

/** connectRaw for createEspruinoNet: the pipe for the broker's address, real TCP for any other */
export function brokerPipe(o: BrokerPipeOptions): (options: { host: string; port: number }) => RawSocket {
  return (options) => {
    if (options.port === o.address.port && options.host === o.address.host) return new PipeSocket(o.broker, o.watch);
    return net.connect({ host: options.host, port: options.port });
  };
}

/**
 * A host client's stream to the embedded broker (the fleet's observer, an mqtt.js client):
 * two Duplex ends, each one's writes read by the other in the next poll phase, as over
 * loopback TCP. Nothing watches it: the observer's copies never hold virtual time.
 */
export function clientPipe(broker: PipeBroker): Duplex {
  const ends: Duplex[] = [];
  const make = (otherIndex: number) => {
    /** in the next poll phase, unless the other end is gone by then */
    const toOther = (act: (other: Duplex) => void) =>
      inNextPoll(() => {
        const other = ends[otherIndex];
        if (!other.destroyed) act(other);
      });
    return new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, cb) {
        const copy = Buffer.from(chunk);
        toOther((other) => other.push(copy));
        cb();
      },
      final(cb) {
        toOther((other) => other.push(null));
        cb();
      },
      destroy(err, cb) {
        toOther((other) => other.destroy());
        cb(err);
      },
    });
  };
  ends.push(make(1), make(0));
  broker.handle(ends[1]);
  return ends[0];
}
