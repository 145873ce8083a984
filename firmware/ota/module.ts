// Entry of the OTA module build (rollup.config.mjs `LAZY_PARTS`): hands the OTA code to the
// bundle that evaluated it, through the global the bundle set for it. Firmware code: ES5.

import { loadOta } from "./load.js";
import type { OtaApi } from "./lazy.js";

declare var __casanodeOta: (api: OtaApi) => void;

__casanodeOta(loadOta());
