// The commands' code and the config check, evaluated the first time they are needed (a command
// arrives, the config changed since it last passed). Its own module, apart from uplink/lazy.ts:
// the link's code (uplink/session.ts) wires commands to it, and lazy.ts loads the link.
// Firmware code: ES5, Espruino subset.

import type { CommandsApi } from "../uplink/lazy.js";
import { loadCommands } from "./commands-load.js";
import { once } from "./once.js";

export var commandsApi = once<CommandsApi>(loadCommands);
