// Build entry: ESP32 battery air node (SDS011 PM on a switched supply, SEN0232 noise).
import { profile } from "./profiles/esp32-air.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { espruinoGpio } from "./espruino-gpio.js";
import { fitted, powerOf, serialOf, serialPins, pinOf, optionsWith } from "./devices.js";
import { Sds011 } from "../drivers/sds011.js";
import { Sen0232 } from "../drivers/sen0232.js";
import type { Sensor } from "../drivers/types.js";
import { startNode } from "../firmware/node.js";

var gpio = espruinoGpio();
var sensors: Sensor[] = [];
var pm = fitted(profile, "sds011");
if (pm) {
  var pmPins = serialPins(pm);
  sensors.push(new Sds011({ name: pm.name, serial: serialOf(pm), gpio: gpio, rx: pmPins.rx, tx: pmPins.tx, power: powerOf(pm) }));
}
var noise = fitted(profile, "sen0232");
if (noise) sensors.push(new Sen0232(noise.name, gpio, pinOf(noise, "out"), optionsWith(noise, { power: powerOf(noise) })));
global.casanode = startNode(espruinoPlatform(profile), profile, sensors, []);
