import { expect } from "chai";
import fc from "fast-check";
import net from "node:net";
import vm from "node:vm";
import { EventEmitter } from "node:events";
import { SerialPortMock } from "serialport";
import {
  createLink,
  explainSerialError,
  FieldError,
  isGarbled,
  openLink,
  parseTcpTarget,
  plainProgress,
  Repl,
  ReplError,
  type ByteStream,
  type SerialPortClass,
} from "../../tools/port.js";
import { FakeEspruino } from "./fake-espruino.js";

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

/** A byte stream whose far end is a function: what the tool writes goes to `peer`, `send` answers. */
function pipe(peer: (text: string, send: (text: string) => void) => void): ByteStream & EventEmitter {
  const em = new EventEmitter() as ByteStream & EventEmitter;
  const send = (text: string) => setImmediate(() => em.emit("data", Buffer.from(text, "latin1")));
  em.write = (data: Buffer, cb: (err?: Error | null) => void) => {
    cb(null);
    peer(data.toString("latin1"), send);
    return true;
  };
  return em;
}

/** A peer that answers the probe and each command's markers with `reply(id)`. */
function scripted(reply: (id: string, line: string) => string): (text: string, send: (t: string) => void) => void {
  let line = "";
  return (text, send) => {
    for (const ch of text) {
      if (ch !== "\n") {
        line += ch;
        continue;
      }
      const id = /"CN:(\d+)>>"/.exec(line)?.[1] ?? /"CN!(\d+)>>"/.exec(line)?.[1];
      if (id && line.includes('"ready"')) send(`<<CN:${id}>>ready<<END:${id}>>\r\n>`);
      else if (id) send(reply(id, line));
      line = "";
    }
  };
}

