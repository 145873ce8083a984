// Build entry: ESP32 battery bin node with a JSN-SR04T (trigger/echo) on a switched supply.
import { profile } from "./profiles/esp32-bin-sr04.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { espruinoGpio } from "./espruino-gpio.js";
import { fitted, pinsConfig } from "./devices.js";
import { HcSr04 } from "../drivers/hcsr04.js";
import type { Sensor } from "../drivers/types.js";
import { startNode } from "../firmware/node.js";

var sensors: Sensor[] = [];
var bin = fitted(profile, "hcsr04");
if (bin) sensors.push(new HcSr04(pinsConfig(bin, espruinoGpio())));
global.casanode = startNode(espruinoPlatform(profile), profile, sensors, []);
