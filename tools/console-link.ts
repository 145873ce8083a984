// The link to a node's console: its serial port (USB-serial at 115200 8N1), a simulated node's
// console over TCP (tcp://host:port), or any byte stream (a pty, an in-process pipe, the browser
// page's Web Bluetooth / Web Serial): bytes in and out, waiting for text, XON/XOFF. Bytes are
// carried as latin1 strings, one char per byte, as Espruino's strings are. What is said over it
// is the REPL's business (repl.ts).

import net from "node:net";
import { SerialPort } from "serialport";
import { FieldError } from "../toolchain/field-error.js";

/** Espruino's console on the ESP32 (Serial1, the USB-serial bridge). */
export const CONSOLE_BAUD = 115200;

/** What every field tool talks through: a byte stream to a node's console. */
export interface ConsoleLink {
  /** "/dev/ttyUSB0" or "tcp://localhost:4001", for messages */
  readonly name: string;
  write(text: string): Promise<void>;
  /** Wait until the received text matches; consumes it up to the end of the match. */
  expect(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Received text not yet consumed by expect (cleared by this call). */
  drain(): string;
  /** Every complete line received from now on (CR/LF stripped), e.g. for a live log. */
  onLine(listener: (line: string) => void): () => void;
  close(): Promise<void>;
}

/** Raised by expect() when nothing matching arrived in time; carries what did arrive. */
export class LinkTimeout extends Error {
  constructor(
    readonly pattern: RegExp,
    readonly received: string,
  ) {
    super(`timed out waiting for ${pattern}`);
    this.name = "LinkTimeout";
  }
}

/** The part of a serialport/socket stream a link uses. */
export interface ByteStream {
  write(data: Buffer, cb: (err?: Error | null) => void): unknown;
  on(event: "data", listener: (data: Buffer) => void): unknown;
  on(event: "close", listener: (err?: unknown) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
}

interface Waiter {
  pattern: RegExp;
  resolve(m: RegExpExecArray): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Keep at most this much unconsumed text: a chatty node must not grow it without bound. */
const MAX_BUFFER = 256 * 1024;
/** Espruino's ESP32 console does XON/XOFF flow control: it sends XOFF when its input queue is 3/4 full. */
const XON = "\x11";
const XOFF = "\x13";
/** Writes go in slices this long, so an XOFF stops us within a slice (an Espruino IO event holds 64 bytes). */
const WRITE_SLICE = 64;
/** An XON lost on the wire must not stall a tool forever. */
const XOFF_MAX_MS = 3000;

/**
 * The text side of a link: buffering, expect(), line listeners and XON/XOFF, over any way of
 * sending bytes. Node streams (StreamLink) and the browser page's Web Bluetooth / Web Serial
 * connection (web/diag/) both feed it with receive().
 */
export class TextLink implements ConsoleLink {
  private buffer = "";
  private partialLine = "";
  private waiters: Waiter[] = [];
  private lineListeners: Array<(line: string) => void> = [];
  protected closedReason: string | undefined;
  /** the node sent XOFF and no XON yet */
  private paused = false;
  private resumers: Array<() => void> = [];

  constructor(
    readonly name: string,
    /** send a slice of bytes (latin1 chars); rejects with a FieldError when it cannot */
    private readonly send: (bytes: string) => Promise<void>,
    private readonly closer: () => Promise<void>,
  ) {}

  /** bytes from the node, as latin1 chars */
  receive(text: string): void {
    if (text.includes(XOFF) || text.includes(XON)) {
      for (const ch of text) {
        if (ch === XOFF) this.paused = true;
        else if (ch === XON) this.resume();
      }
      text = text.replace(/[\x11\x13]/g, "");
    }
    this.buffer += text;
    if (this.buffer.length > MAX_BUFFER) this.buffer = this.buffer.slice(-MAX_BUFFER / 2);
    if (this.lineListeners.length) {
      const parts = (this.partialLine + text).split(/\r?\n|\r(?!$)/);
      this.partialLine = parts.pop() ?? "";
      for (const line of parts) for (const l of this.lineListeners) l(line);
    }
    this.check();
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      w.pattern.lastIndex = 0;
      const m = w.pattern.exec(this.buffer);
      if (!m) continue;
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.remove(w);
      w.resolve(m);
    }
  }

  private remove(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters = this.waiters.filter((x) => x !== w);
  }