describe("field tools: console link", () => {
  describe("opening a port", () => {
    it("asks for a port when none is given (usage error)", async () => {
      const err = await rejection(openLink(""));
      expect(err).to.be.instanceOf(FieldError);
      expect((err as FieldError).exitCode).to.equal(2);
    });

    it("refuses a malformed tcp address", () => {
      expect(() => parseTcpTarget("tcp://localhost")).to.throw(/expected tcp:\/\/host:port/);
      expect(() => parseTcpTarget("tcp://localhost:99999")).to.throw(/expected tcp:\/\/host:port/);
      expect(parseTcpTarget("tcp://[::1]:4001")).to.deep.equal({ host: "::1", port: 4001 });
    });

    it("says nothing listens when the TCP console is refused", async () => {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise<void>((r) => server.close(() => r()));
      const err = await rejection(openLink(`tcp://127.0.0.1:${port}`));
      expect(err.message).to.match(/nothing listens on tcp:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
    });

    describe("serial (serialport's mock binding)", () => {
      const Mock = SerialPortMock as unknown as SerialPortClass;
      afterEach(() => SerialPortMock.binding.reset());

      it("names the ports that exist when the one asked for does not", async () => {
        SerialPortMock.binding.createPort("/dev/ttyACM0", { manufacturer: "Silicon Labs" });
        const err = await rejection(openLink("/dev/ttyUSB0", { serialPort: Mock }));
        expect(err.message).to.equal("no serial port /dev/ttyUSB0; ports found: /dev/ttyACM0 (Silicon Labs)");
      });

      it("opens an existing port at 115200 8N1 and talks to the REPL on it", async () => {
        SerialPortMock.binding.createPort("/dev/ttyUSB0");
        const link = await openLink("/dev/ttyUSB0", { serialPort: Mock });
        const port = (link as unknown as { stream: SerialPortMock }).stream;
        expect(port.port!.openOptions).to.include({ baudRate: 115200, dataBits: 8, parity: "none", stopBits: 1 });
        const node = new FakeEspruino();
        node.attach((text) => port.port!.emitData(Buffer.from(text, "latin1")));
        port.on("data", () => {}); // flowing
        const origWrite = port.port!.write.bind(port.port!);
        port.port!.write = async (buf: Buffer) => {
          await origWrite(buf);
          node.input(buf.toString("latin1"));
        };
        const repl = new Repl(link, { promptTimeoutMs: 2000 });
        await repl.attach();
        expect(await repl.eval("process.env.VERSION")).to.equal("2v29");
        await link.close();
      });
    });

    it("explains the OS's errors for a port that did not open", async () => {
      const list = async () => [{ path: "/dev/ttyS0" }];
      const noList = { list: () => Promise.reject(new Error("spawn udevadm ENOENT")) };
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: No such file or directory, cannot open /dev/ttyUSB0"), { list }, "linux")).to.equal(
        "no serial port /dev/ttyUSB0; ports found: /dev/ttyS0",
      );
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: No such file or directory, cannot open /dev/ttyUSB0"), noList, "linux")).to.match(
        /no serial port \/dev\/ttyUSB0; the serial ports could not be listed \(spawn udevadm ENOENT\)/,
      );
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: No such file or directory"), { list: async () => [] }, "linux")).to.match(/no serial ports found/);
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: Permission denied, cannot open /dev/ttyUSB0"), { list }, "linux")).to.match(/permission denied.*dialout group/);
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error Resource temporarily unavailable Cannot lock port"), { list }, "linux")).to.match(/is busy: another program/);
      expect(await explainSerialError("COM3", new Error("Opening COM3: Access denied"), { list }, "win32")).to.match(/COM3 is busy/);
      expect(await explainSerialError("/dev/null", new Error("Error: Inappropriate ioctl for device setting custom baud rate of 115200"), { list }, "linux")).to.equal("/dev/null is not a serial port");
    });
  });

  describe("Espruino REPL", () => {
    let node: FakeEspruino;
    afterEach(() => node?.close());

    async function connect(options: ConstructorParameters<typeof FakeEspruino>[0], repl: { password?: string; promptTimeoutMs?: number; interrupt?: boolean } = {}) {
      node = new FakeEspruino(options);
      const link = await openLink(await node.listen());
      return new Repl(link, { promptTimeoutMs: 2000, commandTimeoutMs: 2000, ...repl });
    }

    it("evaluates expressions through log noise, prompts, CRLF and replies cut in pieces", async () => {
      const repl = await connect({ noise: true, fragment: true });
      await repl.attach();
      expect(await repl.eval("1+2")).to.equal(3);
      expect(await repl.eval('{a:[1,"x\\r\\n>"],b:null}')).to.deep.equal({ a: [1, "x\r\n>"], b: null });
      expect(await repl.eval("undefined")).to.equal(undefined);
      // DLE before each command: the node echoes nothing
      expect(node.executed.length).to.be.greaterThan(2);
      await repl.link.close();
    });

    it("probes with DLE (no echo) and sends no Ctrl-C to a node that answers", async () => {
      const repl = await connect({});
      await repl.attach();
      expect(node.received.startsWith("\x10print(")).to.equal(true);
      expect(node.ctrlC).to.equal(0);
      await repl.link.close();
    });

    it("gets past a half-typed line without Ctrl-C", async () => {
      const repl = await connect({ typed: "casanode.dia" }, { promptTimeoutMs: 500 });
      await repl.attach();
      expect(await repl.eval("6*7")).to.equal(42);
      expect(node.ctrlC).to.equal(0);
      expect(node.executed[0]).to.match(/^casanode\.dia\x10?print\(/);
      await repl.link.close();
    });

    it("breaks a stuck program with one Ctrl-C, as the last resort, when allowed to", async () => {
      const repl = await connect({ busy: true }, { promptTimeoutMs: 400, interrupt: true });
      await repl.attach();
      expect(node.ctrlC).to.equal(1);
      expect(await repl.eval("1")).to.equal(1);
      await repl.link.close();
    });

    it("never sends Ctrl-C unless allowed to (it would break a healthy firmware's work)", async () => {
      const repl = await connect({ busy: true }, { promptTimeoutMs: 300 });
      const err = await rejection(repl.attach());
      expect(node.ctrlC).to.equal(0);
      expect(err.message).to.match(/no answer from the node/);
      await repl.link.close();
    });

    it("reports what the node threw, and a line it could not parse", async () => {
      const repl = await connect({});
      await repl.attach();
      const thrown = await rejection(repl.eval('(function(){throw new Error("boom")})()'));
      expect(thrown).to.be.instanceOf(ReplError);
      expect(thrown.message).to.match(/the node failed on .*: Error: boom/);
      const syntax = await rejection(repl.eval("1+", 150));
      expect(syntax.message).to.match(/the node refused 1\+: Uncaught SyntaxError/);
      await repl.link.close();
    });

    it("logs in to a console locked with E.setPassword", async () => {
      const repl = await connect({ password: "s3cret" }, { password: "s3cret" });
      await repl.attach();
      expect(await repl.eval("2*21")).to.equal(42);
      await repl.link.close();
    });

    it("asks for --password when the console is locked (usage error)", async () => {
      const repl = await connect({ password: "s3cret" });
      const err = (await rejection(repl.attach())) as FieldError;
      expect(err.message).to.match(/locked \(E\.setPassword\): give its password with --password/);
      expect(err.exitCode).to.equal(2);
      await repl.link.close();
    });

    it("says so when the password is wrong", async () => {
      const repl = await connect({ password: "s3cret" }, { password: "guess" });
      expect((await rejection(repl.attach())).message).to.match(/wrong password/);
      await repl.link.close();
    });

    it("gives up on a node that does not answer, with what to check", async () => {
      const repl = await connect({ silent: true }, { promptTimeoutMs: 150 });
      const err = await rejection(repl.attach());
      expect(err.message).to.match(/^no answer from the node on tcp:\/\/127\.0\.0\.1:\d+ within 0\.15 s: is it powered\? is the baud rate 115200\?/);
      await repl.link.close();
    });

    it("talks to a JS console that does not take DLE by leaving it out, through its echo", async () => {
      // as a plain JS REPL would: "\x10print(...)" is a syntax error, "print(...)" runs; it
      // echoes each line, and an echoed command must not read as its answer
      const context = vm.createContext({ print: (s: string) => send(s + "\r\n") });
      let send: (s: string) => void = () => {};
      let pending = "";
      const link = createLink(
        "pipe",
        pipe((text, reply) => {
          send = reply;
          const lines = (pending + text).split("\n");
          pending = lines.pop()!;
          for (const line of lines) {
            reply(line + "\r\n");
            try {
              vm.runInContext(line, context);
            } catch (err) {
              reply(`Uncaught ${String(err)}\r\n`);
            }
          }
        }),
      );
      const repl = new Repl(link, { promptTimeoutMs: 1000 });
      await repl.attach();
      expect(await repl.eval("[1,2]")).to.deep.equal([1, 2]);
      expect(await repl.eval('"<<CN:9>>x<<END:9>>".length')).to.equal(18);
    });

    it("says so when the console refuses the tools' command lines", async () => {
      const link = createLink("pipe", pipe((text, send) => text.includes("\n") && send("Uncaught ReferenceError: print is not defined\r\n")));
      const repl = new Repl(link, { promptTimeoutMs: 150 });
      expect((await rejection(repl.attach())).message).to.equal(
        "the console on pipe refused the tools' commands (Uncaught ReferenceError: print is not defined): is it an Espruino REPL that takes DLE (0x10) lines?",
      );
    });

    it("recognises line noise as a wrong baud rate", async () => {
      const repl = await connect({ garbled: true }, { promptTimeoutMs: 150 });
      expect((await rejection(repl.attach())).message).to.match(/sent only garbled bytes .*is the baud rate 115200\?/);
      await repl.link.close();
    });

    it("fails cleanly when the node goes away mid-command", async () => {
      const repl = await connect({});
      await repl.attach();
      const pending = repl.eval("new Promise(function(){})", 2000).catch((e) => e as Error);
      await node.close();
      const err = (await pending) as Error;
      expect(err).to.be.instanceOf(FieldError);
      expect(err.message).to.match(/closed the connection|went away|ECONNRESET/);
    });
  });

  describe("XON/XOFF flow control (Espruino's ESP32 console has it on)", () => {
    it("stops writing on XOFF until XON, and keeps both out of the received text", async () => {
      let received = "";
      let atXon = -1;
      let xoffSent = false;
      // a wire whose writes complete a moment later, as a socket's or a UART's do
      const wire = new EventEmitter() as ByteStream & EventEmitter;
      const send = (text: string) => setImmediate(() => wire.emit("data", Buffer.from(text, "latin1")));
      wire.write = (data: Buffer, cb: (err?: Error | null) => void) => {
        received += data.toString("latin1");
        if (!xoffSent) {
          xoffSent = true;
          send("ok\x13"); // the node's input queue is 3/4 full
          setTimeout(() => {
            atXon = received.length;
            send("\x11go");
          }, 50);
        }
        setImmediate(() => cb(null));
        return true;
      };
      const link = createLink("wire", wire);
      const line = "x".repeat(1000);
      await link.write(line);
      expect((await link.expect(/ok(.*)go/, 500))[1]).to.equal("");
      expect(received).to.equal(line);
      // what got through before XON: at most the slices already on their way when XOFF came
      expect(atXon).to.be.within(1, 2 * 64);
    });
  });

  describe("reply parsing", () => {
    it("refuses a garbled reply between the markers", async () => {
      const link = createLink("pipe", pipe(scripted((id) => `<<CN:${id}>>{"a":1,<<END:${id}>>\r\n>`)));
      const repl = new Repl(link, { promptTimeoutMs: 500, commandTimeoutMs: 500 });
      await repl.attach();
      const err = await rejection(repl.eval("casanode.diag()"));
      expect(err).to.be.instanceOf(ReplError);
      expect(err.message).to.match(/garbled reply from the node to casanode\.diag\(\)/);
    });

    it("ignores noise that only looks like an answer to another command", async () => {
      const link = createLink("pipe", pipe(scripted((id) => `<<CN:${Number(id) - 1}>>"stale"<<END:${Number(id) - 1}>>\r\n<<CN:${id}>>"fresh"<<END:${id}>>\r\n>`)));
      const repl = new Repl(link, { promptTimeoutMs: 500, commandTimeoutMs: 500 });
      await repl.attach();
      expect(await repl.eval("x")).to.equal("fresh");
    });

    it("property: any JSON value survives any noise around it and any cut of the stream", async () => {
      const noise = fc.string({ unit: fc.constantFrom("a", ">", "\r", "\n", "\x1b[J", "<", "<<CN:0>>1<<END:0>>", " ", "Uncaught", "\xff") , maxLength: 30 });
      await fc.assert(
        fc.asyncProperty(fc.jsonValue(), noise, noise, fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }), async (value, before, after, cuts) => {
          const peer = scripted((id) => `${before}<<CN:${id}>>${JSON.stringify(value)}<<END:${id}>>${after}\r\n>`);
          const em = new EventEmitter() as ByteStream & EventEmitter;
          let cut = 0;
          const send = (text: string) => {
            for (let i = 0; i < text.length; ) {
              const n = cuts[cut++ % cuts.length];
              const piece = text.slice(i, i + n);
              setImmediate(() => em.emit("data", Buffer.from(piece, "latin1")));
              i += n;
            }
          };
          em.write = (data: Buffer, cb: (err?: Error | null) => void) => {
            cb(null);
            peer(data.toString("latin1"), send);
            return true;
          };
          const repl = new Repl(createLink("pipe", em), { promptTimeoutMs: 500, commandTimeoutMs: 500 });
          await repl.attach();
          const got = await repl.eval("v");
          expect(got).to.deep.equal(JSON.parse(JSON.stringify(value)));
        }),
        { numRuns: 60 },
      );
    });
  });

  it("tells garbled bytes from text", () => {
    expect(isGarbled("\xf0\x8f\xfe\x80\xc3\x9a")).to.equal(true);
    expect(isGarbled("CasaNode 0.1.0 esp32-air boot\r\n>")).to.equal(false);
  });

  it("prints progress as a plain line every 10 % when not on a terminal", () => {
    const lines: string[] = [];
    const p = plainProgress("flash", 1000, (l) => lines.push(l));
    for (let done = 0; done <= 1000; done += 96) p.update(done);
    p.update(1000);
    expect(lines[0]).to.equal("flash: 0% (0/1000 bytes)");
    expect(lines[lines.length - 1]).to.equal("flash: 100% (1000/1000 bytes)");
    expect(lines.length).to.equal(11);
  });
});
