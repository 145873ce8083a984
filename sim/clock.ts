// One virtual clock drives every simulated node, device and world model: time only moves
// when the runner advances it, so a simulated day takes as long as its events take to run.

export type TimerHandle = number;

interface Timer {
  id: number;
  at: number;
  seq: number;
  callback: () => void;
}

export class VirtualClock {
  private timeMs: number;
  private heap: Timer[] = [];
  private live = new Map<number, Timer>();
  private nextId = 1;
  private seq = 0;

  constructor(startMs = Date.UTC(2026, 0, 15, 0, 0, 0)) {
    this.timeMs = startMs;
  }

  /** ms since the epoch, virtual */
  now(): number {
    return this.timeMs;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = { id: this.nextId++, at: this.timeMs + delay, seq: this.seq++, callback };
    this.live.set(timer.id, timer);
    this.push(timer);
    return timer.id;
  }

  clearTimeout(id: TimerHandle | undefined): void {
    if (id !== undefined) this.live.delete(id);
  }

  pending(): number {
    return this.live.size;
  }

  /** time of the next live timer, or undefined */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap.length ? this.heap[0].at : undefined;
  }

  /** run every timer due at or before `untilMs`, in time order, then set the time to untilMs */
  runUntil(untilMs: number): void {
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.at > untilMs) break;
      this.pop();
      this.live.delete(top.id);
      if (top.at > this.timeMs) this.timeMs = top.at;
      top.callback();
    }
    if (untilMs > this.timeMs) this.timeMs = untilMs;
  }

  advance(ms: number): void {
    this.runUntil(this.timeMs + ms);
  }

  /** run the next due timer only; returns false if none is left */
  step(): boolean {
    const at = this.nextAt();
    if (at === undefined) return false;
    this.runUntil(at);
    return true;
  }

  private dropCancelled(): void {
    while (this.heap.length && !this.live.has(this.heap[0].id)) this.pop();
  }

  // a binary heap on (at, seq): a hole is sifted and each timer written once, with no
  // temporary arrays (the runner pushes and pops millions of timers a simulated day)
  private push(t: Timer): void {
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent];
      if (!(t.at < p.at || (t.at === p.at && t.seq < p.seq))) break;
      h[i] = p;
      i = parent;
    }
    h[i] = t;
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    const n = h.length;
    if (n && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        let c = h[l];
        if (r < n) {
          const b = h[r];
          if (b.at < c.at || (b.at === c.at && b.seq < c.seq)) {
            m = r;
            c = b;
          }
        }
        if (!(c.at < last.at || (c.at === last.at && c.seq < last.seq))) break;
        h[i] = c;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}
