// Entry of the clock's module build (rollup.config.mjs `LAZY_PARTS`): hands its code to the
// bundle that evaluated it, through the global the bundle set for it. Firmware code: ES5.

import { loadClock } from "./clock-load.js";
import type { ClockApi } from "./clock-lazy.js";

declare var __casanodeClock: (api: ClockApi) => void;

__casanodeClock(loadClock());
