// Entry of the commands' module build (rollup.config.mjs `LAZY_PARTS`): hands their code to the
// bundle that evaluated it, through the global the bundle set for it. Firmware code: ES5.

import { loadCommands } from "./commands-load.js";
import type { CommandsApi } from "../uplink/lazy.js";

declare var __casanodeCommands: (api: CommandsApi) => void;

__casanodeCommands(loadCommands());
