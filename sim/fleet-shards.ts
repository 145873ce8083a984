// A fleet over worker processes (`casanode sim --shards N`): the parent forks N workers
// (sim/fleet-worker.ts), each running a contiguous block of the fleet with its own virtual
// clock; every node is made exactly as in the whole fleet (sim/fleet-members.ts), so a node
// behaves the same whatever its shard. With a broker given, all shards publish to it; without,
// each worker runs its own embedded aedes over in-process pipes, as one process does (no node
// hears another's traffic, so the firmware sees the same bytes at the same virtual times; one
// aedes in the parent, reached over loopback TCP, took twice the CPU: FleetOptions.shardBrokers).
// The parent starts the clocks once every worker has made its nodes, shows one progress, and
// merges the shards' results (sim/fleet-merge.ts). A worker that dies fails the run, naming
// its shard and the end of its stderr.

import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT, loadProfile, defaultBoards, DEFAULT_NODES, type FleetOptions } from "./fleet.js";
import { mergeSummaries, mergeTraces } from "./fleet-merge.js";
import { cpuMsSince, nodeDaysPerSecond, type FleetResult } from "./fleet-summary.js";
import type { FromWorker, ToWorker } from "./fleet-worker.js";
import { SimOptionError, checkShard } from "./options.js";
import { FaultSpecError } from "./faults.js";
import { ensureBundle } from "../toolchain/bundle.js";

const WORKER = path.join(ROOT, "bin", "sim-shard.js");
const STDERR_TAIL = 2000;


interface Worker {
  index: number;
  child: ChildProcess;
  ready: boolean;
  doneMs: number;
  received: number;
  result?: FleetResult;
  error?: { name: string; message: string };
  stderr: string;
  exit?: { code: number | null; signal: string | null };
}

/** runFleet over `shards` worker processes; the result is the whole fleet's (the summary merged) */
export async function runShardedFleet(options: FleetOptions, shards: number): Promise<FleetResult> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const log = options.log ?? (() => {});
  const named = !!options.boards?.length;
  const boards = named ? options.boards! : defaultBoards();
  const count = options.nodes ?? (named ? boards.length : DEFAULT_NODES);
  checkShard({ index: 1, count: shards }, count);
  // boards checked and bundles built once, here, not raced by every worker
  for (const b of new Set(boards)) {
    await loadProfile(b);
    await ensureBundle(b);
  }
  let broker: { url: string; stop(): Promise<void> } | undefined;
  if (!options.broker && options.shardBrokers === "parent") {
    const { startBroker } = await import("./broker.js");
    broker = await startBroker({ port: 0 });
  }
  const brokerUrl = options.broker ?? broker?.url;
  const { onProgress, onConsole, signal, createNode, loadBundle, beforeStart, log: _log, ...plain } = options;
  if (createNode || loadBundle || beforeStart) throw new Error("runShardedFleet: createNode, loadBundle and beforeStart cannot cross to worker processes");

  const workers: Worker[] = [];
  const stopAll = () => {
    for (const w of workers) if (w.child.connected) w.child.send({ type: "stop" } satisfies ToWorker);
  };
  const progress = () => {
    onProgress?.({
      doneMs: Math.min(...workers.map((w) => w.doneMs)),
      durationMs: options.durationMs ?? 86_400_000,
      wallMs: performance.now() - wallStart,
      receivedAtBroker: workers.reduce((s, w) => s + w.received, 0),
    });
  };
  const onAbort = () => stopAll();
  signal?.addEventListener("abort", onAbort);
  try {
    const exits: Array<Promise<void>> = [];
    for (let index = 1; index <= shards; index++) {
      const child = fork(WORKER, [], { stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "advanced" });
      const w: Worker = { index, child, ready: false, doneMs: 0, received: 0, stderr: "" };
      workers.push(w);
      child.stderr!.on("data", (d: Buffer) => {
        w.stderr = (w.stderr + d.toString()).slice(-STDERR_TAIL);
        process.stderr.write(d);
      });
      child.on("message", (m: FromWorker) => {
        if (m.type === "ready") {
          w.ready = true;
          // every shard has made its nodes: start the clocks together
          if (workers.length === shards && workers.every((x) => x.ready)) for (const x of workers) x.child.send({ type: "go" } satisfies ToWorker);
        } else if (m.type === "progress") {
          w.doneMs = m.doneMs;
          w.received = m.receivedAtBroker;
          progress();
        } else if (m.type === "log") log(m.line);
        else if (m.type === "console") onConsole?.(m.nodeId, m.text);
        else if (m.type === "done") w.result = m.result;
        else if (m.type === "error") {
          w.error = { name: m.name, message: m.message };
          stopAll(); // the same options fail in every shard: no need to wait for the others' nodes
        }
      });
      exits.push(
        new Promise<void>((resolve) => {
          child.once("exit", (code, sig) => {
            w.exit = { code, signal: sig };
            // a worker gone without a result: the others stop (their results still come back), the run fails
            if (!w.result && !w.error) stopAll();
            resolve();
          });
        }),
      );
      child.send({ type: "run", options: { ...plain, ...(brokerUrl ? { broker: brokerUrl } : {}), ...(broker ? { parentBroker: true } : {}), shard: { index, count: shards } } } satisfies ToWorker);
    }
    if (signal?.aborted) stopAll();
    await Promise.all(exits);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await broker?.stop();
  }

  const refused = workers.find((w) => w.error && (w.error.name === "SimOptionError" || w.error.name === "FaultSpecError"));
  if (refused) throw refused.error!.name === "FaultSpecError" ? new FaultSpecError(refused.error!.message) : new SimOptionError(refused.error!.message);
  const failed = workers.filter((w) => !w.result);
  if (failed.length) {
    const w = failed[0];
    const how = w.error ? w.error.message : w.exit?.signal ? `killed by ${w.exit.signal}` : `exit code ${w.exit?.code}, no result`;
    const tail = w.stderr.trim().split("\n").slice(-5).join(" | ");
    throw new Error(`shard ${w.index}/${shards} failed (${how})${tail ? `; its stderr ends: ${tail}` : ""}`);
  }
  const results = workers.map((w) => w.result!);
  const summary = mergeSummaries(results.map((r, i) => ({ from: `shard ${i + 1}/${shards}`, summary: r.summary })));
  // the parent's wall time: forking, booting the workers and making their nodes included
  summary.wallMs = Math.round(performance.now() - wallStart);
  const parentCpuMs = cpuMsSince(cpuStart);
  summary.nodeDaysPerSecond = nodeDaysPerSecond(summary.nodes.length, summary.durationMs, summary.wallMs);
  summary.broker = options.broker ?? "embedded";
  return {
    summary,
    traces: mergeTraces(results.map((r) => r.traces)),
    nodes: results.flatMap((r) => r.nodes),
    runner: {
      steps: results.reduce((s, r) => s + r.runner.steps, 0),
      settleTicks: results.reduce((s, r) => s + r.runner.settleTicks, 0),
      lateReplies: results.reduce((s, r) => s + r.runner.lateReplies, 0),
      cpuMs: parentCpuMs + results.reduce((s, r) => s + (r.runner.cpuMs ?? 0), 0),
    },
  };
}
