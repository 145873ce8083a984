// Espruino's own Linux build: no ESP32 or Wifi globals, the host's network, no sensors.
// Lets anyone run the real firmware on the real interpreter against a broker on the host.
import type { BoardProfile } from "../../firmware/board.js";

export const profile: BoardProfile = {
  name: "linux",
  description: "Espruino Linux build: no sensors, host network, no deep sleep",
  chip: "linux",
  power: { source: "mains" },
  currentMa: { sleep: 0, awake: 0, radio: 0 },
  // the Linux build has no Bluetooth
  bleConsole: { on: false },
  devices: [],
  // 256 KB of Storage: two bundle slots (an update beside the running one) leave room for 804 values
  defaults: { samplePeriodS: 60, uploadPeriodS: 60, queueMax: 800 },
};
