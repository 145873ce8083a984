// The power-on code (power-on.ts) as one object. The bundles replace this file: there it
// evaluates the same code from a string in the image, at a power-on or reset (rollup.config.mjs
// `LAZY_PARTS`; runtime/power-on-lazy.ts). Firmware code: ES5.

import { countBoot, logSetup } from "./power-on.js";
import type { PowerOnApi } from "./power-on-lazy.js";

export function loadPowerOn(): PowerOnApi {
  return { countBoot: countBoot, logSetup: logSetup };
}
