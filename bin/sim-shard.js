// A worker process of `casanode sim --shards N` (sim/fleet-shards.ts forks it): runs one shard
// of the fleet through tsx, as bin/casanode.js runs the CLI.
import { register } from "tsx/esm/api";

register();
await import("../sim/fleet-worker.ts");
