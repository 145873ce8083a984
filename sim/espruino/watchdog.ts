// E.enableWatchdog / E.kickWatchdog: in automatic mode the idle loop kicks it (the simulator
// never hangs, so it never bites); in manual mode the firmware must kick it in time or the
// chip resets.

import type { VirtualClock } from "../clock.js";

export class Watchdog {
  private handle: number | undefined;
  private ms = 0;
  private deadline = 0;
  private timerAt = 0;
  private auto = true;

  constructor(private clock: VirtualClock, private chip: "esp32" | "linux", private bite: () => void) {}

  enable(seconds: any, isAuto: any): void {
    let s = Number(seconds);
    if (!(s >= 0)) s = 1;
    if (this.chip === "esp32") s = Math.max(1, Math.round(s)); // ESP32 rounds to whole seconds
    this.ms = s * 1000;
    this.auto = isAuto === undefined || !!isAuto;
    this.arm();
  }

  kick(): void {
    if (!this.auto) this.arm();
  }

  /** the chip is reset or powered off: the watchdog goes with it */
  stop(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private arm(): void {
    if (!this.ms || this.auto) {
      this.stop();
      return;
    }
    // firmware kicks often: move a deadline, keep one timer that re-checks it
    this.deadline = this.clock.now() + this.ms;
    if (this.handle !== undefined && this.timerAt <= this.deadline) return;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.timerAt = this.deadline;
    this.handle = this.clock.setTimeout(() => this.check(), this.ms);
  }

  private check(): void {
    this.handle = undefined;
    if (!this.ms || this.auto) return;
    const left = this.deadline - this.clock.now();
    if (left > 0) {
      this.timerAt = this.deadline;
      this.handle = this.clock.setTimeout(() => this.check(), left);
      return;
    }
    this.bite();
  }
}
