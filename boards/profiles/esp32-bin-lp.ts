// Battery waste-bin node on a low-power ESP32 board: the same A02YYUW wiring as esp32-bin,
// on a board made for batteries (low-quiescent LDO, no USB-serial chip powered, switched
// battery divider): ~13 uA in deep sleep against the DevKitC-class board's 60 uA. Its sensor
// runs in real-time mode (below), which keeps a sample wake to the boot.
import type { BoardProfile } from "../../firmware/board.js";
import { CURRENTS } from "./currents.js";
import { profile as devkit, binSensor } from "./esp32-bin.js";

export const profile: BoardProfile = {
  name: "esp32-bin-lp",
  description: "ESP32 low-power battery bin node: fill level (DFRobot A02YYUW, switched supply), ~13 uA asleep",
  chip: "esp32",
  power: devkit.power,
  currentMa: { sleep: CURRENTS["esp32-lowpower"].off, awake: CURRENTS["esp32-lowpower"].on, radio: CURRENTS["esp32-wifi"].on },
  // the sensor's RX is wired to D26, held low at power-up: real-time frames every 100 ms
  // instead of processed ones every 100-300 ms. The driver's median of five filters them, and
  // all five are heard while the bundle is lexed, so a sample wake is the boot and no more
  devices: [binSensor("D26")],
  bleConsole: devkit.bleConsole,
  defaults: devkit.defaults,
};
