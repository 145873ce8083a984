// Build entry: ESP32 battery bin node (A02YYUW ultrasonic on a switched supply).
import { profile } from "./profiles/esp32-bin.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { espruinoGpio } from "./espruino-gpio.js";
import { fitted, powerOf, serialOf, serialPins } from "./devices.js";
import { A02yyuw } from "../drivers/a02yyuw.js";
import type { Sensor } from "../drivers/types.js";
import { startNode } from "../firmware/node.js";

var gpio = espruinoGpio();
var sensors: Sensor[] = [];
var bin = fitted(profile, "a02yyuw");
if (bin) {
  var binPins = serialPins(bin);
  sensors.push(new A02yyuw({ name: bin.name, serial: serialOf(bin), rx: binPins.rx, tx: binPins.tx, gpio: gpio, power: powerOf(bin), options: bin.options }));
}
global.casanode = startNode(espruinoPlatform(), profile, sensors, []);
