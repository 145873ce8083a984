import { expect } from "chai";
import net from "node:net";
import { once } from "node:events";
import { IoWatch } from "../../sim/fleet-io-watch.js";
import { VirtualClock } from "../../sim/clock.js";

describe("sim/fleet-io-watch", () => {
  it("forgets a connection once both ends have closed (a long run keeps no dead sockets)", async () => {
    const server = net.createServer((s) => s.on("data", () => s.end()));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as net.AddressInfo).port;
    const io = new IoWatch(new VirtualClock(), { host: "127.0.0.1", port });
    try {
      for (let i = 0; i < 5; i++) {
        const c = net.connect(port, "127.0.0.1");
        await once(c, "connect");
        c.write("x");
        await once(c, "close");
      }
      // the server ends close a tick after the clients
      await new Promise((r) => setTimeout(r, 50));
      expect(io.watched()).to.deep.equal({ sockets: 0, clients: 0, servers: 0 });
      expect(io.busy(true)).to.equal(false);
    } finally {
      io.close();
      server.close();
    }
  });
});
