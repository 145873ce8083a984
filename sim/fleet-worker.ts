// One shard of a sharded fleet run, in its own process (forked by sim/fleet-shards.ts through
// bin/sim-shard.js). It takes its options over IPC, makes its nodes, says "ready", starts its
// clock on "go", streams progress, and sends back its result; "stop" (or SIGINT, which a
// terminal sends the whole process group) ends its run early and still sends the result.

import { runFleet, type FleetOptions } from "./fleet.js";
import { cpuMsSince, type FleetResult } from "./fleet-summary.js";

/** parent -> worker */
export type ToWorker = { type: "run"; options: FleetOptions } | { type: "go" } | { type: "stop" };
/** worker -> parent */
export type FromWorker =
  | { type: "ready" }
  | { type: "progress"; doneMs: number; receivedAtBroker: number }
  | { type: "log"; line: string }
  | { type: "console"; nodeId: string; text: string }
  | { type: "done"; result: FleetResult }
  | { type: "error"; name: string; message: string };

const send = (m: FromWorker) => process.send?.(m);
/** the last message: the channel closes only once it is out (a large result takes a while) */
const sendLast = (m: FromWorker) =>
  new Promise<void>((resolve) => {
    process.send!(m, undefined, {}, () => resolve()); // called on error too
  });

if (!process.send) {
  console.error("sim/fleet-worker.ts runs as a worker of `casanode sim --shards N`, not on its own");
  process.exit(2);
}

const abort = new AbortController();
let go: () => void = () => {};
const started = new Promise<void>((resolve) => (go = resolve));
process.on("SIGINT", () => abort.abort());
process.on("disconnect", () => abort.abort()); // the parent is gone: end the run

process.on("message", (m: ToWorker) => {
  if (m.type === "go") go();
  else if (m.type === "stop") {
    abort.abort();
    go();
  } else if (m.type === "run") void run(m.options);
});

async function run(options: FleetOptions): Promise<void> {
  try {
    const result = await runFleet({
      ...options,
      signal: abort.signal,
      onProgress: (p) => send({ type: "progress", doneMs: p.doneMs, receivedAtBroker: p.receivedAtBroker }),
      log: (line) => send({ type: "log", line }),
      onConsole: options.consolePort !== undefined ? (nodeId, text) => send({ type: "console", nodeId, text }) : undefined,
      beforeStart: async () => {
        send({ type: "ready" });
        await started;
      },
    });
    if (!options.keepReadings) for (const n of result.traces.nodes) n.power = []; // the report is the only reader of traces
    result.runner.cpuMs = cpuMsSince(); // the whole process: start-up and tsx included
    await sendLast({ type: "done", result });
  } catch (err) {
    await sendLast({ type: "error", name: (err as Error)?.name ?? "Error", message: (err as Error)?.message ?? String(err) });
  }
  process.disconnect?.();
}
