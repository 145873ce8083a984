import { expect } from "chai";
import fc from "fast-check";
import vm from "node:vm";
import { EventEmitter } from "node:events";
import { FieldError } from "../../toolchain/field-error.js";
import { createLink, openLink, type ByteStream } from "../../tools/console-link.js";
import { Repl, ReplError } from "../../tools/repl.js";
import { rejection } from "../support/promises.js";
import { FakeEspruino } from "../support/fake-espruino.js";

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

describe("field tools: REPL", () => {
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
});
