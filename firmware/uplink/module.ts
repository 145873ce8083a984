// Entry of the link's module build (rollup.config.mjs `LAZY_PARTS`): hands the link's code to
// the bundle that evaluated it, through the global the bundle set for it. Firmware code: ES5.

import { loadUplink } from "./load.js";
import type { UplinkApi } from "./lazy.js";

declare var __casanodeUplink: (api: UplinkApi) => void;

__casanodeUplink(loadUplink());
