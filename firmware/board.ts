// Board profile: pure data, so the simulator and tools can import it without booting a node.
// boards/<name>.ts is the build entry; boards/profiles/<name>.ts holds its profile.

export type PowerSource = "battery" | "mains";

/** Where a device is wired. Pin names are Espruino's ("D16"); the entry turns them into Pins. */
export type DeviceBus =
  | { kind: "serial"; port: "Serial2" | "Serial3"; tx: string; rx: string; baud: number }
  | { kind: "i2c"; port: "I2C1"; scl: string; sda: string; address: number }
  | { kind: "pins"; pins: { [role: string]: string } };

export interface DeviceSpec {
  /** instance name, used in readings' SenML names and diagnostics: "pm", "noise", "bin", "lamp" */
  name: string;
  /** driver/part: "pms5003", "sds011", "sps30", "sen0232", "pcb-spl", "dnms", "a02yyuw", "hcsr04", "relay" */
  model: string;
  bus: DeviceBus;
  /**
   * switched supply in front of the device, if any. With offPin it is a latched switch (a
   * flip-flop on the always-on rail driving the MOSFET): a pulse on pin switches it on, one on
   * offPin off, and it stays so while the chip deep-sleeps and its pins float (a power cut
   * clears it). Espruino's ESP32.deepSleep holds no pin, so only a latch keeps a supply on
   * through a deep sleep.
   */
  power?: { pin: string; activeHigh: boolean; offPin?: string };
  /** supply current when powered / when off or asleep, mA (figures and their sources: boards/profiles/currents.ts, sim/current-sources.ts) */
  currentMa: { on: number; off: number };
  /** model-specific options (calibration, bin depths, relay polarity...) */
  options?: { [key: string]: any };
  /**
   * Battery boards: the image's wake prelude sets up the device's UART and switches its supply
   * on before Espruino lexes the bundle (toolchain/wake-prelude.ts), so the device starts during
   * the boot: its first frames wait in the input queue (A02YYUW), or its warm-up runs through
   * the boot (SDS011). Only for a switched serial device whose driver is made for it
   * (WAKE_PRELUDE_MODELS).
   */
  startAtBoot?: boolean;
  /**
   * A startAtBoot device on a latched supply: the wake that switches it on deep-sleeps this
   * long of its warm-up, from the prelude, before the bundle is lexed; the chip wakes again
   * for the rest (its boot and what the other sensors read fall in it). The scheduler plans
   * that wake (firmware/runtime/warm-asleep.ts).
   */
  sleepWarmingMs?: number;
}

/** the global where the wake prelude leaves when it switched each startAtBoot device on ({name: ms}) */
export var POWERED_AT_BOOT_GLOBAL = "cnOn";

export interface BoardProfile {
  name: string;
  description: string;
  chip: "esp32" | "linux";
  power: { source: PowerSource; batteryMah?: number; batteryVolts?: number };
  /** board currents in mA: deep sleep, CPU awake with radio off, extra while Wi-Fi is on */
  currentMa: { sleep: number; awake: number; radio: number };
  devices: DeviceSpec[];
  /**
   * The console over Bluetooth LE (Nordic UART, as the Espruino Web IDE and the diagnostics page
   * use), always behind the console lock. On ESP32 the radio listens only while the node is
   * awake, at CURRENTS["esp32-ble"]: mains boards have it on; battery boards off unless
   * `budgetMahPerDay` leaves room for `awakeSPerDay` of it (sim/ble-console.ts checks).
   */
  bleConsole?: { on: boolean; awakeSPerDay?: number; budgetMahPerDay?: number };
  /** over-the-air update chunks a battery node fetches per wake (default OTA_BATTERY_CHUNKS_PER_WAKE); mains nodes fetch them all */
  otaChunksPerWake?: number;
  /** flash Espruino gives Storage on this board's build, bytes (default: by chip, see storageBytesOf) */
  storageBytes?: number;
  /** config values this board starts from before the node's own config is applied */
  defaults: { [key: string]: any };
}
