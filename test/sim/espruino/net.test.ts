// The Espruino net emulation the simulator and the interop tests run the client on.
import { expect } from "chai";
import net from "node:net";
import { createEspruinoNet } from "../../../sim/espruino/net.js";
import { freePort } from "../../../sim/broker.js";

async function server(onSocket: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const conns = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    conns.add(s);
    s.on("close", () => conns.delete(s));
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () => {
      for (const c of conns) c.destroy();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

const until = async (pred: () => boolean) => {
  for (let i = 0; i < 400 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(pred()).to.equal(true);
};

describe("sim/espruino/net: Espruino's net over Node sockets", () => {
  it("moves bytes both ways as binary strings, in chunks of at most chunkSize", async () => {
    const all = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 255));
    let got = Buffer.alloc(0);
    const s = await server((sock) => {
      sock.on("data", (d) => (got = Buffer.concat([got, d])));
      sock.write(all);
    });
    const chunks: string[] = [];
    const n = createEspruinoNet({ chunkSize: 300 });
    let connected = false;
    const sock = n.connect({ host: "127.0.0.1", port: s.port }, () => (connected = true));
    sock.on("data", (d) => chunks.push(d));
    sock.write(String.fromCharCode(0, 0xc0, 0xff, 0x80));
    await until(() => chunks.join("").length === 1000 && got.length === 4);
    expect(connected).to.equal(true);
    expect(Math.max(...chunks.map((c) => c.length))).to.be.at.most(300);
    expect(Buffer.from(chunks.join(""), "latin1").equals(all)).to.equal(true);
    expect([...got]).to.deep.equal([0, 0xc0, 0xff, 0x80]);
    sock.end();
    await until(() => n.openSockets() === 0);
    await s.close();
  });

  it("a refused connection emits error {code, message}, then end, then close(true)", async () => {
    const port = await freePort();
    const n = createEspruinoNet();
    const events: string[] = [];
    const sock = n.connect({ host: "127.0.0.1", port });
    sock.on("error", (e) => events.push(`error ${typeof e.code} ${typeof e.message}`));
    sock.on("end", () => events.push("end"));
    sock.on("close", (hadError?: any) => events.push(`close ${hadError}`));
    await until(() => events.length === 3);
    expect(events).to.deep.equal(["error number string", "end", "close true"]);
  });

  it("while blocked, connect throws at once and open sockets are cut", async () => {
    const s = await server(() => {});
    let up = true;
    const n = createEspruinoNet({ blocked: () => !up });
    const events: string[] = [];
    const sock = n.connect({ host: "127.0.0.1", port: s.port });
    sock.on("close", () => events.push("close"));
    sock.on("error", () => events.push("error"));
    await until(() => n.openSockets() === 1);
    up = false;
    expect(() => n.connect({ host: "127.0.0.1", port: s.port })).to.throw("Unable to create socket");
    n.poll();
    await until(() => events.length === 2);
    expect(events).to.deep.equal(["error", "close"]);
    expect(n.openSockets()).to.equal(0);
    expect(() => sock.write("x")).to.throw("This socket is closed");
    await s.close();
  });

  it("end(): the close is the chip's own, said at once (no round trip), and what was still on its way is dropped; the bytes written before it reach the peer", async () => {
    let peerGot = "";
    const s = await server((sock) => {
      sock.on("data", (d) => (peerGot += d.toString("latin1")));
      sock.write("late reply");
    });
    const network: (() => void)[] = [], local: (() => void)[] = [];
    const n = createEspruinoNet({ schedule: (fn) => network.push(fn), scheduleLocal: (fn) => local.push(fn) });
    const events: string[] = [];
    const sock = n.connect({ host: "127.0.0.1", port: s.port });
    for (const e of ["data", "end", "close"]) sock.on(e as any, (d?: any) => events.push(e + (typeof d === "string" ? " " + d : "")));
    await until(() => network.length >= 2); // connect, then the server's bytes, still on their way
    network.shift()!(); // connect
    sock.write("\xe0\x00");
    sock.end();
    expect(n.openSockets()).to.equal(0);
    expect(local.length).to.equal(1);
    local.shift()!();
    expect(events).to.deep.equal(["end", "close"]);
    while (network.length) network.shift()!();
    expect(events).to.deep.equal(["end", "close"]);
    await until(() => peerGot === "\xe0\x00");
    await s.close();
  });

  it("delivers events through the injected scheduler", async () => {
    const s = await server((sock) => sock.end("hi"));
    const queued: (() => void)[] = [];
    const n = createEspruinoNet({ schedule: (fn) => queued.push(fn) });
    const got: string[] = [];
    const sock = n.connect({ host: "127.0.0.1", port: s.port });
    sock.on("data", (d) => got.push(d));
    await until(() => queued.length >= 2);
    expect(got).to.deep.equal([]);
    while (queued.length) queued.shift()!();
    expect(got).to.deep.equal(["hi"]);
    await s.close();
  });
});
