// setTimeout and friends with Espruino's semantics (numeric ids, clearTimeout() clears all,
// clearTimeout(undefined) throws), on the virtual clock; and the RTC's getTime/setTime.

import type { EspruinoBoot } from "./context.js";

/** Espruino timers: at least 0.1 ms, at most ~100 years (jsinteractive.h) */
const TIMER_MIN_MS = 0.1;
const TIMER_MAX_MS = 31536000001000;

interface Timer {
  handle: number;
  fn: any;
  args: any[];
  intervalMs?: number;
}

/** the boot's pending timers */
export class Timers {
  private table = new Map<number, Timer>();

  constructor(private boot: EspruinoBoot) {}

  add(fn: any, ms: any, args: any[], repeat: boolean): number {
    if (typeof fn !== "function" && typeof fn !== "string") throw this.boot.error("Function or String not supplied!");
    let delay = Number(ms);
    if (Number.isNaN(delay) || delay < TIMER_MIN_MS) delay = TIMER_MIN_MS;
    if (delay > TIMER_MAX_MS) throw this.boot.error("Interval is too long (>100 years)");
    let id = 1;
    for (const k of this.table.keys()) if (k >= id) id = k + 1;
    const t: Timer = { handle: 0, fn, args, intervalMs: repeat ? delay : undefined };
    t.handle = this.boot.clock.setTimeout(() => this.fire(id, t), delay);
    this.table.set(id, t);
    return id;
  }

  private fire(id: number, t: Timer): void {
    if (this.table.get(id) !== t) return;
    // the interpreter is still busy (an evaluated module being lexed): the callback waits for it
    const wait = this.boot.busyUntil - this.boot.clock.now();
    if (wait > 0) {
      t.handle = this.boot.clock.setTimeout(() => this.fire(id, t), wait);
      return;
    }
    if (t.intervalMs !== undefined) t.handle = this.boot.clock.setTimeout(() => this.fire(id, t), t.intervalMs);
    else this.table.delete(id);
    this.boot.invoke(t.fn, undefined, t.args);
  }

  /** clearTimeout/clearInterval: no argument clears every timer */
  clear(kind: string, args: any[]): void {
    if (args.length === 0) {
      this.clearAll();
      return;
    }
    const id = args[0];
    if (id === undefined) throw this.boot.error(`clear${kind}(undefined) not allowed. Use clear${kind}() instead`);
    const t = this.table.get(Number(id));
    if (!t) return;
    this.boot.clock.clearTimeout(t.handle);
    this.table.delete(Number(id));
  }

  change(id: any, ms: any): void {
    const t = this.table.get(Number(id));
    if (!t) throw this.boot.error("Unknown Interval");
    let delay = Number(ms);
    if (!(delay >= TIMER_MIN_MS)) delay = TIMER_MIN_MS;
    this.boot.clock.clearTimeout(t.handle);
    t.intervalMs = delay;
    t.handle = this.boot.clock.setTimeout(() => this.fire(Number(id), t), delay);
  }

  clearAll(): void {
    for (const t of this.table.values()) this.boot.clock.clearTimeout(t.handle);
    this.table.clear();
  }

  get count(): number {
    return this.table.size;
  }

  /** what each pending timer holds (for the memory estimate) */
  held(): Iterable<{ fn: any; args: any[] }> {
    return this.table.values();
  }
}

export function installTimers(s: any, boot: EspruinoBoot): void {
  const timers = boot.timers, host = boot.host;
  s.setTimeout = boot.api((fn: any, ms?: any, ...args: any[]) => timers.add(fn, ms, args, false));
  s.setInterval = boot.api((fn: any, ms?: any, ...args: any[]) => timers.add(fn, ms, args, true));
  s.clearTimeout = boot.api((...args: any[]) => timers.clear("Timeout", args));
  s.clearInterval = boot.api((...args: any[]) => timers.clear("Interval", args));
  s.changeInterval = boot.api((id: any, ms: any) => timers.change(id, ms));
  s.getTime = boot.api(() => host.rtcNow() / 1000);
  s.setTime = boot.api((seconds: any) => host.rtcSet(Number(seconds) * 1000));
}
