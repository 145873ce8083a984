// Mains noise-monitoring node: DNMS (Sensor.Community) computes LAeq itself over I2C.
import type { BoardProfile } from "../../firmware/board.js";
import { CURRENTS } from "./currents.js";

export const profile: BoardProfile = {
  name: "esp32-noise",
  description: "ESP32 DevKitC noise node: LAeq/LAmin/LAmax (DNMS over I2C), mains powered",
  chip: "esp32",
  power: { source: "mains" },
  currentMa: { sleep: CURRENTS["esp32-devkitc"].off, awake: CURRENTS["esp32-devkitc"].on, radio: CURRENTS["esp32-wifi"].on },
  // mains: the radio may listen; a crew reads the pole from the ground with a phone
  bleConsole: { on: true },
  devices: [
    {
      name: "noise",
      model: "dnms",
      bus: { kind: "i2c", port: "I2C1", scl: "D22", sda: "D21", address: 0x55 },
      currentMa: { on: CURRENTS.dnms.on, off: CURRENTS.dnms.off },
      options: {},
    },
  ],
  // ~280 values an hour: 8000 (~390 KB of flash at ~49 bytes a value) rides out more than a day offline
  defaults: { samplePeriodS: 60, uploadPeriodS: 300, queueMax: 8000 },
};
