// Build entry: ESP32 mains streetlight pole (lamp relay + current sense, PMS5003, PCB Artists noise).
import { profile } from "./profiles/esp32-pole.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { espruinoGpio } from "./espruino-gpio.js";
import { fitted, serialConfig, i2cConfig, pinsConfig } from "./devices.js";
import { Relay } from "../drivers/relay.js";
import { Pms5003 } from "../drivers/pms5003.js";
import { PcbSpl } from "../drivers/pcb-spl.js";
import type { Sensor, Actuator } from "../drivers/types.js";
import { StreetlightController } from "../firmware/streetlight/controller.js";
import { relayHooks } from "../firmware/streetlight/hook.js";
import { ldenHooks } from "../firmware/runtime/lden.js";
import type { NodeConfig } from "../firmware/config.js";
import { startNode } from "../firmware/node.js";

var gpio = espruinoGpio();
var sensors: Sensor[] = [];
var actuators: Actuator[] = [];
var lamp = fitted(profile, "relay");
if (lamp) actuators.push(new Relay(pinsConfig(lamp, gpio)));
var pm = fitted(profile, "pms5003");
if (pm) {
  var pc = serialConfig(pm, gpio);
  // the profile names the SET pin ("D4"): the driver drives a Pin
  if (pc.options.setPin) pc.options = Object.assign({}, pc.options, { setPin: Pin(pc.options.setPin) });
  sensors.push(new Pms5003(pc));
}
var noise = fitted(profile, "pcb-spl");
if (noise) sensors.push(new PcbSpl(i2cConfig(noise, gpio)));
global.casanode = startNode(espruinoPlatform(profile), profile, sensors, actuators, {
  relay: relayHooks,
  lden: ldenHooks,
  lamp: function (relay: Actuator, config: NodeConfig) {
    return new StreetlightController(relay, config.location);
  },
});
