// Battery waste-bin node with the cheaper JSN-SR04T waterproof ultrasonic (trigger/echo).
import type { BoardProfile } from "../../firmware/board.js";
import { CURRENTS } from "./currents.js";

export const profile: BoardProfile = {
  name: "esp32-bin-sr04",
  description: "ESP32 battery bin node: fill level (JSN-SR04T trigger/echo, switched supply)",
  chip: "esp32",
  power: { source: "battery", batteryMah: 6800, batteryVolts: 3.7 },
  currentMa: { sleep: CURRENTS["esp32-cpu"].off, awake: CURRENTS["esp32-cpu"].on, radio: CURRENTS["esp32-wifi"].on },
  // battery: off (no energy budget given): it would listen whenever the node is awake, at CURRENTS["esp32-ble"] (cost: sim/ble-console.ts)
  bleConsole: { on: false },
  devices: [
    {
      name: "bin",
      model: "hcsr04",
      // echo is 5 V on some modules: through a divider to D14
      bus: { kind: "pins", pins: { trigger: "D13", echo: "D14" } },
      power: { pin: "D25", activeHigh: true },
      currentMa: { on: CURRENTS["jsn-sr04t"].on, off: 0 },
      options: { model: "jsn-sr04t", pings: 5, emptyDepthMm: 1100, fullDepthMm: 300 },
    },
  ],
  // hourly windows, sent every 6 h (earlier on a fill step or bin-full)
  defaults: { samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 21600, thresholds: { binFill: 0.8 } },
};
