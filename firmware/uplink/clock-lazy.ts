// The SNTP client and the RTC rate's learning, evaluated the first time a battery session asks
// the time (uplink/session.ts): most upload wakes do not (a static address with a server by
// name has no DNS), and lex none of it. Firmware code: ES5, Espruino subset.

import type { Scheduler } from "../runtime/cycle.js";
import { loadClock } from "./clock-load.js";
import { once } from "../runtime/once.js";

export interface ClockApi {
  syncClock(s: Scheduler, done: () => void): void;
}

export var clockApi = once<ClockApi>(loadClock);
