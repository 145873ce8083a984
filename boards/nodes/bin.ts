// The bin node's start-up, shared by the board entries that fit an A02YYUW (esp32-bin on a
// DevKitC-class board, esp32-bin-lp on a low-power one). Not an entry itself (rollup builds
// only boards/*.ts).
import type { BoardProfile } from "../../firmware/board.js";
import { espruinoPlatform } from "../espruino-platform.js";
import { espruinoGpio } from "../espruino-gpio.js";
import { fitted, serialConfig } from "../devices.js";
import { A02yyuw } from "../../drivers/a02yyuw.js";
import type { Sensor } from "../../drivers/types.js";
import { startNode } from "../../firmware/node.js";

export function startBinNode(profile: BoardProfile): void {
  var sensors: Sensor[] = [];
  var bin = fitted(profile, "a02yyuw");
  if (bin) sensors.push(new A02yyuw(serialConfig(bin, espruinoGpio())));
  global.casanode = startNode(espruinoPlatform(profile), profile, sensors, []);
}
