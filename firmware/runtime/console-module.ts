// Entry of the console commands' module build (rollup.config.mjs `LAZY_PARTS`): hands their code
// to the bundle that evaluated it, through the global the bundle set for it. Firmware code: ES5.

import { loadConsole } from "./console-load.js";
import type { ConsoleApi } from "../uplink/lazy.js";

declare var __casanodeConsole: (api: ConsoleApi) => void;

__casanodeConsole(loadConsole());