  /** the link is gone: every wait fails with this reason */
  shut(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.resume();
    for (const w of [...this.waiters]) {
      this.remove(w);
      w.reject(new FieldError(reason));
    }
  }

  private resume(): void {
    this.paused = false;
    const waiting = this.resumers;
    this.resumers = [];
    for (const r of waiting) r();
  }

  /** Until the node sends XON again (or XOFF_MAX_MS passed: the XON may have been lost). */
  private whenResumed(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.paused = false;
        resolve();
      }, XOFF_MAX_MS);
      this.resumers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Text goes out in slices; a write begun while another is still sending waits for it, or
   * two commands (the page's diag refresh and a crew's action) would interleave their slices
   * into one line the REPL cannot parse.
   */
  write(text: string): Promise<void> {
    const sent = this.sending.then(() => this.writeSlices(text));
    this.sending = sent.catch(() => {});
    return sent;
  }

  private sending: Promise<void> = Promise.resolve();

  private async writeSlices(text: string): Promise<void> {
    for (let i = 0; i < text.length; i += WRITE_SLICE) {
      await this.whenResumed();
      if (this.closedReason) throw new FieldError(this.closedReason);
      await this.send(text.slice(i, i + WRITE_SLICE));
    }
  }

  expect(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pattern,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(waiter);
          reject(new LinkTimeout(pattern, this.buffer));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
      this.check();
      // a closed link can still satisfy a pattern from what it buffered, but no more will come
      if (this.closedReason && this.waiters.includes(waiter)) {
        this.remove(waiter);
        reject(new FieldError(this.closedReason));
      }
    });
  }

  drain(): string {
    const text = this.buffer;
    this.buffer = "";
    return text;
  }

  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.push(listener);
    return () => {
      this.lineListeners = this.lineListeners.filter((l) => l !== listener);
    };
  }

  async close(): Promise<void> {
    this.shut(`${this.name} is closed`);
    await this.closer();
  }
}

/** A TextLink over a Node.js byte stream (a socket, a serial port). */
class StreamLink extends TextLink {
  constructor(
    name: string,
    readonly stream: ByteStream,
    closer: () => Promise<void>,
  ) {
    super(
      name,
      (bytes) =>
        new Promise<void>((resolve, reject) => {
          stream.write(Buffer.from(bytes, "latin1"), (err) => (err ? reject(new FieldError(this.closedReason ?? this.describe(err))) : resolve()));
        }),
      closer,
    );
    stream.on("data", (data: Buffer) => this.receive(data.toString("latin1")));
    stream.on("error", (err: Error) => this.shut(this.describe(err)));
    stream.on("close", (err?: unknown) => {
      const unplugged = !!err && typeof err === "object" && (err as { disconnected?: boolean }).disconnected;
      this.shut(unplugged ? `${name} went away (cable unplugged?)` : `${name} closed the connection`);
    });
  }

  /** A broken pipe or reset is the node (or its cable, or the simulator) going away. */
  private describe(err: NodeJS.ErrnoException): string {
    if (err.code === "EPIPE" || err.code === "ECONNRESET") return `${this.name} closed the connection`;
    return `${this.name}: ${err.message}`;
  }
}

/** A link over any byte stream (a socket, a serial port, an in-process pipe to a simulated node). */
export function createLink(name: string, stream: ByteStream, close: () => Promise<void> = async () => {}): ConsoleLink {
  return new StreamLink(name, stream, close);
}

export interface OpenOptions {
  baudRate?: number;
  /** TCP: give up connecting after this long */
  connectTimeoutMs?: number;
  /** the serialport class to use (tests pass serialport's SerialPortMock) */
  serialPort?: SerialPortClass;
}

/** What openLink needs of serialport's SerialPort (SerialPortMock fits too). */
export interface SerialPortClass {
  new (options: { path: string; baudRate: number; dataBits?: 8; parity?: "none"; stopBits?: 1; autoOpen?: boolean }, cb?: (err: Error | null) => void): SerialPortLike;
  list(): Promise<Array<{ path: string; manufacturer?: string }>>;
}
interface SerialPortLike extends ByteStream {
  close(cb?: (err?: Error | null) => void): unknown;
  isOpen: boolean;
}

