// The ESP32 object (ESP32 builds only): deep sleep, wake cause, reboot, chip state, and
// enableBLE, which erases the saved code as the real one does.

import type { EspruinoBoot } from "./context.js";
import { HALT, softwareReset } from "./halt.js";

/** ESP32.getWakeupCause(): not a deep-sleep wake / woken by the RTC timer */
export const WAKE_UNDEFINED = 0;
export const WAKE_TIMER = 4;

export function installEsp32(s: any, boot: EspruinoBoot): void {
  const host = boot.host;
  const api = <T extends (...a: any[]) => any>(f: T) => boot.api(f);
  s.ESP32 = {
    deepSleep: api((us: any) => {
      host.deepSleep(Number(us));
      throw HALT;
    }),
    getWakeupCause: api(() => host.wakeCause),
    reboot: api(() => softwareReset(host)),
    // no draw from host.rng here: the firmware reads BLE at boot, and a draw would shift every later random event
    getState: api(() => boot.obj({ sdkVersion: "v4.4.8", freeHeap: 83_000, BLE: !!host.ble?.on(), Wifi: true, minHeap: 62_000 })),
    // Espruino's targets/esp32/jswrap_esp32.c: stores the flag in NVS, jsfRemoveCodeFromFlash() (erases .varimage,
    // .bootcde, .bootrst: the firmware too), esp_restart()
    enableBLE: api((on: any) => {
      host.ble?.set(!!on);
      boot.console.print("Erasing saved code.\nDone!\n");
      for (const f of [".varimage", ".bootcde", ".bootrst"]) host.storage.erase(f);
      softwareReset(host);
    }),
  };
}
