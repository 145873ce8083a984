// Build entry: Espruino's own Linux build. No sensors, no Wi-Fi module (the host's network),
// no deep sleep: the node runs as a mains node and talks to a broker on the host.
import { profile } from "./profiles/linux.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { startNode } from "../firmware/node.js";

global.casanode = startNode(espruinoPlatform(profile), profile, [], []);