/** Open a console link from what the technician typed: a serial device or tcp://host:port. */
export async function openLink(target: string, options: OpenOptions = {}): Promise<ConsoleLink> {
  if (!target) throw new FieldError("no port given: use --port /dev/ttyUSB0 (or COM3, or tcp://host:port for a simulated node)", 2);
  if (/^tcp:\/\//i.test(target)) return openTcp(target, options.connectTimeoutMs ?? 5000);
  return openSerial(target, options.baudRate ?? CONSOLE_BAUD, options.serialPort ?? (SerialPort as unknown as SerialPortClass));
}

export function parseTcpTarget(target: string): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/i.exec(target);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new FieldError(`bad console address ${target}: expected tcp://host:port, e.g. tcp://localhost:4001`, 2);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

function openTcp(target: string, timeoutMs: number): Promise<ConsoleLink> {
  const { host, port } = parseTcpTarget(target);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (message: string) => {
      socket.destroy();
      reject(new FieldError(message));
    };
    const timer = setTimeout(() => fail(`no answer from ${target} within ${timeoutMs / 1000} s (firewall? wrong host?)`), timeoutMs);
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ECONNREFUSED") fail(`nothing listens on ${target} (connection refused): is the simulator running with --console-port?`);
      else if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") fail(`unknown host ${host} in ${target}`);
      else fail(`cannot connect to ${target}: ${err.message}`);
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.setNoDelay(true);
      const link = new StreamLink(target, socket, () => new Promise<void>((done) => {
        if (socket.destroyed) return done();
        socket.once("close", () => done());
        socket.end();
        setTimeout(() => socket.destroy(), 200).unref();
      }));
      resolve(link);
    });
  });
}

async function openSerial(path: string, baudRate: number, Port: SerialPortClass): Promise<ConsoleLink> {
  const port = await new Promise<SerialPortLike>((resolve, reject) => {
    let sp: SerialPortLike;
    try {
      sp = new Port({ path, baudRate, dataBits: 8, parity: "none", stopBits: 1 }, (err) => (err ? reject(err) : resolve(sp)));
    } catch (err) {
      reject(err);
    }
  }).catch(async (err: Error) => {
    throw new FieldError(await explainSerialError(path, err, Port));
  });
  return new StreamLink(path, port, () => new Promise<void>((done) => (port.isOpen ? port.close(() => done()) : done())));
}

/** Turn what the OS said about a port that did not open into what to do about it. */
export async function explainSerialError(path: string, err: Error, Port: Pick<SerialPortClass, "list">, platform = process.platform): Promise<string> {
  const msg = err.message || String(err);
  if (/no such file|ENOENT|cannot find the file|does not exist|not found/i.test(msg)) {
    return `no serial port ${path}; ${await describePorts(Port)}`;
  }
  if (/cannot lock|resource temporarily unavailable|EBUSY|EAGAIN|busy/i.test(msg) || (platform === "win32" && /access denied/i.test(msg))) {
    return `${path} is busy: another program has it open (a serial monitor, the Espruino IDE, another casanode?); close it and try again`;
  }
  if (/permission denied|EACCES|access denied/i.test(msg)) {
    return `permission denied on ${path}: add your user to the dialout group (sudo usermod -aG dialout $USER), then log out and in again`;
  }
  if (/inappropriate ioctl|ENOTTY/i.test(msg)) return `${path} is not a serial port`;
  return `cannot open ${path}: ${msg.replace(/\s+/g, " ").trim()}`;
}

async function describePorts(Port: Pick<SerialPortClass, "list">): Promise<string> {
  try {
    const ports = await Port.list();
    if (!ports.length) return "no serial ports found (is the USB cable plugged in? does it carry data, not only power?)";
    return "ports found: " + ports.map((p) => (p.manufacturer ? `${p.path} (${p.manufacturer})` : p.path)).join(", ");
  } catch (err) {
    // SerialPort.list() shells out to udevadm on Linux, absent in many containers
    return `the serial ports could not be listed (${firstLine(err)})`;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

/** Printable excerpt of what a node sent, for error messages about garbage. */
export function excerpt(text: string, max = 60): string {
  const clean = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/\r/g, "");
  const shown = clean.length > max ? "..." + clean.slice(-max) : clean;
  return JSON.stringify(shown);
}

/** Mostly bytes that are neither printable ASCII nor line ends: a wrong baud rate looks like this. */
export function isGarbled(text: string): boolean {
  const bytes = text.replace(/\x1b\[J/g, "");
  if (bytes.length < 4) return false;
  let odd = 0;
  for (const ch of bytes) {
    const c = ch.charCodeAt(0);
    if ((c < 32 && c !== 10 && c !== 13 && c !== 9) || c > 126) odd++;
  }
  return odd / bytes.length > 0.3;
}
