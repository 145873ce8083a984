// A node's books (firmware/runtime/stats.ts readNodeStats) as the fleet samples them: parsing
// the state and every queue file is the runner's costliest read, and a sleeping node's flash
// does not change between samples, so the result is kept until the flash changes.

import { readNodeStats, readQueued, type NodeStats } from "../firmware/runtime/stats.js";

const kept = new WeakMap<object, { changes: number; stats: NodeStats }>();
const keptQueued = new WeakMap<object, { changes: number; queued: number }>();

/** readNodeStats(storage) (shared: do not change it), read again only when the storage's change count moved (a storage without one: every time) */
export function nodeStatsOf(storage: StorageModule): NodeStats {
  const changes = (storage as { changes?: unknown }).changes;
  if (typeof changes !== "number") return readNodeStats(storage);
  const k = kept.get(storage);
  if (k && k.changes === changes) return k.stats;
  const stats = readNodeStats(storage);
  kept.set(storage, { changes, stats });
  return stats;
}

/**
 * The readings waiting in a node's queue by its own books, for the trace's samples: its state
 * only, not its queue files (an outage's thousands of them made the samples the runner's
 * costliest read). The books at the end (readNodeStats) count the files and check them.
 */
export function nodeQueuedOf(storage: StorageModule): number {
  const changes = (storage as { changes?: unknown }).changes;
  if (typeof changes !== "number") return readQueued(storage);
  const k = keptQueued.get(storage);
  if (k && k.changes === changes) return k.queued;
  const queued = readQueued(storage);
  keptQueued.set(storage, { changes, queued });
  return queued;
}
