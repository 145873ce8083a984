// The power-on code (power-on.ts), evaluated at a power-on or reset: wakes from deep sleep never
// do. Firmware code: ES5, Espruino subset.

import type { Runtime } from "./state.js";
import { loadPowerOn } from "./power-on-load.js";
import { once } from "./once.js";

export interface PowerOnApi {
  countBoot(rt: Runtime): void;
  logSetup(rt: Runtime): void;
}

export var powerOnApi = once<PowerOnApi>(loadPowerOn);
