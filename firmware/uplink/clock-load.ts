// The clock's SNTP exchange and rate learning (clock-sync.ts, sntp.ts) as one object. The
// bundles replace this file: there it evaluates the same code from a string in the image, the
// first time a session asks the time (rollup.config.mjs `LAZY_PARTS`; uplink/clock-lazy.ts).
// Firmware code: ES5.

import { syncClock } from "./clock-sync.js";
import type { ClockApi } from "./clock-lazy.js";

export function loadClock(): ClockApi {
  return { syncClock: syncClock };
}
