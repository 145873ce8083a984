// Build entry: ESP32 battery air node (SDS011 PM on a latched supply, SEN0232 noise).
import { profile } from "./profiles/esp32-air.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { espruinoGpio } from "./espruino-gpio.js";
import { fitted, serialConfig, pinsConfig } from "./devices.js";
import { Sds011 } from "../drivers/sds011.js";
import { Sen0232 } from "../drivers/sen0232.js";
import type { Sensor } from "../drivers/types.js";
import { startNode } from "../firmware/node.js";
import { ldenHooks } from "../firmware/runtime/lden.js";
import { warmAsleepHooks } from "../firmware/runtime/warm-asleep.js";

var gpio = espruinoGpio();
var sensors: Sensor[] = [];
var pm = fitted(profile, "sds011");
if (pm) sensors.push(new Sds011(serialConfig(pm, gpio)));
var noise = fitted(profile, "sen0232");
if (noise) sensors.push(new Sen0232(pinsConfig(noise, gpio)));
global.casanode = startNode(espruinoPlatform(profile), profile, sensors, [], { lden: ldenHooks, warmAsleep: warmAsleepHooks });
