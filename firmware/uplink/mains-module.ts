// Entry of the mains side's module build (rollup.config.mjs `LAZY_PARTS`): hands its code to the
// bundle that evaluated it, through the global the bundle set for it. Firmware code: ES5.

import { loadMains } from "./mains-load.js";
import type { MainsApi } from "./mains-lazy.js";

declare var __casanodeMains: (api: MainsApi) => void;

__casanodeMains(loadMains());
