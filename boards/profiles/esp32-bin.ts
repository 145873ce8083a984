// Battery waste-bin node: A02YYUW ultrasonic under the lid, switched supply.
import type { BoardProfile, DeviceSpec } from "../../firmware/board.js";
import { CURRENTS } from "./currents.js";

export const profile: BoardProfile = {
  name: "esp32-bin",
  description: "ESP32 battery bin node: fill level (DFRobot A02YYUW, switched supply)",
  chip: "esp32",
  power: { source: "battery", batteryMah: 6800, batteryVolts: 3.7 },
  currentMa: { sleep: CURRENTS["esp32-cpu"].off, awake: CURRENTS["esp32-cpu"].on, radio: CURRENTS["esp32-wifi"].on },
  // battery: off (no energy budget given): it would listen whenever the node is awake, at CURRENTS["esp32-ble"] (cost: sim/ble-console.ts)
  bleConsole: { on: false },
  devices: [binSensor()],
  // hourly windows, sent every 6 h (earlier on a fill step or bin-full)
  defaults: { samplePeriodS: 900, uploadPeriodS: 3600, sendPeriodS: 21600, thresholds: { binFill: 0.8 } },
};

/**
 * The A02YYUW under the lid, on a switched supply. `modePin`: a GPIO wired to the sensor's RX and
 * held low at power-up, for real-time frames (every 100 ms) in place of processed ones (100-300 ms).
 */
export function binSensor(modePin?: string): DeviceSpec {
  const options: { [key: string]: any } = { pings: 5, emptyDepthMm: 1100, fullDepthMm: 200 };
  if (modePin) {
    options.modePin = modePin;
    options.realtime = true;
  }
  return {
    name: "bin",
    model: "a02yyuw",
    // tx drives the sensor's RX unless a mode pin does: held high = processed (filtered) output
    bus: { kind: "serial", port: "Serial2", tx: "D17", rx: "D16", baud: 9600 },
    power: { pin: "D25", activeHigh: true },
    currentMa: { on: CURRENTS.a02yyuw.on, off: 0 },
    options: options,
    // starts while the bundle is lexed: its ~300 ms start-up and first frames fall in the boot
    startAtBoot: true,
  };
}
