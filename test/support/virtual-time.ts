// Lets host tests run firmware code (which uses the global setTimeout/Date.now, as on
// Espruino) on a VirtualClock. Mocha keeps its own timer references, so it is unaffected.

import { VirtualClock } from "../../sim/clock.js";

export interface VirtualTime {
  clock: VirtualClock;
  restore(): void;
}

export function installVirtualTime(startMs = Date.UTC(2026, 0, 15, 8, 0, 0)): VirtualTime {
  const clock = new VirtualClock(startMs);
  const g = globalThis as any;
  const saved = { setTimeout: g.setTimeout, clearTimeout: g.clearTimeout, setInterval: g.setInterval, clearInterval: g.clearInterval, now: Date.now };
  const intervals = new Map<number, number>();
  let nextInterval = 1_000_000;
  g.setTimeout = (cb: () => void, ms?: number) => clock.setTimeout(cb, ms ?? 0);
  g.clearTimeout = (id: number) => clock.clearTimeout(id);
  g.setInterval = (cb: () => void, ms: number) => {
    const id = nextInterval++;
    const arm = () => intervals.set(id, clock.setTimeout(() => { arm(); cb(); }, ms));
    arm();
    return id;
  };
  g.clearInterval = (id: number) => {
    clock.clearTimeout(intervals.get(id));
    intervals.delete(id);
  };
  Date.now = () => clock.now();
  return {
    clock,
    restore() {
      g.setTimeout = saved.setTimeout;
      g.clearTimeout = saved.clearTimeout;
      g.setInterval = saved.setInterval;
      g.clearInterval = saved.clearInterval;
      Date.now = saved.now;
    },
  };
}

const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Advance the virtual clock timer by timer until `promise` settles (or `limitMs` of virtual
 * time passes: then it rejects), flushing promise callbacks between timers.
 */
export async function settle<T>(clock: VirtualClock, promise: Promise<T>, limitMs = 600_000): Promise<T> {
  let done = false;
  promise.then(() => { done = true; }, () => { done = true; });
  const deadline = clock.now() + limitMs;
  await flushMicrotasks();
  while (!done) {
    const next = clock.nextAt();
    if (next === undefined || next > deadline) throw new Error(`promise did not settle within ${limitMs} ms of virtual time`);
    clock.runUntil(next);
    await flushMicrotasks();
  }
  return promise;
}

/** Advance virtual time by ms, flushing promise callbacks after every timer. */
export async function runFor(clock: VirtualClock, ms: number): Promise<void> {
  const until = clock.now() + ms;
  await flushMicrotasks();
  for (;;) {
    const next = clock.nextAt();
    if (next === undefined || next > until) break;
    clock.runUntil(next);
    await flushMicrotasks();
  }
  clock.runUntil(until);
  await flushMicrotasks();
}
