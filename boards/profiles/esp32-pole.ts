// ESP32 DevKitC on a streetlight pole: mains powered, always awake and connected.
// Drives the lamp relay (active-low opto module) with ACS712 lamp-current sense, and
// measures PM2.5 (PMS5003, passive mode) and noise (PCB Artists I2C module).
import type { BoardProfile } from "../../firmware/board.js";
import { CURRENTS } from "./currents.js";

export const profile: BoardProfile = {
  name: "esp32-pole",
  description: "ESP32 DevKitC pole node: streetlight relay + lamp current, PM2.5 (PMS5003), noise (PCB Artists)",
  chip: "esp32",
  power: { source: "mains" },
  currentMa: { sleep: CURRENTS["esp32-devkitc"].off, awake: CURRENTS["esp32-devkitc"].on, radio: CURRENTS["esp32-wifi"].on },
  // mains: the radio may listen; a crew reads the pole from the ground with a phone
  bleConsole: { on: true },
  devices: [
    {
      name: "lamp",
      model: "relay",
      bus: { kind: "pins", pins: { relay: "D26", sense: "D34" } },
      currentMa: { on: CURRENTS["relay-5v"].on + CURRENTS.acs712.on, off: CURRENTS.acs712.off },
      // ACS712-5A on 5 V: 2.5 V at 0 A, 185 mV/A, through a 10k/20k divider (x 2/3) to the ADC
      options: { activeLow: true, sensitivityVPerA: 0.185, zeroV: 2.5, dividerRatio: 2 / 3, thresholdA: 0.1 },
    },
    {
      name: "pm",
      model: "pms5003",
      bus: { kind: "serial", port: "Serial2", tx: "D17", rx: "D16", baud: 9600 },
      currentMa: { on: CURRENTS.pms5003.on, off: CURRENTS.pms5003.off },
      options: { setPin: "D4", mode: "passive" },
    },
    {
      name: "noise",
      model: "pcb-spl",
      bus: { kind: "i2c", port: "I2C1", scl: "D22", sda: "D21", address: 0x48 },
      currentMa: { on: CURRENTS["pcb-spl"].on, off: CURRENTS["pcb-spl"].off },
      options: { weighting: "A", averagingMs: 125 },
    },
  ],
  // a mains node queues ~710 values an hour: 12000 (~520 KB of flash at ~43 bytes a value, under
  // the 12507 its Storage holds at the worst case's 56: store.ts queueCapacity) rides out 16 h
  defaults: { samplePeriodS: 60, uploadPeriodS: 300, queueMax: 12000, location: { lat: 33.59, lon: -7.6 } },
};
