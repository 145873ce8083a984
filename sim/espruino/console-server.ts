// A simulated node's Serial1 console over TCP, for `casanode sim --console-port`: a
// maintenance crew runs `nc localhost 4001` (or `espruino -p tcp://localhost:4001`) and gets
// the node's REPL as if a USB-serial cable were plugged in. Lines typed go to
// node.consoleInput(); what the node prints comes back with Espruino's \r\n line ends.
// With { bluetooth: true } each client is instead a BLE central on the node's Nordic UART
// console device (node.bleConnect): what a phone would see.

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

export function serveConsole(node: SimNode, port: number, host = "127.0.0.1", opts: { bluetooth?: boolean } = {}): Promise<ConsoleServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    const toClient = (text: string) => {
      if (!sock.destroyed) sock.write(Buffer.from(text.replace(/\r?\n/g, "\r\n"), "latin1"));
    };
    let remove: () => void;
    let input = (line: string) => node.consoleInput(line);
    if (opts.bluetooth) {
      let link: ReturnType<SimNode["bleConnect"]>;
      try {
        link = node.bleConnect(toClient);
      } catch (e) {
        sock.end(`${(e as Error).message}\r\n`);
        sockets.delete(sock);
        return;
      }
      input = (line) => link.send(line);
      remove = () => link.close();
    } else remove = node.addConsoleListener(toClient);
    let pending = "";
    sock.on("data", (buf) => {
      pending += buf.toString("latin1");
      let m: RegExpExecArray | null;
      while ((m = /\r\n|\r|\n/.exec(pending))) {
        const line = pending.slice(0, m.index);
        pending = pending.slice(m.index + m[0].length);
        if (line) input(line);
      }
      if (pending.length > MAX_LINE) pending = "";
    });
    const done = () => {
      remove();
      sockets.delete(sock);
    };
    sock.on("close", done);
    sock.on("error", done);
    if (!opts.bluetooth) sock.write(`${node.id} console (${node.powerState})\r\n`);
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
