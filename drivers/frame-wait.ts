// One read of a sensor that streams frames over a UART (PMS5003, SDS011): the next good frame
// answers it; bad frames are counted so a timeout can say "checksum" rather than "timeout";
// reads that overlap share one wait; powering off ends it with "off".

import { faultResult, cancel } from "./types.js";
import type { SensorResult, DriverCounters } from "./types.js";

export interface FrameWaitPlan<F> {
  timeoutMs: number;
  /** ask again after this long (a command lost while the part woke up) */
  retryMs: number;
  /** ask for a frame: at the start (first) and once more after retryMs */
  request(first: boolean): void;
  /** the result for a good frame (it may still be out of range) */
  toResult(frame: F): SensorResult;
  /** heard anything since power-on? A part that never spoke is "absent", one gone quiet "timeout" */
  heard(): boolean;
}

export class FrameWait<F> {
  private _counters: DriverCounters;
  private _deliver: ((f: F | null) => void) | null;
  private _stop: (() => void) | null;
  private _pending: Promise<SensorResult> | null;

  constructor(counters: DriverCounters) {
    this._counters = counters;
    this._deliver = null;
    this._stop = null;
    this._pending = null;
  }

  /** count a frame and hand it to the read in progress (null: one that failed its checksum) */
  frame(f: F | null): void {
    if (f) this._counters.framesOk++;
    else this._counters.checksumErrors++;
    if (this._deliver) this._deliver(f);
  }

  /** end the read in progress with "off" (the part was powered down) */
  abort(): void {
    if (this._stop) this._stop();
  }

  wait(plan: FrameWaitPlan<F>): Promise<SensorResult> {
    if (this._pending) return this._pending;
    const p = new Promise<SensorResult>((resolve) => {
      let bad = 0;
      let retry: any;
      let timer: any;
      const finish = (r: SensorResult) => {
        cancel(timer);
        cancel(retry);
        this._deliver = null;
        this._stop = null;
        this._pending = null;
        resolve(r);
      };
      this._deliver = (f) => {
        if (!f) {
          bad++;
          return;
        }
        finish(plan.toResult(f));
      };
      this._stop = () => finish(faultResult("off", "powered off during read"));
      plan.request(true);
      retry = setTimeout(() => plan.request(false), plan.retryMs);
      timer = setTimeout(() => {
        if (bad) return finish(faultResult("checksum", bad + " bad frames"));
        this._counters.timeouts++;
        finish(faultResult(plan.heard() ? "timeout" : "absent", "no frame in " + plan.timeoutMs + " ms"));
      }, plan.timeoutMs);
    });
    this._pending = p;
    return p;
  }
}
