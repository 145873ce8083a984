// A stand-in Espruino console for the field tools' tests: the REPL's line discipline as
// Espruino's src/jsinteractive.c has it (echo, DLE = no echo for one line, Ctrl-C clears the line, CR/LF/CRLF,
// E.setPassword lock with "password>"), lines evaluated in a node:vm context with a Storage
// module, E.CRC32, atob/btoa, load() and reset(). It serves over TCP like the simulator's
// console and can hang on a SerialPortMock binding. Faults: silent, garbled (wrong baud), log
// noise between replies, replies cut into small pieces, a refused or corrupted Storage write.

import net from "node:net";
import vm from "node:vm";

export interface FakeEspruinoOptions {
  password?: string;
  /** never answers (powered off, wrong port) */
  silent?: boolean;
  /** answers with line noise, as at a wrong baud rate */
  garbled?: boolean;
  /** a firmware log line before every reply, as a running node prints */
  noise?: boolean;
  /** replies sent in pieces of 1 to 7 bytes */
  fragment?: boolean;
  /** Storage.write at this offset returns false (flash full) */
  refuseWriteAt?: number;
  /** a byte at this offset is stored wrong (CRC mismatch) */
  corruptAt?: number;
  /** files already in flash */
  files?: { [name: string]: string };
  /** run .bootcde when starting, as at power-on */
  boot?: boolean;
  /** a program stuck in a loop: input waits until a Ctrl-C breaks it */
  busy?: boolean;
  /** what someone left half-typed on the line */
  typed?: string;
  rng?: () => number;
}

const BANNER = "\r\n ____                 _ \r\n|  __|___ ___ ___ _ _|_|___ ___ \r\n 2v29 (c) fake\r\n\r\n";

export class FakeEspruino {
  readonly files = new Map<string, string>();
  /** everything the tool sent */
  received = "";
  /** lines executed, in order */
  readonly executed: string[] = [];
  resets = 0;
  loads = 0;
  ctrlC = 0;
  private busy: boolean;
  private line: string;
  private echoOffForLine = false;
  private lastCr = false;
  private locked: boolean;
  private password: string | undefined;
  private context!: vm.Context;
  private pending: "reset" | "load" | undefined;
  private sink: ((text: string) => void) | undefined;
  private server: net.Server | undefined;
  private sockets = new Set<net.Socket>();
  private noiseCount = 0;
  private rng: () => number;

