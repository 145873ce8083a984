// Brokers for the simulator and the interop tests: an embedded aedes 1.x on loopback, and
// Mosquitto when its binary is installed.

import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync, ChildProcess } from "node:child_process";
import { Aedes, type AedesOptions } from "aedes";

export interface BrokerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedBroker extends BrokerHandle {
  broker: Aedes;
  /** the session store; pass it to the next startBroker() to model a broker restart that keeps sessions */
  persistence: any;
}

export interface StartBrokerOptions {
  /** 0 (default) picks a free port */
  port?: number;
  /** reuse a previous broker's store (sessions, retained messages, queued QoS 1) */
  persistence?: any;
  aedes?: AedesOptions;
}

/**
 * Start aedes on 127.0.0.1. Clean-session-off sessions are kept in its in-memory store for
 * as long as the store lives, across stop() and a new startBroker({ persistence }).
 */
export async function startBroker(opts: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker({ ...opts.aedes, ...(opts.persistence ? { persistence: opts.persistence } : {}) });
  const conns = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    conns.add(socket);
    socket.on("close", () => conns.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let stopped = false;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    broker,
    persistence: (broker as any).persistence,
    async stop() {
      if (stopped) return;
      stopped = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of conns) c.destroy();
      await closed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** path of the mosquitto binary, or null */
export function findMosquitto(): string | null {
  for (const p of ["mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto"]) {
    const r = spawnSync(p, ["-h"], { stdio: "ignore" });
    if (!r.error) return p;
  }
  return null;
}

/** a port that was free a moment ago */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// Mosquitto 2.0.11 listens before it installs its signal handlers (strace: listen, then
// rt_sigaction, then "running"), so a SIGTERM sent as soon as the port answers kills it
// outright, without the save. "running" is logged once the handlers are in place.
async function waitForRunning(child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/mosquitto version \S+ running/.test(log())) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`mosquitto was not running within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface StartMosquittoOptions {
  /** default: a free port */
  port?: number;
  /** keep sessions in this directory (saved on stop, loaded on start), so a restart keeps them */
  dataDir?: string;
  /** more mosquitto.conf lines, e.g. "max_queued_messages 10000" */
  conf?: string[];
}

/** Spawn Mosquitto on 127.0.0.1 if it is installed (null otherwise) and wait until it runs. */
export async function startMosquitto(opts: StartMosquittoOptions = {}): Promise<BrokerHandle | null> {
  const bin = findMosquitto();
  if (!bin) return null;
  const port = opts.port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "casanode-mosquitto-"));
  const conf = path.join(dir, "mosquitto.conf");
  const lines = [`listener ${port} 127.0.0.1`, "allow_anonymous true", "log_dest stderr"];
  if (opts.dataDir) {
    lines.push("persistence true", `persistence_location ${opts.dataDir.replace(/\/?$/, "/")}`, "autosave_interval 0");
    // As root, Mosquitto drops to the "mosquitto" user, which cannot write our data dir: the
    // save at exit then fails and a restart silently loses every session.
    if (process.getuid?.() === 0) lines.push("user root");
  } else lines.push("persistence false");
  lines.push(...(opts.conf ?? []));
  fs.writeFileSync(conf, lines.join("\n") + "\n");
  const child = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  // "close", not "exit": stderr may still hold the last lines when the process exits
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  try {
    await waitForRunning(child, () => stderr, 5000);
  } catch (e) {
    child.kill("SIGKILL");
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        // under load Mosquitto 2.0.11 has been seen to sleep on through one SIGTERM (the next
        // one worked): repeat it until the process is gone
        child.kill("SIGTERM");
        const again = setInterval(() => child.kill("SIGTERM"), 500);
        await exited;
        clearInterval(again);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      const saveError = /Error saving[^\n]*(\n[^\n]*Error:[^\n]*)?/.exec(stderr);
      if (saveError) throw new Error(`mosquitto could not save its sessions: ${saveError[0].replace(/^\d+: /gm, "")}`);
    },
  };
}
