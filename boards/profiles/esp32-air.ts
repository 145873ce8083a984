// Battery air-quality node: SDS011 behind a MOSFET (cut, not slept: its sleep draws ~4 mA) that a
// latch drives (a 74LVC1G74 D flip-flop on the always-on rail, 0.1 uA typical, 10 uA max: a
// pulse on D25 sets it, one on D26 clears it), so the supply stays on while the chip
// deep-sleeps through most of the 15 s warm-up; plus an analog SEN0232 for short noise
// samples. Deep-sleeps between cycles.
import type { BoardProfile } from "../../firmware/board.js";
import { CURRENTS } from "./currents.js";

export const profile: BoardProfile = {
  name: "esp32-air",
  description: "ESP32 low-power battery air node: PM2.5/PM10 (SDS011, latched supply), noise (SEN0232 analog), ~23 uA asleep",
  chip: "esp32",
  // two 18650 cells in parallel, 3400 mAh each
  power: { source: "battery", batteryMah: 6800, batteryVolts: 3.7 },
  // a board made for batteries, as esp32-bin-lp's (low-quiescent LDO, no USB-serial chip powered),
  // plus the latch's flip-flop on the same always-on rail
  currentMa: { sleep: CURRENTS["esp32-lowpower"].off + CURRENTS["latch-74lvc1g74"].off, awake: CURRENTS["esp32-lowpower"].on, radio: CURRENTS["esp32-wifi"].on },
  // battery: off (no energy budget given): it would listen whenever the node is awake, at CURRENTS["esp32-ble"] (cost: sim/ble-console.ts)
  bleConsole: { on: false },
  devices: [
    {
      name: "pm",
      model: "sds011",
      bus: { kind: "serial", port: "Serial2", tx: "D17", rx: "D16", baud: 9600 },
      power: { pin: "D25", activeHigh: true, offPin: "D26" },
      currentMa: { on: CURRENTS.sds011.on, off: 0 },
      options: {},
      // switched on by a wake's prelude, which then deep-sleeps 9.5 s of the 15 s warm-up; the chip
      // is back for the rest (95 % of the sleep counts: the RTC may run fast): its boot (~1 s) and
      // the noise average (5 s) fall in it, and the PM read comes as that average ends
      startAtBoot: true,
      sleepWarmingMs: 9500,
    },
    {
      name: "noise",
      model: "sen0232",
      bus: { kind: "pins", pins: { out: "D35" } },
      power: { pin: "D27", activeHigh: true },
      currentMa: { on: CURRENTS.sen0232.on, off: 0 },
      options: { fullScaleV: 3.3, gain: 1, offsetDb: 0, samples: 40 },
      // on from the prelude too: its 1 s settling overlaps the boot
      startAtBoot: true,
    },
  ],
  // 15 min: each cycle runs the SDS011 fan and laser ~16 s at 70 mA, the bulk of the charge
  defaults: { samplePeriodS: 900, uploadPeriodS: 3600 },
};
