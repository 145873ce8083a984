// A node's books (firmware/runtime/stats.ts readNodeStats) as the fleet samples them: parsing
// the state and every queue file is the runner's costliest read, and a sleeping node's flash
// does not change between samples, so the result is kept until the flash changes.

import { readNodeStats, readQueued, type NodeStats } from "../firmware/runtime/stats.js";

/** read(storage), read again only when the storage's change count moved (a storage without one: every time) */
function keptUntilChanged<T>(kept: WeakMap<object, { changes: number; value: T }>, storage: StorageModule, read: (s: StorageModule) => T): T {
  const changes = (storage as { changes?: unknown }).changes;
  if (typeof changes !== "number") return read(storage);
  const k = kept.get(storage);
  if (k && k.changes === changes) return k.value;
  const value = read(storage);
  kept.set(storage, { changes, value });
  return value;
}

const keptStats = new WeakMap<object, { changes: number; value: NodeStats }>();
const keptQueued = new WeakMap<object, { changes: number; value: number }>();

/** readNodeStats(storage) (shared: do not change it), kept until the storage changes */
export function nodeStatsOf(storage: StorageModule): NodeStats {
  return keptUntilChanged(keptStats, storage, readNodeStats);
}

/**
 * The readings waiting in a node's queue by its own books, for the trace's samples: its state
 * only, not its queue files (an outage's thousands of them made the samples the runner's
 * costliest read). The books at the end (readNodeStats) count the files and check them.
 */
export function nodeQueuedOf(storage: StorageModule): number {
  return keptUntilChanged(keptQueued, storage, readQueued);
}
