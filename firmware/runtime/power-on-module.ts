// Entry of the power-on code's module build (rollup.config.mjs `LAZY_PARTS`): hands its code to
// the bundle that evaluated it, through the global the bundle set for it. Firmware code: ES5.

import { loadPowerOn } from "./power-on-load.js";
import type { PowerOnApi } from "./power-on-lazy.js";

declare var __casanodePowerOn: (api: PowerOnApi) => void;

__casanodePowerOn(loadPowerOn());
