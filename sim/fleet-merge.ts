// Joining the summaries of a fleet's shards (`casanode sim --shard i/N --summary f.json` on
// several machines, or the workers of `casanode sim --shards N`) into the summary of the whole
// fleet. Only shards of one fleet join: the same seed, start, duration and fleet size, each
// shard once, none missing. Wall time is the slowest shard's (they run side by side).

import { readFileSync } from "node:fs";
import { nodeDaysPerSecond, totalsOf, type FleetSummary, type FleetTraces } from "./fleet-summary.js";
import type { ShardSpec } from "./options.js";

/** Summaries that do not join: each problem is one line. */
export class MergeError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "MergeError";
  }
}

export interface SummaryPart {
  /** where it came from, for messages: a file name or "shard 2/4" */
  from: string;
  summary: FleetSummary;
}

/** a summary file as `casanode sim --summary` writes it; throws MergeError (one line) if it is not one */
export function readSummaryFile(file: string): SummaryPart {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new MergeError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  let summary: unknown;
  try {
    summary = JSON.parse(text);
  } catch (err) {
    throw new MergeError([`${file}: not JSON (${(err as Error).message})`]);
  }
  const why = notASummary(summary);
  if (why) throw new MergeError([`${file}: not a casanode sim summary (${why})`]);
  return { from: file, summary: summary as FleetSummary };
}

function notASummary(s: any): string | undefined {
  if (!s || typeof s !== "object" || Array.isArray(s)) return "not an object";
  for (const k of ["seed", "startMs", "endMs", "wallMs"]) if (typeof s[k] !== "number") return `no ${k}`;
  if (!s.fleet || typeof s.fleet.nodes !== "number" || typeof s.fleet.durationMs !== "number") return "no fleet size and duration: written before shards were, or by something else";
  if (!Array.isArray(s.nodes) || s.nodes.some((n: any) => !n || typeof n.id !== "string" || typeof n.readings !== "number")) return "no node list";
  if (!Array.isArray(s.faults)) return "no fault list";
  if (s.shard !== undefined && !(Number.isInteger(s.shard.index) && Number.isInteger(s.shard.count) && s.shard.index >= 1 && s.shard.index <= s.shard.count)) return "a bad shard";
  return undefined;
}

const shardOf = (s: FleetSummary): ShardSpec => s.shard ?? { index: 1, count: 1 };
const shardText = (s: ShardSpec) => `${s.index}/${s.count}`;

/** the whole fleet's summary from its shards' summaries; throws MergeError naming every problem */
export function mergeSummaries(parts: SummaryPart[]): FleetSummary {
  if (!parts.length) throw new MergeError(["no summaries to merge"]);
  const problems: string[] = [];
  const first = parts[0];
  const same = (what: string, get: (s: FleetSummary) => unknown, show: (v: any) => string = String) => {
    for (const p of parts.slice(1)) {
      const a = get(first.summary), b = get(p.summary);
      if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${what} differs: ${show(a)} in ${first.from}, ${show(b)} in ${p.from} (shards of one fleet share it)`);
    }
  };
  same("the seed", (s) => s.seed);
  same("the duration", (s) => s.fleet.durationMs, (v) => `${v} ms`);
  same("the fleet size", (s) => s.fleet.nodes, (v) => `${v} nodes`);
  same("the start", (s) => s.startMs, (v) => new Date(v).toISOString());
  same("the boards", (s) => s.boards, (v) => v.join(","));
  same("the shard count", (s) => shardOf(s).count);
  if (problems.length) throw new MergeError(problems);

  const count = shardOf(first.summary).count;
  const byIndex = new Map<number, SummaryPart>();
  for (const p of parts) {
    const i = shardOf(p.summary).index;
    const twice = byIndex.get(i);
    if (twice) problems.push(`shard ${i}/${count} given twice (${twice.from}, ${p.from})`);
    else byIndex.set(i, p);
  }
  for (let i = 1; i <= count; i++) if (!byIndex.has(i)) problems.push(`shard ${i}/${count} is missing`);
  const owner = new Map<string, string>();
  // one line per pair of files, not per node: a file given twice would print the whole shard
  const overlaps = new Map<string, string[]>();
  for (const p of parts) {
    for (const n of p.summary.nodes) {
      const first = owner.get(n.id);
      if (first === undefined) owner.set(n.id, p.from);
      else {
        const pair = `${first} and ${p.from}`;
        overlaps.set(pair, [...(overlaps.get(pair) ?? []), n.id]);
      }
    }
  }
  for (const [pair, ids] of overlaps) {
    const names = ids.slice(0, 3).join(", ") + (ids.length > 3 ? `, ... (${ids.length} nodes)` : "");
    problems.push(`${ids.length === 1 ? "node" : "nodes"} ${names} ${ids.length === 1 ? "is" : "are"} in ${pair}`);
  }
  if (!problems.length && owner.size !== first.summary.fleet.nodes) problems.push(`the shards hold ${owner.size} nodes, the fleet has ${first.summary.fleet.nodes}`);
  if (problems.length) throw new MergeError(problems);

  const ordered = [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!.summary);
  const nodes = ordered.flatMap((s) => s.nodes);
  const startMs = first.summary.startMs;
  const endMs = Math.max(...ordered.map((s) => s.endMs));
  const wallMs = Math.max(...ordered.map((s) => s.wallMs));
  const brokers = [...new Set(ordered.map((s) => s.broker))];
  return {
    seed: first.summary.seed,
    startMs,
    endMs,
    durationMs: endMs - startMs,
    fleet: first.summary.fleet,
    shards: ordered.map((s) => ({ shard: shardOf(s), nodes: s.nodes.length, wallMs: s.wallMs, peakRssMb: s.peakRssMb, nodeDaysPerSecond: s.nodeDaysPerSecond })),
    peakRssMb: Math.max(...ordered.map((s) => s.peakRssMb ?? 0)),
    boards: first.summary.boards,
    broker: brokers.join(", "),
    realtime: ordered.some((s) => s.realtime),
    stoppedEarly: ordered.some((s) => s.stoppedEarly),
    wallMs,
    nodeDaysPerSecond: nodeDaysPerSecond(1, ordered.reduce((t, s) => t + s.nodes.length * s.durationMs, 0), wallMs),
    usableFraction: first.summary.usableFraction,
    totals: totalsOf(nodes),
    nodes,
    faults: ordered.flatMap((s) => s.faults).sort((a, b) => a.startMs - b.startMs || a.node.localeCompare(b.node)),
  };
}

/** the shards' traces, in shard order, as one fleet's */
export function mergeTraces(parts: FleetTraces[]): FleetTraces {
  return { startMs: Math.min(...parts.map((t) => t.startMs)), endMs: Math.max(...parts.map((t) => t.endMs)), nodes: parts.flatMap((t) => t.nodes) };
}

export { shardText };
