// A mains node's side of the link (mains.ts), evaluated at its boot: battery nodes never do.
// Firmware code: ES5, Espruino subset.

import type { Scheduler } from "../runtime/cycle.js";
import { loadMains } from "./mains-load.js";
import { once } from "../runtime/once.js";

export interface MainsApi {
  /** a mains node's link and timed cycle */
  startMains(s: Scheduler): void;
}

export var mainsApi = once<MainsApi>(loadMains);
