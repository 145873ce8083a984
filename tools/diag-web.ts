// `casanode diag --web`: serve the diagnostics page (dist/diag/, built by `npm run build`) on
// http://localhost, one of the two places (with https) where browsers allow Web Bluetooth and
// Web Serial. Only the page's own files, read-only, on the loopback interface.

import http from "node:http";
import { readFileSync } from "node:fs";
import path from "node:path";
import { DIAG_PAGE_DIR } from "../toolchain/bundle.js";
import { FieldError } from "../toolchain/field-error.js";

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const FILES = ["index.html", "diag.js", "diag.css"];

export interface DiagWebServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serveDiagPage(port = 8080, dir = DIAG_PAGE_DIR): Promise<DiagWebServer> {
  const files = new Map<string, Buffer>();
  for (const f of FILES) {
    try {
      files.set(f, readFileSync(path.join(dir, f)));
    } catch {
      throw new FieldError(`the diagnostics page is not built (${path.join(dir, f)} missing): run npm run build first`);
    }
  }
  const server = http.createServer((req, res) => {
    const name = (req.url ?? "/").split("?")[0].replace(/^\/+/, "") || "index.html";
    const body = files.get(name);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (!body) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    // the page talks to no server: nothing else may load
    res.writeHead(200, {
      "content-type": TYPES[path.extname(name)],
      "cache-control": "no-cache",
      "content-security-policy": "default-src 'self'; connect-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
      "x-content-type-options": "nosniff",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new FieldError(err.code === "EADDRINUSE" ? `port ${port} is in use: pick another with --web <port>` : `cannot serve the page: ${err.message}`)),
    );
    server.listen(port, "localhost", () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  return {
    url: `http://localhost:${actual}/`,
    port: actual,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
