// The power-on code (power-on.ts), evaluated at a power-on or reset: wakes from deep sleep never
// do. Not kept once used, unlike the other parts: evaluated code lives in RAM, and a mains
// node would carry it (~240 vars) until its next reset. Firmware code: ES5, Espruino subset.

import type { Runtime } from "./state.js";
import { loadPowerOn } from "./power-on-load.js";

export interface PowerOnApi {
  countBoot(rt: Runtime): void;
  logSetup(rt: Runtime): void;
}

/** the power-on code, evaluated now: drop it when done */
export var powerOnCode: () => PowerOnApi = loadPowerOn;