  constructor(private readonly options: FakeEspruinoOptions = {}) {
    for (const [name, data] of Object.entries(options.files ?? {})) this.files.set(name, data);
    this.password = options.password;
    this.locked = options.password !== undefined;
    this.busy = !!options.busy;
    this.line = options.typed ?? "";
    let seed = 12345;
    this.rng = options.rng ?? (() => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296));
    this.freshContext();
    if (options.boot) this.runBootCode();
  }

  /** The console asks for a password before it runs anything. */
  get isLocked(): boolean {
    return this.locked;
  }

  /** Serve the console on a local TCP port; resolves to its tcp:// address. */
  async listen(): Promise<string> {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => {});
      this.sink = (text) => socket.writable && socket.write(Buffer.from(text, "latin1"));
      socket.on("data", (data) => this.input(data.toString("latin1")));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const address = this.server.address() as net.AddressInfo;
    return `tcp://127.0.0.1:${address.port}`;
  }

  /** Talk through some other byte pipe (a SerialPortMock binding's emitData). */
  attach(sink: (text: string) => void): void {
    this.sink = sink;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Bytes typed on the console. */
  input(text: string): void {
    this.received += text;
    if (this.options.silent) return;
    if (this.options.garbled) {
      let junk = "";
      for (let i = 0; i < text.length; i++) junk += String.fromCharCode(128 + Math.floor(this.rng() * 128));
      this.out(junk);
      return;
    }
    for (const ch of text) {
      if (ch === "\x03") this.ctrlC++;
      if (this.busy) {
        if (ch !== "\x03") continue; // a real UART would buffer it; the stuck loop never reads it
        this.busy = false;
        this.out("Execution Interrupted\r\n>");
        continue;
      }
      this.char(ch);
    }
  }

  /** Something the firmware prints by itself (a log line), as Espruino redraws the prompt. */
  log(text: string): void {
    this.out("\r\x1b[J" + text + "\r\n>");
  }

  private char(ch: string): void {
    const wasCr = this.lastCr;
    this.lastCr = ch === "\r";
    if (this.locked) {
      if (ch === "\r" || ch === "\n") {
        if (ch === "\n" && wasCr) return;
        if (this.line === this.password) {
          this.locked = false;
          this.out("\r\n  Logged in.\r\n>");
        } else this.out("\r\n  Invalid password\r\npassword>");
        this.line = "";
      } else if (this.line.length < 20) this.line += ch;
      return;
    }
    if (ch === "\x03") {
      this.line = "";
      this.echoOffForLine = false;
      return;
    }
    if (ch === "\x10") {
      if (this.line === "") this.echoOffForLine = true;
      return;
    }
    if (ch === "\r" || ch === "\n") {
      if (ch === "\n" && wasCr) return;
      this.execute();
      return;
    }
    this.line += ch;
    if (!this.echoOffForLine) this.out(ch);
  }

  private execute(): void {
    const code = this.line;
    const echo = !this.echoOffForLine;
    this.line = "";
    this.echoOffForLine = false;
    if (echo) this.out("\r\n");
    this.executed.push(code);
    if (this.options.noise) this.out(`[sched] cycle ${++this.noiseCount} done, next in 300 s\r\n`);
    try {
      const result = vm.runInContext(code, this.context);
      if (echo && code.trim()) this.out("=" + JSON.stringify(result) + "\r\n");
    } catch (err) {
      this.out(`Uncaught ${String(err)}\r\n`);
    }
    const pending = this.pending;
    this.pending = undefined;
    // reset() and load() clear every variable, the password too (it lives in RAM); the lock flag stays
    if (pending) this.password = undefined;
    if (pending === "reset") {
      this.resets++;
      this.freshContext();
      this.out(BANNER);
    } else if (pending === "load") {
      this.loads++;
      this.freshContext();
      this.out(BANNER);
      this.runBootCode();
    }
    this.out(this.locked ? "password>" : ">");
  }

  private runBootCode(): void {
    const boot = this.files.get(".bootcde");
    if (boot === undefined) return;
    try {
      vm.runInContext(boot, this.context);
    } catch (err) {
      this.out(`Uncaught ${String(err)}\r\n`);
    }
  }

  private out(text: string): void {
    const sink = this.sink;
    if (!sink || !text) return;
    if (!this.options.fragment) return sink(text);
    for (let i = 0; i < text.length; ) {
      const n = 1 + Math.floor(this.rng() * 7);
      sink(text.slice(i, i + n));
      i += n;
    }
  }

  private freshContext(): void {
    const fake = this;
    const files = this.files;
    const print = (...args: unknown[]) => fake.out(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ") + "\r\n");
    const storage = {
      write(name: string, data: string, offset?: number, size?: number): boolean {
        data = String(data);
        if (fake.options.refuseWriteAt !== undefined && offset === fake.options.refuseWriteAt) return false;
        if (fake.options.corruptAt !== undefined && offset !== undefined) {
          const at = fake.options.corruptAt - offset;
          if (at >= 0 && at < data.length) data = data.slice(0, at) + String.fromCharCode(data.charCodeAt(at) ^ 0x20) + data.slice(at + 1);
        }
        if (offset === undefined || (offset === 0 && size === undefined)) {
          files.set(name, data);
          return true;
        }
        if (size !== undefined) {
          if (offset !== 0) throw new Error("Offset must be 0 when giving a size");
          files.set(name, "\xff".repeat(size));
        }
        const old = files.get(name);
        if (old === undefined) throw new Error("File does not exist");
        if (offset + data.length > old.length) throw new Error("Too much data for file size");
        files.set(name, old.slice(0, offset) + data + old.slice(offset + data.length));
        return true;
      },
      read: (name: string) => files.get(name),
      readJSON(name: string, noExceptions?: boolean) {
        const text = files.get(name);
        if (text === undefined) return undefined;
        try {
          return JSON.parse(text);
        } catch (err) {
          if (noExceptions) return undefined;
          throw err;
        }
      },
      erase: (name: string) => void files.delete(name),
      list: () => [...files.keys()],
      getFree: () => 262144 - [...files.values()].reduce((n, f) => n + f.length + 32, 0),
      getStats: () => ({ totalBytes: 262144, freeBytes: storage.getFree(), fileBytes: 0, fileCount: files.size, trashBytes: 0, trashCount: 0 }),
    };
    this.context = vm.createContext({
      print,
      console: { log: print },
      JSON,
      Math,
      Date,
      Object,
      String,
      Number,
      Array,
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      atob: (b64: string) => Buffer.from(b64, "base64").toString("latin1"),
      btoa: (text: string) => Buffer.from(text, "latin1").toString("base64"),
      require(name: string) {
        if (name === "Storage") return storage;
        throw new Error(`Module ${name} not found`);
      },
      E: {
        CRC32: (text: string) => crc32Latin1(String(text)),
        setPassword(pw: string) {
          fake.password = pw;
        },
        lockConsole() {
          if (fake.password !== undefined) fake.locked = true;
        },
        reboot() {
          fake.pending = "load";
        },
      },
      process: { env: { VERSION: "2v29", BOARD: "ESP32" }, memory: () => ({ free: 12000, usage: 4383, total: 16383 }) },
      load() {
        fake.pending = "load";
      },
      reset() {
        fake.pending = "reset";
      },
    });
  }
}

function crc32Latin1(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i) & 0xff;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
