// Build entry: ESP32 mains noise node (DNMS over I2C).
import { profile } from "./profiles/esp32-noise.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { espruinoGpio } from "./espruino-gpio.js";
import { fitted, i2cConfig } from "./devices.js";
import { Dnms } from "../drivers/dnms.js";
import type { Sensor } from "../drivers/types.js";
import { startNode } from "../firmware/node.js";
import { ldenHooks } from "../firmware/runtime/lden.js";

var sensors: Sensor[] = [];
var noise = fitted(profile, "dnms");
// pin access (an object of closures: RAM) only for a power switch
if (noise) sensors.push(new Dnms(i2cConfig(noise, noise.power ? espruinoGpio() : undefined)));
global.casanode = startNode(espruinoPlatform(profile), profile, sensors, [], { lden: ldenHooks });
