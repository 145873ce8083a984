// The fleet's clock loop: jump the virtual clock from timer to timer up to the end of the run,
// letting socket traffic settle before each jump (fleet-io-watch.ts), sampling queue depth and
// charge on a grid for the report, pacing to the wall clock in realtime mode, reporting
// progress; at the end, one last sample and a wait for the last messages to reach the observer.

import type { VirtualClock } from "./clock.js";
import { nodeQueuedOf } from "./node-books.js";
import type { IoWatch } from "./fleet-io-watch.js";
import type { FleetMember } from "./fleet-members.js";
import type { RunnerStats } from "./fleet-summary.js";

export interface FleetProgress {
  /** virtual ms simulated so far and in all */
  doneMs: number;
  durationMs: number;
  wallMs: number;
  receivedAtBroker: number;
}

export interface LoopOptions {
  clock: VirtualClock;
  io: IoWatch;
  members: FleetMember[];
  runner: RunnerStats;
  startMs: number;
  endMs: number;
  /** performance.now() at the start of the run */
  wallStart: number;
  /** readings at the broker so far (for progress) */
  received: () => number;
  log: (line: string) => void;
  realtime?: boolean;
  sampleEveryMs?: number;
  onProgress?: (p: FleetProgress) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
}

/** yield one turn of the host's event loop */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** run the clock to the end (or the abort); returns where it stopped */
export async function runClockLoop(o: LoopOptions): Promise<{ finalMs: number; aborted: boolean }> {
  const { clock, io, members, runner, startMs, endMs, wallStart, log } = o;
  const durationMs = endMs - startMs;
  const sampleEvery = o.sampleEveryMs ?? Math.max(60_000, Math.round(durationMs / 288));
  // two samples per grid point, 1 ms before it and at it: firmware often flushes on the same
  // round grid, so this shows the queue both just before and just after an upload
  let nextGrid = startMs;
  let nextSample = startMs;
  const advanceSample = () => {
    if (nextSample === nextGrid) {
      nextGrid += sampleEvery;
      nextSample = nextGrid - 1;
    } else nextSample = nextGrid;
  };
  const progressEvery = o.progressEveryMs ?? 200;
  let lastProgress = -Infinity;
  let lastYield = performance.now();
  const sample = (t: number) => {
    for (const m of members) {
      m.node.updateEnergy();
      m.trace.charge.push([t, m.node.stats.chargeMah]);
      m.trace.queue.push([t, nodeQueuedOf(m.node.storage)]);
    }
  };
  const settle = async () => {
    const began = performance.now();

    let quietRounds = 0;
    // only writes (and new sockets) put bytes in flight: no write since the last settle, nothing to wait for
    while (io.dirty) {
      // held by a socket only: its answer comes as I/O, so block in the poll rather than spin
      if (io.socketBusy) await io.waitIo(20);
      else await tick();
      runner.settleTicks++;
      clock.runUntil(clock.now()); // socket events the emulation put on the clock
      if (io.busy()) quietRounds = 0;
      else if (++quietRounds >= 2) io.dirty = false; // two quiet turns: what the broker does after reading is done too
      if (performance.now() - began > 10_000) {
        log("runner: network traffic did not settle within 10 s of wall time; moving on");
        io.dirty = false;
        break;
      }
    }
    if (performance.now() - lastYield > 20) {
      await tick(); // let the observer, console servers and timers of the host run
      lastYield = performance.now();
    }
  };

  let aborted = false;
  for (;;) {
    // most steps move no bytes: no promise and no microtask turn for them (millions a day)
    if (io.dirty || performance.now() - lastYield > 20) await settle();
    if (o.signal?.aborted) {
      aborted = true;
      break;
    }
    const next = clock.nextAt();
    if (clock.now() >= endMs && (next === undefined || next > endMs)) break;
    const target = Math.min(next ?? endMs, endMs, nextSample);
    if (o.realtime) await pace(clock, target, startMs, wallStart);
    clock.runUntil(target);
    runner.steps++;
    if (clock.now() >= nextSample && nextSample <= endMs) {
      await settle();
      sample(nextSample);
      advanceSample();
    }
    const wall = performance.now();
    if (o.onProgress && wall - lastProgress >= progressEvery) {
      lastProgress = wall;
      o.onProgress({ doneMs: clock.now() - startMs, durationMs, wallMs: wall - wallStart, receivedAtBroker: o.received() });
    }
  }
  const finalMs = clock.now();
  for (const m of members) m.node.updateEnergy();
  if (members.length && members[0].trace.charge.at(-1)?.[0] !== finalMs) sample(finalMs);
  // let the last messages reach the observer
  await settle();
  const drainStart = performance.now();
  let quiet = 0;
  while (quiet < 5 && performance.now() - drainStart < 5000) {
    await tick();
    quiet = io.busy(true) ? 0 : quiet + 1;
  }
  o.onProgress?.({ doneMs: finalMs - startMs, durationMs, wallMs: performance.now() - wallStart, receivedAtBroker: o.received() });
  return { finalMs, aborted };
}

/** wait until the wall clock has caught up with virtual time `target` (realtime mode) */
async function pace(clock: VirtualClock, target: number, startMs: number, wallStart: number): Promise<void> {
  for (;;) {
    const wallNow = startMs + (performance.now() - wallStart);
    if (wallNow >= target) return;
    // move time with the wall clock in small steps, so consoles see it pass
    if (wallNow > clock.now()) clock.runUntil(wallNow);
    await new Promise((r) => setTimeout(r, Math.min(50, target - wallNow)));
  }
}
