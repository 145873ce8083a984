// A console link to a node: its serial port (USB-serial at 115200 8N1) or a simulated node's
// console over TCP (tcp://host:port), plus the Espruino REPL protocol the field tools speak on it.
// Bytes are carried as latin1 strings, one char per byte, as Espruino's strings are.

import net from "node:net";
import cliProgress from "cli-progress";
import { SerialPort } from "serialport";

/** Espruino's console on the ESP32 (Serial1, the USB-serial bridge). */
export const CONSOLE_BAUD = 115200;
/** How long a node may take to show a prompt (it may be finishing a sensor cycle). */
export const PROMPT_TIMEOUT_MS = 5000;
/** One REPL command, a Storage chunk write included (a flash page erase takes tens of ms). */
export const COMMAND_TIMEOUT_MS = 5000;
/** Espruino checks at most 20 chars of a typed password (jsinteractive.c). */
const MAX_PASSWORD_CHARS = 20;
/** Ctrl-C: breaks running JS (and clears the line); DLE (0x10) at a line start: no echo for that line. */
const CTRL_C = "\x03";
const ECHO_OFF = "\x10";

/** An error meant for the person at the terminal: one line, no stack trace. */
export class FieldError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "FieldError";
  }
}

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

  async write(text: string): Promise<void> {
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

export interface ReplOptions {
  /** E.setPassword's password, if the console is locked */
  password?: string;
  promptTimeoutMs?: number;
  commandTimeoutMs?: number;
  /**
   * Send one Ctrl-C when the console has not answered for half the prompt time. It breaks
   * whatever JS runs (a stuck loop, but also a healthy firmware mid-write): only for tools
   * that stop the firmware anyway (flash, provision), never for a read-only look (diag).
   */
  interrupt?: boolean;
}

/** The console asks for a password nobody gave. */
export class ConsoleLocked extends FieldError {}

/** The node's answer to one command had no parsable result. */
export class ReplError extends FieldError {}

/**
 * Espruino's REPL, driven by a program: each command goes on one line after DLE (no echo) and
 * prints its JSON result between numbered markers, so log lines, prompts, CRLF and stale
 * answers around it do not matter. The markers are split in the command ("<<"+"CN:1>>") so an
 * echoed command never looks like an answer.
 */
export class Repl {
  private seq = 0;
  /** start command lines with DLE (echo off); cleared for a console that refuses it */
  private dle = true;
  /** this Repl typed the password: the console must be locked again before the tool lets go */
  loggedIn = false;
  readonly promptTimeoutMs: number;
  readonly commandTimeoutMs: number;

  constructor(
    readonly link: ConsoleLink,
    private readonly options: ReplOptions = {},
  ) {
    this.promptTimeoutMs = options.promptTimeoutMs ?? PROMPT_TIMEOUT_MS;
    this.commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
  }

  /**
   * Wait until the REPL answers a probe line, logging in if the console is locked. No Ctrl-C at
   * first: on a device it interrupts whatever JS is running (a firmware mid-boot or mid-write),
   * and on the Linux build two of them exit. A half-typed line only spoils the first probe (it
   * runs as junk, the next probe starts on an empty line). Ctrl-C is the last resort, once, for
   * a console stuck in a busy loop, and only with the interrupt option.
   */
  async attach(): Promise<void> {
    const start = Date.now();
    const deadline = start + this.promptTimeoutMs;
    const probeWait = Math.min(1000, Math.max(100, this.promptTimeoutMs / 5));
    const firstId = this.seq + 1;
    let heard = "";
    let loggedIn = false;
    let interrupted = false;
    let syntaxErrors = 0;
    for (;;) {
      const id = ++this.seq;
      heard += this.link.drain();
      if (Date.now() >= deadline) throw this.noAnswer(heard, interrupted);
      if (this.options.interrupt && !interrupted && Date.now() - start >= this.promptTimeoutMs / 2) {
        await this.link.write(CTRL_C);
        interrupted = true;
      }
      await this.link.write(this.lineStart() + `print(${marker("CN:" + id)}+"ready"+${marker("END:" + id)})\n`);
      try {
        // a late answer to an earlier probe of this attach counts too
        const m = await this.link.expect(/<<CN:(\d+)>>ready<<END:\1>>|password>|Uncaught SyntaxError/, Math.min(probeWait, Math.max(1, deadline - Date.now())));
        if (m[0] === "Uncaught SyntaxError") {
          // a JS console that is not Espruino's (an emulation) may not take DLE: go on without it
          // (one error can be a half-typed line that spoiled the first probe)
          if (++syntaxErrors >= 2) this.dle = false;
          continue;
        }
        if (m[0] !== "password>") {
          if (Number(m[1]) >= firstId) return;
          continue;
        }
        if (loggedIn) throw new FieldError(`${this.link.name}: the console is still locked after logging in`);
        await this.login();
        loggedIn = true;
      } catch (err) {
        if (!(err instanceof LinkTimeout)) throw err;
      }
    }
  }

  private async login(): Promise<void> {
    const password = this.options.password;
    if (password === undefined) throw new ConsoleLocked(`the console of the node on ${this.link.name} is locked (E.setPassword): give its password with --password`, 2);
    if (password.length > MAX_PASSWORD_CHARS || /[\r\n]/.test(password)) throw new FieldError(`--password: Espruino passwords are at most ${MAX_PASSWORD_CHARS} characters on one line`, 2);
    this.link.drain();
    await this.link.write(password + "\n");
    try {
      const m = await this.link.expect(/Logged in|Invalid password|Wait (\d+) s: too many wrong passwords/, this.commandTimeoutMs);
      if (m[1]) throw new FieldError(`the console on ${this.link.name} takes no password for ${m[1]} s after wrong ones: wait and try again`);
      if (m[0] !== "Logged in") throw new FieldError(`wrong password for the console on ${this.link.name}`);
      this.loggedIn = true;
    } catch (err) {
      if (err instanceof LinkTimeout) throw new FieldError(`the node on ${this.link.name} did not answer the password`);
      throw err;
    }
  }

  private noAnswer(heard: string, interrupted: boolean): FieldError {
    const s = this.promptTimeoutMs / 1000;
    const visible = heard.replace(/[\r\n>\s]|\x1b\[J/g, "");
    if (!visible) {
      return new FieldError(`no answer from the node on ${this.link.name} within ${s} s: is it powered? is the baud rate ${CONSOLE_BAUD}? (a battery node may be asleep: press its reset button and run again)`);
    }
    const refused = /Uncaught [^\r\n]*/.exec(heard);
    if (refused) {
      return new FieldError(`the console on ${this.link.name} refused the tools' commands (${refused[0].trim()}): is it an Espruino REPL that takes DLE (0x10) lines?`);
    }
    if (isGarbled(heard)) {
      return new FieldError(`the node on ${this.link.name} sent only garbled bytes (${excerpt(heard, 40)}): is the baud rate ${CONSOLE_BAUD}? is this the console port?`);
    }
    return new FieldError(
      `the node on ${this.link.name} did not answer REPL commands within ${s} s${interrupted ? " (not even after Ctrl-C)" : ""}; it printed ${excerpt(heard)}. Is it asleep, its console moved off this port, or its program stuck? Try its reset button.`,
    );
  }

  private lineStart(): string {
    return this.dle ? ECHO_OFF : "";
  }

  /** Evaluate one JS expression on the node; resolves to its JSON value. */
  async eval<T = unknown>(expr: string, timeoutMs = this.commandTimeoutMs): Promise<T> {
    const id = ++this.seq;
    this.link.drain(); // stale output and log lines before this command
    const line = `try{print(${marker("CN:" + id)}+JSON.stringify(${expr})+${marker("END:" + id)})}catch(e){print(${marker("CN!" + id)}+JSON.stringify(""+e)+${marker("END:" + id)})}`;
    await this.link.write(this.lineStart() + line + "\n");
    let m: RegExpExecArray;
    try {
      m = await this.link.expect(new RegExp(`<<CN(:|!)${id}>>([^\\r\\n]*?)<<END:${id}>>`), timeoutMs);
    } catch (err) {
      if (!(err instanceof LinkTimeout)) throw err;
      const uncaught = /Uncaught [^\r\n]*/.exec(err.received);
      if (uncaught) throw new ReplError(`the node refused ${short(expr)}: ${uncaught[0]}`);
      const got = err.received.replace(/[\r\n>\s]|\x1b\[J/g, "") ? `; it printed ${excerpt(err.received)}` : "";
      throw new ReplError(`no reply from the node on ${this.link.name} to ${short(expr)} within ${timeoutMs / 1000} s${got}`);
    }
    const payload = m[2];
    if (m[1] === "!") throw new ReplError(`the node failed on ${short(expr)}: ${safeParse(payload) ?? payload}`);
    if (payload === "undefined") return undefined as T;
    try {
      return JSON.parse(payload) as T;
    } catch {
      throw new ReplError(`garbled reply from the node to ${short(expr)}: ${excerpt(payload)}`);
    }
  }

  /** Run statements on the node (no result) and wait until they have run. */
  async exec(statements: string, timeoutMs = this.commandTimeoutMs): Promise<void> {
    await this.eval(`(function(){${statements}})()`, timeoutMs);
  }

  /** Send a line without waiting for an answer (load(), reset(): the REPL goes away). */
  async send(statements: string): Promise<void> {
    this.link.drain();
    await this.link.write(this.lineStart() + statements + "\n");
  }
}

/**
 * Lock the console again before a tool lets go of it: a console left logged in hands the next
 * person casanode.json (Wi-Fi password, command key) and eraseAll(). CasaNode firmware locks
 * with casanode.lock(); where none runs (flash or provision stopped it and failed before the
 * restart), Espruino's own lock with the password the tool knows. A console that asks for a
 * password is locked already. Best effort: says so when it could not.
 */
export async function relockConsole(link: ConsoleLink, password: string | undefined, out?: Reporter): Promise<boolean> {
  const repl = new Repl(link, { promptTimeoutMs: 2000, commandTimeoutMs: 2000 });
  try {
    await repl.attach();
  } catch (err) {
    // no answer: asleep or restarting, and the firmware locks at every boot
    if (err instanceof ConsoleLocked || err instanceof FieldError) return err instanceof ConsoleLocked;
    throw err;
  }
  const native = password ? `(E.setPassword(${JSON.stringify(password)}),E.lockConsole(),true)` : "false";
  try {
    const locked = await repl.eval<boolean>(`typeof casanode!=="undefined"&&casanode.lock?casanode.lock():${native}`);
    if (!locked) return false; // nothing to lock with: the node has no console password
    await link.expect(/password>/, 2000);
    return true;
  } catch (err) {
    if (!(err instanceof FieldError) && !(err instanceof LinkTimeout)) throw err;
    out?.line(`warning: the console may still be unlocked (${err.message}); power-cycle the node to lock it`);
    return false;
  }
}

/** A JS string expression that prints as <<text>> but does not contain it literally. */
function marker(text: string): string {
  return `"<<"+${JSON.stringify(text + ">>")}`;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function short(expr: string): string {
  return expr.length > 48 ? expr.slice(0, 45) + "..." : expr;
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

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/** Where the field tools talk to the person: result lines on stdout, progress on a TTY bar. */
export interface Reporter {
  line(text: string): void;
  progress(label: string, total: number): Progress;
}

/** A bar on stderr when it is a terminal; otherwise a plain line every 10 %, for logs and pipes. */
export function consoleReporter(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Reporter {
  return {
    line: (text) => void stdout.write(text + "\n"),
    progress(label, total) {
      if (stderr.isTTY) {
        const bar = new cliProgress.SingleBar(
          { stream: stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | ETA {eta}s`, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
        return { update: (done) => bar.update(done), stop: () => bar.stop() };
      }
      return plainProgress(label, total, (text) => void stdout.write(text + "\n"));
    },
  };
}

export function plainProgress(label: string, total: number, write: (line: string) => void): Progress {
  let shown = -1;
  return {
    update(done) {
      const tenth = total ? Math.floor((done / total) * 10) : 10;
      if (tenth <= shown) return;
      shown = tenth;
      write(`${label}: ${tenth * 10}% (${done}/${total} bytes)`);
    },
    stop() {},
  };
}
