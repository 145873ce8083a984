// A simulated node's Serial1 console over TCP, for `casanode sim --console-port`: a
// maintenance crew runs `nc localhost 4001` (or `espruino -p tcp://localhost:4001`) and gets
// the node's REPL as if a USB-serial cable were plugged in. Lines typed go to
// node.consoleInput(); what the node prints comes back with Espruino's \r\n line ends.

import net from "node:net";
import type { SimNode } from "../node.js";

export interface ConsoleServer {
  port: number;
  /** connected clients now */
  clients(): number;
  close(): Promise<void>;
}

/** longest line a client may send before it is cut off (Espruino's input line is bounded too) */
const MAX_LINE = 4096;

export function serveConsole(node: SimNode, port: number, host = "127.0.0.1"): Promise<ConsoleServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    const remove = node.addConsoleListener((text) => {
      if (!sock.destroyed) sock.write(Buffer.from(text.replace(/\r?\n/g, "\r\n"), "latin1"));
    });
    let pending = "";
    sock.on("data", (buf) => {
      pending += buf.toString("latin1");
      let m: RegExpExecArray | null;
      while ((m = /\r\n|\r|\n/.exec(pending))) {
        const line = pending.slice(0, m.index);
        pending = pending.slice(m.index + m[0].length);
        if (line) node.consoleInput(line);
      }
      if (pending.length > MAX_LINE) pending = "";
    });
    const done = () => {
      remove();
      sockets.delete(sock);
    };
    sock.on("close", done);
    sock.on("error", done);
    sock.write(`${node.id} console (${node.powerState})\r\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve({
        port: typeof addr === "object" && addr ? addr.port : port,
        clients: () => sockets.size,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}
