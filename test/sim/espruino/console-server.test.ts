// The TCP console a maintenance crew reaches with `nc localhost <port>`.

import { expect } from "chai";
import net from "node:net";
import { serveConsole } from "../../../sim/espruino/console-server.js";
import { bootNode, iife } from "../../support/node-fixture.js";
import { BOOT_MS } from "../../../sim/node.js";

describe("console over TCP", () => {
  it("passes typed lines to the node's REPL and its output back with \\r\\n", async () => {
    const h = bootNode(iife(`global.status = function () { return { ok: true }; }; setInterval(function () {}, 1000);`));
    h.node.start();
    h.clock.advance(BOOT_MS + 1);
    const server = await serveConsole(h.node, 0);
    const client = net.connect(server.port, "127.0.0.1");
    let got = "";
    client.on("data", (d) => (got += d.toString("latin1")));
    await new Promise<void>((r) => client.once("connect", () => r()));
    const wait = async (s: string) => {
      const end = Date.now() + 2000;
      while (!got.includes(s) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    };
    await wait("console");
    expect(got).to.match(/^test-01 console \(awake\)\r\n/);
    client.write("1+1\r\nstatus()\n");
    await wait("=2\r\n={ ok: true }\r\n");
    expect(got).to.include("=2\r\n={ ok: true }\r\n");
    expect(server.clients()).to.equal(1);
    client.destroy();
    await server.close();
    h.node.stop();
  });
});
