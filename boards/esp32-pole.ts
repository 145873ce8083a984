// Build entry: ESP32 mains streetlight pole (lamp relay + current sense, PMS5003, PCB Artists noise).
import { profile } from "./profiles/esp32-pole.js";
import { espruinoPlatform } from "./espruino-platform.js";
import { espruinoGpio } from "./espruino-gpio.js";
import { fitted, powerOf, serialOf, serialPins, pinOf, i2cOf, optionsWith } from "./devices.js";
import { Relay } from "../drivers/relay.js";
import { Pms5003 } from "../drivers/pms5003.js";
import { PcbSpl } from "../drivers/pcb-spl.js";
import type { Sensor, Actuator } from "../drivers/types.js";
import { StreetlightController } from "../firmware/streetlight/controller.js";
import type { NodeConfig } from "../firmware/config.js";
import { startNode } from "../firmware/node.js";

var gpio = espruinoGpio();
var sensors: Sensor[] = [];
var actuators: Actuator[] = [];
var lamp = fitted(profile, "relay");
if (lamp) actuators.push(new Relay({ name: lamp.name, gpio: gpio, pin: pinOf(lamp, "relay"), sensePin: pinOf(lamp, "sense"), options: lamp.options }));
var pm = fitted(profile, "pms5003");
if (pm) {
  var po = pm.options || {}, pmPins = serialPins(pm);
  sensors.push(new Pms5003({
    name: pm.name, serial: serialOf(pm), gpio: gpio, rx: pmPins.rx, tx: pmPins.tx, power: powerOf(pm),
    setPin: po.setPin ? Pin(po.setPin) : undefined, passive: po.mode !== "active",
  }));
}
var noise = fitted(profile, "pcb-spl");
if (noise) {
  var nb = noise.bus as { address: number };
  sensors.push(new PcbSpl(noise.name, i2cOf(noise), optionsWith(noise, { address: nb.address, power: powerOf(noise), gpio: noise.power ? gpio : undefined })));
}
global.casanode = startNode(espruinoPlatform(profile), profile, sensors, actuators, {
  lamp: function (relay: Actuator, config: NodeConfig) {
    return new StreetlightController(relay, config.location);
  },
});
